/* Reading one row of a model's output over the vocabulary (logits,
 * log-probabilities or probabilities, n entries): its log-sum-exp and its k
 * largest entries. Every front end and the engine use these two. */
#ifndef LMSCOPE_LOGITS_H
#define LMSCOPE_LOGITS_H

/* log sum_i exp(x_i), shifted by the maximum so nothing overflows. The
 * exponentials are single precision (each in (0, 1] after the shift, within
 * a few ulps, vectorised), summed in float per block of 256 and in double
 * over blocks: as exact as float32 logits are, at a fraction of the cost of
 * libm's exponentials, which matters once per position on a 50k vocabulary
 * (the explorer's surprisal strip at ctx 1024 is 51M of them). n >= 1. */
double lms_logsumexp(const float *x, int n);

/* The k largest of x (n), best first, ties by the lower index: id (k) gets
 * their indices and val (k, or NULL) their values. Returns min(k, n).
 * O(n log k) with a heap of k indices, so k = n sorts the whole row. */
int lms_top_k(const float *x, int n, int k, int *id, float *val);

#endif
