/* LIME for token sequences (Ribeiro et al. 2016): draw keep-masks z over the
 * positions, evaluate f on the input with the dropped positions hidden (by
 * the replacement token, or zeros), weight each sample by a kernel on its
 * cosine distance to the full input, and fit the sparse linear surrogate
 * f ~ b0 + sum_j beta_j z_j with the LASSO (lasso.c), lambda by k-fold
 * cross-validation. beta_j is position j's score: what keeping it adds.
 * Sample 0 is the input itself. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attr/attrwork.h"
#include "attr/lasso.h"
#include "lmscope/rng.h"

#define LIME_LAMBDAS 24

enum lms_status lms_attr_lime(struct lms_attrwork *w, const int *ids, int n, int target,
                              int contrast, const struct lms_attr_opts *o, float *scores,
                              struct lms_attr_info *info)
{
	struct lms_run *r = w->r;
	int S = o->lime_samples;
	float *z = malloc((size_t)S * n * sizeof *z); /* (S, n) keep-masks */
	double *y = malloc((size_t)(3 * S + n + r->B) * sizeof(double));
	int *var = malloc((size_t)n * sizeof *var);
	if (!z || !y || !var) {
		free(z);
		free(y);
		free(var);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	double *wt = y + S, *beta = wt + S, *vals = beta + n;
	struct lms_rng g;
	lms_rng_seed(&g, o->seed);
	for (int s = 0; s < S; s++) {
		int kept = 0;
		for (int j = 0; j < n; j++) {
			float keep = s == 0 || lms_rng_uniform(&g) < o->lime_keep;
			z[(size_t)s * n + j] = keep;
			kept += keep != 0.0f;
		}
		/* cosine distance between z and the all-ones mask */
		double d = 1.0 - sqrt((double)kept / n);
		wt[s] =
			o->lime_kernel > 0.0f ? exp(-d * d / ((double)o->lime_kernel * o->lime_kernel)) : 1.0;
	}
	for (int first = 0; first < S; first += r->B) {
		int rows = S - first < r->B ? S - first : r->B;
		for (int b = 0; b < rows; b++) {
			const float *zs = z + (size_t)(first + b) * n;
			for (int j = 0; j < n; j++)
				var[j] = zs[j] != 0.0f ? ids[j] : o->replace_id;
			lms_attrwork_set_ids(w, b, var, n);
		}
		lms_attrwork_eval(w, rows, n, target, contrast, vals, 0);
		for (int b = 0; b < rows; b++)
			y[first + b] = vals[b];
		if (lms_attrwork_stop(o, first + rows, S)) {
			free(z);
			free(y);
			free(var);
			return lms_fail(LMS_EINTR, "lime interrupted");
		}
	}
	info->f = y[0];
	info->evaluations = S;
	memset(beta, 0, n * sizeof *beta);
	double b0 = 0.0;
	enum lms_status st =
		lms_lasso_cv(z, y, wt, S, n, o->lime_folds, LIME_LAMBDAS, o->seed ^ 0x9e3779b97f4a7c15ull,
	                 beta, &b0, &info->lambda, NULL);
	if (!st) {
		double W = 0.0, ybar = 0.0, sse = 0.0, sst = 0.0;
		for (int s = 0; s < S; s++) {
			W += wt[s];
			ybar += wt[s] * y[s];
		}
		ybar /= W;
		for (int s = 0; s < S; s++) {
			double p = b0;
			for (int j = 0; j < n; j++)
				p += z[(size_t)s * n + j] * beta[j];
			sse += wt[s] * (y[s] - p) * (y[s] - p);
			sst += wt[s] * (y[s] - ybar) * (y[s] - ybar);
		}
		info->r2 = sst > 0.0 ? 1.0 - sse / sst : 1.0;
		info->nonzero = 0;
		for (int j = 0; j < n; j++) {
			scores[j] = (float)beta[j];
			info->nonzero += beta[j] != 0.0;
		}
	}
	free(z);
	free(y);
	free(var);
	return st;
}
