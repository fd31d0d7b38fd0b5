/* Runs: the activation buffers of one batch, the embedding lookup, the
 * unembedding and the objectives. The layers in between belong to the
 * architecture (arch.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "arch.h"

static const struct lms_arch_ops *ops_of(const struct lms_run *r)
{
	return lms_arch_ops(r->m->cfg.arch);
}

enum lms_status lms_run_new(const struct lms_model *m, int B, int T, struct lms_run **out)
{
	const struct lms_config *c = &m->cfg;
	*out = NULL;
	if (B <= 0 || T <= 0 || (T > c->maxT && !lms_arch_is_recurrent(c->arch)))
		return lms_fail(LMS_EARG, "run of %d x %d does not fit the model (context %d)", B, T, c->maxT);
	struct lms_run *r = calloc(1, sizeof *r);
	if (!r)
		return lms_fail(LMS_ENOMEM, "out of memory");
	r->m = m;
	r->B = B;
	r->T = T;
	r->Cout = lms_arch_is_recurrent(c->arch) ? c->H : c->C;
	size_t BT = (size_t)B * T;
	size_t scratch = (size_t)(c->V > r->Cout ? c->V : r->Cout);
	/* calloc of large blocks maps fresh zero pages, so resident memory
	 * grows with the positions actually used, not with the capacity */
	r->ids = calloc(BT, sizeof *r->ids);
	r->emb = calloc(BT * c->C, sizeof(float));
	r->demb = calloc(BT * c->C, sizeof(float));
	r->hfin = calloc(BT * r->Cout, sizeof(float));
	r->dhfin = calloc(BT * r->Cout, sizeof(float));
	r->logits = calloc(BT * c->V, sizeof(float));
	r->scratch = calloc(scratch, sizeof(float));
	r->acts = ops_of(r)->acts_new(m, B, T);
	if (!r->ids || !r->emb || !r->demb || !r->hfin || !r->dhfin || !r->logits ||
	    !r->scratch || !r->acts) {
		lms_run_free(r);
		return lms_fail(LMS_ENOMEM, "cannot allocate activations for %d x %d positions", B, T);
	}
	*out = r;
	return LMS_OK;
}

void lms_run_free(struct lms_run *r)
{
	if (!r)
		return;
	if (r->acts)
		ops_of(r)->acts_free(r->acts);
	free(r->ids);
	free(r->emb);
	free(r->demb);
	free(r->hfin);
	free(r->dhfin);
	free(r->logits);
	free(r->scratch);
	free(r);
}

static const float *wte_of(const struct lms_model *m)
{
	return m->params + lms_arch_ops(m->cfg.arch)->wte_offset(&m->cfg);
}

enum lms_status lms_embed(struct lms_run *r, const int *ids, int n)
{
	const struct lms_config *c = &r->m->cfg;
	if (n <= 0 || n > r->T)
		return lms_fail(LMS_EARG, "%d positions do not fit a run of %d", n, r->T);
	const float *wte = wte_of(r->m);
	for (int b = 0; b < r->B; b++)
		for (int t = 0; t < n; t++) {
			int id = ids[b * n + t];
			if (id < 0 || id >= c->V)
				return lms_fail(LMS_EARG, "token id %d outside the vocabulary (0 to %d)", id, c->V - 1);
			size_t row = (size_t)b * r->T + t;
			r->ids[row] = id;
			memcpy(r->emb + row * c->C, wte + (size_t)id * c->C, c->C * sizeof(float));
		}
	return LMS_OK;
}

void lms_forward(struct lms_run *r, int from, int n)
{
	if (from < 0 || from > n)
		from = 0;
	if (r->B > 1)
		from = 0;
	ops_of(r)->forward(r, from, n);
	r->n = n;
}

static const float *wout_of(const struct lms_model *m)
{
	return m->params + lms_arch_ops(m->cfg.arch)->wout_offset(&m->cfg);
}

static const float *bout_of(const struct lms_model *m, const float *base)
{
	long off = lms_arch_ops(m->cfg.arch)->bout_offset(&m->cfg);
	return off < 0 ? NULL : base + off;
}

