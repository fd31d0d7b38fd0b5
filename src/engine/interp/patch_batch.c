/* A Transformer's patching sites as the rows of batched runs
 * (patch_batch.h; the reasoning is at the top of patch.c).
 *
 * A forward of row b that starts at position t_b reads of the positions
 * before t_b only their keys and values, so every row gets the corrupt
 * run's (refill) and no plain forward of the batch is needed. Positions
 * go in chunks of B (the batch's rows): for each kind and layer one
 * forward in which row b patches position t0 + b and is computed from
 * there on, the keys and values refilled for each chunk. The heads of a
 * layer come last, B at a time, each row from the first difference on
 * (refilled once: no forward writes the positions before it). Rows a
 * chunk leaves idle still compute the last position of the last layer,
 * from whatever finite values they hold. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "interp/patch_batch.h"
#include "lmscope/logits.h"

/* Activations a batched run may take, and the fewest rows it is given
 * (when they fit). */
#define BATCH_BYTES (512.0 * 1024.0 * 1024.0)
#define MIN_ROWS 4.0

struct batch {
	struct lms_run *r;             /* (B, n) */
	struct lms_intervention *iv;   /* attached to r */
	int *rows, *from;              /* (B) each row's site and start, for iv */
	double *ld;                    /* (B) each row's logit difference */
	const struct lms_run *corrupt; /* row 0: the corrupt context, forwarded */
	int n, first;
	const struct lms_patch_src *s;
	struct lms_patch_result *p;
};

/* Rows of a batch over n positions, at most want: about as many as make
 * one layer's activations for the batch the size of its weights (more
 * only add memory traffic once the weights are read few times; fewer
 * read them again for few rows), at least MIN_ROWS, and within
 * BATCH_BYTES. Per row and layer the estimate counts the (n, X) buffers of
 * both architectures (widths about 16 C + 3 H) and the attention (NH, n,
 * n); a layer's weights are about 4 C^2 + 3 C H floats (GPT-2: 2 C H). */
static int rows_that_fit(const struct lms_config *c, int n, int want)
{
	double per_layer = 4.0 * n * (16.0 * c->C + 3.0 * c->H + (double)c->NH * n);
	double weights = 4.0 * (4.0 * c->C * (double)c->C + 2.0 * c->C * (double)c->H);
	double rows = fmax(MIN_ROWS, round(weights / per_layer));
	double cap = floor(BATCH_BYTES / (per_layer * c->L));
	rows = fmax(1.0, fmin(rows, cap));
	return rows < want ? (int)rows : want;
}

/* The logit difference at the last position of rows [0, nb) into bt->ld. */
static void batch_ld(struct batch *bt, int nb)
{
	struct lms_run *r = bt->r;
	const struct lms_config *c = &r->m->cfg;
	int target = bt->p->target, contrast = bt->p->contrast, V = c->V;
	if (contrast >= 0) {
		for (int b = 0; b < nb; b++)
			bt->ld[b] = lms_logit_diff_row(r, b, target, contrast);
		return;
	}
	/* log p(target): the rows' logits (nb, V) in one product, so the
	 * unembedding is read once for the batch */
	size_t D = (size_t)r->Cout;
	long bo = lms_arch_ops(c->arch)->bout_offset(c);
	lms_wmat_forward(r->logits, V, r->hfin + (size_t)(bt->n - 1) * D, (int)(r->T * D),
	                 lms_model_wout(r->m), bo < 0 ? NULL : r->m->params + bo, nb);
	r->soft_row = -1;
	for (int b = 0; b < nb; b++) {
		const float *x = r->logits + (size_t)b * V;
		bt->ld[b] = lms_ld_of_logits(x, V, target, -1);
	}
}

/* Each row's keys and values before its start (bt->from) from the
 * corrupt run: the row continues it from there. */
static void refill(struct batch *bt)
{
	const struct lms_arch_ops *ops = lms_arch_ops(bt->r->m->cfg.arch);
	for (int b = 0; b < bt->r->B; b++)
		ops->kv_copy(bt->r, b, bt->corrupt, bt->from[b] < bt->n ? bt->from[b] : 0);
}

/* One forward: every row patches site at layer l, row b its own rows[b]
 * from from[b] on (set by the caller), from layer l up; src (n, C) the
 * clean values. */
static void patched(struct batch *bt, enum lms_patch_site site, int l, const float *src)
{
	size_t per = (size_t)bt->n * bt->r->m->cfg.C;
	struct lms_intervention *iv = bt->iv;
	lms_intervention_clear(iv);
	iv->site = site;
	iv->layer = l;
	iv->src = src;
	iv->start_layer = l;
	iv->start_resid = bt->s->corrupt_resid + l * per;
	iv->rows = bt->rows;
	iv->row_from = bt->from;
	iv->last_only = 1;
	lms_forward(bt->r, 0, bt->n);
}

/* The last block's attention or MLP output patched at t (x (n, C) its
 * output so patched): only the last position is read, so t < n - 1
 * changes nothing, and t = n - 1 needs only the final norm there. */
