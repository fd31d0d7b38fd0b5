/* RMSNorm (Zhang & Sennrich 2019), as Llama uses it: no mean, no bias.
 *
 * Forward, per row:  r = 1 / sqrt(sum_j x_j^2 / C + eps),  y_i = w_i r x_i.
 * Backward: with g_i = w_i dy_i,
 *   dr/dx_j = -r^3 x_j / C, so
 *   dx_j = r g_j - (r^3 / C) x_j sum_i g_i x_i,
 *   dw_i = dy_i r x_i. */
#include <math.h>
#include <stddef.h>

#include "nn/llama_ops.h"

void lms_rmsnorm_forward(float *out, float *rstd, const float *inp, const float *w, int N, int C,
                         float eps)
{
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		float *y = out + (size_t)n * C;
		double ss = 0.0;
		for (int i = 0; i < C; i++)
			ss += (double)x[i] * x[i];
		float r = (float)(1.0 / sqrt(ss / C + eps));
		for (int i = 0; i < C; i++)
			y[i] = w[i] * (r * x[i]);
		rstd[n] = r;
	}
}

void lms_rmsnorm_backward(float *dinp, float *dw, const float *dout, const float *inp,
                          const float *w, const float *rstd, int N, int C)
{
	for (int n = 0; n < N; n++) {
		const float *x = inp + (size_t)n * C;
		const float *dy = dout + (size_t)n * C;
		float *dx = dinp + (size_t)n * C;
		float r = rstd[n];
		double gx = 0.0; /* sum_i w_i dy_i x_i */
		for (int i = 0; i < C; i++)
			gx += (double)w[i] * dy[i] * x[i];
		float k = (float)(gx * r * r * r / C);
		for (int i = 0; i < C; i++)
			dx[i] += r * w[i] * dy[i] - k * x[i];
		if (dw)
			for (int i = 0; i < C; i++)
				dw[i] += dy[i] * r * x[i];
	}
}
