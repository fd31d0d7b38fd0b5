/* The explorer's MLP neurons (engine side): the most active neurons of the
 * selected layer at the selected position, read from the context's run
 * (lms_run_neurons, the activation `lmscope neurons` ranks), and a
 * neuron's strongest corpus contexts from the cache `lmscope neurons
 * --cache` keeps for --corpus FILE (lms_neuron_stats_load, the same file by
 * the same name). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "front/i18n.h"
#include "lmscope/clock.h"
#include "lmscope/dataset.h"
#include "lmscope/interp.h"
#include "lmscope/logits.h"

void tui_engine_neurons(struct tui_engine *e)
{
	struct tui_view *v = &e->cur;
	int H = 0;
	const float *act = lms_run_neurons(e->run, v->neuron_layer, &H);
	v->neuron_k = 0;
	if (!act)
		return;
	v->neuron_k =
		lms_top_k(act + (size_t)v->neuron_pos * H, H, TUI_NEURON_K, v->neuron_id, v->neuron_act);
	v->have_neurons = 1;
}

/* The corpus's tokens and key, read once (e->corpus_state 1), or the
 * reason they cannot be into the note (-1, kept). */
static int read_corpus(struct tui_engine *e)
{
	struct tui_view *v = &e->cur;
	const char *path = e->tm->corpus;
	if (e->corpus_state == 0) {
		char *text = NULL;
		size_t len = 0;
		enum lms_status st =
			e->tm->tok ? lms_read_file(path, &text, &len)
					   : lms_fail(LMS_EARG, "%s: the model has no tokenizer to read it with", path);
		if (!st)
			st = lms_tokenizer_encode(e->tm->tok, text, len, &e->corpus_ids, &e->corpus_n, NULL,
			                          NULL);
		free(text);
		if (!st && e->corpus_n == 0)
			st = lms_fail(LMS_EFORMAT, "%s: no tokens", path);
		e->corpus_state = st ? -1 : 1;
		if (st)
			snprintf(e->corpus_err, sizeof e->corpus_err, "%s", lms_errmsg());
		else
			e->corpus_key = lms_neuron_corpus_key(e->corpus_ids, e->corpus_n);
	}
	if (e->corpus_state < 0)
		snprintf(v->nctx_note, sizeof v->nctx_note, "%s", e->corpus_err);
	return e->corpus_state > 0;
}

/* The layer's corpus pass from its cache into e->nst (kept while the layer
 * stays), or the command that makes the cache into the note. */
static int load_stats(struct tui_engine *e, int layer)
{
	struct tui_view *v = &e->cur;
	if (e->nst.top && e->nst.layer == layer)
		return 1;
	lms_neuron_stats_free(&e->nst);
	char *path = NULL;
	enum lms_status st =
		lms_neuron_cache_path(e->tm->dir, layer, TUI_NEURON_K, e->corpus_key, &path);
	if (!st)
		st = lms_neuron_stats_load(&e->nst, e->corpus_key, layer, e->tm->m->cfg.H, TUI_NEURON_K,
		                           path);
	free(path);
	if (st)
		snprintf(v->nctx_note, sizeof v->nctx_note,
		         _("no neuron cache of this corpus and layer: r makes it here, or run\n"
		           "lmscope neurons %s %s --layer %d --cache\n(then Enter twice)"),
		         e->tm->path, e->tm->corpus, layer);
	return !st;
}

/* The corpus pass running on the engine thread: its progress in the
 * note, published at most every PASS_SHOW_MS; a stale update stops it. */
#define PASS_SHOW_MS 100.0

struct pass_ctx {
	struct tui_engine *e;
	const struct tui_hooks *h;
	double shown;
};

static int pass_progress(void *p, long done, long total)
{
	struct pass_ctx *c = p;
	if (c->h && c->h->stale && c->h->stale(c->h->arg))
		return 1;
	double now = lms_now_ms();
	if (c->h && c->h->partial && now - c->shown >= PASS_SHOW_MS) {
		struct tui_view *v = &c->e->cur;
		snprintf(v->nctx_note, sizeof v->nctx_note,
		         _("corpus pass over layer %d: %ld of %ld windows"), v->nctx_layer, done, total);
		c->shown = now;
		c->h->partial(c->h->arg);
	}
	return 0;
}

/* The layer's corpus pass, as `lmscope neurons --cache` runs it, into e->nst
 * and its cache file. The model's own weights only: the cache is named for
 * the model, not for a training snapshot. */
static int run_pass(struct tui_engine *e, int layer, const struct tui_hooks *h)
{
	struct tui_view *v = &e->cur;
	if (e->snap >= 0) {
		snprintf(
			v->nctx_note, sizeof v->nctx_note, "%s",
			_("the corpus pass is of the model's own weights: } back to the final model first"));
		return 0;
	}
	struct pass_ctx c = {e, h, lms_now_ms()};
	lms_neuron_stats_free(&e->nst);
	enum lms_status st = lms_neuron_pass(e->tm->m, e->corpus_ids, (long)e->corpus_n, layer,
	                                     TUI_NEURON_K, pass_progress, &c, &e->nst);
	char *path = NULL;
	if (!st)
		st = lms_neuron_cache_path(e->tm->dir, layer, TUI_NEURON_K, e->corpus_key, &path);
	if (!st)
		st = lms_neuron_stats_save(&e->nst, e->corpus_key, path);
	free(path);
	if (st) {
		lms_neuron_stats_free(&e->nst);
		snprintf(v->nctx_note, sizeof v->nctx_note, _("%s (r runs it again)"), lms_errmsg());
	}
	return !st;
}

int tui_engine_neuron_contexts(struct tui_engine *e, int run, const struct tui_hooks *h)
{
	struct tui_view *v = &e->cur;
	v->have_nctx = 0;
	v->nctx_n = 0;
	v->nctx_note[0] = '\0';
	if (!e->tm->corpus) {
		snprintf(v->nctx_note, sizeof v->nctx_note,
		         _("no corpus: open the explorer with --corpus FILE, whose cache is made by\n"
		           "lmscope neurons %s FILE --layer %d --cache"),
		         e->tm->path, v->nctx_layer);
		return 1;
	}
	if (!read_corpus(e))
		return 1;
	if (!load_stats(e, v->nctx_layer) && (!run || !run_pass(e, v->nctx_layer, h)))
		return 0; /* the cache may appear: look again next time */
	const struct lms_neuron_hit *hit = e->nst.top + (size_t)v->nctx_neuron * e->nst.K;
	for (int k = 0; k < e->nst.K && k < TUI_NEURON_K && hit[k].offset >= 0; k++) {
		char *text = NULL;
		if (hit[k].offset >= (long)e->corpus_n ||
		    lms_neuron_context(e->tm->tok, e->corpus_ids, hit[k].offset, LMS_NEURON_CONTEXT, &text))
			break;
		v->nctx_value[k] = hit[k].value;
		v->nctx_offset[k] = hit[k].offset;
		snprintf(v->nctx_text[k], sizeof v->nctx_text[k], "%s", text);
		free(text);
		v->nctx_n = k + 1;
	}
	v->have_nctx = 1;
	return 1;
}
