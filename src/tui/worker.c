/* The explorer's engine thread and its mailbox (worker.h): the input thread
 * posts, the thread takes only the newest request, runs the engine's update
 * (engine.c) and hands the view back through a triple buffer. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "export.h"
#include "worker.h"

/* ---- the thread ------------------------------------------------------------ */

struct stale_arg {
	struct tui_worker *w;
	const struct tui_request *rq;
};

/* A newer request with a different context, or of another training
 * snapshot, makes the running update stale. */
static int is_stale(void *p)
{
	struct stale_arg *a = p;
	pthread_mutex_lock(&a->w->mu);
	const struct tui_request *nw = &a->w->pending;
	int stale =
		a->w->stop || (nw->seq != a->rq->seq &&
	                   (nw->len != a->rq->len || memcmp(nw->text, a->rq->text, nw->len) != 0 ||
	                    nw->snapshot != a->rq->snapshot));
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

int tui_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	/* terminal signals go to the input thread; faults stay with whoever faults */
	sigset_t all, old;
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int err = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return err;
}

int tui_thread_join(pthread_t t, int wait_ms)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &until) == 0;
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
	int err = tui_thread_start(&w->thread, worker_main, w);
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
		if (!tui_thread_join(w->thread, wait_ms))
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
