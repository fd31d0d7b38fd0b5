/* The attribution methods' shared work area (attrwork.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

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
	const struct lms_arch_ops *ops = lms_arch_ops(m->cfg.arch);
	w->wte = m->params + ops->wte_offset(&m->cfg);
	w->wout = m->params + ops->wout_offset(&m->cfg);
	return LMS_OK;
}

void lms_attrwork_close(struct lms_attrwork *w)
{
	lms_run_free(w->own);
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

/* f of row b from its logits at position n - 1; with d (V) not NULL, also
 * df/dlogits into d. log p(t) - log p(c) = x_t - x_c: the normaliser cancels;
 * d log p_t / d x_k = [k = t] - p_k. */
static double row_value(struct lms_attrwork *w, int b, int n, int target, int contrast, float *d)
{
	struct lms_run *r = w->r;
	int V = w->m->cfg.V;
	lms_logits(r, b, n - 1, n);
	const float *x = r->logits + ((size_t)b * r->T + n - 1) * V;
	if (contrast >= 0) {
		if (d) {
			memset(d, 0, V * sizeof(float));
			d[target] = 1.0f;
			d[contrast] = -1.0f;
		}
		return (double)x[target] - x[contrast];
	}
	float mx = x[0];
	for (int k = 1; k < V; k++)
		if (x[k] > mx)
			mx = x[k];
	double s = 0.0;
	for (int k = 0; k < V; k++)
		s += exp((double)x[k] - mx);
	double lse = mx + log(s);
	if (d) {
		for (int k = 0; k < V; k++)
			d[k] = -(float)exp((double)x[k] - lse);
		d[target] += 1.0f;
	}
	return x[target] - lse;
}

void lms_attrwork_eval(struct lms_attrwork *w, int rows, int n, int target, int contrast,
                       double *vals, int grad)
{
	struct lms_run *r = w->r;
	const struct lms_config *c = &w->m->cfg;
	int Cout = r->Cout;
	lms_forward(r, 0, n);
	if (grad) /* the seeds: zero except each row's last position */
		for (int b = 0; b < r->B; b++)
			memset(r->dhfin + (size_t)b * r->T * Cout, 0, (size_t)n * Cout * sizeof(float));
	for (int b = 0; b < rows; b++) {
		vals[b] = row_value(w, b, n, target, contrast, grad ? r->scratch : NULL);
		if (grad) /* dh = d @ wout: (V) x (V, Cout) */
			cblas_sgemv(CblasRowMajor, CblasTrans, c->V, Cout, 1.0f, w->wout, Cout, r->scratch, 1,
			            0.0f, r->dhfin + ((size_t)b * r->T + n - 1) * Cout, 1);
	}
	if (grad)
		lms_backward(r, LMS_GRAD_INPUT);
}

int lms_attrwork_stop(const struct lms_attr_opts *o, long done, long total)
{
	return o->progress && o->progress(o->userdata, done, total);
}

double lms_attrwork_logprob(struct lms_attrwork *w, int b, int n, int target)
{
	return row_value(w, b, n, target, -1, NULL);
}
