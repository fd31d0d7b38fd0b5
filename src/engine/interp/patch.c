/* Activation patching (lmscope/interp.h): the corrupt run with one site at
 * a time taken from the clean run, scored by how much of the logit
 * difference it restores.
 *
 * Work shared: a patch at layer l, position t changes nothing before t
 * (causal attention, the recurrence runs forward) and nothing below l.
 * Sites before the first position where the contexts differ hold the same
 * values in both runs (causality again): patching them is the corrupt run
 * itself, score 0, and takes no forward.
 *
 * Transformers: the sites of one layer are the rows of one batched run
 * (patch_batch.c), so each weight matrix is read once per layer for all
 * of them rather than once per site. Row b patches position t_b and is
 * computed from t_b on, from layer l on, with l's input restored from a
 * saved copy of the corrupt run's (iv->start_resid); of its positions
 * before t_b only the keys and values are read, copied in from the
 * corrupt run. An attention or MLP output patched at t changes its
 * block's output only at t, so it is patched as the next block's input
 * there (derive_after). The heads of a layer are rows likewise, from the
 * first difference on. Only the last position's logit difference is
 * computed: two unembedding rows with a contrast, one product over the
 * batch's last rows and their log-sum-exp without; the last layer
 * computes past its keys and values only that position.
 * Recurrent models patch one site per forward, from t on. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "interp/patch_batch.h"
#include "lmscope/interp.h"
#include "lmscope/logits.h"

double lms_logit_diff_row(struct lms_run *r, int b, int target, int contrast)
{
	const struct lms_config *c = &r->m->cfg;
	int D = r->Cout;
	/* two rows of the unembedding, not all V: x_t - x_c = h . (w_t - w_c) + b_t - b_c */
	const struct lms_arch_ops *ops = lms_arch_ops(c->arch);
	/* the rows as float (the unembedding may be stored as half or
	 * bfloat16), in the run's row buffer */
	const float *h = r->hfin + ((size_t)b * r->T + r->n - 1) * D;
	float *wt = r->wrows, *wc = r->wrows + D;
	lms_model_unembed_row(r->m, target, wt);
	lms_model_unembed_row(r->m, contrast, wc);
	double d = 0.0;
	for (int j = 0; j < D; j++)
		d += h[j] * ((double)wt[j] - wc[j]);
	long bo = ops->bout_offset(c);
	return bo < 0 ? d : d + r->m->params[bo + target] - r->m->params[bo + contrast];
}

double lms_logit_diff(struct lms_run *r, int target, int contrast)
{
	const struct lms_config *c = &r->m->cfg;
	int n = r->n;
	if (contrast >= 0)
		return lms_logit_diff_row(r, 0, target, contrast);
	lms_logits(r, 0, n - 1, n);
	/* lms_logits of one row left the normaliser */
	return (double)r->logits[(size_t)(n - 1) * c->V + target] - r->soft_lse;
}

double lms_ld_of_logits(const float *x, int V, int target, int contrast)
{
	if (contrast >= 0)
		return (double)x[target] - x[contrast];
	return x[target] - lms_logsumexp(x, V);
}

static int argmax_last(struct lms_run *r)
{
	int n = r->n, V = r->m->cfg.V;
	lms_logits(r, 0, n - 1, n);
	const float *x = r->logits + (size_t)(n - 1) * V;
	int best = 0;
	for (int k = 1; k < V; k++)
		if (x[k] > x[best])
			best = k;
	return best;
}

/* What the sweep keeps of the clean and corrupt runs, each (L, n, X). */
struct saved {
	float *clean_resid, *clean_heads, *clean_mlp; /* X = C */
	float *corrupt_resid;                         /* X = C */
	float *attn_after, *mlp_after;                /* X = C, see patch_batch.h */
	float *clean_hidden;                          /* X = H, recurrent */
	float *clean_logits;                          /* (V) at the last position */
};

static void save_blocks(const struct lms_run *r, float *resid, float *heads, float *mlp, int n)
{
	const struct lms_config *c = &r->m->cfg;
	const struct lms_arch_ops *ops = lms_arch_ops(c->arch);
	size_t C = c->C, per = (size_t)n * C;
	for (int l = 0; l < c->L; l++) {
		struct lms_block_acts b;
		ops->block(r, l, 0, &b);
		memcpy(resid + l * per, b.resid_pre, per * sizeof(float));
		if (heads)
			memcpy(heads + l * per, b.heads, per * sizeof(float));
		if (mlp) /* the MLP's output: what it added to the stream */
			for (size_t i = 0; i < per; i++)
				mlp[l * per + i] = b.resid_post[i] - b.resid_mid[i];
	}
}

double lms_patch_score(double ld, const struct lms_patch_result *p)
{
	double den = p->ld_clean - p->ld_corrupt;
	return den == 0.0 ? NAN : (ld - p->ld_corrupt) / den;
}

