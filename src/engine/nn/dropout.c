/* Inverted dropout's masks and their application (nn/dropout.h). */
#include <stdlib.h>
#include <string.h>

#include "nn/dropout.h"

enum lms_status lms_dropout_new(struct lms_dropout *d, float p, int sites, size_t units)
{
	memset(d, 0, sizeof *d);
	if (!(p >= 0.0f && p < 1.0f))
		return lms_fail(LMS_EARG, "dropout %g is outside [0, 1)", (double)p);
	d->p = p;
	d->scale = 1.0f / (1.0f - p);
	d->sites = sites;
	d->units = units;
	d->words = (units + 63) / 64;
	size_t n = (size_t)sites * d->words;
	d->bits = malloc((n ? n : 1) * sizeof *d->bits);
	if (!d->bits)
		return lms_fail(LMS_ENOMEM, "out of memory");
	memset(d->bits, 0xff, n * sizeof *d->bits);
	return LMS_OK;
}

void lms_dropout_free(struct lms_dropout *d)
{
	free(d->bits);
	memset(d, 0, sizeof *d);
}

void lms_dropout_draw(struct lms_dropout *d, struct lms_rng *g)
{
	for (int s = 0; s < d->sites; s++) {
		uint64_t *m = d->bits + (size_t)s * d->words;
		for (size_t w = 0; w < d->words; w++) {
			size_t n = d->units - w * 64 < 64 ? d->units - w * 64 : 64;
			uint64_t word = 0;
			for (size_t i = 0; i < n; i++)
				word |= (uint64_t)(lms_rng_uniform(g) >= d->p) << i;
			m[w] = word;
		}
	}
}

const uint64_t *lms_dropout_mask(const struct lms_dropout *d, int s)
{
	return d->bits + (size_t)s * d->words;
}

void lms_dropout_forward(float *out, const float *x, const uint64_t *mask, size_t first, size_t n,
                         float scale)
{
	for (size_t i = 0; i < n; i++)
		out[i] = lms_dropout_kept(mask, first + i) ? x[i] * scale : 0.0f;
}

void lms_dropout_backward(float *dinp, const float *dout, const uint64_t *mask, size_t first,
                          size_t n, float scale)
{
	/* out = x * scale * kept: d x = d out * scale * kept */
	lms_dropout_forward(dinp, dout, mask, first, n, scale);
}
