/* The divergence view's thread and mailbox (divergence.h): the input
 * thread posts (ids, position), the thread computes the newest request
 * only with lms_divergence_compute on two work runs of its own, and hands
 * the numbers back under the mutex with a byte on the wake pipe. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "divergence.h"
#include "front/front.h"
#include "lmscope/divergence.h"
#include "worker.h"

struct div_state {
	struct lms_divergence d; /* the thread's */
	struct lms_run *ra, *rb; /* the thread's, grown to the positions asked for */
	int maxT;                /* both models' context */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int started, stop;
	/* the request (under mu) */
	int *ids; /* (maxT) */
	int n, pos;
	uint64_t seq, done_seq;
	/* the result (under mu) */
	struct tui_div_result ready;
	int fresh;
	int wake_rd, wake_wr;
	/* the input thread's */
	struct tui_div_result shown;
	uint64_t shown_seq, ready_seq;
	int *posted; /* (maxT) the ids last posted */
	int posted_n, posted_pos;
};

static struct div_state dv = {.wake_rd = -1, .wake_wr = -1};

static int alloc_result(struct tui_div_result *r, int L, int NH)
{
	r->L = L;
	r->NH = NH;
	r->kl = calloc((size_t)L, sizeof *r->kl);
	r->maxdiff = calloc((size_t)L * NH + 1, sizeof *r->maxdiff);
	return r->kl && r->maxdiff;
}

static void free_result(struct tui_div_result *r)
{
	free(r->kl);
	free(r->maxdiff);
	memset(r, 0, sizeof *r);
}

/* Both runs hold at least pos + 1 positions: doubled when short, so a
 * growing context reallocates a few times, not on every keystroke. */
static enum lms_status ensure_runs(int pos)
{
	if (dv.ra && dv.ra->T > pos && dv.rb->T > pos)
		return LMS_OK;
	int T = dv.ra ? dv.ra->T : 16;
	while (T <= pos)
		T *= 2;
	T = T < dv.maxT ? T : dv.maxT;
	lms_run_free(dv.ra);
	lms_run_free(dv.rb);
	dv.ra = dv.rb = NULL;
	enum lms_status st = lms_run_new(dv.d.a, 1, T, &dv.ra);
	if (!st)
		st = lms_run_new(dv.d.b, 1, T, &dv.rb);
	return st;
}

/* The thread's result into dv.ready (under mu). */
static void publish(enum lms_status st, int n, uint64_t seq)
{
	const struct lms_divergence *d = &dv.d;
	pthread_mutex_lock(&dv.mu);
	struct tui_div_result *r = &dv.ready;
	r->valid = !st;
	r->n = n;
	r->pos = d->pos;
	r->target = d->target;
	r->rho = d->rho;
	memcpy(r->kl, d->kl, (size_t)d->L * sizeof *r->kl);
	if (d->attn_maxdiff)
		memcpy(r->maxdiff, d->attn_maxdiff, (size_t)d->L * d->NH * sizeof *r->maxdiff);
	snprintf(r->err, sizeof r->err, "%s", st ? lms_errmsg() : "");
	dv.ready_seq = seq;
	dv.fresh = 1;
	pthread_mutex_unlock(&dv.mu);
	ssize_t wr = write(dv.wake_wr, "d", 1);
	(void)wr; /* a full pipe already says "wake up" */
}

static void *div_main(void *p)
{
	(void)p;
	int *ids = malloc((size_t)dv.maxT * sizeof *ids);
	for (;;) {
		pthread_mutex_lock(&dv.mu);
		while (!dv.stop && dv.seq == dv.done_seq)
			pthread_cond_wait(&dv.cv, &dv.mu);
		if (dv.stop) {
			pthread_mutex_unlock(&dv.mu);
			break;
		}
		int n = dv.n, pos = dv.pos;
		uint64_t seq = dv.done_seq = dv.seq;
		if (ids)
			memcpy(ids, dv.ids, (size_t)n * sizeof *ids);
		pthread_mutex_unlock(&dv.mu);
		enum lms_status st = ids ? ensure_runs(pos) : lms_fail(LMS_ENOMEM, "out of memory");
		if (!st)
			st = lms_divergence_compute(&dv.d, dv.ra, dv.rb, ids, pos);
		publish(st, n, seq);
	}
	free(ids);
	return NULL;
}

static enum lms_status start_thread(void)
{
	int fd[2];
	if (pipe2(fd, O_CLOEXEC | O_NONBLOCK) != 0)
		return lms_fail(LMS_EIO, "pipe: %s", strerror(errno));
	dv.wake_rd = fd[0];
	dv.wake_wr = fd[1];
	pthread_mutex_init(&dv.mu, NULL);
	pthread_cond_init(&dv.cv, NULL);
	int err = tui_thread_start(&dv.thread, div_main, NULL);
	if (err)
		return lms_fail(LMS_ENOMEM, "cannot start the divergence thread: %s", strerror(err));
	dv.started = 1;
	return LMS_OK;
}

