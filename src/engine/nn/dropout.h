/* Inverted dropout (Srivastava et al. 2014), for training only: each unit
 * of a site is kept with probability 1 - p and scaled by 1 / (1 - p), or
 * zeroed, so the expected value is unchanged and evaluation needs no
 * rescaling.
 *
 * A site is one activation where units are dropped, (B, T, X) with row
 * stride T positions like every buffer of a run (lmscope/model.h); its
 * mask holds one bit per unit, bit u of word u / 64 set when unit u is
 * kept. The masks of every site of one update are drawn together, before
 * the forward (lms_dropout_draw), and read by both the forward and the
 * backward: a forward recomputed with the same masks is the same function
 * of the weights, which is what the gradient checks need. */
#ifndef LMS_NN_DROPOUT_H
#define LMS_NN_DROPOUT_H

#include <stddef.h>
#include <stdint.h>

#include "lmscope/rng.h"
#include "lmscope/status.h"

struct lms_dropout {
	float p;        /* drop probability, [0, 1) */
	float scale;    /* 1 / (1 - p), what a kept unit is multiplied by */
	int sites;      /* masks, one per site */
	size_t units;   /* units per site: B * T * X */
	size_t words;   /* uint64_t words per site's mask */
	uint64_t *bits; /* (sites, words) */
};

/* Masks for `sites` sites of `units` units each, all kept until drawn. */
enum lms_status lms_dropout_new(struct lms_dropout *d, float p, int sites, size_t units);
void lms_dropout_free(struct lms_dropout *d);

/* Every site's mask from g: site by site, unit by unit in order, unit u
 * kept when lms_rng_uniform(g) >= p (one draw per unit). */
void lms_dropout_draw(struct lms_dropout *d, struct lms_rng *g);

/* Site s's mask, (words). */
const uint64_t *lms_dropout_mask(const struct lms_dropout *d, int s);

/* Whether unit u of a mask is kept. */
static inline int lms_dropout_kept(const uint64_t *mask, size_t u)
{
	return (int)(mask[u >> 6] >> (u & 63) & 1u);
}

/* Forward, in place or not: out[i] = x[i] * scale when unit first + i of
 * mask is kept, else 0, for i in [0, n). */
void lms_dropout_forward(float *out, const float *x, const uint64_t *mask, size_t first, size_t n,
                         float scale);
/* Backward of the same: dinp[i] = dout[i] * scale when unit first + i is
 * kept, else 0 (in place or not; the site's input has no other use of
 * its gradient, so this writes rather than accumulates). */
void lms_dropout_backward(float *dinp, const float *dout, const uint64_t *mask, size_t first,
                          size_t n, float scale);

#endif