void lms_logits(struct lms_run *r, int b, int t0, int t1)
{
	const struct lms_config *c = &r->m->cfg;
	int rows = t1 - t0;
	if (rows <= 0)
		return;
	size_t row0 = (size_t)b * r->T + t0;
	float *out = r->logits + row0 * c->V;
	const float *bias = bout_of(r->m, r->m->params);
	/* logits (rows, V) = hfin (rows, Cout) @ wout^T (Cout, V) + bout */
	float beta = 0.0f;
	if (bias) {
		for (int i = 0; i < rows; i++)
			memcpy(out + (size_t)i * c->V, bias, c->V * sizeof(float));
		beta = 1.0f;
	}
	/* one row (every keystroke): sgemv streams wout once, where sgemm
	 * would first repack all of it */
	if (rows == 1)
		cblas_sgemv(CblasRowMajor, CblasNoTrans, c->V, r->Cout, 1.0f, wout_of(r->m), r->Cout,
		            r->hfin + row0 * r->Cout, 1, beta, out, 1);
	else
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rows, c->V, r->Cout, 1.0f,
		            r->hfin + row0 * r->Cout, r->Cout, wout_of(r->m), r->Cout, beta, out, c->V);
}

/* Log-sum-exp of one row of logits, in double for accuracy. */
static double logsumexp(const float *x, int V)
{
	float mx = x[0];
	for (int i = 1; i < V; i++)
		if (x[i] > mx)
			mx = x[i];
	double s = 0.0;
	for (int i = 0; i < V; i++)
		s += exp((double)x[i] - mx);
	return mx + log(s);
}

static void zero_dhfin(struct lms_run *r)
{
	for (int b = 0; b < r->B; b++)
		memset(r->dhfin + (size_t)b * r->T * r->Cout, 0, (size_t)r->n * r->Cout * sizeof(float));
}

/* Unembedding backward for one row: dh = dlogit @ wout; dwout += dlogit^T h. */
static void head_backward_row(struct lms_run *r, size_t row, const float *dlogit, int flags)
{
	const struct lms_config *c = &r->m->cfg;
	cblas_sgemv(CblasRowMajor, CblasTrans, c->V, r->Cout, 1.0f, wout_of(r->m), r->Cout,
	            dlogit, 1, 0.0f, r->dhfin + row * r->Cout, 1);
	if (!(flags & LMS_GRAD_PARAMS))
		return;
	const struct lms_arch_ops *ops = ops_of(r);
	float *g = r->m->grads;
	cblas_sger(CblasRowMajor, c->V, r->Cout, 1.0f, dlogit, 1, r->hfin + row * r->Cout, 1,
	           g + ops->wout_offset(c), r->Cout);
	long bo = ops->bout_offset(c);
	if (bo >= 0)
		cblas_saxpy(c->V, 1.0f, dlogit, 1, g + bo, 1);
}

double lms_objective_logprob(struct lms_run *r, int b, int pos, int target, int contrast, int flags)
{
	const struct lms_config *c = &r->m->cfg;
	if (!(flags & LMS_LOGITS_READY))
		lms_logits(r, b, pos, pos + 1);
	size_t row = (size_t)b * r->T + pos;
	const float *x = r->logits + row * c->V;
	double lse = logsumexp(x, c->V);
	double value = x[target] - lse;
	float *d = r->scratch;
	if (contrast >= 0) {
		/* log p(a) - log p(b) = x_a - x_b: the normaliser cancels */
		value = (double)x[target] - x[contrast];
		memset(d, 0, c->V * sizeof(float));
		d[target] += 1.0f;
		d[contrast] -= 1.0f;
	} else {
		/* d log p_t / d x_k = [k = t] - p_k */
		for (int k = 0; k < c->V; k++)
			d[k] = -(float)exp((double)x[k] - lse);
		d[target] += 1.0f;
	}
	zero_dhfin(r);
	head_backward_row(r, row, d, flags);
	return value;
}

