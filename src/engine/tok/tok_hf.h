/* The Hugging Face tokenizers pipeline, as tokenizer.json describes it:
 * added tokens matched first, then per remaining segment a normalizer, a
 * pre-tokenizer and a BPE model; a decoder turns tokens back into text.
 * Internal to the engine. tok_hf.c fills one from tokenizer.json,
 * tok_gguf.c from GGUF metadata arrays; tok_pipe.c runs it (normalizers,
 * pre-tokenizers, decoders) and tok_merge.c is the BPE model.
 *
 * Every step here is one the file format names; a step lmscope does not
 * implement is refused when the file is read, never approximated. */
#ifndef LMS_TOK_HF_H
#define LMS_TOK_HF_H

#include "tok/tok_impl.h"

/* Normalizers, applied in order to each segment between added tokens. */
enum hf_norm_kind { HF_NFC, HF_NFKC, HF_NFD, HF_NFKD, HF_PREPEND, HF_REPLACE, HF_LOWERCASE };

struct hf_norm {
	enum hf_norm_kind kind;
	char *a, *b; /* PREPEND: a is prepended; REPLACE: every a becomes b (malloc'd) */
};

/* Pre-tokenizers, applied in order; each splits every current piece. */
enum hf_pre_kind { HF_PRE_SPLIT, HF_PRE_BYTELEVEL, HF_PRE_METASPACE, HF_PRE_DIGITS };

/* How Split keeps a piece's matches (tokenizers' SplitDelimiterBehavior). */
enum hf_behavior { HF_ISOLATED, HF_REMOVED, HF_MERGED_PREV, HF_MERGED_NEXT, HF_CONTIGUOUS };

struct hf_pre {
	enum hf_pre_kind kind;
	struct tok_regex re; /* SPLIT with a regex, BYTELEVEL with use_regex */
	const char *pattern; /* SPLIT from GGUF: re's source, for writing (static) */
	char *literal;       /* SPLIT with a string pattern (malloc'd) */
	enum hf_behavior behavior;
	int invert;
	int prefix_space; /* BYTELEVEL add_prefix_space */
	int individual;   /* DIGITS individual_digits */
	char *repl;       /* METASPACE replacement (malloc'd) */
	int prepend;      /* METASPACE: 0 never, 1 first, 2 always */
	int split;        /* METASPACE split */
};

/* Decoders, applied in order to the list of token strings. */
enum hf_dec_kind {
	HF_DEC_BYTELEVEL,
	HF_DEC_REPLACE,
	HF_DEC_BYTEFALLBACK,
	HF_DEC_FUSE,
	HF_DEC_STRIP,
	HF_DEC_METASPACE
};

struct hf_dec {
	enum hf_dec_kind kind;
	char *a, *b;     /* REPLACE a -> b; METASPACE a is the replacement */
	int start, stop; /* STRIP: characters a removed from each token's start, end */
	int prepend;     /* METASPACE: 0 never (the first token keeps its space) */
};

struct hf_added {
	char *content; /* malloc'd */
	size_t len;
	int id;
	int special, lstrip, rstrip;
};

struct hf {
	struct tok_vocab vocab; /* id -> token string as stored; every id, added ones too */
	struct tok_vocab shown; /* id -> display string (lms_tokenizer_piece) */
	struct hf_norm *norm;   /* (n_norm) */
	int n_norm;
	struct hf_pre *pre; /* (n_pre) */
	int n_pre;
	struct hf_dec *dec; /* (n_dec) */
	int n_dec;
	struct hf_added *added; /* (n_added) */
	int n_added;
	struct tok_intmap trie; /* added tokens: (node << 8 | byte) -> child node */
	int *trie_id;           /* (n_trie) the added token ending at a node, or -1 */
	int n_trie;
	/* The model: BPE by merge ranks (tokenizer.json, GGUF gpt2) or by
	 * piece scores (GGUF llama). */
	int byte_level;    /* pieces are bytes mapped to GPT-2's byte characters */
	int byte_fallback; /* characters without a token become <0xXX> tokens */
	int fuse_unk, ignore_merges;
	int unk;                    /* the model's unk id, -1 when none */
	int byte_of[512];           /* GPT-2 byte character (code point < 512) -> byte, or -1 */
	int byte_id[256];           /* byte-level: the byte character's token; byte fallback:
	                          * <0xXX>'s id; -1 when absent */
	int *left, *right, *merged; /* (n_merges) by rank */
	int n_merges;
	struct tok_intmap rank; /* left << 32 | right -> rank */
	float *score;           /* (vocab.n) scores mode, else NULL */
	int max_len;            /* the longest token, in bytes (scores mode) */
	char *json, *config; /* tokenizer.json, tokenizer_config.json as read (saving); may be NULL */
	size_t json_n, config_n;
};

void hf_free(struct hf *h);
/* Indexes vocab, builds the added-token trie, the byte ids, the merge
 * ranks (left, right already set) and the display strings. where names the
 * source in errors. */
enum lms_status hf_finish(struct hf *h, const char *where);
/* Hands h (finished) to tok, which then owns it. */
void hf_adopt(struct lms_tokenizer *tok, struct hf *h);

/* The model on one piece of n bytes; ids and offsets (base + byte) to out. */
enum lms_status hf_model_encode(const struct hf *h, const char *p, size_t n, size_t *orig,
                                struct tok_out *out, struct lms_tok_stats *stats);
/* Builds rank, merged from left, right. */
enum lms_status hf_model_index(struct hf *h, const char *where);

/* Writes a tokenizer without files of its own (from GGUF metadata) as
 * tokenizer.json and tokenizer_config.json in dir (tok_hf_write.c). */
enum lms_status hf_write(const struct lms_tokenizer *tok, const char *dir);

/* tokenizer.json files (tok_hf.c), for the ops tables in tok_pipe.c. */
int tok_hf_detect(const char *dir, const struct tok_config *config);
enum lms_status tok_hf_load(const char *dir, struct lms_tokenizer *tok);
enum lms_status tok_hf_save(const struct lms_tokenizer *tok, const char *dir);

/* tok_hf_ops is the byte-level kind (LMS_TOK_BPE); hf_adopt switches a
 * tokenizer that is not byte-level to tok_hf_spm_ops (LMS_TOK_SPM). */
extern const struct tok_ops tok_hf_spm_ops;

#endif
