/* Layer operations shared by the architectures (see ops.h): matrix
 * products through OpenBLAS, layer normalisation, GELU, residual additions
 * and causal self-attention. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "nn/ops.h"
#include "nn/blas.h"

/* out (N, OC) = b broadcast over the rows; returns the beta a following
 * sgemm should use (1 with a bias, 0 without). */
static float bias_rows(float *out, const float *b, int N, int OC)
{
	if (!b)
		return 0.0f;
	for (int i = 0; i < N; i++)
		memcpy(out + (size_t)i * OC, b, (size_t)OC * sizeof(float));
	return 1.0f;
}

/* db (OC) += sum over the N rows of dout (N, OC) */
static void bias_backward(float *db, const float *dout, int N, int OC)
{
	for (int i = 0; i < N; i++) {
		const float *d = dout + (size_t)i * OC;
		for (int o = 0; o < OC; o++)
			db[o] += d[o];
	}
}

/* ---- matmul, Conv1D layout ------------------------------------------------ */

/* out (N, OC) = inp (N, C) @ w (C, OC) + b (OC) */
void lms_matmul_forward(float *out, const float *inp, const float *w, const float *b, int N, int C,
                        int OC)
{
	if (N <= 0)
		return;
	float beta = bias_rows(out, b, N, OC);
	if (N == 1)
		lms_sgemv(CblasTrans, C, OC, 1.0f, w, OC, inp, beta, out);
	else
		lms_sgemm(CblasNoTrans, CblasNoTrans, N, OC, C, 1.0f, inp, C, w, OC, beta, out, OC);
}

/* Differentiates out = inp @ w + b:
 *   dinp (N, C) += dout (N, OC) @ w^T (OC, C)
 *   dw (C, OC)  += inp^T (C, N) @ dout (N, OC)
 *   db (OC)     += sum_rows dout */
void lms_matmul_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                         const float *w, int N, int C, int OC)
{
	if (N <= 0)
		return;
	if (dinp) {
		if (N == 1)
			lms_sgemv(CblasNoTrans, C, OC, 1.0f, w, OC, dout, 1.0f, dinp);
		else
			lms_sgemm(CblasNoTrans, CblasTrans, N, C, OC, 1.0f, dout, OC, w, OC, 1.0f, dinp, C);
	}
	if (dw)
		lms_sgemm(CblasTrans, CblasNoTrans, C, OC, N, 1.0f, inp, C, dout, OC, 1.0f, dw, OC);
	if (db)
		bias_backward(db, dout, N, OC);
}

/* ---- linear, nn.Linear layout --------------------------------------------- */

/* out (N, OC) = inp (N, C) @ w^T (C, OC) + b (OC), w stored (OC, C) */
void lms_linear_forward(float *out, const float *inp, const float *w, const float *b, int N, int C,
                        int OC)
{
	if (N <= 0)
		return;
	float beta = bias_rows(out, b, N, OC);
	if (N == 1)
		lms_sgemv(CblasNoTrans, OC, C, 1.0f, w, C, inp, beta, out);
	else
		lms_sgemm(CblasNoTrans, CblasTrans, N, OC, C, 1.0f, inp, C, w, C, beta, out, OC);
}

/* Differentiates out = inp @ w^T + b:
 *   dinp (N, C) += dout (N, OC) @ w (OC, C)
 *   dw (OC, C)  += dout^T (OC, N) @ inp (N, C)
 *   db (OC)     += sum_rows dout */
void lms_linear_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                         const float *w, int N, int C, int OC)
{
	if (N <= 0)
		return;
	if (dinp) {
		if (N == 1)
			lms_sgemv(CblasTrans, OC, C, 1.0f, w, C, dout, 1.0f, dinp);
		else
			lms_sgemm(CblasNoTrans, CblasNoTrans, N, C, OC, 1.0f, dout, OC, w, C, 1.0f, dinp, C);
	}
	if (dw)
		lms_sgemm(CblasTrans, CblasNoTrans, OC, C, N, 1.0f, dout, OC, inp, C, 1.0f, dw, C);
	if (db)
		bias_backward(db, dout, N, OC);
}

/* ---- layer normalisation ---------------------------------------------------- */

/* Sums of a row in SUM_LANES interleaved partial sums: a fixed-width inner
 * loop the compiler vectorises (a single running sum would have to stay
 * scalar to keep its order). */
