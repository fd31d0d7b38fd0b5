/* How far an attribution can be trusted: the deletion curve (hide positions
 * from most to least important and watch the target's probability fall;
 * a faithful ranking makes it fall fast, so the area under it is small) and
 * the rank agreement of two methods on the same input (Spearman); and the
 * report both front ends show, which compares a saliency with the cheap
 * methods by one policy (lms_faith_compares). */
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

/* Removal: the variants' lengths differ, so one forward per step, row 0.
 * order (2n): the ranking, then room for one variant. */
static enum lms_status curve_removed(struct lms_attrwork *w, const int *ids, int n, int target,
                                     int *order, const struct lms_attr_opts *o, float *curve)
{
	int *var = order + n;
	for (int k = 0; k < n; k++) {
		int len = 0;
		for (int j = 0; j < n; j++) {
			int hidden = 0;
			for (int q = 0; q < k; q++)
				hidden |= order[q] == j;
			if (!hidden)
				var[len++] = ids[j];
		}
		double val;
		lms_attrwork_set_ids(w, 0, var, len);
		lms_attrwork_eval(w, 1, len, target, -1, &val, 0);
		curve[k] = (float)exp(val);
		if (lms_attrwork_stop(o, k + 1, n))
			return lms_fail(LMS_EINTR, "deletion curve interrupted");
	}
	curve[n] = curve[n - 1];
	return LMS_OK;
}

/* Replacement: every step has n positions, so the n + 1 variants fill the
 * run's rows, as many batches as it takes. */
static enum lms_status curve_replaced(struct lms_attrwork *w, const int *ids, int n, int target,
                                      int *order, const struct lms_attr_opts *o, float *curve)
{
	struct lms_run *r = w->r;
	int *var = order + n;
	double *vals = malloc((size_t)r->B * sizeof *vals);
	if (!vals)
		return lms_fail(LMS_ENOMEM, "out of memory");
	for (int first = 0; first <= n; first += r->B) {
		int rows = n + 1 - first < r->B ? n + 1 - first : r->B;
		for (int b = 0; b < rows; b++) {
			int k = first + b;
			memcpy(var, ids, n * sizeof *var);
			for (int q = 0; q < k; q++)
				var[order[q]] = o->replace_id;
			lms_attrwork_set_ids(w, b, var, n);
		}
		lms_attrwork_eval(w, rows, n, target, -1, vals, 0);
		for (int b = 0; b < rows; b++)
			curve[first + b] = (float)exp(vals[b]);
		if (lms_attrwork_stop(o, first + rows, n + 1)) {
			free(vals);
			return lms_fail(LMS_EINTR, "deletion curve interrupted");
		}
	}
	free(vals);
	return LMS_OK;
}

enum lms_status lms_deletion_curve(const struct lms_model *m, const int *ids, int n, int target,
                                   const float *scores, const struct lms_attr_opts *o, float *curve,
                                   double *area)
{
	struct lms_attr_opts def;
	if (!o) {
		lms_attr_opts_default(&def);
		o = &def;
	}
	if (target < 0 || target >= m->cfg.V)
		return lms_fail(LMS_EARG, "target id %d outside the vocabulary (0 to %d)", target,
		                m->cfg.V - 1);
	for (int j = 0; j < n; j++)
		if (ids[j] < 0 || ids[j] >= m->cfg.V)
			return lms_fail(LMS_EARG, "token id %d outside the vocabulary (0 to %d)", ids[j],
			                m->cfg.V - 1);
	int remove = o->occlude == LMS_OCCLUDE_REMOVE;
	struct lms_attrwork w;
	enum lms_status st = lms_attrwork_open(&w, m, o->run, n, remove ? 1 : n + 1);
	if (st)
		return st;
	if (w.own)
		w.own->iv = o->iv;
	int *order = malloc((size_t)n * 2 * sizeof *order);
	if (!order) {
		lms_attrwork_close(&w);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	rank_order(order, scores, n);
	st = remove ? curve_removed(&w, ids, n, target, order, o, curve)
	            : curve_replaced(&w, ids, n, target, order, o, curve);
	if (!st) {
		double a = 0.0;
		for (int k = 0; k < n; k++)
			a += 0.5 * ((double)curve[k] + curve[k + 1]) / n;
		*area = a;
	}
	free(order);
	lms_attrwork_close(&w);
	return st;
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

int lms_faith_compares(const struct lms_attr_opts *o, enum lms_attr_method other,
                       enum lms_arch arch, int n)
{
	int cheap = other == LMS_ATTR_GRAD_NORM || other == LMS_ATTR_GRAD_X_INPUT ||
	            other == LMS_ATTR_OCCLUSION || other == LMS_ATTR_ATTENTION_ROLLOUT;
	return n >= 2 && cheap && other != o->method && lms_attr_method_supported(other, arch);
}

enum lms_status lms_faithfulness(const struct lms_model *m, const int *ids, int n, int target,
                                 int contrast, const float *scores, const struct lms_attr_opts *o,
                                 float *curve, float *other, struct lms_faithfulness *out)
{
	struct lms_attr_opts def;
	if (!o) {
		lms_attr_opts_default(&def);
		o = &def;
	}
	out->area = NAN;
	for (int k = 0; k < LMS_ATTR_N_METHODS; k++)
		out->rho[k] = NAN;
	enum lms_status st = lms_deletion_curve(m, ids, n, target, scores, o, curve, &out->area);
	if (st)
		return st;
	float *own = other ? NULL : malloc((size_t)(n > 0 ? n : 1) * sizeof *own);
	if (!other && !own)
		return lms_fail(LMS_ENOMEM, "out of memory");
	if (!other)
		other = own;
	for (int k = 0; k < LMS_ATTR_N_METHODS && !st; k++) {
		if (!lms_faith_compares(o, k, m->cfg.arch, n))
			continue;
		struct lms_attr_opts ok = *o;
		ok.method = k;
		st = lms_attribute(m, ids, n, target, contrast, &ok, other, NULL);
		if (!st)
			out->rho[k] = lms_spearman(scores, other, n);
	}
	free(own);
	return st;
}
