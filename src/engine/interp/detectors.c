/* Attention-head detectors (lmscope/interp.h): how much each head attends
 * to the previous token, to the latest earlier occurrence of the current
 * token (duplicate-token heads), and to the token after it (induction
 * heads). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lmscope/interp.h"
#include "lmscope/rng.h"

void lms_repeated_tokens(int *out, int N, int V, unsigned long long seed)
{
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	for (int i = 0; i < N; i++)
		out[i] = out[N + i] = (int)lms_rng_below(&g, (uint64_t)V);
}

/* prev[i] = the latest j < i with ids[j] == ids[i], or -1. */
void lms_head_prev(int *prev, const int *ids, int n)
{
	for (int i = 0; i < n; i++) {
		prev[i] = -1;
		for (int j = i - 1; j >= 0; j--)
			if (ids[j] == ids[i]) {
				prev[i] = j;
				break;
			}
	}
}

/* The three scores of one head's attention a (n, n) with row stride T. */
void lms_head_scores_of(const float *a, int T, const int *prev, int n, double *p, double *d,
                        double *ind)
{
	double sp = 0.0, sd = 0.0, si = 0.0;
	int np = 0, nd = 0, ni = 0;
	for (int i = 1; i < n; i++, np++)
		sp += a[(size_t)i * T + i - 1];
	for (int i = 0; i < n; i++) {
		int j = prev[i];
		if (j < 0)
			continue;
		sd += a[(size_t)i * T + j];
		nd++;
		if (j + 1 < i) {
			si += a[(size_t)i * T + j + 1];
			ni++;
		}
	}
	*p = np ? sp / np : NAN;
	*d = nd ? sd / nd : NAN;
	*ind = ni ? si / ni : NAN;
}

enum lms_status lms_head_scores_compute(const struct lms_run *r, const int *ids, int n,
                                        struct lms_head_scores *out)
{
	const struct lms_config *c = &r->m->cfg;
	memset(out, 0, sizeof *out);
	if (lms_arch_is_recurrent(c->arch))
		return lms_fail(LMS_EUNSUPPORTED, "head detectors need attention (%s models have none)",
		                lms_arch_name(c->arch));
	if (n <= 0 || n > r->n)
		return lms_fail(LMS_EARG, "head detectors: %d positions, the run has %d", n, r->n);
	size_t LH = (size_t)c->L * c->NH;
	out->L = c->L;
	out->NH = c->NH;
	out->previous = malloc(LH * sizeof(double));
	out->duplicate = malloc(LH * sizeof(double));
	out->induction = malloc(LH * sizeof(double));
	int *prev = malloc((size_t)n * sizeof *prev);
	if (!out->previous || !out->duplicate || !out->induction || !prev) {
		free(prev);
		lms_head_scores_free(out);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	lms_head_prev(prev, ids, n);
	for (int l = 0; l < c->L; l++)
		for (int h = 0; h < c->NH; h++) {
			size_t k = (size_t)l * c->NH + h;
			lms_head_scores_of(lms_run_attention(r, l, h, 0), r->T, prev, n, &out->previous[k],
			                   &out->duplicate[k], &out->induction[k]);
		}
	free(prev);
	return LMS_OK;
}

void lms_head_scores_free(struct lms_head_scores *s)
{
	free(s->previous);
	free(s->duplicate);
	free(s->induction);
	s->previous = s->duplicate = s->induction = NULL;
}
