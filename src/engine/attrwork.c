/* The attribution methods' shared work area (attrwork.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arch.h"
#include "attrwork.h"

#define MAX_OWN_ROWS 64

enum lms_status lms_attrwork_open(struct lms_attrwork *w, const struct lms_model *m,
                                  struct lms_run *run, int n, int rows)
{
	memset(w, 0, sizeof *w);
	w->m = m;
	if (n <= 0)
		return lms_fail(LMS_EARG, "nothing to explain: the input is empty");
	if (run) {
		if (run->m != m)
			return lms_fail(LMS_EARG, "the work run belongs to another model");
		if (run->T < n)
			return lms_fail(LMS_EARG, "%d positions do not fit a run of %d", n, run->T);
		w->r = run;
	} else {
		/* as few forwards as the row cap allows, with rows spread evenly */
		int chunks = (rows + MAX_OWN_ROWS - 1) / MAX_OWN_ROWS;
		int B = rows < 1 ? 1 : (rows + chunks - 1) / chunks;
		enum lms_status st = lms_run_new(m, B, n, &w->own);
		if (st)
			return st;
		w->r = w->own;
	}
	w->dsave = malloc((size_t)w->r->B * w->r->Cout * sizeof(float));
	if (!w->dsave) {
		lms_attrwork_close(w);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	w->wte = m->params + lms_arch_ops(m->cfg.arch)->wte_offset(&m->cfg);
	return LMS_OK;
}

void lms_attrwork_close(struct lms_attrwork *w)
{
	lms_run_free(w->own);
	free(w->dsave);
	memset(w, 0, sizeof *w);
}

void lms_attrwork_set_ids(struct lms_attrwork *w, int b, const int *ids, int n)
{
	struct lms_run *r = w->r;
	int C = w->m->cfg.C;
	for (int t = 0; t < n; t++) {
		size_t row = (size_t)b * r->T + t;
		float *e = r->emb + row * C;
		r->ids[row] = ids[t] < 0 ? 0 : ids[t];
		if (ids[t] < 0)
			memset(e, 0, C * sizeof(float));
		else
			memcpy(e, w->wte + (size_t)ids[t] * C, C * sizeof(float));
	}
}

static double logit_diff(struct lms_attrwork *w, int b, int n, int target, int contrast)
{
	struct lms_run *r = w->r;
	lms_logits(r, b, n - 1, n);
	const float *x = r->logits + ((size_t)b * r->T + n - 1) * w->m->cfg.V;
	return (double)x[target] - x[contrast];
}

void lms_attrwork_eval(struct lms_attrwork *w, int rows, int n, int target, int contrast,
                       double *vals, int grad)
{
	struct lms_run *r = w->r;
	int Cout = r->Cout;
	lms_forward(r, 0, n);
	/* each objective call zeroes every row's seed before writing its own,
	 * so the seeds are gathered aside and put back together */
	for (int b = 0; b < r->B; b++) {
		float *d = w->dsave + (size_t)b * Cout;
		if (b >= rows) {
			memset(d, 0, Cout * sizeof(float));
			continue;
		}
		if (!grad) {
			vals[b] = contrast >= 0 ? logit_diff(w, b, n, target, contrast)
			                        : lms_attrwork_logprob(w, b, n, target);
			continue;
		}
		vals[b] = lms_objective_logprob(r, b, n - 1, target, contrast, 0);
		memcpy(d, r->dhfin + ((size_t)b * r->T + n - 1) * Cout, Cout * sizeof(float));
	}
	if (!grad)
		return;
	for (int b = 0; b < r->B; b++)
		memcpy(r->dhfin + ((size_t)b * r->T + n - 1) * Cout, w->dsave + (size_t)b * Cout,
		       Cout * sizeof(float));
	lms_backward(r, LMS_GRAD_INPUT);
}

double lms_attrwork_logprob(struct lms_attrwork *w, int b, int n, int target)
{
	struct lms_run *r = w->r;
	int V = w->m->cfg.V;
	lms_logits(r, b, n - 1, n);
	const float *x = r->logits + ((size_t)b * r->T + n - 1) * V;
	float mx = x[0];
	for (int k = 1; k < V; k++)
		if (x[k] > mx)
			mx = x[k];
	double s = 0.0;
	for (int k = 0; k < V; k++)
		s += exp((double)x[k] - mx);
	return x[target] - mx - log(s);
}
