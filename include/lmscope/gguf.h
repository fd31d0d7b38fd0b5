/* Models in llama.cpp's GGUF files (versions 2 and 3).
 *
 * general.architecture "llama", "mistral" or "qwen2" with the <arch>.* keys
 * context_length, embedding_length, block_count, feed_forward_length,
 * attention.head_count, attention.head_count_kv, attention.
 * layer_norm_rms_epsilon, rope.freq_base (and rope.dimension_count,
 * attention.key_length when present, which must agree) becomes an
 * LMS_LLAMA model; a file without output.weight has a tied classifier.
 * Tensors: token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v,
 * attn_output, ffn_norm, ffn_gate, ffn_up, ffn_down}, output_norm, output,
 * mapped onto the Hugging Face names of llama.c. llama.cpp's converter
 * stores the rows of a llama's attn_q and attn_k in Meta's adjacent-pair
 * rotary layout; they are permuted back into the rotate_half layout on load
 * and forth on save (qwen2 files are stored unpermuted, so none is done).
 *
 * Tensor types F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, Q5_K,
 * Q6_K are read; the values are dequantized into the model's float32
 * parameter block. The tokenizer comes from tokenizer.ggml.* metadata. */
#ifndef LMSCOPE_GGUF_H
#define LMSCOPE_GGUF_H

#include "lmscope/model.h"
#include "lmscope/tokenizer.h"

/* Whether path names a GGUF file (by its first four bytes). */
int lms_gguf_is(const char *path);

/* The model of a GGUF file; *tok gets its tokenizer (NULL when the file has
 * no tokenizer.ggml.model). tok may be NULL when it is not wanted. */
enum lms_status lms_gguf_load(const char *path, struct lms_model **out, struct lms_tokenizer **tok);

/* Only the tokenizer of a GGUF file (*tok NULL when it has none). */
enum lms_status lms_gguf_load_tokenizer(const char *path, struct lms_tokenizer **tok);

/* Storage of the matrices in a GGUF file written by lms_gguf_save: a
 * wmat.h type name ("F32", "F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0",
 * "Q5_1", "Q4_K", "Q5_K", "Q6_K") or "Q4_K_M" (Q4_K, with attn_v, ffn_down
 * and output in Q6_K, as llama.cpp's recipe of that name). Norms stay F32; a
 * matrix whose rows are not whole blocks of the type falls back to Q8_0,
 * then F16. Returns 0 for an unknown name. */
int lms_gguf_type_known(const char *name);

/* Writes a Llama-family model as GGUF ("llama", or "qwen2" with q, k, v
 * biases), atomically; typed models through a float32 copy. The tokenizer
 * is not written (no tokenizer.ggml.* keys). */
enum lms_status lms_gguf_save(const struct lms_model *m, const char *path, const char *type);

#endif