#define SUM_LANES 16

float lms_lane_sum(const float *x, int n)
{
	float acc[SUM_LANES] = {0};
	int k = 0;
	for (; k + SUM_LANES <= n; k += SUM_LANES)
		for (int j = 0; j < SUM_LANES; j++)
			acc[j] += x[k + j];
	float s = 0.0f;
	for (; k < n; k++)
		s += x[k];
	for (int j = 0; j < SUM_LANES; j++)
		s += acc[j];
	return s;
}

/* sum_k (x[k] - m)^2 */
static float row_sqdev(const float *x, float m, int n)
{
	float acc[SUM_LANES] = {0};
	int k = 0;
	for (; k + SUM_LANES <= n; k += SUM_LANES)
		for (int j = 0; j < SUM_LANES; j++) {
			float d = x[k + j] - m;
			acc[j] += d * d;
		}
	float s = 0.0f;
	for (; k < n; k++)
		s += (x[k] - m) * (x[k] - m);
	for (int j = 0; j < SUM_LANES; j++)
		s += acc[j];
	return s;
}

/* y (C) = (x - m) * s * w + b, in blocks of SUM_LANES that vectorise (y is
 * apart from the inputs) */
static void layernorm_row(float *restrict y, const float *restrict x, const float *restrict w,
                          const float *restrict b, float m, float s, int C)
{
	int k = 0;
	for (; k + SUM_LANES <= C; k += SUM_LANES)
		for (int j = 0; j < SUM_LANES; j++)
			y[k + j] = (x[k + j] - m) * s * w[k + j] + b[k + j];
	for (; k < C; k++)
		y[k] = (x[k] - m) * s * w[k] + b[k];
}

/* out (N, C) = (inp - mean) * rstd * w (C) + b (C); mean (N), rstd (N) saved */
void lms_layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *w,
                           const float *b, int N, int C, float eps)
{
	for (int i = 0; i < N; i++) {
		const float *x = inp + (size_t)i * C;
		float *y = out + (size_t)i * C;
		float m = lms_lane_sum(x, C) / (float)C;
		float v = row_sqdev(x, m, C) / (float)C;
		float s = 1.0f / sqrtf(v + eps);
		layernorm_row(y, x, w, b, m, s, C);
		mean[i] = m;
		rstd[i] = s;
	}
}

/* dx (C) += rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm)) of one
 * row, in blocks of SUM_LANES that vectorise (dx is apart from the inputs) */
static void layernorm_dx_row(float *restrict dx, const float *restrict dy, const float *restrict x,
                             const float *restrict w, float m, float s, float dnorm_mean,
                             float dnorm_norm_mean, int C)
{
	int k = 0;
	for (; k + SUM_LANES <= C; k += SUM_LANES)
		for (int j = 0; j < SUM_LANES; j++) {
			float norm = (x[k + j] - m) * s;
			float dnorm = dy[k + j] * w[k + j];
			dx[k + j] += s * (dnorm - dnorm_mean - norm * dnorm_norm_mean);
		}
	for (; k < C; k++) {
		float norm = (x[k] - m) * s;
		float dnorm = dy[k] * w[k];
		dx[k] += s * (dnorm - dnorm_mean - norm * dnorm_norm_mean);
	}
}

/* Differentiates y = norm * w + b with norm = (x - mean) * rstd. Through
 * the mean and the variance, per row:
 *   dnorm = dout * w
 *   dx    = rstd * (dnorm - mean(dnorm) - norm * mean(dnorm * norm))
 *   dw   += dout * norm,  db += dout */
