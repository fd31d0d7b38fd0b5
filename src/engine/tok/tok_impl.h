/* What each tokenizer kind provides to the dispatcher (tokenizer.c), and the
 * helpers the kinds share: growable outputs, vocab.json, atomic files.
 * Internal to the engine. One file per kind implements one tok_ops table:
 * tok_word.c, tok_char.c, bpe.c (and its trainer bpe_train.c). */
#ifndef LMS_TOK_IMPL_H
#define LMS_TOK_IMPL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lmscope/tokenizer.h"
#include "tok/tok_map.h"

/* Encoder output: ids and, when offs is wanted, each token's first byte. */
struct tok_out {
	int *ids;     /* (cap) */
	size_t *offs; /* (cap) or NULL when offsets are not wanted */
	size_t n, cap;
	int want_offs;
};

int tok_out_grow(struct tok_out *o);

static inline int tok_out_push(struct tok_out *o, int id, size_t off)
{
	if (o->n == o->cap && tok_out_grow(o))
		return -1;
	o->ids[o->n] = id;
	if (o->want_offs)
		o->offs[o->n] = off;
	o->n++;
	return 0;
}

/* A growable byte buffer, kept NUL-terminated by tok_buf_add. */
struct tok_buf {
	char *p;
	size_t n, cap;
};

int tok_buf_reserve(struct tok_buf *b, size_t more);

static inline int tok_buf_add(struct tok_buf *b, const void *s, size_t len)
{
	if (b->n + len + 1 > b->cap && tok_buf_reserve(b, len + 1))
		return -1;
	memcpy(b->p + b->n, s, len);
	b->n += len;
	b->p[b->n] = 0;
	return 0;
}

int tok_buf_str(struct tok_buf *b, const char *s);
/* Appends s as a JSON string literal, quotes included. */
int tok_buf_json_string(struct tok_buf *b, const char *s, size_t len);

struct tok_config;

/* A vocabulary: id -> string (NUL-terminated in one arena), string -> id. */
struct tok_vocab {
	char *arena; /* every string, each followed by a NUL */
	size_t arena_n, arena_cap;
	size_t *off;   /* (n) start of each id's string in arena */
	uint32_t *len; /* (n) */
	int n, cap;
	struct tok_strmap map; /* built by tok_vocab_index */
};

void tok_vocab_free(struct tok_vocab *v);
/* Appends a string as the next id. Returns the id, or -1 when out of memory. */
int tok_vocab_add(struct tok_vocab *v, const char *s, size_t len);
/* Builds the string -> id map; a duplicate string is a format error naming
 * path (when path is not NULL). */
enum lms_status tok_vocab_index(struct tok_vocab *v, const char *path);

static inline const char *tok_vocab_str(const struct tok_vocab *v, int id)
{
	return v->arena + v->off[id];
}

static inline int tok_vocab_id(const struct tok_vocab *v, const char *s, size_t len)
{
	return tok_strmap_get(&v->map, s, len);
}

/* Fills an empty v with c's special tokens (unk, then bos and eos when set)
 * and then the items whose count is at least min_count, most frequent first,
 * ties in byte order, until v has vocab_size entries. */
enum lms_status tok_vocab_from_counts(struct tok_vocab *v, const struct tok_config *c,
                                      const struct tok_strmap *counts, const int *count,
                                      int vocab_size, int min_count);

/* Reads a Hugging Face vocab.json ({"token": id, ...}, ids dense from 0)
 * and indexes it. Errors name path and line. */
enum lms_status tok_vocab_read(const char *path, struct tok_vocab *v);
/* Writes v as vocab.json in dir (atomically), one token a line in id order. */
enum lms_status tok_vocab_write(const struct tok_vocab *v, const char *dir, const char *name);

/* The byte a sentencepiece byte-fallback piece "<0xXX>" stands for, or -1. */
int tok_byte_piece(const char *p, size_t len);