static void top_block(struct batch *bt, const float *x, int t0, int nb, double *out)
{
	struct lms_patch_result *p = bt->p;
	int n = bt->n;
	struct lms_run *r = bt->r;
	for (int t = t0; t < t0 + nb; t++) {
		if (t < n - 1) {
			out[t] = lms_patch_score(p->ld_corrupt, p);
			continue;
		}
		lms_lens(r, x + (size_t)t * r->m->cfg.C, r->logits);
		double ld = lms_ld_of_logits(r->logits, r->m->cfg.V, p->target, p->contrast);
		out[t] = lms_patch_score(ld, p);
	}
}

/* Positions [t0, t0 + nb) of every kind at every layer: resid_pre at
 * layer l; the attention and MLP outputs as the next layer's input. */
static void position_chunk(struct batch *bt, int t0, int nb)
{
	struct lms_patch_result *p = bt->p;
	int n = bt->n, L = p->L;
	size_t per = (size_t)n * bt->r->m->cfg.C;
	struct {
		const float *src;
		int next;
		double *out;
	} k[] = {
		{bt->s->clean_resid, 0, p->resid_pre},
		{bt->s->attn_after, 1, p->attn_out},
		{bt->s->mlp_after, 1, p->mlp_out},
	};
	for (int b = 0; b < bt->r->B; b++) {
		bt->rows[b] = b < nb ? t0 + b : -1;
		bt->from[b] = b < nb ? t0 + b : n;
	}
	refill(bt);
	for (int i = 0; i < 3; i++)
		for (int l = L - 1; l >= 0; l--) {
			double *out = k[i].out + (size_t)l * n;
			if (l + k[i].next == L) {
				top_block(bt, k[i].src + l * per, t0, nb, out);
				continue;
			}
			patched(bt, LMS_PATCH_RESID_PRE, l + k[i].next, k[i].src + l * per);
			batch_ld(bt, nb);
			for (int b = 0; b < nb; b++)
				out[t0 + b] = lms_patch_score(bt->ld[b], p);
		}
}

/* Heads [h0, h0 + nb) of layer l, each at every position. */
static void head_chunk(struct batch *bt, int l, int h0, int nb)
{
	struct lms_patch_result *p = bt->p;
	size_t per = (size_t)bt->n * bt->r->m->cfg.C;
	for (int b = 0; b < bt->r->B; b++) {
		bt->rows[b] = b < nb ? h0 + b : -1;
		bt->from[b] = b < nb ? bt->first : bt->n;
	}
	patched(bt, LMS_PATCH_HEAD, l, bt->s->clean_heads + l * per);
	batch_ld(bt, nb);
	for (int b = 0; b < nb; b++)
		p->heads[(size_t)l * p->NH + h0 + b] = lms_patch_score(bt->ld[b], p);
}

static void sweep(struct batch *bt)
{
	struct lms_patch_result *p = bt->p;
	int n = bt->n, B = bt->r->B;
	for (int l = 0; l < p->L; l++)
		for (int t = 0; t < bt->first; t++) {
			double same = p->ld_clean == p->ld_corrupt ? NAN : 0.0;
			p->resid_pre[(size_t)l * n + t] = p->attn_out[(size_t)l * n + t] = same;
			p->mlp_out[(size_t)l * n + t] = same;
		}
	for (int t0 = bt->first; t0 < n; t0 += B)
		position_chunk(bt, t0, n - t0 < B ? n - t0 : B);
	if (bt->first == n) {
		/* nothing differs: every head is the corrupt run's */
		for (int i = 0; i < p->L * p->NH; i++)
			p->heads[i] = lms_patch_score(p->ld_corrupt, p);
		return;
	}
	for (int b = 0; b < B; b++)
		bt->from[b] = bt->first;
	refill(bt);
	for (int l = p->L - 1; l >= 0; l--)
		for (int h0 = 0; h0 < p->NH; h0 += B)
			head_chunk(bt, l, h0, p->NH - h0 < B ? p->NH - h0 : B);
}

enum lms_status lms_patch_batched(const struct lms_run *corrupt, int first, int rows,
                                  const struct lms_patch_src *s, struct lms_patch_result *p)
{
	const struct lms_model *m = corrupt->m;
	const struct lms_config *c = &m->cfg;
	int n = corrupt->n;
	int want = n - first > c->NH ? n - first : c->NH;
	int B = rows > 0 ? (rows < want ? rows : want) : rows_that_fit(c, n, want);
	struct batch bt = {.corrupt = corrupt, .n = n, .first = first, .s = s, .p = p};
	bt.rows = malloc((size_t)B * sizeof *bt.rows);
	bt.from = malloc((size_t)B * sizeof *bt.from);
	bt.ld = malloc((size_t)B * sizeof *bt.ld);
	enum lms_status st = LMS_OK;
	if (!bt.rows || !bt.from || !bt.ld)
		st = lms_fail(LMS_ENOMEM, "out of memory");
	/* fewer rows when memory is short: slower, not a failure */
	while (!st && (st = lms_run_new(m, B, n, &bt.r)) == LMS_ENOMEM && B > 1) {
		B = (B + 1) / 2;
		st = LMS_OK;
	}
	if (!st)
		st = lms_intervention_new(m, &bt.iv);
	if (!st) {
		/* the forwards read no embedding (each starts from start_resid),
		 * and positions before a row's start only as keys and values
		 * (refill) */
		lms_run_intervene(bt.r, bt.iv);
		sweep(&bt);
	}
	lms_intervention_free(bt.iv);
	lms_run_free(bt.r);
	free(bt.rows);
	free(bt.from);
	free(bt.ld);
	return st;
}
