/* The attribution methods' shared work area (attrwork.h). */
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "attr/attrwork.h"
#include "lmscope/interp.h"
#include "lmscope/logits.h"
#include "nn/ops.h"

#define MAX_OWN_ROWS 64

enum lms_status lms_attrwork_open(struct lms_attrwork *w, const struct lms_model *m,
                                  struct lms_run *run, int n, int rows)
{
	memset(w, 0, sizeof *w);
	w->m = m;
	if (n <= 0)
		return lms_fail(LMS_EARG, "nothing to explain: the input is empty");
	enum lms_status st = lms_intervention_new(m, &w->blank);
	if (st)
		return st;
	if (run) {
		if (run->m != m)
			st = lms_fail(LMS_EARG, "the work run belongs to another model");
		else if (run->T < n)
			st = lms_fail(LMS_EARG, "%d positions do not fit a run of %d", n, run->T);
		if (st) {
			lms_attrwork_close(w);
			return st;
		}
		w->r = run;
	} else {
		/* as few forwards as the row cap allows, with rows spread evenly */
		int chunks = (rows + MAX_OWN_ROWS - 1) / MAX_OWN_ROWS;
		int B = rows < 1 ? 1 : (rows + chunks - 1) / chunks;
		st = lms_run_new(m, B, n, &w->own);
		if (st) {
			lms_attrwork_close(w);
			return st;
		}
		w->r = w->own;
	}
	return LMS_OK;
}

void lms_attrwork_close(struct lms_attrwork *w)
{
	lms_run_free(w->own);
	lms_intervention_free(w->blank);
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
			lms_model_embed_row(w->m, ids[t], e);
	}
}

/* f of row b from its logits at position n - 1; with dh (Cout) not NULL,
 * also df/dh there. log p(t) - log p(c) = x_t - x_c: the normaliser cancels,
 * df/dh = wout_t - wout_c. log p(t) = x_t - lse, df/dh = wout^T (onehot(t) -
 * p) = wout_t - sum_k p_k wout_k: lms_logits of one row leaves lse and that
 * mean row in r->soft_*, so no second pass over the unembedding is needed. */
static double row_value(struct lms_attrwork *w, int b, int n, int target, int contrast, float *dh)
{
	struct lms_run *r = w->r;
	int V = w->m->cfg.V, D = r->Cout;
	lms_logits(r, b, n - 1, n);
	const float *x = r->logits + ((size_t)b * r->T + n - 1) * V;
	/* the unembedding rows as float, in the run's row buffer */
	float *wt = r->wrows, *wc = r->wrows + D;
	if (dh)
		lms_model_unembed_row(w->m, target, wt);
	if (contrast >= 0) {
		if (dh) {
			lms_model_unembed_row(w->m, contrast, wc);
			for (int j = 0; j < D; j++)
				dh[j] = wt[j] - wc[j];
		}
		return (double)x[target] - x[contrast];
	}
	if (dh) {
		const float *mean = lms_soft_mean(r);
		for (int j = 0; j < D; j++)
			dh[j] = wt[j] - mean[j];
	}
	return x[target] - r->soft_lse;
}

/* f of rows [0, rows) at position n - 1 into vals, from one product over
 * those rows' last positions (wout read once for the batch); with grad,
 * df/dh into each row's dhfin there (zero on entry). log p(t) = x_t - lse,
 * df/dh = wout_t - sum_k p_k wout_k: the probabilities overwrite the
 * logits and one more product gives every row's mean (rows, D). */
static void rows_value(struct lms_attrwork *w, int rows, int n, int target, int contrast,
                       double *vals, int grad)
{
	struct lms_run *r = w->r;
	int V = w->m->cfg.V, D = r->Cout, T = r->T;
	size_t pos = (size_t)n - 1;
	lms_logits_at(r, rows, n - 1);
	for (int b = 0; b < rows; b++) {
		float *x = r->logits + ((size_t)b * T + pos) * V;
		if (contrast >= 0) {
			vals[b] = (double)x[target] - x[contrast];
			continue;
		}
		double lse = lms_logsumexp(x, V);
		vals[b] = x[target] - lse;
		if (!grad)
			continue;
		/* p (V) = exp(x - lse), in place, through the vectorised exp */
		float sh[256];
		for (int k0 = 0; k0 < V; k0 += 256) {
			int nb = V - k0 < 256 ? V - k0 : 256;
			for (int j = 0; j < nb; j++)
				sh[j] = (float)(x[k0 + j] - lse);
			lms_vexp(x + k0, sh, nb);
		}
	}
	if (!grad)
		return;
	float *wt = r->wrows, *wc = r->wrows + D;
	lms_model_unembed_row(w->m, target, wt);
	if (contrast >= 0)
		lms_model_unembed_row(w->m, contrast, wc);
	float *dh0 = r->dhfin + pos * D;
	/* means (rows, D) = p (rows, V) @ wout (V, D), into the zeroed dh rows */
	if (contrast < 0)
		lms_wmat_backward(dh0, T * D, r->logits + pos * V, T * V, lms_model_wout(w->m), rows);
	for (int b = 0; b < rows; b++) {
		float *dh = dh0 + (size_t)b * T * D;
		for (int j = 0; j < D; j++)
			dh[j] = contrast >= 0 ? wt[j] - wc[j] : wt[j] - dh[j];
	}
}

/* The forward (and backward) reads f only at position n - 1, so unless
 * every position is read afterwards (w->all_positions), the last layer
 * computes past its keys and values only there (interp.h's last_only, on
 * a copy of whatever intervention the run follows). Positions left stale
 * there get zero gradient in the backward. */
void lms_attrwork_eval(struct lms_attrwork *w, int rows, int n, int target, int contrast,
                       double *vals, int grad)
{
	struct lms_run *r = w->r;
	int Cout = r->Cout;
	const struct lms_intervention *iv = r->iv;
	struct lms_intervention last;
	if (!w->all_positions) {
		last = iv ? *iv : *w->blank;
		last.last_only = 1;
		r->iv = &last;
	}
	lms_forward(r, 0, n);
	if (grad) /* the seeds: zero except each row's last position */
		for (int b = 0; b < r->B; b++)
			memset(r->dhfin + (size_t)b * r->T * Cout, 0, (size_t)n * Cout * sizeof(float));
	if (rows > 1)
		rows_value(w, rows, n, target, contrast, vals, grad);
	else
		for (int b = 0; b < rows; b++)
			vals[b] = row_value(w, b, n, target, contrast,
			                    grad ? r->dhfin + ((size_t)b * r->T + n - 1) * Cout : NULL);
	if (grad)
		lms_backward(r, LMS_GRAD_INPUT);
	r->iv = iv;
}

int lms_attrwork_stop(const struct lms_attr_opts *o, long done, long total)
{
	return o->progress && o->progress(o->userdata, done, total);
}

double lms_attrwork_logprob(struct lms_attrwork *w, int b, int n, int target)
{
	return row_value(w, b, n, target, -1, NULL);
}
