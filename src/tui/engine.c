/* The explorer's engine update (engine.h). An update tokenizes the newest
 * context, runs the forward over the positions that changed since the
 * previous update (a causal model's earlier positions do not change when
 * the text is edited at its end), and derives everything the panes show,
 * one phase at a time, cheapest and most wanted first: the next-token
 * candidates (published at once), the selected attention head or recurrent
 * activations, the surprisal per token, the saliency, the overview, the
 * logit lens and the saliency's faithfulness. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/i18n.h"
#include "engine.h"
#include "lmscope/attribution.h"
#include "lmscope/clock.h"
#include "lmscope/interp.h"
#include "lmscope/logits.h"

/* Rows of the work run: the attribution methods and the deletion curve
 * evaluate that many perturbed contexts per forward. About 2048 positions
 * in all, so that GPT-2 small at 1024 positions holds two rows, not 64. */
static int work_rows(int T)
{
	int B = 2048 / (T > 0 ? T : 1);
	return B < 1 ? 1 : B > 16 ? 16 : B;
}

enum lms_status tui_engine_open(struct tui_engine *e, const struct tui_model *tm)
{
	memset(e, 0, sizeof *e);
	e->tm = tm;
	e->snap = -1;
	const struct lms_config *c = &tm->m->cfg;
	e->T = c->maxT;
	enum lms_status st = lms_run_new(tm->m, 1, e->T, &e->run);
	if (!st)
		st = lms_run_new(tm->m, work_rows(e->T), e->T, &e->work);
	if (st) {
		tui_engine_close(e);
		return st;
	}
	e->ids = calloc((size_t)e->T, sizeof *e->ids);
	e->lse = calloc((size_t)e->T, sizeof *e->lse);
	e->surprisal = calloc((size_t)e->T, sizeof *e->surprisal);
	e->prev = calloc((size_t)e->T, sizeof *e->prev);
	e->lens_h = calloc((size_t)c->L * e->run->Cout, sizeof *e->lens_h);
	e->lens_out = calloc((size_t)c->L * c->V, sizeof *e->lens_out);
	e->faith_curve = calloc((size_t)e->T + 1, sizeof *e->faith_curve);
	e->faith_other = calloc((size_t)e->T, sizeof *e->faith_other);
	if (!e->ids || !e->lse || !e->surprisal || !e->prev || !e->lens_h || !e->lens_out ||
	    !e->faith_curve || !e->faith_other) {
		tui_engine_close(e);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	return LMS_OK;
}

void tui_engine_close(struct tui_engine *e)
{
	lms_run_free(e->run);
	lms_run_free(e->work);
	lms_run_free(e->base);
	lms_intervention_free(e->iv);
	free(e->ids);
	free(e->lse);
	free(e->surprisal);
	free(e->prev);
	free(e->lens_h);
	free(e->lens_out);
	free(e->faith_curve);
	free(e->faith_other);
	free(e->own);
	free(e->all_ids);
	free(e->all_off);
	free(e->corpus_ids);
	lms_neuron_stats_free(&e->nst);
	tui_request_free(&e->last);
	tui_view_free(&e->cur);
	memset(e, 0, sizeof *e);
}

/* Without a tokenizer the context is a list of ids: runs of digits,
 * separated by spaces or commas. Anything else is refused with how ids are
 * typed (words mean nothing to a model without its tokenizer). */
static enum lms_status parse_ids(const char *text, size_t len, int **ids, size_t *n, size_t **off)
{
	for (size_t i = 0; i < len; i++)
		if ((text[i] < '0' || text[i] > '9') && text[i] != ' ' && text[i] != ',')
			return lms_fail(LMS_EARG, "this model has no tokenizer: type token ids as numbers "
			                          "(3 17 42), or open it with --tokenizer FILE");
	size_t cap = len / 2 + 2, k = 0;
	*ids = malloc(cap * sizeof **ids);
	*off = malloc((cap + 1) * sizeof **off);
	if (!*ids || !*off)
		return lms_fail(LMS_ENOMEM, "out of memory");
	for (size_t i = 0; i < len;) {
		if (text[i] < '0' || text[i] > '9') {
			i++;
			continue;
		}
		size_t s = i;
		long v = 0;
		while (i < len && text[i] >= '0' && text[i] <= '9') {
			if (v < 100000000)
				v = v * 10 + (text[i] - '0');
			i++;
		}
		(*ids)[k] = (int)v;
		(*off)[k++] = s;
	}
	(*off)[k] = len;
	*n = k;
	return LMS_OK;
}

static enum lms_status tokenize(struct tui_engine *e, const struct tui_request *rq)
{
	free(e->all_ids);
	free(e->all_off);
	e->all_ids = NULL;
	e->all_off = NULL;
	e->n_all = 0;
	enum lms_status st;
	if (e->tm->tok)
		st = lms_tokenizer_encode_input(e->tm->tok, rq->text, rq->len, &e->all_ids, &e->n_all,
		                                &e->all_off, NULL);
	else
		st = parse_ids(rq->text, rq->len, &e->all_ids, &e->n_all, &e->all_off);
	if (st)
		return st;
	int V = e->tm->m->cfg.V;
	for (size_t i = 0; i < e->n_all; i++)
		if (e->all_ids[i] < 0 || e->all_ids[i] >= V) {
			int bad = e->all_ids[i];
			e->n_all = 0;
			return lms_fail(LMS_EARG, "token id %d outside the vocabulary (0 to %d)", bad, V - 1);
		}
	return LMS_OK;
}

static void recurrent_view(struct tui_engine *e, const struct tui_request *rq)
{
	struct tui_view *v = &e->cur;
	const struct lms_config *c = &e->tm->m->cfg;
	int n = e->n;
	v->layer = rq->layer < 0 ? 0 : rq->layer >= c->L ? c->L - 1 : rq->layer;
	int G = 0, D = 0;
	const float *gates = lms_run_gates(e->run, v->layer, 0, &G);
	v->G = gates ? G : 0;
	int CH = 0;
	const float *cell = lms_run_cell(e->run, v->layer, 0, &CH);
	v->has_cell = cell != NULL;
	v->part = rq->part < 0 || rq->part > v->G + v->has_cell ? 0 : rq->part;
	if (v->part == v->G + 1 && cell) {
		v->D = CH;
		memcpy(v->act, cell, (size_t)n * CH * sizeof *v->act);
	} else if (v->part == TUI_PART_HIDDEN) {
		const float *hs = lms_run_hidden(e->run, v->layer, 0, &D);
		v->D = D;
		if (hs)
			memcpy(v->act, hs, (size_t)n * D * sizeof *v->act);
	} else {
		int H = c->H, GH = G * H;
		v->D = H;
		for (int t = 0; t < n; t++)
			memcpy(v->act + (size_t)t * H, gates + (size_t)t * GH + (size_t)(v->part - 1) * H,
			       (size_t)H * sizeof *v->act);
	}
}

/* ---- memo keys ------------------------------------------------------------- */

static struct tui_memo key(const struct tui_engine *e, int method, int target, int contrast)
{
	struct tui_memo k = {e->gen, method, target, contrast};
	return k;
}

/* The key of phase p for the current view's question. */
static struct tui_memo key_of(const struct tui_engine *e, enum tui_phase p)
{
	const struct tui_view *v = &e->cur;
	switch (p) {
	case TUI_PH_GRADIENT:
	case TUI_PH_DLA: return key(e, -1, v->target, v->contrast);
	case TUI_PH_PATCH: return key(e, e->corrupt_ver, -1, -1);
	case TUI_PH_LENS: return key(e, v->lens_pos, v->target, -1);
	case TUI_PH_NEURONS: return key(e, v->neuron_pos, v->neuron_layer, -1);
	/* the corpus contexts depend on the cache, not on the forward */
	case TUI_PH_NCTX: return (struct tui_memo){1, v->nctx_layer, v->nctx_neuron, -1};
	case TUI_PH_SALIENCY:
	case TUI_PH_FAITH: return key(e, v->method, v->target, v->contrast);
	default: return key(e, -1, -1, -1);
	}
}

static int memo_hit(const struct tui_engine *e, enum tui_phase p)
{
	struct tui_memo a = e->memo[p], b = key_of(e, p);
	return a.gen && a.gen == b.gen && a.method == b.method && a.target == b.target &&
	       a.contrast == b.contrast;
}

static void memo_set(struct tui_engine *e, enum tui_phase p)
{
	e->memo[p] = key_of(e, p);
}

/* ---- phases ------------------------------------------------------------------ */

/* An update slower than this shows its parts as they become ready. */
#define PARTIAL_MS 20.0

static int went_stale(const struct tui_hooks *h)
{
	return h && h->stale && h->stale(h->arg);
}

/* One update in progress: the request, the hooks and when it started. */
struct update {
	struct tui_engine *e;
	const struct tui_request *rq;
	const struct tui_hooks *h;
	double t0;
	int cand_fresh; /* the candidates were recomputed: publish them */
};

static void publish_partial(const struct update *u)
{
	if (u->h && u->h->partial) {
		u->e->cur.ms = lms_now_ms() - u->t0;
		u->h->partial(u->h->arg);
	}
}

/* Before a slow phase of an update that is already slow. */
static void show_partial(const struct update *u)
{
	if (lms_now_ms() - u->t0 > PARTIAL_MS)
		publish_partial(u);
}

/* Surprisal is computed for the last SURPRISAL_WINDOW positions only: the
 * logits of every position of a long context would cost a vocabulary-sized
 * product per position and keep (T, V) floats resident. */
#define SURPRISAL_WINDOW 256

/* Forward over the positions that changed, and the last row's logits (the
 * candidates'); every other row's logits are left to the surprisal phase. */
static int ph_forward(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	int n = v->n;
	if (tui_engine_ablate(e, u->rq->ablate))
		snprintf(v->error, sizeof v->error, "%s", lms_errmsg());
	if (n == e->n && !memcmp(v->ids, e->ids, (size_t)n * sizeof *v->ids) && e->gen)
		return 1;
	struct lms_run *r = e->run;
	int V = e->tm->m->cfg.V;
	int from = 0, keep = e->n < n ? e->n : n;
	while (from < keep && e->ids[from] == v->ids[from])
		from++;
	lms_embed(r, v->ids, n);
	lms_forward(r, from, n);
	for (int t = from; t < n; t++) {
		e->lse[t] = NAN;
		e->surprisal[t] = NAN;
	}
	lms_logits(r, 0, n - 1, n);
	e->lse[n - 1] = (float)lms_logsumexp(r->logits + (size_t)(n - 1) * V, V);
	memcpy(e->ids, v->ids, (size_t)n * sizeof *v->ids);
	e->n = n;
	e->gen++;
	memcpy(v->surprisal, e->surprisal, (size_t)n * sizeof *v->surprisal);
	return 1;
}

/* The next-token distribution after the last position, its top list and
 * the question the later phases answer (target, contrast). */
static int ph_candidates(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	const struct lms_config *c = &e->tm->m->cfg;
	const struct tui_request *rq = u->rq;
	int fresh = !memo_hit(e, TUI_PH_CANDIDATES);
	if (fresh) {
		const float *x = e->run->logits + (size_t)(v->n - 1) * c->V;
		float lse = e->lse[v->n - 1];
		for (int i = 0; i < c->V; i++)
			v->logprob[i] = x[i] - lse;
		v->k = lms_top_k(v->logprob, c->V, TUI_TOPK, v->top_id, v->top_lp);
		tui_engine_base(e);
		memo_set(e, TUI_PH_CANDIDATES);
	}
	u->cand_fresh = fresh;
	int target = rq->target >= 0 && rq->target < c->V ? rq->target : v->top_id[0];
	v->target = target;
	v->contrast =
		rq->contrast >= 0 && rq->contrast < c->V && rq->contrast != target ? rq->contrast : -1;
	v->target_lp = v->logprob[target];
	/* what the later phases will bring, as far as it is not already there */
	v->have_saliency = memo_hit(e, TUI_PH_SALIENCY);
	v->have_faith = memo_hit(e, TUI_PH_FAITH);
	v->have_overview = memo_hit(e, TUI_PH_OVERVIEW);
	v->have_lens = memo_hit(e, TUI_PH_LENS);
	v->have_dla = memo_hit(e, TUI_PH_DLA);
	v->have_change = memo_hit(e, TUI_PH_CHANGE);
	v->have_patch = memo_hit(e, TUI_PH_PATCH) && v->have_patch;
	v->valid = 1;
	return 1;
}

static void attention_view(struct tui_engine *e, const struct tui_request *rq)
{
	struct tui_view *v = &e->cur;
	const struct lms_config *c = &e->tm->m->cfg;
	int n = e->n, T = e->run->T;
	v->layer = rq->layer < 0 ? 0 : rq->layer >= c->L ? c->L - 1 : rq->layer;
	v->head = rq->head < 0 ? 0 : rq->head >= c->NH ? c->NH - 1 : rq->head;
	v->mean_heads = rq->mean_heads;
	int h0 = v->mean_heads ? 0 : v->head, h1 = v->mean_heads ? c->NH : v->head + 1;
	memset(v->att, 0, (size_t)n * n * sizeof *v->att);
	float w = 1.0f / (float)(h1 - h0);
	for (int h = h0; h < h1; h++) {
		const float *a = lms_run_attention(e->run, v->layer, h, 0);
		for (int q = 0; q < n; q++)
			for (int k = 0; k <= q; k++)
				v->att[(size_t)q * n + k] += w * a[(size_t)q * T + k];
	}
}

/* The selected attention head, or the recurrent layer's activations: a
 * copy out of the run, cheap enough to go out with the candidates. Then the
 * candidates are published, whatever follows. */
static int ph_view(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	if (lms_arch_is_recurrent(e->tm->m->cfg.arch))
		recurrent_view(e, u->rq);
	else
		attention_view(e, u->rq);
	double base = u->rq->t_post > 0 ? u->rq->t_post : u->t0;
	v->cand_ms = lms_now_ms() - base;
	if (u->cand_fresh)
		publish_partial(u);
	return 1;
}

/* -log p of each token given its prefix, from the logits of the row before
 * it: rows a keystroke left unchanged keep theirs; only new rows (within the
 * window) are computed, in one product. */
static int ph_surprisal(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	if (memo_hit(e, TUI_PH_SURPRISAL))
		return 1;
	struct lms_run *r = e->run;
	int n = v->n, V = e->tm->m->cfg.V;
	int a = n - 1 - SURPRISAL_WINDOW > 0 ? n - 1 - SURPRISAL_WINDOW : 0;
	while (a < n - 1 && !isnan(e->lse[a]))
		a++;
	if (a < n - 1) {
		lms_logits(r, 0, a, n - 1);
		for (int t = a; t < n - 1; t++)
			e->lse[t] = (float)lms_logsumexp(r->logits + (size_t)t * V, V);
	}
	e->surprisal[0] = NAN;
	for (int t = 1; t < n; t++)
		e->surprisal[t] =
			isnan(e->lse[t - 1]) ? NAN : e->lse[t - 1] - r->logits[(size_t)(t - 1) * V + e->ids[t]];
	memcpy(v->surprisal, e->surprisal, (size_t)n * sizeof *v->surprisal);
	memo_set(e, TUI_PH_SURPRISAL);
	return 1;
}

/* The gradient of log p(target) [- log p(contrast)] at the input
 * embeddings, for the two gradient methods. */
static int gradient(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	if (memo_hit(e, TUI_PH_GRADIENT))
		return 1;
	/* the last row's logits are current since ph_forward */
	e->grad_value =
		lms_objective_logprob(e->run, 0, v->n - 1, v->target, v->contrast, LMS_LOGITS_READY);
	lms_backward(e->run, LMS_GRAD_INPUT);
	memo_set(e, TUI_PH_GRADIENT);
	return !went_stale(u->h);
}

/* Saliency scores from the gradient at the input embeddings. */
static void score(const struct tui_engine *e, int method, int n, float *out)
{
	const struct lms_run *r = e->run;
	int C = e->tm->m->cfg.C;
	for (int j = 0; j < n; j++) {
		const float *g = r->demb + (size_t)j * C, *x = r->emb + (size_t)j * C;
		double s = 0.0;
		if (method == TUI_GRAD_X_INPUT) {
			for (int k = 0; k < C; k++)
				s += (double)g[k] * x[k];
		} else {
			for (int k = 0; k < C; k++)
				s += (double)g[k] * g[k];
			s = sqrt(s);
		}
		out[j] = (float)s;
	}
}

/* lms_attr_opts.progress: a stale request stops the method. */
static int attr_progress(void *p, long done, long total)
{
	(void)done;
	(void)total;
	return went_stale(p);
}

/* The options every attribution of an update uses: the tokenizer's hiding
 * token, the work run (no allocation), abandoned when stale. */
static void attr_opts(const struct update *u, struct lms_attr_opts *o)
{
	lms_attr_opts_default(o);
	lms_attr_opts_use_tokenizer(o, u->e->tm->tok);
	o->run = u->e->work;
	o->progress = attr_progress;
	o->userdata = (void *)u->h;
}

/* Scores of the methods that lms_attribute computes, in the work run (the
 * run with the context's prefix stays untouched). */
static void attribute(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	struct lms_attr_opts o;
	struct lms_attr_info info;
	attr_opts(u, &o);
	o.method = (enum lms_attr_method)tui_methods[v->method].attr;
	if (lms_attribute(e->tm->m, e->ids, v->n, v->target, v->contrast, &o, v->saliency, &info)) {
		memset(v->saliency, 0, (size_t)v->n * sizeof *v->saliency);
		snprintf(v->sal_note, sizeof v->sal_note, "%s", lms_errmsg());
		return;
	}
	if (v->method == TUI_IG)
		snprintf(v->sal_note, sizeof v->sal_note, _("completeness gap %.2g"), info.gap);
	else if (v->method == TUI_LIME)
		snprintf(v->sal_note, sizeof v->sal_note, _("R2 %.2f, %d nonzero"), info.r2, info.nonzero);
}

static int ph_saliency(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	if (memo_hit(e, TUI_PH_SALIENCY))
		return 1;
	v->have_saliency = 0;
	show_partial(u);
	v->sal_note[0] = '\0';
	if (v->method == TUI_GRAD_NORM || v->method == TUI_GRAD_X_INPUT) {
		if (!gradient(u))
			return 0;
		v->objective = e->grad_value;
		score(e, v->method, v->n, v->saliency);
	} else {
		attribute(u);
		if (went_stale(u->h))
			return 0;
		v->objective = v->contrast >= 0 ? v->logprob[v->target] - v->logprob[v->contrast]
		                                : v->logprob[v->target];
	}
	memo_set(e, TUI_PH_SALIENCY);
	v->have_saliency = 1;
	return 1;
}

/* A head's thumbnail th (TH, TH): the mean attention a (n, n) of each cell. */
static void thumb(float *th, const float *a, int n, int T)
{
	int TH = TUI_THUMB;
	for (int i = 0; i < TH; i++)
		for (int j = 0; j < TH; j++) {
			int q0 = i * n / TH, q1 = (i + 1) * n / TH;
			int k0 = j * n / TH, k1 = (j + 1) * n / TH;
			if (q1 <= q0)
				q1 = q0 + 1;
			if (k1 <= k0)
				k1 = k0 + 1;
			double s = 0.0;
			for (int q = q0; q < q1 && q < n; q++)
				for (int k = k0; k < k1 && k <= q; k++)
					s += a[(size_t)q * T + k];
			th[i * TH + j] = (float)(s / ((q1 - q0) * (k1 - k0)));
		}
}

/* Every head's entropy, thumbnail and head detectors' scores (interp.h),
 * for the overview's colouring: one pass that reads each head's attention
 * once (recomputed head by head from the run's queries and keys,
 * lms_run_attention). */
static void overview(struct tui_engine *e)
{
	struct tui_view *v = &e->cur;
	const struct lms_config *c = &e->tm->m->cfg;
	int n = e->n, T = e->run->T;
	size_t LH = (size_t)c->L * c->NH;
	lms_head_prev(e->prev, e->ids, n);
	for (int l = 0; l < c->L; l++)
		for (int h = 0; h < c->NH; h++) {
			size_t k = (size_t)l * c->NH + h;
			const float *a = lms_run_attention(e->run, l, h, 0);
			double ent = 0.0;
			for (int q = 0; q < n; q++)
				for (int j = 0; j <= q; j++) {
					float p = a[(size_t)q * T + j];
					if (p > 0.0f)
						ent -= p * log(p);
				}
			v->entropy[k] = (float)(ent / n);
			thumb(v->thumb + k * TUI_THUMB * TUI_THUMB, a, n, T);
			double sc[3];
			lms_head_scores_of(a, T, e->prev, n, &sc[0], &sc[1], &sc[2]);
			for (int i = 0; i < 3; i++)
				v->detect[i * LH + k] = (float)sc[i];
		}
}

static int ph_overview(struct update *u)
{
	struct tui_engine *e = u->e;
	if (!u->rq->need_overview || lms_arch_is_recurrent(e->tm->m->cfg.arch) ||
	    memo_hit(e, TUI_PH_OVERVIEW))
		return 1;
	show_partial(u);
	overview(e);
	memo_set(e, TUI_PH_OVERVIEW);
	e->cur.have_overview = 1;
	return 1;
}

/* Layer i's lens row x (V logits) into the view's slots for layer l: the
 * TUI_LENS_K most probable tokens, and the target's rank and probability. */
static void lens_layer(struct tui_view *v, int l, const float *x)
{
	int V = v->V, *id = v->lens_id + (size_t)l * TUI_LENS_K;
	float *p = v->lens_p + (size_t)l * TUI_LENS_K, lse = (float)lms_logsumexp(x, V);
	int k = lms_top_k(x, V, TUI_LENS_K, id, p);
	for (int i = 0; i < TUI_LENS_K; i++) {
		p[i] = i < k ? expf(p[i] - lse) : 0.0f;
		id[i] = i < k ? id[i] : -1;
	}
	int rank = 1;
	for (int i = 0; i < V; i++)
		rank += x[i] > x[v->target];
	v->lens_rank[l] = rank;
	v->lens_tp[l] = expf(x[v->target] - lse);
}

/* One matrix product of every layer's hidden vector at the lens's position
 * with the unembedding (the last layer's is the model's own prediction
 * there): on a large vocabulary the costliest view, so it comes late and
 * is skipped when stale. */
static int ph_lens(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	const struct lms_config *c = &e->tm->m->cfg;
	if (!u->rq->need_lens || memo_hit(e, TUI_PH_LENS))
		return 1;
	show_partial(u);
	if (went_stale(u->h))
		return 0;
	int Cout = e->run->Cout, N = 0, layer_of[LMS_MAX_LAYERS];
	for (int l = 0; l < c->L; l++) {
		int D = 0;
		const float *hs = lms_run_hidden(e->run, l, 0, &D);
		for (int i = 0; i < TUI_LENS_K; i++)
			v->lens_id[(size_t)l * TUI_LENS_K + i] = -1;
		v->lens_rank[l] = 0;
		v->lens_tp[l] = 0.0f;
		if (!hs || D != Cout)
			continue;
		memcpy(e->lens_h + (size_t)N * Cout, hs + (size_t)v->lens_pos * D,
		       (size_t)D * sizeof(float));
		layer_of[N++] = l;
	}
	lms_lens_rows(e->run, e->lens_h, N, e->lens_out);
	for (int i = 0; i < N; i++)
		lens_layer(v, layer_of[i], e->lens_out + (size_t)i * c->V);
	memo_set(e, TUI_PH_LENS);
	v->have_lens = 1;
	return 1;
}

/* The change strip: for each token t, KL(after || before) between the
 * next-token distributions of rows t and t - 1 and the top-1 of row t,
 * from the logits the surprisal phase left (rows with a log-normaliser). */
static int ph_change(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	if (!u->rq->need_change || memo_hit(e, TUI_PH_CHANGE))
		return 1;
	show_partial(u);
	const float *lg = e->run->logits;
	int n = v->n, V = e->tm->m->cfg.V;
	for (int t = 0; t < n; t++) {
		v->change_kl[t] = NAN;
		v->change_top[t] = -1;
		if (isnan(e->lse[t]))
			continue;
		const float *a = lg + (size_t)t * V;
		int best = 0;
		for (int k = 1; k < V; k++)
			if (a[k] > a[best])
				best = k;
		v->change_top[t] = best;
		if (t == 0 || isnan(e->lse[t - 1]))
			continue;
		const float *b = lg + (size_t)(t - 1) * V;
		double la = e->lse[t], lb = e->lse[t - 1], kl = 0.0;
		for (int k = 0; k < V; k++) {
			double pa = exp(a[k] - la);
			kl += pa * ((a[k] - la) - (b[k] - lb));
		}
		v->change_kl[t] = (float)(kl > 0 ? kl : 0);
	}
	memo_set(e, TUI_PH_CHANGE);
	v->have_change = 1;
	return !went_stale(u->h);
}

/* The patching sweep: L x T forwards of the suffix after each patch
 * point (lms_patch_sweep), so it comes after everything cheaper, and only
 * when the pane shows it; a newer keystroke drops it before it starts. */
static int ph_patch(struct update *u)
{
	struct tui_engine *e = u->e;
	if (strcmp(u->rq->corrupt, e->corrupt)) {
		snprintf(e->corrupt, sizeof e->corrupt, "%s", u->rq->corrupt);
		e->corrupt_ver++;
	}
	if (!u->rq->need_patch || memo_hit(e, TUI_PH_PATCH))
		return 1;
	publish_partial(u);
	if (went_stale(u->h))
		return 0;
	tui_engine_patch(e, u->rq);
	memo_set(e, TUI_PH_PATCH);
	return !went_stale(u->h);
}

/* Direct logit attribution of the target (minus the contrast) at the last
 * position: a pass over the run's stored activations, no forward. */
static int ph_dla(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	if (!u->rq->need_dla || lms_arch_is_recurrent(e->tm->m->cfg.arch) || memo_hit(e, TUI_PH_DLA))
		return 1;
	show_partial(u);
	struct lms_dla d;
	if (lms_dla_compute(e->run, v->n - 1, v->target, v->contrast, &d)) {
		snprintf(v->error, sizeof v->error, "%s", lms_errmsg());
		return 1;
	}
	lms_dla_free(&v->dla);
	v->dla = d;
	memo_set(e, TUI_PH_DLA);
	v->have_dla = 1;
	return 1;
}

/* The most active MLP neurons at the selected position and layer: one
 * top-k over the activations the forward stored. */
static int ph_neurons(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	const struct lms_config *c = &e->tm->m->cfg;
	if (!u->rq->need_neurons || lms_arch_is_recurrent(c->arch)) {
		v->have_neurons = 0; /* not of this context: kept out of exports */
		e->memo[TUI_PH_NEURONS].gen = 0;
		return 1;
	}
	v->neuron_layer = u->rq->layer < 0 ? 0 : u->rq->layer >= c->L ? c->L - 1 : u->rq->layer;
	v->neuron_pos =
		u->rq->neuron_pos >= 0 && u->rq->neuron_pos < v->n ? u->rq->neuron_pos : v->n - 1;
	if (!memo_hit(e, TUI_PH_NEURONS)) {
		tui_engine_neurons(e);
		memo_set(e, TUI_PH_NEURONS);
	}
	int open = u->rq->neuron_open;
	if (open < 0 || open >= c->H)
		return 1;
	v->nctx_layer = v->neuron_layer;
	v->nctx_neuron = open;
	/* r asked for the corpus pass: once per asking, even when it stops */
	int run = u->rq->neuron_pass != e->pass_asked;
	e->pass_asked = u->rq->neuron_pass;
	if (memo_hit(e, TUI_PH_NCTX))
		return 1;
	show_partial(u);
	if (tui_engine_neuron_contexts(e, run, u->h))
		memo_set(e, TUI_PH_NCTX);
	return !went_stale(u->h);
}

/* How far the saliency can be trusted, by the engine's one policy
 * (lms_faithfulness, as `lmscope explain` reports it): the deletion area of
 * its scores and the rank agreement with the methods it compares, all in
 * the work run, abandoned between steps when stale. The slow phase:
 * everything else goes out first. Returns 0 when stale. */
static int ph_faith(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	if (!u->rq->need_faith || memo_hit(e, TUI_PH_FAITH))
		return 1;
	v->have_faith = 0;
	publish_partial(u);
	if (went_stale(u->h))
		return 0;
	struct lms_attr_opts o;
	attr_opts(u, &o);
	o.method = (enum lms_attr_method)tui_methods[v->method].attr;
	struct lms_faithfulness f;
	enum lms_status st = lms_faithfulness(e->tm->m, e->ids, v->n, v->target, v->contrast,
	                                      v->saliency, &o, e->faith_curve, e->faith_other, &f);
	if (st && went_stale(u->h))
		return 0;
	/* an engine failure shows as nan, with what was computed before it */
	v->faith_area = f.area;
	for (int k = 0; k < TUI_N_METHODS; k++)
		v->faith_rho[k] = f.rho[tui_methods[k].attr];
	memo_set(e, TUI_PH_FAITH);
	v->have_faith = 1;
	return 1;
}

/* ---- the update ------------------------------------------------------------- */

/* Tokens cut from the left of a context of n_all tokens for a run of T
 * positions. The cut moves in steps of T / 8: a cut that moved by one token
 * per token typed would shift every position on every keystroke and leave
 * nothing to reuse; in steps, the next T / 8 - 1 tokens append to an
 * unchanged prefix. Depends on n_all only, so a text always gets the same. */
static int cut_of(size_t n_all, int T)
{
	if (n_all <= (size_t)T)
		return 0;
	size_t step = T >= 16 ? (size_t)T / 8 : 1, need = n_all - (size_t)T;
	return (int)((need + step - 1) / step * step);
}

/* The text into tokens (when it changed) and the tokens into the view's
 * positions: cut from the left to fit the run, after the BOS when the
 * tokenizer starts every context with one (the model has only seen
 * contexts that start with it). Returns 0 when out of memory. */
static int ph_input(struct update *u)
{
	struct tui_engine *e = u->e;
	struct tui_view *v = &e->cur;
	const struct tui_request *rq = u->rq;
	const struct lms_config *c = &e->tm->m->cfg;
	int text_changed =
		!e->last.text || rq->len != e->last.len || memcmp(rq->text, e->last.text, rq->len) != 0;
	if (text_changed) {
		if (!tui_request_set_text(&e->last, rq->text, rq->len))
			return 0;
		if (tokenize(e, rq)) {
			snprintf(v->error, sizeof v->error, "%s", lms_errmsg());
			e->n_all = 0;
		}
		e->bos = e->n_all > 0 && lms_tokenizer_adds_bos(e->tm->tok) &&
		         e->all_ids[0] == lms_tokenizer_bos(e->tm->tok);
	}
	int head = e->bos && e->n_all > (size_t)e->T ? 1 : 0;
	int cut = cut_of(e->n_all - (size_t)head, e->T - head);
	int n = (int)e->n_all - cut;
	int recurrent = lms_arch_is_recurrent(c->arch);
	int NH = recurrent ? 0 : c->NH;
	size_t act = recurrent ? (size_t)n * (c->H > c->C ? c->H : c->C) : 0;
	if (!tui_view_reserve(v, rq->len, n, c->V, c->L, NH, act))
		return 0;
	memcpy(v->text, rq->text, rq->len);
	v->text[rq->len] = '\0';
	v->len = rq->len;
	v->cut = cut;
	v->kept = cut ? head : 0;
	v->n = n;
	v->V = c->V;
	v->L = c->L;
	v->NH = NH;
	v->method = rq->method >= 0 && rq->method < TUI_N_METHODS ? rq->method : 0;
	for (int i = 0; i < n; i++) {
		int a = i < v->kept ? i : i + cut;
		v->ids[i] = e->all_ids[a];
		v->offsets[i] = e->all_off[a];
	}
	v->cut_byte = n ? v->offsets[v->kept] : 0;
	v->lens_pos = rq->lens_pos >= 0 && rq->lens_pos < n ? rq->lens_pos : n - 1;
	v->offsets[n] = rq->len;
	return 1;
}

typedef int (*phase_fn)(struct update *u);

/* The phases after the input, in order: each returns 0 when the update
 * went stale. */
static const phase_fn phases[] = {
	ph_forward,  ph_candidates, ph_view, ph_surprisal, ph_change, ph_saliency,
	ph_overview, ph_lens,       ph_dla,  ph_neurons,   ph_faith,  ph_patch,
};

int tui_engine_update(struct tui_engine *e, const struct tui_request *rq, const struct tui_hooks *h)
{
	struct update u = {e, rq, h, lms_now_ms(), 0};
	struct tui_view *v = &e->cur;
	v->error[0] = v->note[0] = '\0';
	if (tui_engine_snapshot(e, rq->snapshot))
		snprintf(v->error, sizeof v->error, "%s", lms_errmsg());
	v->snapshot = e->snap;
	if (!ph_input(&u)) {
		snprintf(v->error, sizeof v->error, "%s", _("out of memory"));
		return 1;
	}
	if (v->n == 0) {
		/* nothing to show; the run keeps its tokens for when they return */
		v->k = 0;
		/* k and every have_ flag are gone: each phase runs again when
		 * tokens return, even the same tokens (the forward is then kept) */
		memset(e->memo, 0, sizeof e->memo);
		v->have_lens = v->have_overview = v->have_saliency = v->have_faith = v->have_dla =
			v->have_change = 0;
		v->have_patch = v->have_neurons = v->have_nctx = 0;
		v->valid = 1;
		v->ms = v->cand_ms = lms_now_ms() - u.t0;
		return 1;
	}
	for (size_t i = 0; i < sizeof phases / sizeof *phases; i++)
		if (!phases[i](&u) || went_stale(h))
			return 0;
	v->ms = lms_now_ms() - u.t0;
	return 1;
}

int tui_engine_publish(const struct tui_engine *e, struct tui_view *out)
{
	return tui_view_copy(out, &e->cur);
}