/* Files. tok_path returns a malloc'd "dir/name" (NULL when out of memory). */
char *tok_path(const char *dir, const char *name);
int tok_file_exists(const char *dir, const char *name);
/* Reads a whole file (NUL-terminated; *len excludes the NUL). */
enum lms_status tok_read_file(const char *path, char **data, size_t *len);
/* Writes dir/name through a temporary file, fsync and rename. */
enum lms_status tok_write_file(const char *dir, const char *name, const char *data, size_t len);

/* Pre-tokenization with a PCRE2 pattern in UTF mode with Unicode properties
 * (JIT-compiled when PCRE2 has a JIT for this machine). */
struct tok_regex {
	void *code; /* pcre2_code_8 */
	int jit;
};

enum lms_status tok_regex_compile(struct tok_regex *r, const char *pattern, const char *where);
void tok_regex_free(struct tok_regex *r);

/* What tok_regex_split reports. Callbacks return 0 to go on, else the split
 * stops and returns LMS_ENOMEM. */
struct tok_split_cb {
	int (*piece)(void *ud, size_t off, size_t n); /* a match, or a gap when gaps */
	int (*invalid)(void *ud, size_t off);         /* one byte of invalid UTF-8 */
	void *ud;
	int gaps;                                   /* report the text between matches as pieces too */
	int (*gap)(void *ud, size_t off, size_t n); /* when set, gaps go here, not to piece */
};

/* Splits text into its maximal valid UTF-8 runs and single invalid bytes,
 * and each run into the pattern's successive matches. A run ends where an
 * invalid byte is, as if the text ended there. */
enum lms_status tok_regex_split(const struct tok_regex *r, const char *text, size_t len,
                                const struct tok_split_cb *cb);

/* Word- and char-level settings, from and to tokenizer_config.json. */
struct tok_config {
	enum lms_tok_kind kind;
	char *pattern; /* word only; malloc'd */
	int lowercase;
	char *unk, *bos, *eos; /* malloc'd token strings; bos, eos may be NULL */
};
/* type_out gets "word", "char" or "" when tokenizer_config.json has no
 * "type" (as in a Hugging Face GPT-2 directory); *found is 0 without the file. */
enum lms_status tok_config_read(const char *dir, struct tok_config *c, int *found);
enum lms_status tok_config_write(const struct tok_config *c, const char *dir);
void tok_config_free(struct tok_config *c);

/* The tokenizer object: a kind's table and its private state. The kind's
 * load and train functions fill impl, vocab_size, unk, bos and eos. */
struct tok_ops;

struct lms_tokenizer {
	const struct tok_ops *ops;
	void *impl;
	int vocab_size;
	int unk, bos, eos; /* -1 when none */
	int adds_bos;      /* model input starts with bos (llama2.c's convention) */
};

struct tok_ops {
	enum lms_tok_kind kind;
	const char *name;
	/* 1 when dir holds this kind's files (config is NULL when the directory
	 * has no tokenizer_config.json with a "type"). */
	int (*detect)(const char *dir, const struct tok_config *config);
	enum lms_status (*load)(const char *dir, struct lms_tokenizer *tok);
	enum lms_status (*train)(const struct lms_tok_train_opts *opts, const char *const *texts,
	                         const size_t *lens, int n, struct lms_tokenizer *tok);
	enum lms_status (*save)(const struct lms_tokenizer *tok, const char *dir);
	void (*free)(void *impl);
	/* Appends the ids of text (offsets relative to text) to out. */
	enum lms_status (*encode)(const struct lms_tokenizer *tok, const char *text, size_t len,
	                          struct tok_out *out, struct lms_tok_stats *stats);
	/* the display string of id and its length in bytes (it may hold NUL) */
	const char *(*piece)(const struct lms_tokenizer *tok, int id, size_t *len);
	/* Appends the text of ids (all in range) to out. */
	enum lms_status (*decode)(const struct lms_tokenizer *tok, const int *ids, size_t n,
	                          struct tok_buf *out);
};

extern const struct tok_ops tok_word_ops, tok_char_ops, tok_bpe_ops, tok_spm_ops, tok_hf_ops;

#endif
