/* The explorer's engine thread. An update tokenizes the newest context,
 * runs the forward over the positions that changed since the previous
 * update (a causal model's earlier positions do not change when the text is
 * edited at its end), and derives everything the panes show: surprisal per
 * token, the next-token distribution, the saliency gradient, the selected
 * attention head or recurrent activations, the overview and the logit lens. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "lmscope/attribution.h"
#include "lmscope/clock.h"
#include "lmscope/logits.h"
#include "worker.h"

/* An update's products are small (a new row, a few dozen positions): with
 * two cores, a second OpenBLAS thread mostly waits for the core the input
 * thread, a second model's worker or another process holds. Measured on
 * two busy cores, keystroke update with one thread against two: 3.7 against
 * 7.1 ms on the default model's shape, 167 against 223 ms on GPT-2 small's. */
int tui_blas_threads(void)
{
	if (getenv("LMSCOPE_THREADS") || getenv("OPENBLAS_NUM_THREADS"))
		return 0;
	return sysconf(_SC_NPROCESSORS_ONLN) <= 2 ? 1 : 0;
}

enum lms_status tui_engine_open(struct tui_engine *e, const struct tui_model *tm)
{
	memset(e, 0, sizeof *e);
	e->tm = tm;
	const struct lms_config *c = &tm->m->cfg;
	e->T = c->maxT;
	enum lms_status st = lms_run_new(tm->m, 1, e->T, &e->run);
	if (st)
		return st;
	e->ids = calloc((size_t)e->T, sizeof *e->ids);
	e->lse = calloc((size_t)e->T, sizeof *e->lse);
	e->surprisal = calloc((size_t)e->T, sizeof *e->surprisal);
	e->lens_h = calloc((size_t)c->L * e->run->Cout, sizeof *e->lens_h);
	e->lens_out = calloc((size_t)c->L * c->V, sizeof *e->lens_out);
	e->faith_curve = calloc((size_t)e->T + 1, sizeof *e->faith_curve);
	e->faith_other = calloc((size_t)e->T, sizeof *e->faith_other);
	if (!e->ids || !e->lse || !e->surprisal || !e->lens_h || !e->lens_out || !e->faith_curve ||
	    !e->faith_other) {
		tui_engine_close(e);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	return LMS_OK;
}

void tui_engine_close(struct tui_engine *e)
{
	lms_run_free(e->run);
	free(e->ids);
	free(e->lse);
	free(e->surprisal);
	free(e->lens_h);
	free(e->lens_out);
	free(e->faith_curve);
	free(e->faith_other);
	free(e->all_ids);
	free(e->all_off);
	tui_request_free(&e->last);
	tui_view_free(&e->cur);
	memset(e, 0, sizeof *e);
}

/* Without a tokenizer the context is a list of ids: runs of digits. */
static enum lms_status parse_ids(const char *text, size_t len, int **ids, size_t *n, size_t **off)
{
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

/* An update slower than this shows its parts as they become ready. */
#define PARTIAL_MS 20.0

static int went_stale(const struct tui_hooks *h)
{
	return h && h->stale && h->stale(h->arg);
}

static void show_partial(const struct tui_hooks *h, struct tui_view *v, double t0)
{
	if (h && h->partial && lms_now_ms() - t0 > PARTIAL_MS) {
		v->ms = lms_now_ms() - t0;
		h->partial(h->arg);
	}
}

/* Surprisal is computed for the last SURPRISAL_WINDOW positions only: the
 * logits of every position of a long context would cost a vocabulary-sized
 * product per position and keep (T, V) floats resident. */
#define SURPRISAL_WINDOW 256

/* Forward over the positions that changed; logits, their normalisers and
 * the surprisal of each new token (NaN where no logits were computed). */
static void forward_changed(struct tui_engine *e, const int *ids, int n)
{
	struct lms_run *r = e->run;
	int V = e->tm->m->cfg.V;
	int from = 0;
	int keep = e->n < n ? e->n : n;
	while (from < keep && e->ids[from] == ids[from])
		from++;
	lms_embed(r, ids, n);
	lms_forward(r, from, n);
	int t0 = n - SURPRISAL_WINDOW > from ? n - SURPRISAL_WINDOW : from;
	lms_logits(r, 0, t0, n);
	for (int t = from; t < n; t++)
		e->lse[t] = t < t0 ? NAN : (float)lms_logsumexp(r->logits + (size_t)t * V, V);
	if (isnan(e->lse[n - 1])) {
		/* a long cut at the end left a last row never computed */
		lms_logits(r, 0, n - 1, n);
		e->lse[n - 1] = (float)lms_logsumexp(r->logits + (size_t)(n - 1) * V, V);
	}
	memcpy(e->ids, ids, (size_t)n * sizeof *ids);
	e->n = n;
	e->surprisal[0] = NAN;
	for (int t = from > 1 ? from : 1; t < n; t++)
		e->surprisal[t] = isnan(e->lse[t - 1]) ? NAN
		                  : e->lse[t - 1] - r->logits[(size_t)(t - 1) * V + ids[t]];
	e->have_grad = 0;
	e->have_dist = 0;
	e->have_attr = 0;
	e->have_faith = 0;
}

/* Scores of the methods that lms_attribute computes (its own activations:
 * the run with the context's prefix stays untouched). */
static void attribute(struct tui_engine *e, int method, int n, int target, int contrast)
{
	struct tui_view *v = &e->cur;
	struct lms_attr_opts o;
	struct lms_attr_info info;
	lms_attr_opts_default(&o);
	lms_attr_opts_use_tokenizer(&o, e->tm->tok);
	o.method = (enum lms_attr_method)tui_methods[method].attr;
	v->sal_note[0] = '\0';
	if (lms_attribute(e->tm->m, e->ids, n, target, contrast, &o, v->saliency, &info)) {
		memset(v->saliency, 0, (size_t)n * sizeof *v->saliency);
		snprintf(v->sal_note, sizeof v->sal_note, "%s", lms_errmsg());
		return;
	}
	if (method == TUI_IG)
		snprintf(v->sal_note, sizeof v->sal_note, "completeness gap %.2g", info.gap);
	else if (method == TUI_LIME)
		snprintf(v->sal_note, sizeof v->sal_note, "R2 %.2f, %d nonzero", info.r2, info.nonzero);
}

/* lms_attr_opts.progress: a stale request stops the method. */
static int attr_progress(void *p, long done, long total)
{
	(void)done;
	(void)total;
	return went_stale(p);
}

/* How far the saliency can be trusted, as `lmscope explain` reports it:
 * the deletion area of its scores, and the rank correlation with every
 * other cheap method (the gradient methods, occlusion, rollout) through
 * lms_attribute with the same options. Returns 0 when stale. */
static int faithfulness(struct tui_engine *e, int n, int target, int contrast,
                        const struct tui_hooks *h)
{
	struct tui_view *v = &e->cur;
	const struct lms_model *m = e->tm->m;
	struct lms_attr_opts o;
	lms_attr_opts_default(&o);
	lms_attr_opts_use_tokenizer(&o, e->tm->tok);
	o.progress = attr_progress;
	o.userdata = (void *)h;
	for (int k = 0; k < TUI_N_METHODS; k++)
		v->faith_rho[k] = NAN;
	if (lms_deletion_curve(m, e->ids, n, target, v->saliency, &o, e->faith_curve, &v->faith_area)) {
		v->faith_area = NAN; /* an engine failure shows as nan */
		return !went_stale(h);
	}
	for (int k = 0; k < TUI_N_METHODS; k++) {
		if (k == v->method || k == TUI_IG || k == TUI_LIME ||
		    !lms_attr_method_supported(tui_methods[k].attr, m->cfg.arch))
			continue;
		o.method = (enum lms_attr_method)tui_methods[k].attr;
		if (lms_attribute(m, e->ids, n, target, contrast, &o, e->faith_other, NULL))
			return !went_stale(h);
		v->faith_rho[k] = lms_spearman(v->saliency, e->faith_other, n);
	}
	return 1;
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

static void overview(struct tui_engine *e)
{
	struct tui_view *v = &e->cur;
	const struct lms_config *c = &e->tm->m->cfg;
	int n = e->n, T = e->run->T, TH = TUI_THUMB;
	for (int l = 0; l < c->L; l++)
		for (int h = 0; h < c->NH; h++) {
			const float *a = lms_run_attention(e->run, l, h, 0);
			double ent = 0.0;
			for (int q = 0; q < n; q++)
				for (int k = 0; k <= q; k++) {
					float p = a[(size_t)q * T + k];
					if (p > 0.0f)
						ent -= p * log(p);
				}
			v->entropy[l * c->NH + h] = (float)(ent / n);
			float *th = v->thumb + (size_t)(l * c->NH + h) * TH * TH;
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
	v->have_overview = 1;
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
	v->part = rq->part < 0 || rq->part > v->G ? 0 : rq->part;
	if (v->part == TUI_PART_HIDDEN) {
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

/* One matrix product of every layer's last hidden vector with the
 * unembedding: on a large vocabulary the costliest view, so it comes last
 * and is skipped when stale. */
static int lens(struct tui_engine *e, const struct tui_hooks *h)
{
	struct tui_view *v = &e->cur;
	const struct lms_config *c = &e->tm->m->cfg;
	if (went_stale(h))
		return 0;
	int Cout = e->run->Cout, N = 0, layer_of[LMS_MAX_LAYERS];
	for (int l = 0; l < c->L - 1; l++) {
		int D = 0;
		const float *hs = lms_run_hidden(e->run, l, 0, &D);
		v->lens_id[l] = -1;
		v->lens_p[l] = 0.0f;
		if (!hs || D != Cout)
			continue;
		memcpy(e->lens_h + (size_t)N * Cout, hs + (size_t)(e->n - 1) * D, (size_t)D * sizeof(float));
		layer_of[N++] = l;
	}
	lms_lens_rows(e->run, e->lens_h, N, e->lens_out);
	for (int i = 0; i < N; i++) {
		const float *x = e->lens_out + (size_t)i * c->V;
		int best = 0;
		for (int k = 1; k < c->V; k++)
			if (x[k] > x[best])
				best = k;
		v->lens_id[layer_of[i]] = best;
		v->lens_p[layer_of[i]] = expf(x[best] - (float)lms_logsumexp(x, c->V));
	}
	/* the last layer's lens is the model's own prediction */
	v->lens_id[c->L - 1] = v->top_id[0];
	v->lens_p[c->L - 1] = expf(v->top_lp[0]);
	v->have_lens = 1;
	return 1;
}

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

int tui_engine_update(struct tui_engine *e, const struct tui_request *rq, const struct tui_hooks *h)
{
	double t0 = lms_now_ms();
	struct tui_view *v = &e->cur;
	const struct lms_config *c = &e->tm->m->cfg;
	int recurrent = lms_arch_is_recurrent(c->arch);
	v->error[0] = v->note[0] = '\0';
	int text_changed = !e->last.text || rq->len != e->last.len ||
	                   memcmp(rq->text, e->last.text, rq->len) != 0;
	if (text_changed) {
		if (!tui_request_set_text(&e->last, rq->text, rq->len)) {
			snprintf(v->error, sizeof v->error, "out of memory");
			return 1;
		}
		enum lms_status st = tokenize(e, rq);
		if (st) {
			snprintf(v->error, sizeof v->error, "%s", lms_errmsg());
			e->n_all = 0;
		}
	}
	int cut = cut_of(e->n_all, e->T);
	int n = (int)e->n_all - cut;
	int NH = recurrent ? 0 : c->NH;
	size_t act = recurrent ? (size_t)n * (c->H > c->C ? c->H : c->C) : 0;
	if (!tui_view_reserve(v, rq->len, n, c->V, c->L, NH, act)) {
		snprintf(v->error, sizeof v->error, "out of memory");
		return 1;
	}
	memcpy(v->text, rq->text, rq->len);
	v->text[rq->len] = '\0';
	v->len = rq->len;
	v->cut = cut;
	v->n = n;
	v->V = c->V;
	v->L = c->L;
	v->NH = NH;
	v->method = rq->method >= 0 && rq->method < TUI_N_METHODS ? rq->method : 0;
	v->cut_byte = n ? e->all_off[cut] : 0;
	for (int i = 0; i < n; i++)
		v->offsets[i] = e->all_off[cut + i];
	v->offsets[n] = rq->len;
	if (n == 0) {
		/* nothing to show; the run keeps its tokens for when they return */
		v->k = 0;
		e->have_dist = 0;
		v->have_lens = v->have_overview = 0;
		v->valid = 1;
		v->ms = lms_now_ms() - t0;
		return 1;
	}
	memcpy(v->ids, e->all_ids + cut, (size_t)n * sizeof *v->ids);
	if (n != e->n || memcmp(v->ids, e->ids, (size_t)n * sizeof *v->ids) != 0 || !v->valid) {
		forward_changed(e, v->ids, n);
		v->have_lens = v->have_overview = 0;
		if (went_stale(h))
			return 0;
	}
	memcpy(v->surprisal, e->surprisal, (size_t)n * sizeof *v->surprisal);
	/* the next-token distribution after the last position */
	if (!e->have_dist) {
		const float *x = e->run->logits + (size_t)(n - 1) * c->V;
		for (int i = 0; i < c->V; i++)
			v->logprob[i] = x[i] - e->lse[n - 1];
		v->k = lms_top_k(v->logprob, c->V, TUI_TOPK, v->top_id, v->top_lp);
		e->have_dist = 1;
	}
	int target = rq->target >= 0 && rq->target < c->V ? rq->target : v->top_id[0];
	int contrast = rq->contrast >= 0 && rq->contrast < c->V && rq->contrast != target ? rq->contrast : -1;
	v->target = target;
	v->contrast = contrast;
	v->target_lp = v->logprob[target];
	if (recurrent)
		recurrent_view(e, rq);
	else
		attention_view(e, rq);
	v->valid = 1;
	if (!e->have_grad || e->grad_target != target || e->grad_contrast != contrast) {
		v->have_saliency = 0;
		show_partial(h, v, t0);
		/* the last row's logits are current since forward_changed */
		e->grad_value = lms_objective_logprob(e->run, 0, n - 1, target, contrast, LMS_LOGITS_READY);
		lms_backward(e->run, LMS_GRAD_INPUT);
		e->have_grad = 1;
		e->grad_target = target;
		e->grad_contrast = contrast;
		if (went_stale(h))
			return 0;
	}
	v->objective = e->grad_value;
	if (v->method == TUI_GRAD_NORM || v->method == TUI_GRAD_X_INPUT) {
		score(e, v->method, n, v->saliency);
		v->sal_note[0] = '\0';
	} else if (!e->have_attr || e->attr_method != v->method || e->attr_target != target ||
	           e->attr_contrast != contrast) {
		v->have_saliency = 0;
		show_partial(h, v, t0);
		attribute(e, v->method, n, target, contrast);
		e->have_attr = 1;
		e->attr_method = v->method;
		e->attr_target = target;
		e->attr_contrast = contrast;
		if (went_stale(h))
			return 0;
	}
	v->have_saliency = 1;
	if ((rq->need_overview && !v->have_overview && !recurrent) || (rq->need_lens && !v->have_lens)) {
		show_partial(h, v, t0);
		if (rq->need_overview && !v->have_overview && !recurrent)
			overview(e);
		if (rq->need_lens && !v->have_lens && !lens(e, h))
			return 0;
	}
	if (!e->have_faith || e->faith_method != v->method || e->faith_target != target ||
	    e->faith_contrast != contrast)
		v->have_faith = 0;
	if (rq->need_faith && !v->have_faith) {
		/* the slow phase: everything else goes out first */
		v->ms = lms_now_ms() - t0;
		if (h && h->partial)
			h->partial(h->arg);
		if (went_stale(h) || !faithfulness(e, n, target, contrast, h))
			return 0;
		e->have_faith = 1;
		e->faith_method = v->method;
		e->faith_target = target;
		e->faith_contrast = contrast;
		v->have_faith = 1;
	}
	v->ms = lms_now_ms() - t0;
	return 1;
}

int tui_engine_publish(const struct tui_engine *e, struct tui_view *out)
{
	return tui_view_copy(out, &e->cur);
}

/* ---- the thread ------------------------------------------------------------ */

struct stale_arg {
	struct tui_worker *w;
	const struct tui_request *rq;
};

/* A newer request with a different context makes the running update stale. */
static int is_stale(void *p)
{
	struct stale_arg *a = p;
	pthread_mutex_lock(&a->w->mu);
	const struct tui_request *nw = &a->w->pending;
	int stale = a->w->stop || (nw->seq != a->rq->seq &&
	            (nw->len != a->rq->len || memcmp(nw->text, a->rq->text, nw->len) != 0));
	pthread_mutex_unlock(&a->w->mu);
	return stale;
}

/* Hands e->cur to the input thread: copy into the back buffer, swap it
 * with the ready one, and wake the input thread with a byte on the pipe. */
static void publish(struct tui_worker *w, uint64_t seq)
{
	if (!tui_engine_publish(&w->eng, w->back))
		return;
	w->back->seq = seq;
	pthread_mutex_lock(&w->mu);
	struct tui_view *t = w->ready;
	w->ready = w->back;
	w->back = t;
	w->ready_fresh = 1;
	pthread_mutex_unlock(&w->mu);
	ssize_t wr = write(w->wake_wr, "v", 1);
	(void)wr; /* a full pipe already says "wake up" */
}

static void publish_partial(void *p)
{
	struct stale_arg *a = p;
	publish(a->w, a->rq->seq);
}

static void *worker_main(void *p)
{
	struct tui_worker *w = p;
	struct tui_request rq = {0};
	int exported = 0;
	for (;;) {
		pthread_mutex_lock(&w->mu);
		while (!w->stop && w->pending.seq == w->done_seq)
			pthread_cond_wait(&w->cv, &w->mu);
		if (w->stop) {
			pthread_mutex_unlock(&w->mu);
			break;
		}
		int ok = tui_request_copy(&rq, &w->pending);
		w->done_seq = w->pending.seq;
		pthread_mutex_unlock(&w->mu);
		if (!ok)
			continue;
		struct stale_arg sa = {w, &rq};
		struct tui_hooks hooks = {is_stale, publish_partial, &sa};
		if (!tui_engine_update(&w->eng, &rq, &hooks))
			continue;
		if (rq.export_json > exported) {
			exported = rq.export_json;
			tui_export_json(&w->eng, rq.export_path, w->eng.cur.note, sizeof w->eng.cur.note);
		}
		w->eng.cur.complete = 1;
		publish(w, rq.seq);
		w->eng.cur.complete = 0;
	}
	tui_request_free(&rq);
	return NULL;
}

enum lms_status tui_worker_start(struct tui_worker *w, const struct tui_model *tm)
{
	memset(w, 0, sizeof *w);
	w->wake_rd = w->wake_wr = -1;
	enum lms_status st = tui_engine_open(&w->eng, tm);
	if (st)
		return st;
	int fd[2];
	if (pipe2(fd, O_CLOEXEC | O_NONBLOCK) != 0) {
		tui_engine_close(&w->eng);
		return lms_fail(LMS_EIO, "pipe: %s", strerror(errno));
	}
	w->wake_rd = fd[0];
	w->wake_wr = fd[1];
	w->front = &w->bufs[0];
	w->ready = &w->bufs[1];
	w->back = &w->bufs[2];
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	/* terminal signals go to the input thread; faults stay with whoever faults */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int err = pthread_create(&w->thread, NULL, worker_main, w);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (err) {
		tui_worker_stop(w, 0);
		return lms_fail(LMS_ENOMEM, "cannot start the engine thread: %s", strerror(err));
	}
	w->started = 1;
	return LMS_OK;
}

int tui_worker_post(struct tui_worker *w, const struct tui_request *rq)
{
	pthread_mutex_lock(&w->mu);
	uint64_t seq = w->pending.seq + 1;
	int ok = tui_request_copy(&w->pending, rq);
	w->pending.seq = seq;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return ok;
}

int tui_worker_take(struct tui_worker *w)
{
	char buf[64];
	while (read(w->wake_rd, buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&w->mu);
	int fresh = w->ready_fresh;
	if (fresh) {
		struct tui_view *t = w->front;
		w->front = w->ready;
		w->ready = t;
		w->ready_fresh = 0;
	}
	pthread_mutex_unlock(&w->mu);
	return fresh;
}

int tui_worker_stop(struct tui_worker *w, int wait_ms)
{
	if (w->started) {
		pthread_mutex_lock(&w->mu);
		w->stop = 1;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		struct timespec until;
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += wait_ms / 1000;
		until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		if (pthread_timedjoin_np(w->thread, NULL, &until) != 0)
			return 0; /* still inside a forward or backward */
		w->started = 0;
		pthread_mutex_destroy(&w->mu);
		pthread_cond_destroy(&w->cv);
	}
	if (w->wake_rd >= 0)
		close(w->wake_rd);
	if (w->wake_wr >= 0)
		close(w->wake_wr);
	w->wake_rd = w->wake_wr = -1;
	for (int i = 0; i < 3; i++)
		tui_view_free(&w->bufs[i]);
	tui_request_free(&w->pending);
	tui_engine_close(&w->eng);
	return 1;
}
