/* The engine side of the explorer: one run of the model, kept between
 * updates so that an unchanged prefix of the context is not recomputed, and
 * a thread that always computes the newest request only.
 *
 * The input thread posts requests (a copy of the text and the selection) and
 * never waits for the engine; finished views are handed over through a
 * triple buffer and announced by a byte on a pipe. */
#ifndef LMS_TUI_WORKER_H
#define LMS_TUI_WORKER_H

#include <pthread.h>

#include "session.h"

/* What an update keeps between requests. Owned by the worker thread. */
struct tui_engine {
	const struct tui_model *tm;
	struct lms_run *run;
	int T;              /* run capacity (positions) */
	/* the tokens the run holds and what is derived from them */
	int *ids;           /* (T) */
	int n;              /* valid positions in the run; 0 = nothing */
	float *lse;         /* (T) log-sum-exp of the logits at each position */
	float *surprisal;   /* (T) */
	/* the last context text, its tokenization and offsets */
	struct tui_request last;
	int *all_ids;       /* tokens of the whole text (before the cut) */
	size_t *all_off;
	size_t n_all;
	int have_dist;      /* cur.logprob and cur.top are those of the run's tokens */
	int have_grad;      /* r->demb holds the gradient for (grad_target, grad_contrast) */
	int grad_target, grad_contrast;
	double grad_value;
	int have_attr;      /* cur.saliency holds lms_attribute's scores for: */
	int attr_method, attr_target, attr_contrast;
	int have_faith;     /* cur.faith_* hold the faithfulness for: */
	int faith_method, faith_target, faith_contrast;
	float *faith_curve; /* (T + 1) the deletion curve */
	float *faith_other; /* (T) another method's scores */
	float *lens_h;      /* (L, Cout) the hidden vectors the lens reads */
	float *lens_out;    /* (L, V) their logits */
	/* the last results, copied into each published view */
	struct tui_view cur;
};

enum lms_status tui_engine_open(struct tui_engine *e, const struct tui_model *tm);
void tui_engine_close(struct tui_engine *e);

/* Hooks of an update (either may be NULL). stale(arg) is polled between
 * phases: when it returns nonzero the update stops early and its result is
 * dropped. partial(arg) is called when a slow update has a useful part of
 * e->cur ready (candidates and attention before saliency, saliency before
 * the lens), so that a large model shows something early. */
struct tui_hooks {
	int (*stale)(void *arg);
	void (*partial)(void *arg);
	void *arg;
};

/* Computes the view for rq into e->cur, reusing what the previous update
 * left. Returns 1 when e->cur is complete, 0 when the update went stale. */
int tui_engine_update(struct tui_engine *e, const struct tui_request *rq, const struct tui_hooks *h);
/* Copies e->cur into out (growing out's arrays). 0 on allocation failure. */
int tui_engine_publish(const struct tui_engine *e, struct tui_view *out);

/* The worker thread and its mailbox. */
struct tui_worker {
	struct tui_engine eng;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct tui_request pending;   /* newest request (under mu) */
	uint64_t done_seq;            /* last request taken by the worker */
	int stop;
	struct tui_view bufs[3];      /* front (input thread), ready, back (worker) */
	struct tui_view *front, *ready, *back;
	int ready_fresh;
	int wake_rd, wake_wr;         /* pipe: a byte per published view */
	int started;
};

/* Starts the thread (signals blocked in it). wake_rd becomes readable when a
 * view is ready. */
enum lms_status tui_worker_start(struct tui_worker *w, const struct tui_model *tm);
/* Posts a request (copied); never blocks on the engine. 0 on allocation failure. */
int tui_worker_post(struct tui_worker *w, const struct tui_request *rq);
/* Takes the newest published view into w->front; returns 1 when it changed. */
int tui_worker_take(struct tui_worker *w);
/* Stops the thread and frees everything. Returns 0, freeing nothing, when
 * the thread is still inside an engine call after wait_ms: quitting never
 * waits for a long update; the process exit reclaims the memory. */
int tui_worker_stop(struct tui_worker *w, int wait_ms);

#endif
