/* The engine side of the explorer: one run of the model, kept between
 * updates so that an unchanged prefix of the context is not recomputed, and
 * the update that turns a request into a view, phase by phase.
 *
 * An update is a fixed sequence of phases (engine.c: forward, candidates,
 * the attention or recurrent view, surprisal, saliency, overview, lens,
 * faithfulness). Each phase that is worth skipping keeps one memo: the key
 * (struct tui_memo) its result in e->cur was computed for. A phase whose
 * key is unchanged costs nothing; a new forward changes every key. The
 * candidates come first and are published before anything slower runs.
 *
 * Owned by the worker thread (worker.h), or by a benchmark that calls it
 * directly. */
#ifndef LMS_TUI_ENGINE_H
#define LMS_TUI_ENGINE_H

#include <stdint.h>

#include "session.h"

/* What a phase's result was computed for: the forward it read (gen counts
 * forwards, 0 = never computed) and the question asked of it. Fields a
 * phase does not depend on are -1. */
struct tui_memo {
	uint64_t gen;
	int method, target, contrast;
};

enum tui_phase {
	TUI_PH_CANDIDATES,
	TUI_PH_SURPRISAL,
	TUI_PH_GRADIENT,
	TUI_PH_SALIENCY,
	TUI_PH_OVERVIEW,
	TUI_PH_LENS,
	TUI_PH_FAITH,
	TUI_PH_DLA,
	TUI_PH_CHANGE,
	TUI_PH_PATCH,
	TUI_PH_NEURONS,
	TUI_PH_NCTX,
	TUI_PH_N
};

/* What an update keeps between requests. */
struct tui_engine {
	const struct tui_model *tm;
	struct lms_run *run;  /* the context's forward, prefix reused */
	struct lms_run *work; /* attribution and faithfulness runs (allocated
	                          at open: nothing is allocated per update) */
	int T;                /* run capacity (positions) */
	/* the tokens the run holds and what is derived from them */
	int *ids;         /* (T) */
	int n;            /* valid positions in the run; 0 = nothing */
	uint64_t gen;     /* forwards so far: the memo keys' first field */
	float *lse;       /* (T) log-sum-exp of row t's logits; NaN = not computed */
	float *surprisal; /* (T) NaN where unknown */
	int *prev;        /* (T) the head detectors' earlier occurrences (lms_head_prev) */
	/* the last context text, its tokenization and offsets */
	struct tui_request last;
	int *all_ids; /* tokens of the whole text (before the cut) */
	size_t *all_off;
	size_t n_all;
	int bos; /* 1: all_ids[0] is a BOS that a cut keeps */
	struct tui_memo memo[TUI_PH_N];
	double grad_value;           /* the objective the gradient memo's gradient is of */
	float *faith_curve;          /* (T + 1) the deletion curve */
	float *faith_other;          /* (T) another method's scores */
	float *lens_h;               /* (L, Cout) the hidden vectors the lens reads */
	float *lens_out;             /* (L, V) their logits */
	struct lms_intervention *iv; /* the ablation both runs follow (ablate.c) */
	char ablate[128];            /* its spec, as the request gave it */
	struct lms_run *base;        /* the unablated model's run (allocated at the first ablation) */
	int base_n;                  /* positions it holds */
	int snap;                    /* the snapshot m->params hold; -1: the model's own weights */
	float *own;         /* (n_params) the model's own weights, kept at the first step away */
	char corrupt[1024]; /* the corrupted context the patch memo is of */
	int corrupt_ver;    /* changes of it (the patch memo's key) */
	/* the neuron contexts' corpus (tm->corpus), tokenized at the first
	 * use: state 0 unread, 1 read, -1 unreadable (corpus_err says why) */
	int *corpus_ids; /* (corpus_n) */
	size_t corpus_n;
	unsigned long long corpus_key;
	int corpus_state;
	char corpus_err[256];
	struct lms_neuron_stats nst; /* one layer's pass, from its cache (top NULL: none) */
	int pass_asked;              /* the request's neuron_pass last acted on */
	/* the last results, copied into each published view */
	struct tui_view cur;
};

enum lms_status tui_engine_open(struct tui_engine *e, const struct tui_model *tm);
void tui_engine_close(struct tui_engine *e);

/* Hooks of an update (either may be NULL). stale(arg) is polled between
 * phases: when it returns nonzero the update stops early and its result is
 * dropped. partial(arg) is called when part of e->cur is ready: always
 * once the new candidates are (predictions never wait for the rest), and
 * before each slow phase of an update that is already slow. */
struct tui_hooks {
	int (*stale)(void *arg);
	void (*partial)(void *arg);
	void *arg;
};

/* Computes the view for rq into e->cur, reusing what the previous update
 * left. Returns 1 when e->cur is complete, 0 when the update went stale.
 * e->cur.cand_ms is the time from rq->t_post (or from the update's start
 * when rq->t_post is 0) until the candidates were ready to publish. */
int tui_engine_update(struct tui_engine *e, const struct tui_request *rq,
                      const struct tui_hooks *h);
/* Copies e->cur into out (growing out's arrays). 0 on allocation failure. */
/* patch_view.c: the patching sweep of the view's context (clean) against
 * rq->corrupt into e->cur.patch, or a note saying why there is none. */
void tui_engine_patch(struct tui_engine *e, const struct tui_request *rq);

/* neuron_view.c: the most active MLP neurons of layer v->neuron_layer at
 * position v->neuron_pos of the run into the view; the corpus contexts of
 * neuron v->nctx_neuron of layer v->nctx_layer (or a note saying why
 * there are none), returning 0 when a later update should look again (no
 * cache yet). With run, a missing cache is made by the corpus pass, on
 * this thread, its progress published through h, stopped when stale. */
void tui_engine_neurons(struct tui_engine *e);
int tui_engine_neuron_contexts(struct tui_engine *e, int run, const struct tui_hooks *h);

/* ablate.c: makes both runs follow the request's ablation when it changed
 * (the next forward starts at 0); the error names a bad spec. */
enum lms_status tui_engine_ablate(struct tui_engine *e, const char *spec);
/* The unablated model's log p of the view's candidates into v->base_lp, in
 * the work run (when an ablation is set). */
void tui_engine_base(struct tui_engine *e);

/* timeline.c: the training snapshots of dir (tm's model directory), read
 * before its worker starts (tm->snap_note says why there are none when the
 * index is bad or the weights are kept as stored); freed after it stops. */
void tui_timeline_open(struct tui_model *tm, const char *dir);
void tui_timeline_close(struct tui_model *tm);
/* timeline.c: puts the weights of snapshot i (-1: the model's own) into
 * the model when they are not there (the next forward starts at 0); the
 * error names the snapshot that cannot be shown. */
enum lms_status tui_engine_snapshot(struct tui_engine *e, int i);

int tui_engine_publish(const struct tui_engine *e, struct tui_view *out);

#endif
