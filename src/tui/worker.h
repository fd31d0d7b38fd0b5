/* The explorer's engine thread and its mailbox: a thread that always
 * computes the newest request only (the update itself is engine.h's).
 *
 * The input thread posts requests (a copy of the text and the selection) and
 * never waits for the engine; finished views are handed over through a
 * triple buffer and announced by a byte on a pipe. */
#ifndef LMS_TUI_WORKER_H
#define LMS_TUI_WORKER_H

#include <pthread.h>

#include "engine.h"

/* The worker thread and its mailbox. */
struct tui_worker {
	struct tui_engine eng;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct tui_request pending; /* newest request (under mu) */
	uint64_t done_seq;          /* last request taken by the worker */
	int stop;
	struct tui_view bufs[3]; /* front (input thread), ready, back (worker) */
	struct tui_view *front, *ready, *back;
	int ready_fresh;
	int wake_rd, wake_wr; /* pipe: a byte per published view */
	int started;
};

/* A thread of the explorer's running fn(arg), with the terminal's signals
 * blocked in it (they go to the input thread; faults stay with whoever
 * faults); 0 or pthread_create's error. */
int tui_thread_start(pthread_t *t, void *(*fn)(void *), void *arg);
/* Joins t within wait_ms; 0 when it is still running then. */
int tui_thread_join(pthread_t t, int wait_ms);

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
