/* Cross-entropy over a token stream in windows: evaluation's sliding
 * windows (lms_eval_stream) and training's validation in consecutive ones
 * (lms_stream_xent), one loop. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lmscope/eval.h"

/* Windows of len = min(n, T) tokens start every `stride` tokens; a window
 * starting at s scores the targets ids[i + 1] with prev < i + 1 <= s + reach
 * (prev: the last target already scored), so each target once. reach is
 * len - 1 for sliding windows (every target inside the window) and len for
 * consecutive windows of T + 1 tokens (T new targets each). */
static enum lms_status stream(struct lms_run *r, const int *ids, size_t n, int stride, int reach,
                              struct lms_eval *acc, lms_eval_fn cb, void *userdata)
{
	int B = r->B, T = r->T;
	int *x = malloc((size_t)B * T * sizeof *x);
	int *y = malloc((size_t)B * T * sizeof *y);
	if (!x || !y) {
		free(x);
		free(y);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	size_t total = n - 1;
	int len = n < (size_t)T ? (int)n : T; /* padding past n would change nothing: causal */
	size_t done = 0;                      /* targets ids[1 .. done] are scored */
	size_t start = 0;                     /* the next window's first position */
	enum lms_status st = LMS_OK;
	while (done < total && !st) {
		size_t batch = 0;
		int rows = 0;
		for (; rows < B && done + batch < total; rows++) {
			size_t end = start + reach < n - 1 ? start + reach : n - 1;
			size_t prev = done + batch;
			for (int t = 0; t < len; t++) {
				size_t i = start + t; /* position i predicts ids[i + 1] */
				x[rows * len + t] = i < n ? ids[i] : 0;
				y[rows * len + t] = i + 1 <= end && i + 1 > prev ? ids[i + 1] : -1;
			}
			batch += end - prev;
			start += (size_t)stride;
		}
		for (int b = rows; b < B; b++)
			for (int t = 0; t < len; t++) {
				x[b * len + t] = 0;
				y[b * len + t] = -1;
			}
		if ((st = lms_embed(r, x, len)))
			break;
		lms_forward(r, 0, len);
		double mean = lms_objective_xent(r, y, 0);
		acc->nll += mean * (double)batch;
		acc->targets += batch;
		done += batch;
		if (cb)
			cb(userdata, done, total);
	}
	free(x);
	free(y);
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
