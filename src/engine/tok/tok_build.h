/* Building a tokenizer from arrays held in memory, such as a GGUF file's
 * tokenizer.ggml.* metadata. Internal to the engine (the GGUF reader calls
 * it); the tokenizer made behaves as one loaded from tokenizer.json.
 *
 * Ownership: the caller keeps every array and string it passes; the
 * constructors copy what they keep, so the arrays may be freed (or their
 * memory map closed) as soon as the call returns. *out is the caller's, to
 * free with lms_tokenizer_free. On failure *out is NULL and the message
 * (lms_fail) names a->where. */
#ifndef LMS_TOK_BUILD_H
#define LMS_TOK_BUILD_H

#include <stddef.h>

#include "lmscope/tokenizer.h"

/* GGUF's token types (tokenizer.ggml.token_type, llama.cpp's values). */
enum lms_tok_type {
	LMS_TOKTYPE_UNDEFINED = 0,
	LMS_TOKTYPE_NORMAL = 1,
	LMS_TOKTYPE_UNKNOWN = 2,
	LMS_TOKTYPE_CONTROL = 3,      /* <s>, </s>, <|begin_of_text|>: matched before the model */
	LMS_TOKTYPE_USER_DEFINED = 4, /* added tokens: matched before the model too */
	LMS_TOKTYPE_UNUSED = 5,
	LMS_TOKTYPE_BYTE = 6, /* <0xXX> byte-fallback tokens */
};

struct lms_tok_arrays {
	int n;                     /* vocabulary size (tokenizer.ggml.tokens' length), >= 1 */
	const char *const *tokens; /* (n) token strings as stored: GPT-2 byte characters for
	                            * "gpt2", U+2581 for spaces for "llama" */
	const size_t *token_lens;  /* (n) byte lengths, or NULL when every token is NUL-terminated */
	const float *scores;       /* (n) "llama": piece scores (higher merges first); may be NULL
	                            * for "gpt2" */
	const int *token_types;    /* (n) enum lms_tok_type, or NULL (all NORMAL) */
	int n_merges;              /* "gpt2": tokenizer.ggml.merges' length; 0 for "llama" */
	const char *const *merges; /* (n_merges) "left right" (one space), rank order */
	const size_t *merge_lens;  /* (n_merges) byte lengths, or NULL when NUL-terminated */
	int bos, eos, unk;         /* token ids, -1 when absent */
	int add_bos;               /* 1: model input starts with bos (tokenizer.ggml.add_bos_token) */
	int add_space_prefix;      /* "llama": 1 (sentencepiece's dummy prefix, the default when
	                            * tokenizer.ggml.add_space_prefix is absent), 0 when false */
	const char *pre;           /* "gpt2": tokenizer.ggml.pre: "gpt-2", "llama-bpe" (= "llama3"),
	                            * "qwen2", "smollm" (= "starcoder"); NULL = "gpt-2"; any other
	                            * name (llama.cpp's "default" too) fails, naming it */
	const char *where;         /* the source in messages, e.g. the .gguf path */
};

/* tokenizer.ggml.model = "gpt2": byte-level BPE with ranked merges and the
 * pre-tokenization pattern named by a->pre; CONTROL and USER_DEFINED tokens
 * are matched in the text before the model. */
enum lms_status lms_tokenizer_from_gpt2(const struct lms_tok_arrays *a, struct lms_tokenizer **out);

/* tokenizer.ggml.model = "llama": sentencepiece BPE by scores (the adjacent
 * pair whose concatenation has the highest score merges first, as
 * llama.cpp's and llama2.c's tokenizers), spaces as U+2581, a dummy prefix
 * when a->add_space_prefix, byte fallback to the BYTE tokens <0xXX> (or unk
 * when there are none); CONTROL and USER_DEFINED tokens matched first. */
enum lms_status lms_tokenizer_from_llama(const struct lms_tok_arrays *a,
                                         struct lms_tokenizer **out);

#endif