/* Recurrent models: each layer's state at every position, one forward a
 * site, from the patched position on (out (L, n)). Positions before
 * `first` (where the contexts start to differ) need no forward. */
static void sweep_hidden(struct lms_run *r, struct lms_intervention *iv, const float *src,
                         int first, struct lms_patch_result *p)
{
	int n = p->T, L = p->L;
	size_t per = (size_t)n * r->m->cfg.H;
	lms_intervention_clear(iv);
	lms_forward(r, 0, n);
	for (int t = n - 1; t >= 0; t--)
		for (int l = L - 1; l >= 0; l--) {
			if (t < first) {
				p->hidden[(size_t)l * n + t] = p->ld_clean == p->ld_corrupt ? NAN : 0.0;
				continue;
			}
			lms_intervention_clear(iv);
			iv->site = LMS_PATCH_HIDDEN;
			iv->layer = l;
			iv->pos = t;
			iv->src = src + l * per;
			lms_forward(r, t, n);
			p->hidden[(size_t)l * n + t] =
				lms_patch_score(lms_logit_diff(r, p->target, p->contrast), p);
		}
}

static enum lms_status alloc_result(struct lms_patch_result *p, const struct lms_config *c, int n)
{
	size_t LT = (size_t)c->L * n;
	if (lms_arch_is_recurrent(c->arch)) {
		p->hidden = malloc(LT * sizeof(double));
		return p->hidden ? LMS_OK : lms_fail(LMS_ENOMEM, "out of memory");
	}
	p->resid_pre = malloc(LT * sizeof(double));
	p->attn_out = malloc(LT * sizeof(double));
	p->mlp_out = malloc(LT * sizeof(double));
	p->heads = malloc((size_t)c->L * c->NH * sizeof(double));
	if (!p->resid_pre || !p->attn_out || !p->mlp_out || !p->heads)
		return lms_fail(LMS_ENOMEM, "out of memory");
	return LMS_OK;
}

static enum lms_status alloc_saved(struct saved *s, const struct lms_config *c, int n)
{
	size_t per = (size_t)c->L * n;
	s->clean_logits = malloc((size_t)c->V * sizeof(float));
	if (!s->clean_logits)
		return lms_fail(LMS_ENOMEM, "out of memory");
	if (lms_arch_is_recurrent(c->arch)) {
		s->clean_hidden = malloc(per * c->H * sizeof(float));
		return s->clean_hidden ? LMS_OK : lms_fail(LMS_ENOMEM, "out of memory");
	}
	per *= (size_t)c->C;
	s->clean_resid = malloc(per * sizeof(float));
	s->clean_heads = malloc(per * sizeof(float));
	s->clean_mlp = malloc(per * sizeof(float));
	s->corrupt_resid = malloc(per * sizeof(float));
	s->attn_after = malloc(per * sizeof(float));
	s->mlp_after = malloc(per * sizeof(float));
	if (!s->clean_resid || !s->clean_heads || !s->clean_mlp || !s->corrupt_resid ||
	    !s->attn_after || !s->mlp_after)
		return lms_fail(LMS_ENOMEM, "out of memory");
	return LMS_OK;
}

static void free_saved(struct saved *s)
{
	free(s->clean_resid);
	free(s->clean_heads);
	free(s->clean_mlp);
	free(s->corrupt_resid);
	free(s->attn_after);
	free(s->mlp_after);
	free(s->clean_hidden);
	free(s->clean_logits);
}

/* The clean run: its activations into s, and the target when not given. */
static enum lms_status run_clean(struct lms_run *r, const int *clean, int n, struct saved *s,
                                 struct lms_patch_result *p)
{
	const struct lms_config *c = &r->m->cfg;
	enum lms_status st = lms_embed(r, clean, n);
	if (st)
		return st;
	lms_forward(r, 0, n);
	int top = argmax_last(r);
	if (p->target < 0)
		p->target = top;
	memcpy(s->clean_logits, r->logits + (size_t)(n - 1) * c->V, (size_t)c->V * sizeof(float));
	if (lms_arch_is_recurrent(c->arch)) {
		for (int l = 0; l < c->L; l++) {
			int D;
			const float *h = lms_run_hidden(r, l, 0, &D);
			memcpy(s->clean_hidden + (size_t)l * n * c->H, h, (size_t)n * c->H * sizeof(float));
		}
		return LMS_OK;
	}
	save_blocks(r, s->clean_resid, s->clean_heads, s->clean_mlp, n);
	return LMS_OK;
}

/* The after-patch block outputs of s (patch_batch.h) from r, the corrupt
 * run: the MLP's by addition to the corrupt run's stream before the MLP
 * (as the forward adds), the attention's by a forward of each block alone
 * with its attention output patched at every position from `first`. */
