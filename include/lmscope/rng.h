/* Deterministic random numbers (splitmix64-seeded xorshift64*): the same seed
 * gives the same initialisation, data order and samples on every machine. */
#ifndef LMSCOPE_RNG_H
#define LMSCOPE_RNG_H

#include <stdint.h>

struct lms_rng {
	uint64_t s;
};

void lms_rng_seed(struct lms_rng *g, uint64_t seed);
uint64_t lms_rng_u64(struct lms_rng *g);
float lms_rng_uniform(struct lms_rng *g);              /* [0, 1) */
float lms_rng_normal(struct lms_rng *g);               /* N(0, 1) */
uint64_t lms_rng_below(struct lms_rng *g, uint64_t n); /* [0, n), n > 0 */

#endif
