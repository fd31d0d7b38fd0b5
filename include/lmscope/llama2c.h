/* Files in the formats of Karpathy's llama2.c: the legacy checkpoint
 * (`MODEL.bin`, as run.c reads it) and the tokenizer (`tokenizer.bin`).
 *
 * Checkpoint: seven little-endian int32 — dim, hidden_dim, n_layers,
 * n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means the
 * classifier has its own weights — then float32 tensors, every layer's
 * copy of one tensor together: token_embedding_table (V, C), rms_att (L, C),
 * wq (L, C, C), wk (L, KC, C), wv (L, KC, C), wo (L, C, C), rms_ffn (L, C),
 * w1 (L, H, C), w2 (L, C, H), w3 (L, H, C), rms_final (C), two unused RoPE
 * tables (seq_len, hs/2) each, and wcls (V, C) when not shared. The model
 * comes back as an LMS_LLAMA model with Hugging Face tensor names; the rows
 * of wq and wk are permuted from llama2.c's adjacent-pair rotary layout into
 * Hugging Face's rotate_half layout (llama_ops.h), so it computes exactly
 * what llama2.c computes.
 *
 * Tokenizer: int32 max_token_length, then per piece a float32 score, an
 * int32 byte length and the bytes. Ids 0, 1, 2 are <unk>, <s> (BOS) and
 * </s> (EOS); ids 3 to 258 are the byte pieces <0x00> to <0xFF>. Encoding
 * is llama2.c's: a leading space is prepended, each UTF-8 character becomes
 * its piece (or its bytes' pieces), then the best-scoring adjacent pair is
 * merged until none is in the vocabulary. In a model directory the same
 * file is named tokenizer.bin. */
#ifndef LMSCOPE_LLAMA2C_H
#define LMSCOPE_LLAMA2C_H

#include "lmscope/model.h"
#include "lmscope/tokenizer.h"

/* The rotary base and norm epsilon llama2.c uses (not in its header). */
#define LMS_LLAMA2C_THETA 10000.0f
#define LMS_LLAMA2C_EPS 1e-5f

enum lms_status lms_llama2c_load(const char *path, struct lms_model **out);
enum lms_status lms_llama2c_tokenizer_load(const char *path, struct lms_tokenizer **out);

#endif
