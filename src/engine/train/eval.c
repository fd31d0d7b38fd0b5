/* Cross-entropy over a token stream in windows: evaluation's sliding
 * windows (lms_eval_stream) and training's validation in consecutive ones
 * (lms_stream_xent), one loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lmscope/eval.h"
#include "nn/blas.h"

/* Windows of len = min(n, T) tokens start every `stride` tokens; a window
 * starting at s scores the targets ids[i + 1] with prev < i + 1 <= s + reach
 * (prev: the last target already scored), so each target once. reach is
 * len - 1 for sliding windows (every target inside the window) and len for
 * consecutive windows of T + 1 tokens (T new targets each). */
struct cursor {
	const int *ids;
	size_t n, total; /* tokens; targets in all (n - 1) */
	int stride, reach, len, B;
	size_t done;  /* targets ids[1 .. done] are scored */
	size_t start; /* the next window's first position */
};

/* One forward's windows: inputs x and targets y (B, len), -1 where nothing
 * is scored, and how many targets they score. */
struct batch {
	int *x, *y;
	size_t scored;
	double mean; /* the mean cross-entropy over its targets, once run */
	enum lms_status st;
};

/* Fills b with the next windows (rows past the text padded) and advances
 * the cursor as if they were scored. */
static void next_batch(struct cursor *c, struct batch *b)
{
	int rows = 0, len = c->len;
	b->scored = 0;
	for (; rows < c->B && c->done + b->scored < c->total; rows++) {
		size_t end = c->start + c->reach < c->n - 1 ? c->start + c->reach : c->n - 1;
		size_t prev = c->done + b->scored;
		for (int t = 0; t < len; t++) {
			size_t i = c->start + t; /* position i predicts ids[i + 1] */
			b->x[rows * len + t] = i < c->n ? c->ids[i] : 0;
			b->y[rows * len + t] = i + 1 <= end && i + 1 > prev ? c->ids[i + 1] : -1;
		}
		b->scored += end - prev;
		c->start += (size_t)c->stride;
	}
	for (int r = rows; r < c->B; r++)
		for (int t = 0; t < len; t++) {
			b->x[r * len + t] = 0;
			b->y[r * len + t] = -1;
		}
	c->done += b->scored;
}

/* Up to two batches, each on a run of its own, on two cores when
 * lms_split gives them (each forward then on its core alone: a batch of a
 * few windows is too small a product for a second core to pay, two
 * batches side by side are not), else one after the other on the first. */
struct pair {
	struct lms_run *run[2];
	struct batch bt[2];
	int nb, len;
};

static void pair_part(void *arg, int part, int parts)
{
	struct pair *p = arg;
	struct lms_run *r = p->run[parts == 2 ? part : 0];
	for (int k = part; k < p->nb; k += parts) {
		struct batch *b = &p->bt[k];
		if ((b->st = lms_embed(r, b->x, p->len)))
			continue;
		lms_forward(r, 0, p->len);
		b->mean = lms_objective_xent(r, b->y, 0);
	}
}

/* A second run for the pair, when there are two cores to use, the run is
 * small (up to 4096 positions: its activations, not the model, are what a
 * second run costs) and so is the model (up to 64 MB of weights: two
 * forwards of GPT-2 small side by side, each packing its own copy of the
 * 154 MB unembedding, ran at 488 tokens/s where one forward on both cores
 * ran at 660); NULL otherwise or when it cannot be had. */
static struct lms_run *second_run(const struct lms_run *r, size_t batches)
{
	if (batches < 2 || !lms_split_available() || (size_t)r->B * r->T > 4096 ||
	    r->m->stored_bytes > ((size_t)64 << 20))
		return NULL;
	struct lms_run *r2 = NULL;
	if (lms_run_new(r->m, r->B, r->T, &r2))
		return NULL;
	r2->iv = r->iv;
	return r2;
}

static enum lms_status stream(struct lms_run *r, const int *ids, size_t n, int stride, int reach,
                              struct lms_eval *acc, lms_eval_fn cb, void *userdata)
{
	int B = r->B, T = r->T;
	struct cursor c = {ids, n, n - 1, stride, reach, n < (size_t)T ? (int)n : T, B, 0, 0};
	/* padding past n would change nothing: causal */
	struct pair p = {{r, NULL}, {{0}}, 0, c.len};
	size_t per = (size_t)B * T * sizeof(int);
	int *buf = malloc(4 * per);
	if (!buf)
		return lms_fail(LMS_ENOMEM, "out of memory");
	for (int k = 0; k < 2; k++) {
		p.bt[k].x = buf + (size_t)2 * k * B * T;
		p.bt[k].y = p.bt[k].x + (size_t)B * T;
	}
	/* the first batch scores its first window's targets, then stride more
	 * per window */
	size_t first = (size_t)c.reach + (size_t)(B - 1) * (size_t)stride;
	p.run[1] = second_run(r, c.total > first ? 2 : 1);
	size_t done = 0;
	enum lms_status st = LMS_OK;
	while (c.done < c.total && !st) {
		p.nb = 0;
		for (int k = 0; k < (p.run[1] ? 2 : 1) && c.done < c.total; k++)
			next_batch(&c, &p.bt[p.nb++]);
		lms_split(pair_part, &p, p.nb == 2);
		/* in order, so that the sums do not depend on the cores */
		for (int k = 0; k < p.nb && !st; k++) {
			if ((st = p.bt[k].st))
				break;
			acc->nll += p.bt[k].mean * (double)p.bt[k].scored;
			acc->targets += p.bt[k].scored;
			done += p.bt[k].scored;
			if (cb)
				cb(userdata, done, c.total);
		}
	}
	lms_run_free(p.run[1]);
	free(buf);
	return st;
}

size_t lms_eval_windows(size_t n, int T, int stride)
{
	if (n < 2 || T < 2)
		return 0;
	if (stride <= 0 || stride >= T)
		stride = T / 2 > 0 ? T / 2 : 1;
	if (n <= (size_t)T)
		return 1;
	/* a window ends at start + T - 1; the last one reaches n - 1 */
	return 1 + (n - (size_t)T + (size_t)stride - 1) / (size_t)stride;
}

enum lms_status lms_eval_stream(struct lms_run *r, const int *ids, size_t n, int stride,
                                struct lms_eval *acc, lms_eval_fn cb, void *userdata)
{
	int T = r->T;
	if (n < 2)
		return LMS_OK; /* nothing to predict */
	if (T < 2)
		return lms_fail(LMS_EARG, "a context of %d cannot be evaluated", T);
	if (stride <= 0 || stride >= T)
		stride = T / 2 > 0 ? T / 2 : 1;
	int len = n < (size_t)T ? (int)n : T;
	return stream(r, ids, n, stride, len - 1, acc, cb, userdata);
}

double lms_stream_xent(struct lms_run *r, const int *tokens, size_t n, long max_targets,
                       size_t *count)
{
	struct lms_eval acc = {0};
	if (max_targets > 0 && (size_t)max_targets + 1 < n)
		n = (size_t)max_targets + 1; /* the first max_targets targets */
	if (n >= 2)
		stream(r, tokens, n, r->T, r->T, &acc, NULL, NULL);
	*count = acc.targets;
	return acc.targets ? acc.nll / (double)acc.targets : NAN;
}
