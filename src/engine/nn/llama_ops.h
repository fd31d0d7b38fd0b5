/* The layer operations only Llama uses: RMSNorm, rotary position embeddings
 * and the SwiGLU gate. Internal to the engine; same conventions as ops.h
 * (outputs first, backward accumulates, NULL gradient = not wanted, N rows
 * of contiguous vectors, nothing allocates). None of these multiply
 * matrices, so they are plain loops with no BLAS twin. */
#ifndef LMS_LLAMA_OPS_H
#define LMS_LLAMA_OPS_H

#include <stddef.h>

#include "lmscope/model.h"

/* ---- RMSNorm (rmsnorm.c) ------------------------------------------------
 * out (N, C) = inp * rstd * w per row, rstd (N) = 1 / sqrt(mean(inp^2) + eps),
 * saved for the backward. out may alias inp. */
void lms_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N, int C,
                         float eps);
/* dinp (N, C) += d/dinp, dw (C) += d/dw; dw may be NULL. */
void lms_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                          const float *w, const float *rstd, int N, int C);

/* ---- rotary position embeddings (rope.c) ---------------------------------
 * Hugging Face's rotate_half convention: within each head of size hs, entry
 * i < hs/2 pairs with entry i + hs/2, and the pair at position p is rotated
 * by the angle p * theta^(-2i/hs). (Meta's and llama2.c's checkpoints pair
 * adjacent entries 2i, 2i+1 instead; the llama2.c loader permutes the rows
 * of q_proj and k_proj once, as Hugging Face's conversion does, so both
 * compute the same function.)
 *
 * The table: cos and sin, each (maxT, hs/2), with the frequencies changed
 * by a rope_scaling (model.h; NULL or LMS_ROPE_NONE: none). */
void lms_rope_table(float *cosv, float *sinv, int maxT, int hs, float theta,
                    const struct lms_rope_scaling *scaling);
/* In place over rows for positions [p0, p0 + N): x (N, ld) holds nh heads of
 * hs entries at the start of each row (row stride ld). */
void lms_rope_forward(float *x, const float *cosv, const float *sinv, int p0, int N, int ld, int nh,
                      int hs);
/* The inverse rotation, in place: turns d/d(rotated) into d/d(unrotated).
 * (A rotation's transpose is its inverse.) */
void lms_rope_backward(float *dx, const float *cosv, const float *sinv, int p0, int N, int ld,
                       int nh, int hs);
/* Converts the rows of a q or k projection (heads x hs rows of row_bytes
 * bytes each, any storage type) between Meta's adjacent-pair layout (row
 * 2i + j of a head) and the rotate_half layout (row j hs/2 + i): to_pairs 0
 * reads pairs and writes rotate_half (Hugging Face's
 * convert_llama_weights_to_hf.py permutation), 1 the inverse (llama.cpp's
 * convert_hf_to_gguf.py). dst and src must not overlap. */
void lms_rope_rows_permute(void *dst, const void *src, int heads, int hs, size_t row_bytes,
                           int to_pairs);

/* ---- SwiGLU (swiglu.c) ---------------------------------------------------
 * out (n) = silu(gate) * up, silu(x) = x / (1 + exp(-x)). */
void lms_swiglu_forward(float *out, const float *gate, const float *up, int n);
/* dgate (n) += ..., dup (n) += ...; either may be NULL. */
void lms_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                         const float *up, int n);

#endif
