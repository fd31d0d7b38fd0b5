/* The explorer's data model: views (engine results) and requests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmscope/attribution.h"
#include "session.h"

const struct tui_method_info tui_methods[TUI_N_METHODS] = {
	[TUI_GRAD_NORM] = {"grad_norm", "gradient norm", 0, LMS_ATTR_GRAD_NORM},
	[TUI_GRAD_X_INPUT] = {"grad_x_input", "gradient x input", 1, LMS_ATTR_GRAD_X_INPUT},
	[TUI_IG] = {"integrated_gradients", "integrated gradients (32 steps)", 1,
                LMS_ATTR_INTEGRATED_GRADIENTS},
	[TUI_OCCLUSION] = {"occlusion", "occlusion (leave one out)", 1, LMS_ATTR_OCCLUSION},
	[TUI_LIME] = {"lime", "LIME (256 masks, LASSO)", 1, LMS_ATTR_LIME},
	[TUI_ROLLOUT] = {"attention_rollout", "attention rollout", 0, LMS_ATTR_ATTENTION_ROLLOUT},
};

int tui_method_next(int m, enum lms_arch arch)
{
	for (int i = 1; i <= TUI_N_METHODS; i++) {
		int k = (m + i) % TUI_N_METHODS;
		if (lms_attr_method_supported((enum lms_attr_method)tui_methods[k].attr, arch))
			return k;
	}
	return m;
}

/* Grows *p to hold want elements of size sz; *cap counts elements. */
static int grow(void *p, size_t *cap, size_t want, size_t sz)
{
	if (want <= *cap)
		return 1;
	size_t ncap = *cap ? *cap : 16;
	while (ncap < want)
		ncap *= 2;
	void *np = realloc(*(void **)p, ncap * sz);
	if (!np)
		return 0;
	*(void **)p = np;
	*cap = ncap;
	return 1;
}

int tui_view_reserve(struct tui_view *v, size_t len, int n, int V, int L, int NH, size_t act)
{
	size_t cn = v->cap_n, cn1 = v->cap_n, cn2 = v->cap_n, cn3 = v->cap_n, cn4 = v->cap_n,
		   cn5 = v->cap_n;
	size_t nn = (size_t)n * n;
	if (!grow(&v->text, &v->cap_text, len + 1, 1))
		return 0;
	/* the per-position arrays share one capacity */
	if ((size_t)n + 1 > v->cap_n) {
		if (!grow(&v->ids, &cn, (size_t)n + 1, sizeof *v->ids) ||
		    !grow(&v->offsets, &cn1, (size_t)n + 1, sizeof *v->offsets) ||
		    !grow(&v->surprisal, &cn2, (size_t)n + 1, sizeof *v->surprisal) ||
		    !grow(&v->saliency, &cn3, (size_t)n + 1, sizeof *v->saliency) ||
		    !grow(&v->change_kl, &cn4, (size_t)n + 1, sizeof *v->change_kl) ||
		    !grow(&v->change_top, &cn5, (size_t)n + 1, sizeof *v->change_top))
			return 0;
		v->cap_n = cn;
	}
	if (!grow(&v->att, &v->cap_nn, nn ? nn : 1, sizeof *v->att))
		return 0;
	if (!grow(&v->logprob, &v->cap_V, (size_t)V, sizeof *v->logprob))
		return 0;
	size_t lh = (size_t)L * NH, c2 = v->cap_LH, c3 = v->cap_LH;
	if (lh > v->cap_LH) {
		if (!grow(&v->entropy, &c2, lh, sizeof *v->entropy) ||
		    !grow(&v->detect, &c3, lh, sizeof *v->detect * 3) ||
		    !grow(&v->thumb, &v->cap_LH, lh, sizeof *v->thumb * TUI_THUMB * TUI_THUMB))
			return 0;
	}
	size_t cl = v->cap_L, cl1 = v->cap_L, cl2 = v->cap_L;
	if ((size_t)L > v->cap_L) {
		if (!grow(&v->lens_id, &cl, (size_t)L, sizeof *v->lens_id * TUI_LENS_K) ||
		    !grow(&v->lens_p, &cl1, (size_t)L, sizeof *v->lens_p * TUI_LENS_K) ||
		    !grow(&v->lens_rank, &cl2, (size_t)L, sizeof *v->lens_rank) ||
		    !grow(&v->lens_tp, &v->cap_L, (size_t)L, sizeof *v->lens_tp))
			return 0;
	}
	if (!grow(&v->act, &v->cap_act, act ? act : 1, sizeof *v->act))
		return 0;
	return 1;
}