double lms_objective_xent(struct lms_run *r, const int *targets, int flags)
{
	const struct lms_config *c = &r->m->cfg;
	int n = r->n;
	size_t count = 0;
	for (int i = 0; i < r->B * n; i++)
		count += targets[i] >= 0;
	if (!count)
		return 0.0;
	double loss = 0.0;
	float inv = 1.0f / (float)count;
	for (int b = 0; b < r->B; b++) {
		lms_logits(r, b, 0, n);
		for (int t = 0; t < n; t++) {
			float *x = r->logits + ((size_t)b * r->T + t) * c->V;
			int tg = targets[b * n + t];
			if (tg < 0) {
				memset(x, 0, c->V * sizeof(float));
				continue;
			}
			double lse = logsumexp(x, c->V);
			loss -= x[tg] - lse;
			/* d mean(-log p_t) / d x_k = (p_k - [k = t]) / count, in place */
			for (int k = 0; k < c->V; k++)
				x[k] = (float)exp((double)x[k] - lse) * inv;
			x[tg] -= inv;
		}
	}
	const struct lms_arch_ops *ops = ops_of(r);
	for (int b = 0; b < r->B; b++) {
		size_t row0 = (size_t)b * r->T;
		const float *dl = r->logits + row0 * c->V;
		/* dhfin (n, Cout) = dlogits (n, V) @ wout (V, Cout) */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, r->Cout, c->V, 1.0f, dl, c->V,
		            wout_of(r->m), r->Cout, 0.0f, r->dhfin + row0 * r->Cout, r->Cout);
		if (!(flags & LMS_GRAD_PARAMS))
			continue;
		float *g = r->m->grads;
		/* dwout (V, Cout) += dlogits^T (V, n) @ hfin (n, Cout) */
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, c->V, r->Cout, n, 1.0f, dl, c->V,
		            r->hfin + row0 * r->Cout, r->Cout, 1.0f, g + ops->wout_offset(c), r->Cout);
		long bo = ops->bout_offset(c);
		if (bo >= 0)
			for (int t = 0; t < n; t++)
				cblas_saxpy(c->V, 1.0f, dl + (size_t)t * c->V, 1, g + bo, 1);
	}
	return loss / (double)count;
}

void lms_backward(struct lms_run *r, int flags)
{
	const struct lms_config *c = &r->m->cfg;
	for (int b = 0; b < r->B; b++)
		memset(r->demb + (size_t)b * r->T * c->C, 0, (size_t)r->n * c->C * sizeof(float));
	ops_of(r)->backward(r, flags);
	if (!(flags & LMS_GRAD_PARAMS))
		return;
	/* the embedding lookup's backward: scatter-add into the used rows */
	float *dwte = r->m->grads + ops_of(r)->wte_offset(c);
	for (int b = 0; b < r->B; b++)
		for (int t = 0; t < r->n; t++) {
			size_t row = (size_t)b * r->T + t;
			cblas_saxpy(c->C, 1.0f, r->demb + row * c->C, 1, dwte + (size_t)r->ids[row] * c->C, 1);
		}
}

const float *lms_run_attention(const struct lms_run *r, int l, int h, int b)
{
	const struct lms_arch_ops *ops = ops_of(r);
	return ops->attention ? ops->attention(r, l, h, b) : NULL;
}

const float *lms_run_hidden(const struct lms_run *r, int l, int b, int *D)
{
	const struct lms_arch_ops *ops = ops_of(r);
	return ops->hidden ? ops->hidden(r, l, b, D) : NULL;
}

const float *lms_run_gates(const struct lms_run *r, int l, int b, int *G)
{
	const struct lms_arch_ops *ops = ops_of(r);
	return ops->gates ? ops->gates(r, l, b, G) : NULL;
}

void lms_lens(struct lms_run *r, const float *h, float *out)
{
	const struct lms_config *c = &r->m->cfg;
	const struct lms_arch_ops *ops = ops_of(r);
	const float *x = h;
	if (ops->final_norm) {
		ops->final_norm(r->m, r->scratch, h);
		x = r->scratch;
	}
	const float *bias = bout_of(r->m, r->m->params);
	if (bias)
		memcpy(out, bias, c->V * sizeof(float));
	cblas_sgemv(CblasRowMajor, CblasNoTrans, c->V, r->Cout, 1.0f, wout_of(r->m), r->Cout, x, 1,
	            bias ? 1.0f : 0.0f, out, 1);
}
