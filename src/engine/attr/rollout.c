/* Attention rollout (Abnar and Zuidema 2020). A layer's output at a position
 * is its input there (the residual) plus attention over earlier positions;
 * folding the residual in as 0.5 A + 0.5 I, renormalising each row, and
 * multiplying the layers together follows how much of each input position
 * flows into each output position:
 *
 *   R = Ahat_{L-1} ... Ahat_1 Ahat_0,  Ahat_l = rownorm(0.5 mean_h A_lh + 0.5 I)
 *
 * Row n - 1 of R is the attribution of the last position's prediction. It
 * looks at attention only: the same whatever token is being explained. */
#include <string.h>

#include "lmscope/attribution.h"

/* out (n, n) = rownorm(0.5 a + 0.5 I) */
static void fold_residual(float *out, const float *a, int n)
{
	for (int i = 0; i < n; i++) {
		double s = 0.0;
		for (int j = 0; j < n; j++) {
			float v = 0.5f * a[(size_t)i * n + j] + (i == j ? 0.5f : 0.0f);
			out[(size_t)i * n + j] = v;
			s += v;
		}
		if (s > 0.0)
			for (int j = 0; j < n; j++)
				out[(size_t)i * n + j] = (float)(out[(size_t)i * n + j] / s);
	}
}

void lms_rollout(float *R, const float *A, int L, int n, float *work)
{
	size_t nn = (size_t)n * n;
	float *ahat = work, *prod = work + nn;
	fold_residual(R, A, n);
	for (int l = 1; l < L; l++) {
		fold_residual(ahat, A + l * nn, n);
		/* prod = ahat @ R; both lower triangular, so k runs over [j, i] */
		for (int i = 0; i < n; i++)
			for (int j = 0; j < n; j++) {
				double s = 0.0;
				for (int k = 0; k < n; k++)
					s += (double)ahat[(size_t)i * n + k] * R[(size_t)k * n + j];
				prod[(size_t)i * n + j] = (float)s;
			}
		memcpy(R, prod, nn * sizeof(float));
	}
}

enum lms_status lms_rollout_run(float *R, const struct lms_run *r, int b, int n, float *work)
{
	const struct lms_config *c = &r->m->cfg;
	if (lms_arch_is_recurrent(c->arch) || !lms_run_attention(r, 0, 0, b))
		return lms_fail(LMS_EUNSUPPORTED, "attention rollout needs attention: %s models have none",
		                lms_arch_name(c->arch));
	if (n > r->n)
		return lms_fail(LMS_EARG, "rollout over %d positions, the forward ran %d", n, r->n);
	size_t nn = (size_t)n * n;
	float *mean = work; /* (L, n, n) head-mean attention */
	for (int l = 0; l < c->L; l++) {
		float *ml = mean + l * nn;
		memset(ml, 0, nn * sizeof(float));
		for (int h = 0; h < c->NH; h++) {
			const float *a = lms_run_attention(r, l, h, b);
			for (int i = 0; i < n; i++)
				for (int j = 0; j <= i; j++)
					ml[(size_t)i * n + j] += a[(size_t)i * r->T + j] / c->NH;
		}
	}
	lms_rollout(R, mean, c->L, n, work + c->L * nn);
	return LMS_OK;
}
