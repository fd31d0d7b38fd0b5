/* Occlusion (leave one out): score_j = f(x) - f(x with position j hidden),
 * where hiding replaces the token by another one's embedding (normally
 * <unk>), by zeros, or removes the position so the context closes up. The
 * n variants and the input itself are rows of as few batches as the run
 * allows. */
#include <stdlib.h>
#include <string.h>

#include "attr/attrwork.h"

enum lms_status lms_attr_occlusion(struct lms_attrwork *w, const int *ids, int n, int target,
                                   int contrast, const struct lms_attr_opts *o, float *scores,
                                   struct lms_attr_info *info)
{
	struct lms_run *r = w->r;
	int remove = o->occlude == LMS_OCCLUDE_REMOVE;
	if (remove && n < 2)
		return lms_fail(LMS_EARG, "occlusion by removal needs at least two tokens");
	int *var = malloc((size_t)n * sizeof *var);
	double *vals = malloc((size_t)(r->B + n) * sizeof(double));
	if (!var || !vals) {
		free(var);
		free(vals);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	double *hidden = vals + r->B; /* (n) f with position i hidden */
	/* the unoccluded input first, on its own when variants are shorter */
	lms_attrwork_set_ids(w, 0, ids, n);
	int first_row = 0;
	if (remove) {
		lms_attrwork_eval(w, 1, n, target, contrast, vals, 0);
		info->f = vals[0];
	} else {
		first_row = 1;
	}
	int len = remove ? n - 1 : n;
	/* variant i (0 <= i < n) hides position i; with replacement, batch row 0
	 * of the first batch is the input itself */
	int total = n + first_row;
	for (int first = 0; first < total; first += r->B) {
		int rows = total - first < r->B ? total - first : r->B;
		for (int b = 0; b < rows; b++) {
			int i = first + b - first_row;
			if (i < 0) {
				lms_attrwork_set_ids(w, b, ids, n);
				continue;
			}
			if (remove) {
				memcpy(var, ids, i * sizeof *var);
				memcpy(var + i, ids + i + 1, (n - 1 - i) * sizeof *var);
			} else {
				memcpy(var, ids, n * sizeof *var);
				var[i] = o->replace_id;
			}
			lms_attrwork_set_ids(w, b, var, len);
		}
		lms_attrwork_eval(w, rows, len, target, contrast, vals, 0);
		for (int b = 0; b < rows; b++) {
			int i = first + b - first_row;
			if (i < 0)
				info->f = vals[b];
			else
				hidden[i] = vals[b];
		}
		if (lms_attrwork_stop(o, first + rows, total)) {
			free(var);
			free(vals);
			return lms_fail(LMS_EINTR, "occlusion interrupted");
		}
	}
	for (int i = 0; i < n; i++)
		scores[i] = (float)(info->f - hidden[i]);
	info->evaluations = total;
	free(var);
	free(vals);
	return LMS_OK;
}