void lms_layernorm_backward(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                            const float *w, const float *mean, const float *rstd, int N, int C)
{
	for (int i = 0; i < N; i++) {
		const float *x = inp + (size_t)i * C;
		const float *dy = dout + (size_t)i * C;
		float *dx = dinp + (size_t)i * C;
		float m = mean[i], s = rstd[i];
		/* the two means in SUM_LANES partial sums each (see lms_lane_sum) */
		float acc[SUM_LANES] = {0}, accn[SUM_LANES] = {0};
		float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
		int k = 0;
		for (; k + SUM_LANES <= C; k += SUM_LANES)
			for (int j = 0; j < SUM_LANES; j++) {
				float norm = (x[k + j] - m) * s;
				float dnorm = dy[k + j] * w[k + j];
				acc[j] += dnorm;
				accn[j] += dnorm * norm;
			}
		for (; k < C; k++) {
			float norm = (x[k] - m) * s;
			float dnorm = dy[k] * w[k];
			dnorm_mean += dnorm;
			dnorm_norm_mean += dnorm * norm;
		}
		for (int j = 0; j < SUM_LANES; j++) {
			dnorm_mean += acc[j];
			dnorm_norm_mean += accn[j];
		}
		dnorm_mean /= (float)C;
		dnorm_norm_mean /= (float)C;
		layernorm_dx_row(dx, dy, x, w, m, s, dnorm_mean, dnorm_norm_mean, C);
		if (dw)
			for (int k = 0; k < C; k++)
				dw[k] += dy[k] * (x[k] - m) * s;
		if (db)
			for (int k = 0; k < C; k++)
				db[k] += dy[k];
	}
}

/* ---- GELU (tanh form) ------------------------------------------------------- */

#define GELU_S 0.7978845608028654f /* sqrt(2 / pi) */
#define GELU_A 0.044715f

/* e^x for x in [-87, 88] (clamped outside), to a few float ulps: x = k ln2
 * + r with |r| <= ln2 / 2, e^r by its degree-6 Taylor polynomial (error
 * < 2e-7 relative), 2^k put straight into the exponent bits. Unlike expf
 * it has no branches or calls, so the GELU loops below vectorise; libm's
 * tanhf made GELU cost as much as all the matrix products of a block. */
