/* Plain-loop twins of the BLAS-backed ops in ops.c, written as the textbook
 * formulas with double accumulators. Used only by the unit tests, as the
 * oracle the fast versions are compared with. */
#include <math.h>
#include <stddef.h>

#include "nn/ops.h"

/* out (N, OC) = inp (N, C) @ w (C, OC) + b */
void lms_matmul_forward_ref(float *out, const float *inp, const float *w, const float *b, int N,
                            int C, int OC)
{
	for (int i = 0; i < N; i++)
		for (int o = 0; o < OC; o++) {
			double acc = b ? b[o] : 0.0;
			for (int c = 0; c < C; c++)
				acc += (double)inp[(size_t)i * C + c] * w[(size_t)c * OC + o];
			out[(size_t)i * OC + o] = (float)acc;
		}
}

void lms_matmul_backward_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                             const float *w, int N, int C, int OC)
{
	for (int i = 0; i < N; i++)
		for (int o = 0; o < OC; o++) {
			float d = dout[(size_t)i * OC + o];
			for (int c = 0; c < C; c++) {
				if (dinp)
					dinp[(size_t)i * C + c] += d * w[(size_t)c * OC + o];
				if (dw)
					dw[(size_t)c * OC + o] += d * inp[(size_t)i * C + c];
			}
			if (db)
				db[o] += d;
		}
}

/* out (N, OC) = inp (N, C) @ w^T + b, w (OC, C) */
void lms_linear_forward_ref(float *out, const float *inp, const float *w, const float *b, int N,
                            int C, int OC)
{
	for (int i = 0; i < N; i++)
		for (int o = 0; o < OC; o++) {
			double acc = b ? b[o] : 0.0;
			for (int c = 0; c < C; c++)
				acc += (double)inp[(size_t)i * C + c] * w[(size_t)o * C + c];
			out[(size_t)i * OC + o] = (float)acc;
		}
}

void lms_linear_backward_ref(float *dinp, float *dw, float *db, const float *dout, const float *inp,
                             const float *w, int N, int C, int OC)
{
	for (int i = 0; i < N; i++)
		for (int o = 0; o < OC; o++) {
			float d = dout[(size_t)i * OC + o];
			for (int c = 0; c < C; c++) {
				if (dinp)
					dinp[(size_t)i * C + c] += d * w[(size_t)o * C + c];
				if (dw)
					dw[(size_t)o * C + c] += d * inp[(size_t)i * C + c];
			}
			if (db)
				db[o] += d;
		}
}

/* Element (b, t, head h, channel c) of a q/k/v/out style buffer. */
static size_t at(const struct lms_attn_layout *s, int ld, int b, int t, int h, int c)
{
	return ((size_t)b * s->T + t) * ld + (size_t)h * s->hs + c;
}

void lms_attention_forward_ref(float *out, float *att, const float *q, const float *k,
                               const float *v, const struct lms_attn_layout *s, int t0, int t1)
{
	int T = s->T, hs = s->hs, group = s->NH / s->KV;
	for (int b = 0; b < s->B; b++)
		for (int h = 0; h < s->NH; h++)
			for (int t = t0; t < t1; t++) {
				int g = h / group;
				float *a = att + (((size_t)b * s->NH + h) * T + t) * T;
				double mx = -INFINITY, sum = 0.0;
				double p[t + 1];
				for (int j = 0; j <= t; j++) {
					double dot = 0.0;
					for (int c = 0; c < hs; c++)
						dot += (double)q[at(s, s->ldq, b, t, h, c)] * k[at(s, s->ldkv, b, j, g, c)];
					p[j] = dot / sqrt((double)hs);
					if (p[j] > mx)
						mx = p[j];
				}
				for (int j = 0; j <= t; j++) {
					p[j] = exp(p[j] - mx);
					sum += p[j];
				}
				for (int j = 0; j < T; j++)
					a[j] = j <= t ? (float)(p[j] / sum) : 0.0f;
				for (int c = 0; c < hs; c++) {
					double acc = 0.0;
					for (int j = 0; j <= t; j++)
						acc += (double)a[j] * v[at(s, s->ldkv, b, j, g, c)];
					out[at(s, s->ldo, b, t, h, c)] = (float)acc;
				}
			}
}

void lms_attention_backward_ref(float *dq, float *dk, float *dv, const float *dout,
                                const float *att, const float *q, const float *k, const float *v,
                                const struct lms_attn_layout *s, int n)
{
	int T = s->T, hs = s->hs, group = s->NH / s->KV;
	double scale = 1.0 / sqrt((double)hs);
	for (int b = 0; b < s->B; b++)
		for (int h = 0; h < s->NH; h++)
			for (int i = 0; i < n; i++) {
				int g = h / group;
				const float *a = att + (((size_t)b * s->NH + h) * T + i) * T;
				double datt[i + 1], dot = 0.0;
				for (int j = 0; j <= i; j++) {
					/* out_i = sum_j a_ij v_j */
					double d = 0.0;
					for (int c = 0; c < hs; c++) {
						float go = dout[at(s, s->ldo, b, i, h, c)];
						d += (double)go * v[at(s, s->ldkv, b, j, g, c)];
						dv[at(s, s->ldkv, b, j, g, c)] += a[j] * go;
					}
					datt[j] = d;
					dot += a[j] * d;
				}
				for (int j = 0; j <= i; j++) {
					/* a_ij = softmax_j(P_ij), P_ij = q_i . k_j * scale */
					double dp = a[j] * (datt[j] - dot) * scale;
					for (int c = 0; c < hs; c++) {
						dq[at(s, s->ldq, b, i, h, c)] +=
							(float)(dp * k[at(s, s->ldkv, b, j, g, c)]);
						dk[at(s, s->ldkv, b, j, g, c)] +=
							(float)(dp * q[at(s, s->ldq, b, i, h, c)]);
					}
				}
			}
}