static enum lms_status derive_after(struct lms_run *r, int first, struct saved *s, int n)
{
	const struct lms_config *c = &r->m->cfg;
	const struct lms_arch_ops *ops = lms_arch_ops(c->arch);
	size_t per = (size_t)n * c->C;
	struct lms_intervention *iv;
	enum lms_status st = lms_intervention_new(r->m, &iv);
	if (st)
		return st;
	lms_run_intervene(r, iv);
	for (int l = 0; l < c->L; l++) {
		struct lms_block_acts b;
		ops->block(r, l, 0, &b);
		float *mo = s->mlp_after + l * per;
		const float *cm = s->clean_mlp + l * per;
		memcpy(mo, b.resid_post, per * sizeof(float));
		for (size_t i = (size_t)first * c->C; i < per; i++)
			mo[i] = cm[i] + b.resid_mid[i];
		/* (layer l's values from first on are the patched ones from here:
		 * the next layer's run starts from corrupt_resid) */
		lms_intervention_clear(iv);
		iv->site = LMS_PATCH_ATTN_OUT;
		iv->layer = l;
		iv->src = s->clean_heads + l * per;
		iv->start_layer = l;
		iv->start_resid = s->corrupt_resid + l * per;
		iv->stop_layer = l + 1;
		lms_forward(r, first, n);
		ops->block(r, l, 0, &b);
		memcpy(s->attn_after + l * per, b.resid_post, per * sizeof(float));
	}
	lms_run_intervene(r, NULL);
	lms_intervention_free(iv);
	return LMS_OK;
}

static enum lms_status sweep(struct lms_run *r, const int *clean, const int *corrupt, int n,
                             int pick_contrast, int rows, struct saved *s,
                             struct lms_patch_result *p)
{
	const struct lms_config *c = &r->m->cfg;
	enum lms_status st = run_clean(r, clean, n, s, p);
	if (st)
		return st;
	st = lms_embed(r, corrupt, n);
	if (st)
		return st;
	lms_forward(r, 0, n);
	if (pick_contrast) {
		int top = argmax_last(r);
		p->contrast = top == p->target ? -1 : top;
	}
	p->ld_corrupt = lms_logit_diff(r, p->target, p->contrast);
	p->ld_clean = lms_ld_of_logits(s->clean_logits, c->V, p->target, p->contrast);
	int first = 0;
	while (first < n && clean[first] == corrupt[first])
		first++;
	if (!lms_arch_is_recurrent(c->arch)) {
		save_blocks(r, s->corrupt_resid, NULL, NULL, n);
		st = derive_after(r, first, s, n);
		if (st)
			return st;
		struct lms_patch_src src = {s->clean_resid, s->clean_heads, s->corrupt_resid, s->attn_after,
		                            s->mlp_after};
		return lms_patch_batched(r, first, rows, &src, p);
	}
	struct lms_intervention *iv;
	st = lms_intervention_new(r->m, &iv);
	if (st)
		return st;
	lms_run_intervene(r, iv);
	sweep_hidden(r, iv, s->clean_hidden, first, p);
	lms_run_intervene(r, NULL);
	lms_intervention_free(iv);
	return LMS_OK;
}

enum lms_status lms_patch_sweep(const struct lms_model *m, const int *clean, const int *corrupt,
                                int n, int target, int contrast, struct lms_patch_result *out)
{
	return lms_patch_sweep_rows(m, clean, corrupt, n, target, contrast, 0, out);
}

enum lms_status lms_patch_sweep_rows(const struct lms_model *m, const int *clean,
                                     const int *corrupt, int n, int target, int contrast, int rows,
                                     struct lms_patch_result *out)
{
	const struct lms_config *c = &m->cfg;
	memset(out, 0, sizeof *out);
	if (n <= 0)
		return lms_fail(LMS_EARG, "patching needs at least one token");
	if (target >= c->V || contrast >= c->V)
		return lms_fail(LMS_EARG, "token id outside the vocabulary (0 to %d)", c->V - 1);
	if (target >= 0 && contrast == target)
		return lms_fail(LMS_EARG, "the contrast must differ from the target");
	out->L = c->L;
	out->T = n;
	out->NH = c->NH;
	out->target = target;
	out->contrast = contrast;
	struct saved s = {0};
	struct lms_run *r = NULL;
	enum lms_status st = alloc_result(out, c, n);
	if (!st)
		st = alloc_saved(&s, c, n);
	if (!st)
		st = lms_run_new(m, 1, n, &r);
	if (!st)
		st = sweep(r, clean, corrupt, n, target < 0 && contrast < 0, rows, &s, out);
	free_saved(&s);
	lms_run_free(r);
	if (st)
		lms_patch_result_free(out);
	return st;
}

void lms_patch_result_free(struct lms_patch_result *p)
{
	free(p->resid_pre);
	free(p->attn_out);
	free(p->mlp_out);
	free(p->heads);
	free(p->hidden);
	p->resid_pre = p->attn_out = p->mlp_out = p->heads = p->hidden = NULL;
}