static inline float exp_fast(float x)
{
	x = x > -87.0f ? x : -87.0f; /* NaN becomes -87 here; the callers' */
	x = x < 88.0f ? x : 88.0f;   /* other factors still propagate it  */
	/* k = round(x / ln2): adding 1.5 * 2^23 leaves no fraction bits */
	float k = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
	int32_t ki = (int32_t)k;
	float r = x - k * 0.693145751953125f - k * 1.428606765330187045e-06f;
	float p =
		1.0f +
		r * (1.0f +
	         r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
	union {
		uint32_t u;
		float f;
	} scale = {.u = (uint32_t)(ki + 127) << 23};
	return p * scale.f;
}

/* out (n) = 0.5 x (1 + tanh(u)), u = s (x + a x^3); computed as x sigmoid(2u),
 * the same function: 0.5 (1 + tanh u) = 1 / (1 + e^-2u) */
static inline float gelu(float x)
{
	float u = GELU_S * (x + GELU_A * x * x * x);
	float y = x / (1.0f + exp_fast(-2.0f * u));
	/* below u = -43 the result is under 1e-36 |x|, but exp_fast's clamp
	 * would leave x / e^88, far from 0 when x is huge */
	return u < -43.0f ? 0.0f : y;
}

/* Loops run in blocks of GELU_BLOCK with a fixed trip count, which the
 * compiler vectorises at -O2; the remainder one by one. */
#define GELU_BLOCK 16

void lms_gelu_forward(float *restrict out, const float *restrict inp, int n)
{
	int i = 0;
	for (; i + GELU_BLOCK <= n; i += GELU_BLOCK)
		for (int j = 0; j < GELU_BLOCK; j++)
			out[i + j] = gelu(inp[i + j]);
	for (; i < n; i++)
		out[i] = gelu(inp[i]);
}

/* Differentiates y = 0.5 x (1 + tanh u), u = s (x + a x^3):
 *   dy/dx = 0.5 (1 + tanh u) + 0.5 x (1 - tanh^2 u) s (1 + 3 a x^2)
 * with sg = sigmoid(2u) = 0.5 (1 + tanh u) and 1 - tanh^2 u = 4 sg (1 - sg):
 *   dy/dx = sg + 2 x sg (1 - sg) s (1 + 3 a x^2) */
static inline float gelu_grad(float x)
{
	float u = GELU_S * (x + GELU_A * x * x * x);
	float sg = 1.0f / (1.0f + exp_fast(-2.0f * u));
	float g = sg + 2.0f * x * sg * (1.0f - sg) * GELU_S * (1.0f + 3.0f * GELU_A * x * x);
	return u < -43.0f ? 0.0f : g; /* as in gelu() */
}

void lms_gelu_backward(float *restrict dinp, const float *restrict dout, const float *restrict inp,
                       int n)
{
	int i = 0;
	for (; i + GELU_BLOCK <= n; i += GELU_BLOCK)
		for (int j = 0; j < GELU_BLOCK; j++)
			dinp[i + j] += dout[i + j] * gelu_grad(inp[i + j]);
	for (; i < n; i++)
		dinp[i] += dout[i] * gelu_grad(inp[i]);
}

/* ---- exponential ---------------------------------------------------------------- */

/* e^x below -87 is under 1.7e-38: 0 here, where exp_fast would clamp */
static inline float exp_or_zero(float x)
{
	return x < -87.0f ? 0.0f : exp_fast(x);
}

void lms_vexp(float *restrict out, const float *restrict inp, int n)
{
	int i = 0;
	for (; i + GELU_BLOCK <= n; i += GELU_BLOCK)
		for (int j = 0; j < GELU_BLOCK; j++)
			out[i + j] = exp_or_zero(inp[i + j]);
	for (; i < n; i++)
		out[i] = exp_or_zero(inp[i]);
}

/* ---- residual addition ------------------------------------------------------ */

/* out (n) = a (n) + b (n) */
void lms_residual_forward(float *out, const float *a, const float *b, int n)
{
	for (int i = 0; i < n; i++)
		out[i] = a[i] + b[i];
}

/* Differentiates out = a + b: da += dout, db += dout */
void lms_residual_backward(float *da, float *db, const float *dout, int n)
{
	if (da)
		for (int i = 0; i < n; i++)
			da[i] += dout[i];
	if (db)
		for (int i = 0; i < n; i++)
			db[i] += dout[i];
}

/* ---- causal self-attention -------------------------------------------------- */

struct lms_attn_layout lms_attn_layout_fused(int B, int T, int C, int NH)
{
	struct lms_attn_layout s = {
		.B = B,
		.T = T,
		.NH = NH,
		.KV = NH,
		.hs = C / NH,
		.ldq = 3 * C,
		.ldkv = 3 * C,
		.ldo = C,
	};
	return s;
}

/* Queries are taken in blocks of LMS_ATT_BLOCK rows; a block attends to
 * the keys up to its last row only, which skips most of the masked half of
 * q k^T and att v on long contexts. */

/* Softmax over row[0..t] in place; row[t+1..end) = 0. The exponentials
 * through lms_vexp's branch-free exp in blocks that vectorise (libm's expf
 * was a tenth of a GPT-2 forward at 256 positions). */
static void causal_softmax_row(float *row, int t, int end)
{
	float mx = row[0];
	for (int j = 1; j <= t; j++)
		if (row[j] > mx)
			mx = row[j];
	float acc[SUM_LANES] = {0}, sum = 0.0f;
	int j = 0;
	for (; j + SUM_LANES <= t + 1; j += SUM_LANES)
		for (int i = 0; i < SUM_LANES; i++) {
			row[j + i] = exp_or_zero(row[j + i] - mx);
			acc[i] += row[j + i];
		}
	for (; j <= t; j++) {
		row[j] = exp_or_zero(row[j] - mx);
		sum += row[j];
	}
	for (int i = 0; i < SUM_LANES; i++)
		sum += acc[i];
	float inv = 1.0f / sum;
	for (int j = 0; j <= t; j++)
		row[j] *= inv;
	for (int j = t + 1; j < end; j++)
		row[j] = 0.0f;
}

/* One head's pointers into q, k, v and out for batch row b, query head h. */
struct head {
	const float *q, *k, *v;
	float *out;
};

static struct head head_of(const float *q, const float *k, const float *v, float *out,
                           const struct lms_attn_layout *s, int b, int h)
{
	int kvh = h / (s->NH / s->KV);
	size_t T = (size_t)s->T;
	struct head x = {
		q + b * T * s->ldq + (size_t)h * s->hs,
		k + b * T * s->ldkv + (size_t)kvh * s->hs,
		v + b * T * s->ldkv + (size_t)kvh * s->hs,
		out ? out + b * T * s->ldo + (size_t)h * s->hs : NULL,
	};
	return x;
}

/* Whether queries [r0, r1) are a single query (a keystroke's) that sgemv
 * should take: it reads k and v in place, where sgemm first copies all of
 * them into its packed layout (at 1024 positions GPT-2 small's 144 heads
 * took 10 ms that way against 5.5 with sgemv, one thread). When OpenBLAS
 * would split it over threads, each head waits for the other core, which
 * on a busy two-core machine made it 3 to 10 times slower than sgemm: then
 * sgemm. */
static int one_query(const struct lms_attn_layout *s, int r0, int r1)
{
	return r1 - r0 == 1 && lms_sgemv_single((size_t)r1 * s->hs);
}

/* p[0:r1-r0, 0:r1] (row stride ldp) = softmax_causal(q[r0:r1] k[0:r1]^T
 * * scale): the probabilities of queries [r0, r1) over keys [0, r1). */
static void block_probs(float *p, int ldp, const struct head *x, const struct lms_attn_layout *s,
                        int r0, int r1)
{
	float scale = 1.0f / sqrtf((float)s->hs);
	/* scores (nq, r1) = q[r0:r1] (nq, hs) @ k[0:r1]^T (hs, r1) * scale */
	if (one_query(s, r0, r1))
		lms_sgemv(CblasNoTrans, r1, s->hs, scale, x->k, s->ldkv, x->q + (size_t)r0 * s->ldq, 0.0f,
		          p);
	else
		lms_sgemm(CblasNoTrans, CblasTrans, r1 - r0, r1, s->hs, scale, x->q + (size_t)r0 * s->ldq,
		          s->ldq, x->k, s->ldkv, 0.0f, p, ldp);
	for (int t = r0; t < r1; t++)
		causal_softmax_row(p + (size_t)(t - r0) * ldp, t, r1);
}

/* out[r0:r1] (nq, hs) = p (nq, r1) @ v[0:r1] (r1, hs) */
static void block_out(const struct head *x, const float *p, int ldp,
                      const struct lms_attn_layout *s, int r0, int r1)
{
	if (one_query(s, r0, r1)) { /* out (hs) = v[0:r1]^T (hs, r1) @ p (r1) */
		lms_sgemv(CblasTrans, r1, s->hs, 1.0f, x->v, s->ldkv, p, 0.0f,
		          x->out + (size_t)r0 * s->ldo);
		return;
	}
	lms_sgemm(CblasNoTrans, CblasNoTrans, r1 - r0, s->hs, r1, 1.0f, p, ldp, x->v, s->ldkv, 0.0f,
	          x->out + (size_t)r0 * s->ldo, s->ldo);
}

/* att[b, h, t, :] = softmax(q_t k^T / sqrt(hs)) masked to j <= t;
 * out[b, t, h] = att[b, h, t, :] @ v, for t in [t0, t1) */
void lms_attention_forward(float *out, float *att, const float *q, const float *k, const float *v,
                           const struct lms_attn_layout *s, int t0, int t1)
{
	int T = s->T;
	for (int b = 0; b < s->B; b++)
		for (int h = 0; h < s->NH; h++) {
			struct head x = head_of(q, k, v, out, s, b, h);
			float *ab = att + ((size_t)b * s->NH + h) * T * T;
			for (int r0 = t0; r0 < t1; r0 += LMS_ATT_BLOCK) {
				int r1 = r0 + LMS_ATT_BLOCK < t1 ? r0 + LMS_ATT_BLOCK : t1;
				block_probs(ab + (size_t)r0 * T, T, &x, s, r0, r1);
				block_out(&x, ab + (size_t)r0 * T, T, s, r0, r1);
			}
		}
}

/* ---- attention's heads over two cores ------------------------------------------

 * A long context's attention is single-threaded work: each head's products
 * are too small for a second OpenBLAS thread (GPT-2 small's heads over 1024
 * positions: 64 queries by 1024 keys by 64 at a time). Large enough, its
 * heads are split in two halves over lms_split, by groups of heads that
 * share keys and values, so that the backward's sums into dk and dv stay
 * each on one thread. The second half needs a scratch of its own. At 1024
 * positions it cut the explorer's full update for GPT-2 small from 3.4 to
 * 2.7 s. */
enum { ATT_SPLIT_FLOP = 16 << 20 }; /* about 0.4 ms of one core's work */

/* Groups [g0, g1) of the B x KV groups of heads: batch row g / KV, the
 * query heads sharing key head g % KV */
static void group_heads(const struct lms_attn_layout *s, int part, int parts, int *g0, int *g1)
{
	int groups = s->B * s->KV;
	*g0 = groups * part / parts;
	*g1 = groups * (part + 1) / parts;
}

/* The second half's scratch of `floats`, when `flops` of work over the
 * heads are worth a second core; else (or out of memory) NULL: one half */
static float *second_scratch(const struct lms_attn_layout *s, double flops, size_t floats)
{
	if (s->B * s->KV < 2 || flops < ATT_SPLIT_FLOP || !lms_split_available())
		return NULL;
	return malloc(floats * sizeof(float));
}

struct streamed {
	float *out, *scratch, *scratch2;
	const float *q, *k, *v;
	const struct lms_attn_layout *s;
	int t0, t1;
};

static void streamed_part(void *arg, int part, int parts)
{
	const struct streamed *a = arg;
	const struct lms_attn_layout *s = a->s;
	int T = s->T, per = s->NH / s->KV, g0, g1;
	group_heads(s, part, parts, &g0, &g1);
	float *scratch = part ? a->scratch2 : a->scratch;
	for (int g = g0; g < g1; g++)
		for (int h = g % s->KV * per; h < (g % s->KV + 1) * per; h++) {
			struct head x = head_of(a->q, a->k, a->v, a->out, s, g / s->KV, h);
			for (int r0 = a->t0; r0 < a->t1; r0 += LMS_ATT_BLOCK) {
				int r1 = r0 + LMS_ATT_BLOCK < a->t1 ? r0 + LMS_ATT_BLOCK : a->t1;
				block_probs(scratch, T, &x, s, r0, r1);
				block_out(&x, scratch, T, s, r0, r1);
			}
		}
}

/* The same blocks, each block's probabilities in scratch (a block's rows,
 * row stride T) and dropped once its output is made. */
void lms_attention_forward_streamed(float *out, float *scratch, const float *q, const float *k,
                                    const float *v, const struct lms_attn_layout *s, int t0, int t1)
{
	struct streamed a = {out, scratch, NULL, q, k, v, s, t0, t1};
	/* q k^T and att v over keys [0, t] for each query t, per head */
	double flops = 2.0 * s->B * s->NH * s->hs * ((double)t1 * t1 - (double)t0 * t0);
	size_t rows = s->T < LMS_ATT_BLOCK ? (size_t)s->T : LMS_ATT_BLOCK;
	a.scratch2 = second_scratch(s, flops, rows * s->T);
	lms_split(streamed_part, &a, a.scratch2 != NULL);
	free(a.scratch2);
}

/* att (n, n) rows [0, n) of batch row b's head h, row stride lda */
void lms_attention_probs(float *att, int lda, const float *q, const float *k,
                         const struct lms_attn_layout *s, int b, int h, int n)
{
	struct head x = head_of(q, k, k, NULL, s, b, h);
	for (int r0 = 0; r0 < n; r0 += LMS_ATT_BLOCK) {
		int r1 = r0 + LMS_ATT_BLOCK < n ? r0 + LMS_ATT_BLOCK : n;
		block_probs(att + (size_t)r0 * lda, lda, &x, s, r0, r1);
		/* a block's rows stop at its last key; the rest of the row is masked */
		for (int t = r0; t < r1; t++)
			memset(att + (size_t)t * lda + r1, 0, (size_t)(lda - r1) * sizeof(float));
	}
}

/* Differentiates, per batch row and head (P = pre-softmax scores):
 *   P = q k^T / sqrt(hs);  att = softmax_causal(P);  out = att v
 * as
 *   datt = dout v^T
 *   dv  += att^T dout
 *   dP   = att * (datt - rowsum(att * datt)) on j <= i, 0 above
 *   dq  += dP k / sqrt(hs);  dk += dP^T q / sqrt(hs)
 * in the forward's blocks of queries [r0, r1), each over keys [0, r1):
 * the masked upper triangle beyond a block is never multiplied. The
 * scratch holds a block's datt, then dP * scale, (min(n, LMS_ATT_BLOCK),
 * n); with att NULL the block's probabilities, recomputed from q and k,
 * follow it. */
struct attback {
	float *dq, *dk, *dv, *scratch, *scratch2;
	const float *dout, *att, *q, *k, *v;
	const struct lms_attn_layout *s;
	int from, n;
};

/* One head's part of lms_attention_backward, scratch its own */
static void back_head(const struct attback *w, float *scratch, int b, int h)
{
	const struct lms_attn_layout *s = w->s;
	const float *q = w->q, *k = w->k, *v = w->v, *att = w->att;
	int T = s->T, hs = s->hs, n = w->n;
	float scale = 1.0f / sqrtf((float)hs);
	size_t rows = n < LMS_ATT_BLOCK ? (size_t)n : LMS_ATT_BLOCK;
	struct head x = head_of(q, k, v, NULL, s, b, h);
	/* the gradients sit where x's q, k and v sit in q, k and v */
	float *dqh = w->dq + (x.q - q), *dkh = w->dk + (x.k - k), *dvh = w->dv + (x.v - v);
	const float *dob = w->dout + (size_t)b * T * s->ldo + (size_t)h * hs;
	for (int r0 = w->from; r0 < n; r0 += LMS_ATT_BLOCK) {
		int r1 = r0 + LMS_ATT_BLOCK < n ? r0 + LMS_ATT_BLOCK : n, nq = r1 - r0;
		const float *p = att ? att + (((size_t)b * s->NH + h) * T + r0) * T : NULL;
		int ldp = T;
		if (!att) {
			float *re = scratch + rows * n;
			block_probs(re, n, &x, s, r0, r1);
			p = re;
			ldp = n;
		}
		const float *dor = dob + (size_t)r0 * s->ldo;
		lms_sgemm(CblasNoTrans, CblasTrans, nq, r1, hs, 1.0f, dor, s->ldo, x.v, s->ldkv, 0.0f,
		          scratch, n);
		lms_sgemm(CblasTrans, CblasNoTrans, r1, hs, nq, 1.0f, p, ldp, dor, s->ldo, 1.0f, dvh,
		          s->ldkv);
		for (int i = r0; i < r1; i++) {
			const float *a = p + (size_t)(i - r0) * ldp;
			float *dr = scratch + (size_t)(i - r0) * n;
			float dot = 0.0f;
			for (int j = 0; j <= i; j++)
				dot += a[j] * dr[j];
			for (int j = 0; j <= i; j++)
				dr[j] = scale * a[j] * (dr[j] - dot);
			for (int j = i + 1; j < r1; j++)
				dr[j] = 0.0f;
		}
		lms_sgemm(CblasNoTrans, CblasNoTrans, nq, hs, r1, 1.0f, scratch, n, x.k, s->ldkv, 1.0f,
		          dqh + (size_t)r0 * s->ldq, s->ldq);
		lms_sgemm(CblasTrans, CblasNoTrans, r1, hs, nq, 1.0f, scratch, n, x.q + (size_t)r0 * s->ldq,
		          s->ldq, 1.0f, dkh, s->ldkv);
	}
}

static void back_part(void *arg, int part, int parts)
{
	const struct attback *w = arg;
	const struct lms_attn_layout *s = w->s;
	int per = s->NH / s->KV, g0, g1;
	group_heads(s, part, parts, &g0, &g1);
	float *scratch = part ? w->scratch2 : w->scratch;
	for (int g = g0; g < g1; g++)
		for (int h = g % s->KV * per; h < (g % s->KV + 1) * per; h++)
			back_head(w, scratch, g / s->KV, h);
}

void lms_attention_backward(float *dq, float *dk, float *dv, float *scratch, const float *dout,
                            const float *att, const float *q, const float *k, const float *v,
                            const struct lms_attn_layout *s, int from, int n)
{
	if (from < 0 || from > n)
		from = 0;
	struct attback w = {dq, dk, dv, scratch, NULL, dout, att, q, k, v, s, from, n};
	/* four products over keys [0, t] for each query t in [from, n), per head */
	double flops = 4.0 * s->B * s->NH * s->hs * ((double)n * n - (double)from * from);
	size_t rows = n < LMS_ATT_BLOCK ? (size_t)n : LMS_ATT_BLOCK;
	w.scratch2 = second_scratch(s, flops, 2 * rows * n);
	lms_split(back_part, &w, w.scratch2 != NULL);
	free(w.scratch2);
}
