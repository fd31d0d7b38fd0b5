/* Choosing the next token from logits: greedy at temperature 0, otherwise
 * softmax(logits / temperature) restricted to the nucleus (the smallest set
 * of most probable tokens whose probabilities sum to at least top_p),
 * renormalised and sampled with a seeded generator. */
#ifndef LMSCOPE_SAMPLE_H
#define LMSCOPE_SAMPLE_H

#include "lmscope/rng.h"
#include "lmscope/status.h"

struct lms_sampler {
	int V;
	double temperature; /* 0: greedy */
	double top_p;       /* 1: the whole distribution */
	struct lms_rng rng;
	float *prob; /* (V) scratch */
	int *idx;    /* (V) scratch */
};

enum lms_status lms_sampler_new(struct lms_sampler *s, int V, double temperature, double top_p,
                                uint64_t seed);
void lms_sampler_free(struct lms_sampler *s);
/* The next token for one row of V logits. */
int lms_sample(struct lms_sampler *s, const float *logits);

#endif
