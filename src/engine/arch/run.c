/* Runs: the activation buffers of one batch, the embedding lookup, the
 * unembedding and the objectives. The layers in between belong to the
 * architecture (arch.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "arch/arch.h"
#include "nn/blas.h"
#include "base/memlimit.h"
#include "interp/hooks.h"
#include "lmscope/logits.h"
#include "nn/ops.h"

static const struct lms_arch_ops *ops_of(const struct lms_run *r)
{
	return lms_arch_ops(r->m->cfg.arch);
}

/* Rows of wout per block of the one-row head: a block (32 KiB, at least 16
 * rows) is still in the first-level cache when it is read the second time. */
#define HEAD_BLOCK_FLOATS 8192
#define HEAD_BLOCK_MAX 256

static int head_block_rows(int D)
{
	int blk = HEAD_BLOCK_FLOATS / D;
	return blk < 16 ? 16 : blk > HEAD_BLOCK_MAX ? HEAD_BLOCK_MAX : blk;
}

enum lms_status lms_run_new(const struct lms_model *m, int B, int T, struct lms_run **out)
{
	const struct lms_config *c = &m->cfg;
	*out = NULL;
	if (B <= 0 || T <= 0 || (T > c->maxT && !lms_arch_is_recurrent(c->arch)))
		return lms_fail(LMS_EARG, "run of %d x %d does not fit the model (context %d)", B, T,
		                c->maxT);
	enum lms_status st = lms_memory_check_run(c, B, T);
	if (st)
		return st;
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
	r->soft_row = -1;
	r->soft_mean = calloc((size_t)r->Cout, sizeof(float));
	r->wrows = calloc(head_block_rows(r->Cout) * (size_t)r->Cout, sizeof(float));
	r->acts = ops_of(r)->acts_new(m, B, T);
	if (!r->ids || !r->emb || !r->demb || !r->hfin || !r->dhfin || !r->logits || !r->scratch ||
	    !r->soft_mean || !r->wrows || !r->acts) {
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
	free(r->soft_mean);
	free(r->wrows);
	free(r);
}

/* The tensor at an offset of the float32 layout (the arch tables name the
 * embedding and unembedding by offset). */
static const struct lms_wmat *tensor_at(const struct lms_model *m, size_t offset)
{
	for (int i = 0; i < m->n_tensors; i++)
		if (m->tensors[i].offset == offset && m->tensors[i].numel)
			return &m->wm[i];
	return NULL;
}

const struct lms_wmat *lms_model_wte(const struct lms_model *m)
{
	return tensor_at(m, lms_arch_ops(m->cfg.arch)->wte_offset(&m->cfg));
}

const struct lms_wmat *lms_model_wout(const struct lms_model *m)
{
	return tensor_at(m, lms_arch_ops(m->cfg.arch)->wout_offset(&m->cfg));
}

void lms_model_embed_row(const struct lms_model *m, int id, float *out)
{
	lms_wmat_row(out, lms_model_wte(m), id);
}

void lms_model_unembed_row(const struct lms_model *m, int k, float *out)
{
	lms_wmat_row(out, lms_model_wout(m), k);
}

enum lms_status lms_embed(struct lms_run *r, const int *ids, int n)
{
	const struct lms_config *c = &r->m->cfg;
	if (n <= 0 || n > r->T)
		return lms_fail(LMS_EARG, "%d positions do not fit a run of %d", n, r->T);
	const struct lms_wmat *wte = lms_model_wte(r->m);
	for (int b = 0; b < r->B; b++)
		for (int t = 0; t < n; t++) {
			int id = ids[b * n + t];
			if (id < 0 || id >= c->V)
				return lms_fail(LMS_EARG, "token id %d outside the vocabulary (0 to %d)", id,
				                c->V - 1);
			size_t row = (size_t)b * r->T + t;
			r->ids[row] = id;
			lms_wmat_row(r->emb + row * c->C, wte, id);
		}
	return LMS_OK;
}

void lms_forward(struct lms_run *r, int from, int n)
{
	if (from < 0 || from > n)
		from = 0;
	if (r->B > 1 || lms_iv_whole(r->iv))
		from = 0;
	r->soft_row = -1;
	ops_of(r)->forward(r, from, n);
	r->n = n;
}

/* The output bias (V) or NULL. */
static const float *bout_of(const struct lms_model *m)
{
	long off = lms_arch_ops(m->cfg.arch)->bout_offset(&m->cfg);
	const struct lms_wmat *b = off < 0 ? NULL : tensor_at(m, (size_t)off);
	return b ? b->data : NULL;
}


/* logits (V) = wout (V, D) @ h (D) + bout of one row, and its softmax's
 * log-normaliser and mean row sum_k p_k wout_k into r->soft_*, in one pass
 * over wout: block by block, the logits, then the block's exponentials
 * (relative to the running maximum m) summed into S and, weighted, into
 * the mean. When m grows, what was summed so far is rescaled by
 * e^(m_old - m_new) (the running softmax of online normalisers). The
 * objective's gradient at h, wout^T (onehot(t) - p) = wout_t - mean, then
 * needs no second pass over the vocabulary. */
static void logits_row(struct lms_run *r, size_t row, float *out)
{
	const struct lms_config *c = &r->m->cfg;
	int V = c->V, D = r->Cout;
	const struct lms_wmat *wm = lms_model_wout(r->m);
	const float *bias = bout_of(r->m);
	const float *h = r->hfin + row * D;
	float *mean = r->soft_mean;
	int blk = head_block_rows(D);
	float x[HEAD_BLOCK_MAX], e[HEAD_BLOCK_MAX];
	memset(mean, 0, (size_t)D * sizeof(float));
	float m = -INFINITY;
	double S = 0.0;
	for (int k0 = 0; k0 < V; k0 += blk) {
		int nb = V - k0 < blk ? V - k0 : blk;
		/* typed weights: the block's rows converted once into wrows, read
		 * twice from the cache */
		const float *wb = (const float *)wm->data + (size_t)k0 * D;
		if (wm->type != LMS_W_F32) {
			for (int j = 0; j < nb; j++)
				lms_wmat_row(r->wrows + (size_t)j * D, wm, k0 + j);
			wb = r->wrows;
		}
		float *xb = out + k0;
		if (bias)
			memcpy(xb, bias + k0, (size_t)nb * sizeof(float));
		/* xb (nb) = wb (nb, D) @ h (D) + bias */
		lms_sgemv(CblasNoTrans, nb, D, 1.0f, wb, D, h, bias ? 1.0f : 0.0f, xb);
		float bm = xb[0];
		for (int j = 1; j < nb; j++)
			bm = xb[j] > bm ? xb[j] : bm;
		if (bm > m) {
			if (S > 0.0) {
				float scale = expf(m - bm);
				S *= scale;
				cblas_sscal(D, scale, mean, 1);
			}
			m = bm;
		}
		for (int j = 0; j < nb; j++)
			x[j] = xb[j] - m;
		lms_vexp(e, x, nb);
		double s = 0.0;
		for (int j = 0; j < nb; j++)
			s += e[j];
		S += s;
		/* mean (D) += wb^T (D, nb) @ e (nb) */
		lms_sgemv(CblasTrans, nb, D, 1.0f, wb, D, e, 1.0f, mean);
	}
	cblas_sscal(D, (float)(1.0 / S), mean, 1);
	r->soft_lse = m + log(S);
	r->soft_row = (long)row;
	r->soft_mean_ready = 1;
}

/* Whether one row's logits go over several threads (nn/blas.c): a float32
 * wout large enough for sgemv to split, or a typed one whose products
 * lms_split halves. */
static int head_split(const struct lms_model *m, int D)
{
	const struct lms_wmat *wm = lms_model_wout(m);
	size_t n = (size_t)m->cfg.V * D;
	if (wm->type == LMS_W_F32)
		return !lms_sgemv_single(n);
	return lms_split_available() && !lms_sgemv_single(n);
}

/* The same row on several threads: one pass over wout for the logits and
 * their log-normaliser now, which is all the candidates need; the mean row,
 * a second pass, when something reads it (lms_soft_mean). On two cores each
 * pass streams wout twice as fast as one core does, so the logits come in
 * half the fused pass's time. */
static void logits_row_split(struct lms_run *r, size_t row, float *out)
{
	const struct lms_config *c = &r->m->cfg;
	lms_wmat_forward(out, c->V, r->hfin + row * r->Cout, r->Cout, lms_model_wout(r->m),
	                 bout_of(r->m), 1);
	r->soft_lse = lms_logsumexp(out, c->V);
	r->soft_row = (long)row;
	r->soft_mean_ready = 0;
}

const float *lms_soft_mean(struct lms_run *r)
{
	if (r->soft_mean_ready || r->soft_row < 0)
		return r->soft_mean;
	const struct lms_config *c = &r->m->cfg;
	int V = c->V;
	const float *x = r->logits + (size_t)r->soft_row * V;
	float *p = r->scratch; /* (V) softmax of the row */
	float sh[HEAD_BLOCK_MAX];
	for (int k0 = 0; k0 < V; k0 += HEAD_BLOCK_MAX) {
		int nb = V - k0 < HEAD_BLOCK_MAX ? V - k0 : HEAD_BLOCK_MAX;
		for (int j = 0; j < nb; j++)
			sh[j] = (float)((double)x[k0 + j] - r->soft_lse);
		lms_vexp(p + k0, sh, nb);
	}
	/* mean (Cout) = p (V) @ wout (V, Cout) */
	memset(r->soft_mean, 0, (size_t)r->Cout * sizeof(float));
	lms_wmat_backward(r->soft_mean, r->Cout, p, V, lms_model_wout(r->m), 1);
	r->soft_mean_ready = 1;
	return r->soft_mean;
}

void lms_logits(struct lms_run *r, int b, int t0, int t1)
{
	const struct lms_config *c = &r->m->cfg;
	int rows = t1 - t0;
	r->soft_row = -1;
	if (rows <= 0)
		return;
	size_t row0 = (size_t)b * r->T + t0;
	float *out = r->logits + row0 * c->V;
	/* one row (every keystroke): blocks of sgemv stream wout once, where
	 * sgemm would first repack all of it */
	if (rows == 1) {
		if (head_split(r->m, r->Cout))
			logits_row_split(r, row0, out);
		else
			logits_row(r, row0, out);
		return;
	}
	/* logits (rows, V) = hfin (rows, Cout) @ wout^T (Cout, V) + bout */
	lms_wmat_forward(out, c->V, r->hfin + row0 * r->Cout, r->Cout, lms_model_wout(r->m),
	                 bout_of(r->m), rows);
}

void lms_logits_at(struct lms_run *r, int rows, int pos)
{
	const struct lms_config *c = &r->m->cfg;
	r->soft_row = -1;
	if (rows <= 0)
		return;
	/* logits (rows, V) = hfin (rows, Cout) @ wout^T + bout, rows T apart */
	lms_wmat_forward(r->logits + (size_t)pos * c->V, r->T * c->V, r->hfin + (size_t)pos * r->Cout,
	                 r->T * r->Cout, lms_model_wout(r->m), bout_of(r->m), rows);
}

static void zero_dhfin(struct lms_run *r)
{
	for (int b = 0; b < r->B; b++)
		memset(r->dhfin + (size_t)b * r->T * r->Cout, 0, (size_t)r->n * r->Cout * sizeof(float));
}

/* The unembedding's parameter gradient for one row: dwout += dlogit^T h,
 * dbout += dlogit. */
static void head_params_row(struct lms_run *r, size_t row, const float *dlogit)
{
	const struct lms_config *c = &r->m->cfg;
	const struct lms_arch_ops *ops = ops_of(r);
	float *g = r->m->grads;
	cblas_sger(CblasRowMajor, c->V, r->Cout, 1.0f, dlogit, 1, r->hfin + row * r->Cout, 1,
	           g + ops->wout_offset(c), r->Cout);
	long bo = ops->bout_offset(c);
	if (bo >= 0)
		cblas_saxpy(c->V, 1.0f, dlogit, 1, g + bo, 1);
}

/* d log p_t / d x_k = [k = t] - p_k into d (V), given the row's log-normaliser */
static void logprob_dlogits(float *d, const float *x, int V, int target, double lse)
{
	for (int k = 0; k < V; k++)
		d[k] = -(float)exp((double)x[k] - lse);
	d[target] += 1.0f;
}

double lms_objective_logprob(struct lms_run *r, int b, int pos, int target, int contrast, int flags)
{
	const struct lms_config *c = &r->m->cfg;
	if (!(flags & LMS_LOGITS_READY))
		lms_logits(r, b, pos, pos + 1);
	int D = r->Cout;
	size_t row = (size_t)b * r->T + pos;
	const float *x = r->logits + row * c->V;
	const struct lms_wmat *w = lms_model_wout(r->m);
	float *wt = r->wrows, *wc = r->wrows + D;
	lms_wmat_row(wt, w, target);
	zero_dhfin(r);
	float *dh = r->dhfin + row * D;
	if (contrast >= 0) {
		/* log p(a) - log p(b) = x_a - x_b: the normaliser cancels, and
		 * d / dh = wout_a - wout_b */
		lms_wmat_row(wc, w, contrast);
		for (int j = 0; j < D; j++)
			dh[j] = wt[j] - wc[j];
		if (flags & LMS_GRAD_PARAMS) {
			const struct lms_arch_ops *ops = ops_of(r);
			float *g = r->m->grads, *gw = g + ops->wout_offset(c);
			const float *h = r->hfin + row * D;
			cblas_saxpy(D, 1.0f, h, 1, gw + (size_t)target * D, 1);
			cblas_saxpy(D, -1.0f, h, 1, gw + (size_t)contrast * D, 1);
			long bo = ops->bout_offset(c);
			if (bo >= 0) {
				g[bo + target] += 1.0f;
				g[bo + contrast] -= 1.0f;
			}
		}
		return (double)x[target] - x[contrast];
	}
	float *d = r->scratch;
	if (r->soft_row == (long)row) {
		/* d log p_t / d h = wout^T (onehot(t) - p) = wout_t - sum_k p_k wout_k,
		 * the mean row lms_logits left or leaves for now */
		const float *mean = lms_soft_mean(r);
		for (int j = 0; j < D; j++)
			dh[j] = wt[j] - mean[j];
		if (flags & LMS_GRAD_PARAMS) {
			logprob_dlogits(d, x, c->V, target, r->soft_lse);
			head_params_row(r, row, d);
		}
		return (double)x[target] - r->soft_lse;
	}
	double lse = lms_logsumexp(x, c->V);
	logprob_dlogits(d, x, c->V, target, lse);
	/* dh (D) += dlogits (V) @ wout (V, D), dh zero */
	lms_wmat_backward(dh, D, d, c->V, w, 1);
	if (flags & LMS_GRAD_PARAMS)
		head_params_row(r, row, d);
	return (double)x[target] - lse;
}

/* -log softmax(x)[tg] of one row of V logits. With grad, x becomes
 * (softmax(x) - onehot(tg)) * inv in place: d mean(-log p_t) / d x, the
 * exponentials in blocks through lms_vexp (vectorised). */
static double xent_row(float *x, int V, int tg, float inv, int grad)
{
	double lse = lms_logsumexp(x, V);
	double nll = lse - x[tg];
	if (!grad)
		return nll;
	enum { NB = 256 };
	float sh[NB];
	for (int k0 = 0; k0 < V; k0 += NB) {
		int nb = V - k0 < NB ? V - k0 : NB;
		for (int j = 0; j < nb; j++)
			sh[j] = (float)(x[k0 + j] - lse);
		lms_vexp(x + k0, sh, nb);
		for (int j = 0; j < nb; j++)
			x[k0 + j] *= inv;
	}
	x[tg] -= inv;
	return nll;
}

/* logits of positions [0, n) of every row: one product over all B rows
 * when they are contiguous (n == T, every batch of training and
 * evaluation), so wout is packed once rather than once per row. */
static void logits_all(struct lms_run *r, int n)
{
	if (n != r->T || r->B == 1) {
		for (int b = 0; b < r->B; b++)
			lms_logits(r, b, 0, n);
		return;
	}
	const struct lms_config *c = &r->m->cfg;
	r->soft_row = -1;
	/* logits (B T, V) = hfin (B T, Cout) @ wout^T + bout */
	lms_wmat_forward(r->logits, c->V, r->hfin, r->Cout, lms_model_wout(r->m), bout_of(r->m),
	                 r->B * n);
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
	int grad = (flags & (LMS_GRAD_INPUT | LMS_GRAD_PARAMS)) != 0;
	double loss = 0.0;
	float inv = 1.0f / (float)count;
	logits_all(r, n);
	for (int b = 0; b < r->B; b++)
		for (int t = 0; t < n; t++) {
			float *x = r->logits + ((size_t)b * r->T + t) * c->V;
			int tg = targets[b * n + t];
			if (tg >= 0)
				loss += xent_row(x, c->V, tg, inv, grad);
			else if (grad)
				memset(x, 0, c->V * sizeof(float));
		}
	if (!grad)
		return loss / (double)count;
	const struct lms_arch_ops *ops = ops_of(r);
	/* rows handled together when contiguous, as in logits_all */
	int together = n == r->T ? r->B : 1, groups = r->B / together;
	for (int b = 0; b < groups; b++) {
		size_t row0 = (size_t)b * r->T;
		int rows = together * n;
		const float *dl = r->logits + row0 * c->V;
		/* dhfin (rows, Cout) = dlogits (rows, V) @ wout (V, Cout) */
		memset(r->dhfin + row0 * r->Cout, 0, (size_t)rows * r->Cout * sizeof(float));
		lms_wmat_backward(r->dhfin + row0 * r->Cout, r->Cout, dl, c->V, lms_model_wout(r->m), rows);
		if (!(flags & LMS_GRAD_PARAMS))
			continue;
		float *g = r->m->grads;
		/* dwout (V, Cout) += dlogits^T (V, rows) @ hfin (rows, Cout) */
		lms_sgemm(CblasTrans, CblasNoTrans, c->V, r->Cout, rows, 1.0f, dl, c->V,
		          r->hfin + row0 * r->Cout, r->Cout, 1.0f, g + ops->wout_offset(c), r->Cout);
		long bo = ops->bout_offset(c);
		if (bo >= 0)
			for (int t = 0; t < rows; t++)
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

const float *lms_run_cell(const struct lms_run *r, int l, int b, int *H)
{
	const struct lms_arch_ops *ops = ops_of(r);
	return ops->cell ? ops->cell(r, l, b, H) : NULL;
}

void lms_lens_rows(struct lms_run *r, const float *h, int N, float *out)
{
	const struct lms_config *c = &r->m->cfg;
	const struct lms_arch_ops *ops = ops_of(r);
	const float *bias = bout_of(r->m);
	int D = r->Cout;
	/* the normed rows go to scratch (max(V, D) floats), as many as fit */
	int cap = ops->final_norm ? (int)((size_t)(c->V > D ? c->V : D) / (size_t)D) : N;
	for (int i0 = 0; i0 < N; i0 += cap) {
		int rows = N - i0 < cap ? N - i0 : cap;
		const float *x = h + (size_t)i0 * D;
		float *y = out + (size_t)i0 * c->V;
		if (ops->final_norm) {
			for (int i = 0; i < rows; i++)
				ops->final_norm(r->m, r->scratch + (size_t)i * D, x + (size_t)i * D);
			x = r->scratch;
		}
		/* y (rows, V) = x (rows, D) @ wout^T (D, V) + bout: one pass over
		 * wout for every row, where a row at a time would stream it per row */
		lms_wmat_forward(y, c->V, x, D, lms_model_wout(r->m), bias, rows);
	}
}

void lms_lens(struct lms_run *r, const float *h, float *out)
{
	lms_lens_rows(r, h, 1, out);
}
