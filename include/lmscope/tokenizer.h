/* Tokenizers: text <-> token ids.
 *
 * Kinds: word-level (a PCRE2 pre-tokenization pattern and a vocabulary),
 * character-level (Unicode code points), GPT-2 byte-level BPE, and llama2.c's
 * sentencepiece-style BPE. A tokenizer lives in a model (or tokenizer)
 * directory beside config.json; the file names are documented in README.md
 * and man/lmscope.1. The tokenizer owns all strings it returns. */
#ifndef LMSCOPE_TOKENIZER_H
#define LMSCOPE_TOKENIZER_H

#include <stddef.h>

#include "lmscope/status.h"

enum lms_tok_kind { LMS_TOK_WORD, LMS_TOK_CHAR, LMS_TOK_BPE, LMS_TOK_SPM };

struct lms_tokenizer;

/* Counts of what an encoding could not represent exactly. */
struct lms_tok_stats {
	size_t unk;      /* tokens mapped to <unk> */
	size_t replaced; /* invalid UTF-8 sequences replaced by U+FFFD */
};

/* Loads the tokenizer files found in dir. When the directory holds none,
 * returns LMS_OK with *out == NULL (the model is then shown by ids). */
enum lms_status lms_tokenizer_load(const char *dir, struct lms_tokenizer **out);
/* Writes the tokenizer's files into dir (atomically, file by file). */
enum lms_status lms_tokenizer_save(const struct lms_tokenizer *tok, const char *dir);
void lms_tokenizer_free(struct lms_tokenizer *tok);

enum lms_tok_kind lms_tokenizer_kind(const struct lms_tokenizer *tok);
int lms_tokenizer_vocab_size(const struct lms_tokenizer *tok);
int lms_tokenizer_unk(const struct lms_tokenizer *tok); /* -1 when none */
int lms_tokenizer_bos(const struct lms_tokenizer *tok); /* -1 when none */
int lms_tokenizer_eos(const struct lms_tokenizer *tok); /* -1 when none */

/* Encodes len bytes of text (any bytes: invalid UTF-8 and NULs never fail).
 * *ids is malloc'd and owned by the caller; *n its length. When offsets is
 * not NULL, *offsets (malloc'd, n + 1 entries) gives each token's starting
 * byte in text and offsets[n] == len, so the explorer can mark boundaries.
 * stats may be NULL. Does not add BOS; callers that want it prepend it.
 * Encoding keeps its scratch state per call, so threads may encode with one
 * tokenizer at the same time. */
enum lms_status lms_tokenizer_encode(const struct lms_tokenizer *tok, const char *text, size_t len,
                                     int **ids, size_t *n, size_t **offsets,
                                     struct lms_tok_stats *stats);

/* Whether the models of this tokenizer expect BOS before every context:
 * 1 for llama2.c's tokenizer.bin (llama2.c always encodes with BOS), 0 for
 * the others (GPT-2 and the word and char models lmscope trains see none). */
int lms_tokenizer_adds_bos(const struct lms_tokenizer *tok);
/* A context as model input: lms_tokenizer_encode, with BOS prepended when
 * lms_tokenizer_adds_bos says so; BOS gets the zero-width span at byte 0
 * (offsets[0] == offsets[1] == 0). Every front end encodes contexts with
 * this; lms_tokenizer_encode stays the raw encoding (`lmscope tokenize`). */
enum lms_status lms_tokenizer_encode_input(const struct lms_tokenizer *tok, const char *text,
                                           size_t len, int **ids, size_t *n, size_t **offsets,
                                           struct lms_tok_stats *stats);

/* The display string of one token (UTF-8, for byte-level BPE the decoded
 * bytes with invalid sequences shown as U+FFFD); "" for an id out of range. */
const char *lms_tokenizer_piece(const struct lms_tokenizer *tok, int id);
/* The same with its length in bytes: a piece may hold U+0000 (a corpus
 * with NUL bytes), which the C string ends at. */
const char *lms_tokenizer_piece_n(const struct lms_tokenizer *tok, int id, size_t *len);

/* Decodes ids to text (malloc'd, NUL-terminated; *len excludes the NUL and
 * may be NULL). Word-level rejoins words with natural spacing. */
enum lms_status lms_tokenizer_decode(const struct lms_tokenizer *tok, const int *ids, size_t n,
                                     char **text, size_t *len);

/* Building a tokenizer from a corpus (`lmscope tokenizer train`). */

/* The default word-level pre-tokenization pattern (PCRE2, UTF + UCP): words
 * of letters, marks and digits with inner apostrophes ("don't", "LORD's"),
 * and every other non-space character on its own. */
#define LMS_TOK_WORD_PATTERN                                                                       \
	"[\\p{L}\\p{M}\\p{N}]+(?:['\\x{2019}][\\p{L}\\p{M}\\p{N}]+)*|[^\\s\\p{L}\\p{M}\\p{N}]"

struct lms_tok_train_opts {
	enum lms_tok_kind kind; /* LMS_TOK_WORD, LMS_TOK_CHAR or LMS_TOK_BPE */
	int vocab_size;         /* the largest vocabulary, special tokens included */
	int min_count;          /* word, char: keep what occurs at least this often (>= 1) */
	int lowercase;          /* word: lower-case before splitting */
	const char *pattern;    /* word: PCRE2 pattern; NULL for LMS_TOK_WORD_PATTERN */
	int bos_eos;            /* word, char: add <bos> and <eos> after <unk> */
};

/* Learns a tokenizer from n texts (no token spans two texts). Word and char
 * vocabularies hold <unk> (id 0), then <bos>, <eos> when asked, then the most
 * frequent items, ties broken by byte order. BPE learns byte-level merges on
 * GPT-2's pre-tokenization until vocab_size (>= 256) tokens, merging the most
 * frequent adjacent pair first; ties go to the pair whose (left, right) byte
 * strings sort first. */
enum lms_status lms_tokenizer_train(const struct lms_tok_train_opts *opts, const char *const *texts,
                                    const size_t *lens, int n, struct lms_tokenizer **out);

#endif
