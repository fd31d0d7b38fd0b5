/* Integrated gradients (Sundararajan et al. 2017) over the input token
 * embeddings:
 *
 *   IG_j = sum_k (e_jk - b_jk) * integral_0^1 df/de_jk (b + a (e - b)) da
 *
 * with the integral taken by the midpoint rule at a_i = (i + 1/2) / m, whose
 * error falls as 1/m^2 for a smooth f. Completeness says sum_j IG_j equals
 * f(e) - f(b) exactly for the true integral; the gap left is reported so a
 * reader sees whether m was enough. The m path points and the two ends are
 * evaluated as rows of one batch (several when the run has fewer rows). */
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "attr/attrwork.h"

enum lms_status lms_attr_ig(struct lms_attrwork *w, const int *ids, int n, int target, int contrast,
                            const struct lms_attr_opts *o, float *scores,
                            struct lms_attr_info *info)
{
	struct lms_run *r = w->r;
	int C = w->m->cfg.C, m = o->ig_steps;
	size_t nc = (size_t)n * C;
	/* e (n, C) the input, base (n, C) the baseline, gsum (n, C) the summed
	 * gradients along the path, in double so 4096 steps stay exact */
	float *e = malloc(2 * nc * sizeof(float));
	double *gsum = calloc(nc, sizeof(double));
	double *vals = malloc((size_t)r->B * sizeof(double));
	if (!e || !gsum || !vals) {
		free(e);
		free(gsum);
		free(vals);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	float *base = e + nc;
	for (int j = 0; j < n; j++) {
		lms_model_embed_row(w->m, ids[j], e + (size_t)j * C);
		if (o->baseline_id < 0)
			memset(base + (size_t)j * C, 0, C * sizeof(float));
		else
			lms_model_embed_row(w->m, o->baseline_id, base + (size_t)j * C);
	}
	/* rows 0..m-1 are the path points, row m the input, row m + 1 the baseline */
	int total = m + 2;
	for (int first = 0; first < total; first += r->B) {
		int rows = total - first < r->B ? total - first : r->B;
		for (int b = 0; b < rows; b++) {
			int i = first + b;
			float a = i < m ? ((float)i + 0.5f) / (float)m : (i == m ? 1.0f : 0.0f);
			float *x = r->emb + (size_t)b * r->T * C;
			for (size_t q = 0; q < nc; q++)
				x[q] = base[q] + a * (e[q] - base[q]);
			for (int j = 0; j < n; j++)
				r->ids[(size_t)b * r->T + j] = ids[j];
		}
		int need_grad = first < m;
		lms_attrwork_eval(w, rows, n, target, contrast, vals, need_grad);
		for (int b = 0; b < rows; b++) {
			int i = first + b;
			if (i == m) {
				info->f = vals[b];
				continue;
			}
			if (i == m + 1) {
				info->f_baseline = vals[b];
				continue;
			}
			const float *g = r->demb + (size_t)b * r->T * C;
			for (size_t q = 0; q < nc; q++)
				gsum[q] += g[q];
		}
		if (lms_attrwork_stop(o, first + rows, total)) {
			free(e);
			free(gsum);
			free(vals);
			return lms_fail(LMS_EINTR, "integrated gradients interrupted");
		}
	}
	info->evaluations = total;
	for (int j = 0; j < n; j++) {
		double s = 0.0;
		for (int k = 0; k < C; k++) {
			size_t q = (size_t)j * C + k;
			s += ((double)e[q] - base[q]) * gsum[q];
		}
		scores[j] = (float)(s / m);
	}
	free(e);
	free(gsum);
	free(vals);
	return LMS_OK;
}
