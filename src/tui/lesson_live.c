/* A lesson's expect lines measured while it plays (lesson_expect.h): a
 * thread of its own runs lesson_expect_measure, the code `lesson --check`
 * uses, on the lesson's first model, so that a perplexity over a file
 * never holds up the keys. The input thread names the step it shows; the
 * thread measures that step's claims one by one (a claim measured once
 * keeps its result: the model does not change) and leaves each result
 * under the mutex, where the caption box reads it. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lesson_expect.h"

struct live_result {
	int state; /* EXPECT_* or LIVE_PENDING */
	char text[200];
};

struct tui_live {
	const struct lms_model *m;
	const struct lms_tokenizer *tok;
	const struct lesson *ls;
	int *first;              /* (ls->n + 1) index of each step's first result */
	struct live_result *res; /* (first[ls->n]) under mu */
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int want;       /* the step shown (under mu) */
	int stop, done; /* asked to end / has ended (under mu) */
	unsigned gen;   /* bumped with every result (under mu) */
};

/* Step k's next claim to measure, or -1 when all are: a perplexity over a
 * file (the slow kind) after the others. Under mu. */
static int next_unmeasured(const struct tui_live *lv, int k)
{
	const struct lesson_step *st = &lv->ls->steps[k];
	for (int slow = 0; slow < 2; slow++)
		for (int j = 0; j < st->n_expect; j++)
			if (lv->res[lv->first[k] + j].state == LIVE_PENDING &&
			    (st->expect[j].kind == EXPECT_PPL) == slow)
				return j;
	return -1;
}

static void *live_main(void *arg)
{
	struct tui_live *lv = arg;
	pthread_mutex_lock(&lv->mu);
	for (;;) {
		int k = -1, j = -1;
		while (!lv->stop && ((k = lv->want) < 0 || (j = next_unmeasured(lv, k)) < 0))
			pthread_cond_wait(&lv->cv, &lv->mu);
		if (lv->stop)
			break;
		pthread_mutex_unlock(&lv->mu);
		struct live_result r;
		r.state = lesson_expect_measure(lv->m, lv->tok, lv->ls, k, &lv->ls->steps[k].expect[j],
		                                r.text, sizeof r.text);
		pthread_mutex_lock(&lv->mu);
		lv->res[lv->first[k] + j] = r;
		lv->gen++;
	}
	lv->done = 1;
	pthread_cond_broadcast(&lv->cv);
	pthread_mutex_unlock(&lv->mu);
	return NULL;
}

struct tui_live *tui_live_new(const struct lms_model *m, const struct lms_tokenizer *tok,
                              const struct lesson *ls)
{
	struct tui_live *lv = calloc(1, sizeof *lv);
	if (!lv || !(lv->first = malloc((size_t)(ls->n + 1) * sizeof *lv->first))) {
		free(lv);
		return NULL;
	}
	lv->first[0] = 0;
	for (int k = 0; k < ls->n; k++)
		lv->first[k + 1] = lv->first[k] + ls->steps[k].n_expect;
	lv->res = calloc((size_t)lv->first[ls->n] + 1, sizeof *lv->res);
	if (!lv->res) {
		free(lv->first);
		free(lv);
		return NULL;
	}
	for (int i = 0; i < lv->first[ls->n]; i++)
		lv->res[i].state = LIVE_PENDING;
	lv->m = m;
	lv->tok = tok;
	lv->ls = ls;
	lv->want = -1;
	pthread_mutex_init(&lv->mu, NULL);
	pthread_cond_init(&lv->cv, NULL);
	/* signals stay with the input thread (its SIGWINCH and SIGINT) */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	int rc = pthread_create(&lv->thread, NULL, live_main, lv);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc) {
		pthread_mutex_destroy(&lv->mu);
		pthread_cond_destroy(&lv->cv);
		free(lv->res);
		free(lv->first);
		free(lv);
		return NULL;
	}
	return lv;
}

void tui_live_want(struct tui_live *lv, int k)
{
	if (!lv)
		return;
	pthread_mutex_lock(&lv->mu);
	lv->want = k;
	pthread_cond_signal(&lv->cv);
	pthread_mutex_unlock(&lv->mu);
}

int tui_live_get(struct tui_live *lv, int k, int j, char *out, size_t size)
{
	if (!lv)
		return LIVE_PENDING;
	pthread_mutex_lock(&lv->mu);
	const struct live_result *r = &lv->res[lv->first[k] + j];
	int state = r->state;
	snprintf(out, size, "%s", state == LIVE_PENDING ? "" : r->text);
	pthread_mutex_unlock(&lv->mu);
	return state;
}

unsigned tui_live_gen(struct tui_live *lv)
{
	if (!lv)
		return 0;
	pthread_mutex_lock(&lv->mu);
	unsigned g = lv->gen;
	pthread_mutex_unlock(&lv->mu);
	return g;
}

int tui_live_pending(struct tui_live *lv, int k)
{
	if (!lv)
		return 0;
	pthread_mutex_lock(&lv->mu);
	int pending = next_unmeasured(lv, k) >= 0;
	pthread_mutex_unlock(&lv->mu);
	return pending;
}

int tui_live_stop(struct tui_live *lv, int wait_ms)
{
	if (!lv)
		return 1;
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += wait_ms / 1000;
	until.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L)
		until.tv_sec++, until.tv_nsec -= 1000000000L;
	pthread_mutex_lock(&lv->mu);
	lv->stop = 1;
	pthread_cond_signal(&lv->cv);
	while (!lv->done && pthread_cond_timedwait(&lv->cv, &lv->mu, &until) == 0)
		;
	int done = lv->done;
	pthread_mutex_unlock(&lv->mu);
	if (!done)
		return 0; /* mid-measurement: it still reads the model and the lesson */
	pthread_join(lv->thread, NULL);
	pthread_mutex_destroy(&lv->mu);
	pthread_cond_destroy(&lv->cv);
	free(lv->res);
	free(lv->first);
	free(lv);
	return 1;
}
