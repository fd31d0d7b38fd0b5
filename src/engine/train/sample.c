/* Greedy, temperature and nucleus (top-p) sampling. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lmscope/logits.h"
#include "lmscope/sample.h"

enum lms_status lms_sampler_new(struct lms_sampler *s, int V, double temperature, double top_p,
                                uint64_t seed)
{
	memset(s, 0, sizeof *s);
	if (V <= 0 || !(temperature >= 0.0) || !(top_p > 0.0 && top_p <= 1.0))
		return lms_fail(LMS_EARG, "temperature must be >= 0 and top-p in (0, 1]");
	s->V = V;
	s->temperature = temperature;
	s->top_p = top_p;
	lms_rng_seed(&s->rng, seed);
	s->prob = malloc((size_t)V * sizeof *s->prob);
	s->idx = malloc((size_t)V * sizeof *s->idx);
	if (!s->prob || !s->idx) {
		lms_sampler_free(s);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	return LMS_OK;
}

void lms_sampler_free(struct lms_sampler *s)
{
	free(s->prob);
	free(s->idx);
	s->prob = NULL;
	s->idx = NULL;
}

static int argmax(const float *x, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

int lms_sample(struct lms_sampler *s, const float *logits)
{
	int V = s->V;
	if (s->temperature <= 0.0)
		return argmax(logits, V);
	/* p_k = exp((x_k - max) / temperature) / Z */
	float mx = logits[argmax(logits, V)];
	double z = 0.0;
	for (int k = 0; k < V; k++) {
		s->prob[k] = (float)exp(((double)logits[k] - mx) / s->temperature);
		z += s->prob[k];
	}
	int n = V;
	double mass = z;
	if (s->top_p < 1.0) {
		lms_top_k(s->prob, V, V, s->idx, NULL); /* ties by id: deterministic */
		double cum = 0.0;
		for (n = 0; n < V;) {
			cum += s->prob[s->idx[n++]];
			if (cum >= s->top_p * z)
				break;
		}
		mass = cum;
	}
	double u = (double)lms_rng_uniform(&s->rng) * mass;
	double cum = 0.0;
	for (int r = 0; r < n; r++) {
		int k = s->top_p < 1.0 ? s->idx[r] : r;
		cum += s->prob[k];
		if (u < cum)
			return k;
	}
	/* rounding left u at the very top: the last token of the set */
	return s->top_p < 1.0 ? s->idx[n - 1] : argmax(s->prob, V);
}
