/* splitmix64 seeding, xorshift64* stream, Box-Muller normals. */
#include <math.h>

#include "lmscope/rng.h"

void lms_rng_seed(struct lms_rng *g, uint64_t seed)
{
	uint64_t z = seed + 0x9E3779B97F4A7C15ull;
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	z ^= z >> 31;
	g->s = z ? z : 0x2545F4914F6CDD1Dull;
}

uint64_t lms_rng_u64(struct lms_rng *g)
{
	g->s ^= g->s >> 12;
	g->s ^= g->s << 25;
	g->s ^= g->s >> 27;
	return g->s * 0x2545F4914F6CDD1Dull;
}

float lms_rng_uniform(struct lms_rng *g)
{
	return (float)(lms_rng_u64(g) >> 40) / 16777216.0f;
}

float lms_rng_normal(struct lms_rng *g)
{
	/* u1 in (0, 1] so the log is finite */
	double u1 = ((double)(lms_rng_u64(g) >> 11) + 1.0) / 9007199254740992.0;
	double u2 = (double)(lms_rng_u64(g) >> 11) / 9007199254740992.0;
	return (float)(sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2));
}

uint64_t lms_rng_below(struct lms_rng *g, uint64_t n)
{
	/* rejection keeps the result unbiased */
	uint64_t lim = UINT64_MAX - UINT64_MAX % n;
	uint64_t x;
	do
		x = lms_rng_u64(g);
	while (x >= lim);
	return x % n;
}
