/* How far an attribution can be trusted: the deletion curve (hide positions
 * from most to least important and watch the target's probability fall;
 * a faithful ranking makes it fall fast, so the area under it is small) and
 * the rank agreement of two methods on the same input (Spearman). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attr/attrwork.h"

/* order (n): positions by decreasing score, ties by position */
static void rank_order(int *order, const float *scores, int n)
{
	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = 1; i < n; i++) { /* insertion sort: n is a context length */
		int v = order[i], k = i;
		while (k > 0 && scores[order[k - 1]] < scores[v]) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = v;
	}
}

enum lms_status lms_deletion_curve(const struct lms_model *m, const int *ids, int n, int target,
                                   const float *scores, const struct lms_attr_opts *o,
                                   float *curve, double *area)
{
	struct lms_attr_opts def;
	if (!o) {
		lms_attr_opts_default(&def);
		o = &def;
	}
	if (target < 0 || target >= m->cfg.V)
		return lms_fail(LMS_EARG, "target id %d outside the vocabulary (0 to %d)", target, m->cfg.V - 1);
	for (int j = 0; j < n; j++)
		if (ids[j] < 0 || ids[j] >= m->cfg.V)
			return lms_fail(LMS_EARG, "token id %d outside the vocabulary (0 to %d)", ids[j], m->cfg.V - 1);
	int remove = o->occlude == LMS_OCCLUDE_REMOVE;
	struct lms_attrwork w;
	enum lms_status st = lms_attrwork_open(&w, m, o->run, n, remove ? 1 : n + 1);
	if (st)
		return st;
	if (w.own)
		w.own->iv = o->iv;
	struct lms_run *r = w.r;
	int *order = malloc((size_t)n * 2 * sizeof *order);
	double *vals = malloc((size_t)r->B * sizeof *vals);
	if (!order || !vals) {
		free(order);
		free(vals);
		lms_attrwork_close(&w);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	int *var = order + n;
	rank_order(order, scores, n);
	if (remove) {
		/* lengths differ: one forward per step, row 0 */
		for (int k = 0; k < n; k++) {
			int len = 0;
			for (int j = 0; j < n; j++) {
				int hidden = 0;
				for (int q = 0; q < k; q++)
					hidden |= order[q] == j;
				if (!hidden)
					var[len++] = ids[j];
			}
			lms_attrwork_set_ids(&w, 0, var, len);
			lms_attrwork_eval(&w, 1, len, target, -1, vals, 0);
			curve[k] = (float)exp(vals[0]);
		}
		curve[n] = curve[n - 1];
	} else {
		for (int first = 0; first <= n; first += r->B) {
			int rows = n + 1 - first < r->B ? n + 1 - first : r->B;
			for (int b = 0; b < rows; b++) {
				int k = first + b;
				memcpy(var, ids, n * sizeof *var);
				for (int q = 0; q < k; q++)
					var[order[q]] = o->replace_id;
				lms_attrwork_set_ids(&w, b, var, n);
			}
			lms_attrwork_eval(&w, rows, n, target, -1, vals, 0);
			for (int b = 0; b < rows; b++)
				curve[first + b] = (float)exp(vals[b]);
		}
	}
	double a = 0.0;
	for (int k = 0; k < n; k++)
		a += 0.5 * ((double)curve[k] + curve[k + 1]) / n;
	*area = a;
	free(order);
	free(vals);
	lms_attrwork_close(&w);
	return LMS_OK;
}

/* rank (n) of each entry, 1-based, ties given their mean rank */
static void ranks(double *rank, const float *x, int *order, int n)
{
	rank_order(order, x, n);
	for (int i = 0; i < n;) {
		int k = i;
		while (k + 1 < n && x[order[k + 1]] == x[order[i]])
			k++;
		for (int q = i; q <= k; q++)
			rank[order[q]] = 0.5 * (i + k) + 1.0;
		i = k + 1;
	}
}

double lms_spearman(const float *a, const float *b, int n)
{
	if (n < 2)
		return 0.0;
	double *ra = malloc((size_t)n * 2 * sizeof *ra);
	int *order = malloc((size_t)n * sizeof *order);
	if (!ra || !order) {
		free(ra);
		free(order);
		return 0.0;
	}
	double *rb = ra + n;
	ranks(ra, a, order, n);
	ranks(rb, b, order, n);
	/* Pearson correlation of the ranks (exact with ties) */
	double ma = 0.0, mb = 0.0;
	for (int i = 0; i < n; i++) {
		ma += ra[i] / n;
		mb += rb[i] / n;
	}
	double sab = 0.0, saa = 0.0, sbb = 0.0;
	for (int i = 0; i < n; i++) {
		sab += (ra[i] - ma) * (rb[i] - mb);
		saa += (ra[i] - ma) * (ra[i] - ma);
		sbb += (rb[i] - mb) * (rb[i] - mb);
	}
	free(ra);
	free(order);
	return saa > 0.0 && sbb > 0.0 ? sab / sqrt(saa * sbb) : 0.0;
}