void tui_view_free(struct tui_view *v)
{
	free(v->text);
	free(v->ids);
	free(v->offsets);
	free(v->surprisal);
	free(v->saliency);
	free(v->att);
	free(v->logprob);
	free(v->entropy);
	free(v->thumb);
	free(v->change_kl);
	free(v->change_top);
	free(v->detect);
	free(v->lens_id);
	free(v->lens_p);
	free(v->lens_rank);
	free(v->lens_tp);
	free(v->act);
	lms_patch_result_free(&v->patch);
	free(v->dla.heads);
	free(v->dla.attn_bias);
	free(v->dla.mlp);
	memset(v, 0, sizeof *v);
}

/* A deep copy of the DLA d into o (its arrays reallocated). */
static int dla_copy(struct lms_dla *o, const struct lms_dla *d)
{
	size_t LH = (size_t)d->L * d->NH, L = (size_t)d->L;
	double *h = realloc(o->heads, (LH ? LH : 1) * sizeof *h);
	if (h)
		o->heads = h;
	double *b = realloc(o->attn_bias, (L ? L : 1) * sizeof *b);
	if (b)
		o->attn_bias = b;
	double *m = realloc(o->mlp, (L ? L : 1) * sizeof *m);
	if (m)
		o->mlp = m;
	if (!h || !b || !m)
		return 0;
	double *keep[3] = {o->heads, o->attn_bias, o->mlp};
	*o = *d;
	o->heads = keep[0];
	o->attn_bias = keep[1];
	o->mlp = keep[2];
	memcpy(o->heads, d->heads, LH * sizeof *h);
	memcpy(o->attn_bias, d->attn_bias, L * sizeof *b);
	memcpy(o->mlp, d->mlp, L * sizeof *m);
	return 1;
}

/* A deep copy of the sweep p into o (o's arrays reallocated, those p
 * lacks freed). */
static int patch_copy(struct lms_patch_result *o, const struct lms_patch_result *p)
{
	size_t LT = (size_t)p->L * p->T, LH = (size_t)p->L * p->NH;
	double *arr[5] = {o->resid_pre, o->attn_out, o->mlp_out, o->heads, o->hidden};
	const double *src[5] = {p->resid_pre, p->attn_out, p->mlp_out, p->heads, p->hidden};
	int ok = 1;
	for (int i = 0; i < 5; i++) {
		size_t k = i == 3 ? LH : LT;
		if (!src[i]) {
			free(arr[i]);
			arr[i] = NULL;
			continue;
		}
		double *np = realloc(arr[i], (k ? k : 1) * sizeof *np);
		if (!np) {
			ok = 0;
			continue;
		}
		arr[i] = np;
		memcpy(np, src[i], k * sizeof *np);
	}
	if (ok)
		*o = *p;
	o->resid_pre = arr[0];
	o->attn_out = arr[1];
	o->mlp_out = arr[2];
	o->heads = arr[3];
	o->hidden = arr[4];
	return ok;
}

#define COPY(field, count) memcpy(out->field, v->field, (size_t)(count) * sizeof *v->field)

