/* Layer operations shared by the architectures: small pure functions over
 * float arrays, one forward/backward pair per layer. Internal to the engine.
 *
 * Conventions (llm.c style):
 * - outputs first, then inputs, then sizes;
 * - backward *accumulates* (+=) into every gradient it is given, so callers
 *   zero gradients explicitly; a NULL gradient pointer means "not wanted"
 *   and skips that work (saliency never asks for weight gradients);
 * - N counts rows (positions), each row contiguous; shapes use the letters
 *   of include/lmscope/model.h plus OC for an output width;
 * - nothing here allocates.
 *
 * Matrix products go through OpenBLAS. Each BLAS-backed op has a plain-loop
 * twin (the *_ref functions at the end of this header, in ops_ref.c) that
 * the unit tests use as the oracle. */
#ifndef LMS_OPS_H
#define LMS_OPS_H

/* ---- matmul, Hugging Face Conv1D layout -------------------------------
 * out (N, OC) = inp (N, C) @ w (C, OC) + b (OC); b may be NULL. */
void lms_matmul_forward(float *out, const float *inp, const float *w, const float *b, int N, int C,
                        int OC);
/* dinp (N, C) += dout @ w^T; dw (C, OC) += inp^T @ dout; db (OC) += sum of
 * the rows of dout. Any of dinp, dw, db may be NULL. */
void lms_matmul_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                         const float *w, int N, int C, int OC);

/* ---- linear, PyTorch nn.Linear layout ---------------------------------
 * out (N, OC) = inp (N, C) @ w^T + b, with w (OC, C) and b (OC) or NULL. */
void lms_linear_forward(float *out, const float *inp, const float *w, const float *b, int N, int C,
                        int OC);
/* dinp (N, C) += dout @ w; dw (OC, C) += dout^T @ inp; db (OC) += sum of
 * the rows of dout. Any of dinp, dw, db may be NULL. */
void lms_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                         const float *w, int N, int C, int OC);

/* ---- layer normalisation ----------------------------------------------
 * out (N, C) = (inp - mean) * rstd * w + b per row; saves mean (N) and
 * rstd (N) = 1 / sqrt(var + eps) (biased variance) for the backward. out
 * (and dinp below) must not overlap the inputs. */
void lms_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int N, int C, float eps);
/* dinp (N, C), dw (C), db (C); dw and db may be NULL. */
void lms_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                            const float *w, const float *mean, const float *rstd, int N, int C);

/* ---- GELU, tanh approximation -----------------------------------------
 * out (n) = 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))). */
void lms_gelu_forward(float *out, const float *inp, int n);
void lms_gelu_backward(float *dinp, const float *dout, const float *inp, int n);

/* ---- exponential ---------------------------------------------------------
 * out (n) = e^inp, to a few float ulps, 0 below -87; branch-free so that it
 * vectorises (softmax over a vocabulary). out may not alias inp. */
void lms_vexp(float *out, const float *inp, int n);
/* sum_k x[k] (n) in 16 interleaved partial sums: a fixed-width inner loop
 * the compiler vectorises, in the same order whether or not it does. */
float lms_lane_sum(const float *x, int n);

/* ---- residual addition -------------------------------------------------
 * out (n) = a + b (out may alias a or b). */
void lms_residual_forward(float *out, const float *a, const float *b, int n);
/* da += dout; db += dout; either may be NULL. */
void lms_residual_backward(float *da, float *db, const float *dout, int n);

/* ---- causal multi-head self-attention ---------------------------------
 * Where q, k, v and the output live. Positions of batch row b start at
 * row b * T of each buffer (row stride T positions, as in every run
 * buffer). Query head h occupies columns [h hs, (h+1) hs) of a q row;
 * it reads key/value head h / (NH / KV) at the same columns of k and v
 * (KV == NH: ordinary multi-head attention; KV < NH: grouped queries). */
struct lms_attn_layout {
	int B, T;   /* batch rows, positions per batch row (row stride) */
	int NH, KV; /* query heads, key/value heads (KV divides NH) */
	int hs;     /* head size */
	int ldq;    /* floats from one position to the next in q (and dq) */
	int ldkv;   /* the same in k and v (and dk, dv) */
	int ldo;    /* the same in out (and dout) */
};

/* GPT-2's fused layout: one qkv buffer (B, T, 3C) holding q, k, v side by
 * side (q = qkv, k = qkv + C, v = qkv + 2C), output (B, T, C). */
struct lms_attn_layout lms_attn_layout_fused(int B, int T, int C, int NH);

/* For queries t in [t0, t1) of every batch row, over keys [0, t]:
 *   att[b, h, t, j] = softmax_j(q_t . k_j / sqrt(hs))  (j <= t, 0 for j > t)
 *   out[b, t, h]    = sum_j att[b, h, t, j] v_j
 * att is (B, NH, T, T) with row stride T and is kept for the backward and
 * the explorer. Keys and values of positions before t0 are read as left by
 * earlier calls: that is the KV cache. */
void lms_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                           const struct lms_attn_layout *s, int t0, int t1);
/* Queries go through the kernels below in blocks of this many rows. */
#define LMS_ATT_BLOCK 64

/* The same outputs without keeping att: each block of at most
 * LMS_ATT_BLOCK queries has its probabilities in scratch (min(T,
 * LMS_ATT_BLOCK), T) only until its output is made. For runs whose T x T
 * per head would not fit (GPT-2 small at 1024 positions: 604 MB); the
 * probabilities are recomputed from q and k where they are needed
 * (lms_attention_probs, lms_attention_backward with att NULL). */
void lms_attention_forward_streamed(float *out, float *scratch, const float *q, const float *k,
                                    const float *v, const struct lms_attn_layout *s, int t0,
                                    int t1);
/* att (n, lda), lda >= n: the probabilities of queries [0, n) of batch
 * row b's head h over keys [0, n), as lms_attention_forward keeps them,
 * and 0 above the diagonal through column lda - 1 (a view's buffer keeps
 * nothing a longer run left there). */
void lms_attention_probs(float *att, int lda, const float *q, const float *k,
                         const struct lms_attn_layout *s, int b, int h, int n);
/* Backward over positions [0, n) of every batch row: accumulates into dq,
 * dk, dv (laid out as q, k, v). Only queries [from, n) are differentiated:
 * the caller's dout is zero on rows below from (a top layer under a
 * next-token objective, whose gradient sits at the last rows), so their dq
 * stays as it was and they add nothing to dk and dv; keys [0, n) get
 * theirs. scratch holds min(n, LMS_ATT_BLOCK) * n floats; with att NULL
 * (a streamed forward) twice that, and the probabilities are recomputed. */
void lms_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                            const float *att, const float *q, const float *k, const float *v,
                            const struct lms_attn_layout *s, int from, int n);

/* ---- plain-loop twins, for the unit tests only (ops_ref.c) -------------
 * Same contracts as the ops above, written as the textbook loops. */
void lms_matmul_forward_ref(float *out, const float *inp, const float *w, const float *b, int N,
                            int C, int OC);
void lms_matmul_backward_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                             const float *w, int N, int C, int OC);
void lms_linear_forward_ref(float *out, const float *inp, const float *w, const float *b, int N,
                            int C, int OC);
void lms_linear_backward_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                             const float *w, int N, int C, int OC);
void lms_attention_forward_ref(float *out, float *att, const float *q, const float *k,
                               const float *v, const struct lms_attn_layout *s, int t0, int t1);
void lms_attention_backward_ref(float *dq, float *dk, float *dv, const float *dout,
                                const float *att, const float *q, const float *k, const float *v,
                                const struct lms_attn_layout *s, int n);

#endif
