/* Evaluation: cross-entropy of a model on a token stream. Streams longer than
 * the context are scored with a sliding window: windows of T tokens advance
 * by `stride`; the first window scores all its T - 1 next-token predictions,
 * each later one only the targets no earlier window scored, each seen with at
 * least T - stride tokens of context. Every token after the first is scored
 * exactly once. */
#ifndef LMSCOPE_EVAL_H
#define LMSCOPE_EVAL_H

#include <stddef.h>

#include "lmscope/model.h"

struct lms_eval {
	size_t targets; /* tokens scored */
	double nll;     /* their summed negative log-likelihood, nats */
};

/* Called after each batch of windows with targets done so far and in all. */
typedef void (*lms_eval_fn)(void *userdata, size_t done, size_t total);

/* Adds the stream's scores to *acc, using run r (B rows of T positions; rows
 * score independent windows). stride in [1, T - 1]; 0 means T / 2. */
enum lms_status lms_eval_stream(struct lms_run *r, const int *ids, size_t n, int stride,
                                struct lms_eval *acc, lms_eval_fn cb, void *userdata);

/* The windows lms_eval_stream scores n tokens with (T and stride as there):
 * the rows a run needs at most. */
size_t lms_eval_windows(size_t n, int T, int stride);

/* Training's validation loss: the mean cross-entropy (nats per target) over
 * a token stream cut into consecutive windows of T + 1 tokens (T new
 * targets each, the context starting afresh), using run r (B x T); at most
 * max_targets targets when > 0. *count gets the number scored; NaN when
 * none (or the run could not be filled). */
double lms_stream_xent(struct lms_run *r, const int *tokens, size_t n, long max_targets,
                       size_t *count);

#endif