enum lms_status tui_div_start(const struct tui_app *app)
{
	if (dv.started)
		return LMS_OK;
	if (app->n_sides < 2)
		return lms_fail(LMS_EARG,
		                "the divergence view compares two models: lmscope MODEL_A MODEL_B");
	const struct tui_model *a = app->side[0]->tm, *b = app->side[1]->tm;
	char name[128]; /* the status line has room for a name, not a path */
	enum lms_status st =
		lms_divergence_new(a->m, b->m, front_model_name(b->path, name, sizeof name), &dv.d);
	if (st)
		return st;
	dv.maxT = a->m->cfg.maxT < b->m->cfg.maxT ? a->m->cfg.maxT : b->m->cfg.maxT;
	dv.ids = malloc((size_t)a->m->cfg.maxT * sizeof *dv.ids);
	dv.posted = malloc((size_t)a->m->cfg.maxT * sizeof *dv.posted);
	if (!dv.ids || !dv.posted || !alloc_result(&dv.ready, dv.d.L, dv.d.NH) ||
	    !alloc_result(&dv.shown, dv.d.L, dv.d.NH))
		st = lms_fail(LMS_ENOMEM, "out of memory");
	if (!st)
		st = start_thread();
	if (st)
		tui_div_stop(0);
	return st;
}

int tui_div_fd(void)
{
	return dv.wake_rd;
}

const struct tui_div_result *tui_div_shown(int *busy)
{
	*busy = dv.started && dv.shown_seq != dv.seq;
	return &dv.shown;
}

/* A finished result into dv.shown; 1 when there was one. */
static int take(void)
{
	char buf[64];
	while (read(dv.wake_rd, buf, sizeof buf) > 0)
		;
	pthread_mutex_lock(&dv.mu);
	int fresh = dv.fresh;
	if (fresh) {
		struct tui_div_result *r = &dv.shown, *q = &dv.ready;
		r->valid = q->valid;
		r->n = q->n;
		r->pos = q->pos;
		r->target = q->target;
		r->rho = q->rho;
		memcpy(r->kl, q->kl, (size_t)r->L * sizeof *r->kl);
		memcpy(r->maxdiff, q->maxdiff, (size_t)r->L * r->NH * sizeof *r->maxdiff);
		memcpy(r->err, q->err, sizeof r->err);
		dv.shown_seq = dv.ready_seq;
		dv.fresh = 0;
	}
	pthread_mutex_unlock(&dv.mu);
	return fresh;
}

static int shown_anywhere(const struct tui_app *app)
{
	for (int i = 0; i < app->n_sides; i++)
		if (app->side[i]->pane[P_LENS] == &pane_divergence)
			return 1;
	return 0;
}

int tui_div_update(struct tui_app *app)
{
	if (!dv.started)
		return 0;
	int redraw = take();
	const struct tui_state *a = app->side[0];
	int n = tui_view_n(a);
	if (!shown_anywhere(app) || n < 1)
		return redraw;
	n = n < dv.maxT ? n : dv.maxT; /* B's context may be the shorter */
	int q = app->side[app->active]->query;
	int pos = q >= 0 && q < n ? q : n - 1;
	if (n == dv.posted_n && pos == dv.posted_pos &&
	    !memcmp(a->v->ids, dv.posted, (size_t)n * sizeof *dv.posted))
		return redraw;
	memcpy(dv.posted, a->v->ids, (size_t)n * sizeof *dv.posted);
	dv.posted_n = n;
	dv.posted_pos = pos;
	pthread_mutex_lock(&dv.mu);
	memcpy(dv.ids, dv.posted, (size_t)n * sizeof *dv.ids);
	dv.n = n;
	dv.pos = pos;
	dv.seq++;
	pthread_cond_signal(&dv.cv);
	pthread_mutex_unlock(&dv.mu);
	return 1; /* "computing" */
}

int tui_div_stop(int wait_ms)
{
	if (dv.started) {
		pthread_mutex_lock(&dv.mu);
		dv.stop = 1;
		pthread_cond_signal(&dv.cv);
		pthread_mutex_unlock(&dv.mu);
		if (!tui_thread_join(dv.thread, wait_ms))
			return 0; /* still inside a forward or backward */
		dv.started = 0;
		pthread_mutex_destroy(&dv.mu);
		pthread_cond_destroy(&dv.cv);
	}
	if (dv.wake_rd >= 0)
		close(dv.wake_rd);
	if (dv.wake_wr >= 0)
		close(dv.wake_wr);
	lms_run_free(dv.ra);
	lms_run_free(dv.rb);
	lms_divergence_free(&dv.d);
	free_result(&dv.ready);
	free_result(&dv.shown);
	free(dv.ids);
	free(dv.posted);
	memset(&dv, 0, sizeof dv);
	dv.wake_rd = dv.wake_wr = -1;
	return 1;
}