int tui_view_copy(struct tui_view *out, const struct tui_view *v)
{
	int n = v->n;
	size_t act = (size_t)n * v->D;
	if (!tui_view_reserve(out, v->len, n, v->V, v->L, v->NH, act))
		return 0;
	out->seq = v->seq;
	out->valid = v->valid;
	out->complete = v->complete;
	memcpy(out->error, v->error, sizeof out->error);
	memcpy(out->note, v->note, sizeof out->note);
	out->ms = v->ms;
	out->cand_ms = v->cand_ms;
	COPY(text, v->len + 1);
	out->len = v->len;
	out->n = n;
	out->cut = v->cut;
	out->kept = v->kept;
	out->cut_byte = v->cut_byte;
	COPY(ids, n);
	COPY(offsets, n + 1);
	COPY(surprisal, n);
	out->V = v->V;
	COPY(logprob, v->V);
	out->k = v->k;
	memcpy(out->top_id, v->top_id, sizeof out->top_id);
	memcpy(out->top_lp, v->top_lp, sizeof out->top_lp);
	memcpy(out->ablate, v->ablate, sizeof out->ablate);
	out->snapshot = v->snapshot;
	out->snap_ms = v->snap_ms;
	out->have_base = v->have_base;
	memcpy(out->base_lp, v->base_lp, sizeof out->base_lp);
	out->target = v->target;
	out->contrast = v->contrast;
	out->objective = v->objective;
	out->target_lp = v->target_lp;
	out->method = v->method;
	out->have_saliency = v->have_saliency;
	memcpy(out->sal_note, v->sal_note, sizeof out->sal_note);
	COPY(saliency, n);
	out->have_change = v->have_change;
	COPY(change_kl, n);
	COPY(change_top, n);
	out->have_faith = v->have_faith;
	out->faith_area = v->faith_area;
	memcpy(out->faith_rho, v->faith_rho, sizeof out->faith_rho);
	out->L = v->L;
	out->NH = v->NH;
	out->layer = v->layer;
	out->head = v->head;
	out->mean_heads = v->mean_heads;
	if (v->NH)
		COPY(att, (size_t)n * n);
	out->have_overview = v->have_overview;
	if (v->have_overview) {
		COPY(entropy, (size_t)v->L * v->NH);
		COPY(thumb, (size_t)v->L * v->NH * TUI_THUMB * TUI_THUMB);
		COPY(detect, (size_t)3 * v->L * v->NH);
	}
	out->part = v->part;
	out->G = v->G;
	out->has_cell = v->has_cell;
	out->D = v->D;
	if (!v->NH)
		COPY(act, act);
	out->have_patch = v->have_patch;
	memcpy(out->patch_note, v->patch_note, sizeof out->patch_note);
	if (v->have_patch && !patch_copy(&out->patch, &v->patch))
		return 0;
	out->have_dla = v->have_dla;
	if (v->have_dla && !dla_copy(&out->dla, &v->dla))
		return 0;
	out->have_neurons = v->have_neurons;
	out->neuron_layer = v->neuron_layer;
	out->neuron_pos = v->neuron_pos;
	out->neuron_k = v->neuron_k;
	memcpy(out->neuron_id, v->neuron_id, sizeof out->neuron_id);
	memcpy(out->neuron_act, v->neuron_act, sizeof out->neuron_act);
	out->have_nctx = v->have_nctx;
	out->nctx_layer = v->nctx_layer;
	out->nctx_neuron = v->nctx_neuron;
	out->nctx_n = v->nctx_n;
	memcpy(out->nctx_value, v->nctx_value, sizeof out->nctx_value);
	memcpy(out->nctx_offset, v->nctx_offset, sizeof out->nctx_offset);
	memcpy(out->nctx_text, v->nctx_text, sizeof out->nctx_text);
	memcpy(out->nctx_note, v->nctx_note, sizeof out->nctx_note);
	out->have_lens = v->have_lens;
	out->lens_pos = v->lens_pos;
	if (v->have_lens) {
		COPY(lens_id, (size_t)v->L * TUI_LENS_K);
		COPY(lens_p, (size_t)v->L * TUI_LENS_K);
		COPY(lens_rank, v->L);
		COPY(lens_tp, v->L);
	}
	return 1;
}

const char *tui_token_str(const struct tui_model *tm, int id, char *buf, size_t size)
{
	if (tm->tok && id >= 0 && id < lms_tokenizer_vocab_size(tm->tok))
		return lms_tokenizer_piece(tm->tok, id);
	snprintf(buf, size, "#%d", id);
	return buf;
}

int tui_request_set_text(struct tui_request *rq, const char *text, size_t len)
{
	if (!grow(&rq->text, &rq->cap, len + 1, 1))
		return 0;
	memcpy(rq->text, text, len);
	rq->text[len] = '\0';
	rq->len = len;
	return 1;
}

void tui_request_free(struct tui_request *rq)
{
	free(rq->text);
	rq->text = NULL;
	rq->len = rq->cap = 0;
}

int tui_request_copy(struct tui_request *dst, const struct tui_request *src)
{
	char *text = dst->text;
	size_t cap = dst->cap;
	*dst = *src;
	dst->text = text;
	dst->cap = cap;
	return tui_request_set_text(dst, src->text ? src->text : "", src->len);
}
