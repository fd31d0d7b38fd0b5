/* Log-sum-exp and top-k over one row (see logits.h). */
#include <math.h>

#include "lmscope/logits.h"
#include "nn/ops.h"

/* Lanes of the maximum and of the block sums: independent accumulators the
 * compiler turns into vector registers (one running value would chain
 * every element behind the previous one). */
enum { LANES = 16 };

static float row_max(const float *x, int n)
{
	float m[LANES];
	int i = 0;
	for (int k = 0; k < LANES; k++)
		m[k] = x[0];
	for (; i + LANES <= n; i += LANES)
		for (int k = 0; k < LANES; k++)
			m[k] = x[i + k] > m[k] ? x[i + k] : m[k];
	float mx = m[0];
	for (int k = 1; k < LANES; k++)
		mx = m[k] > mx ? m[k] : mx;
	for (; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	return mx;
}

double lms_logsumexp(const float *x, int n)
{
	enum { NB = 256 };
	float sh[NB], e[NB];
	float mx = row_max(x, n);
	/* blocks through lms_vexp (vectorised; libm's expf is one at a time),
	 * each block's sum in float, the blocks' in double */
	double s = 0.0;
	for (int i0 = 0; i0 < n; i0 += NB) {
		int nb = n - i0 < NB ? n - i0 : NB;
		for (int j = 0; j < nb; j++)
			sh[j] = x[i0 + j] - mx;
		lms_vexp(e, sh, nb);
		s += lms_lane_sum(e, nb);
	}
	return mx + log(s);
}

/* Whether index i ranks below index j: a smaller value, or the same value at
 * a higher index. */
static int worse(const float *x, int i, int j)
{
	return x[i] < x[j] || (x[i] == x[j] && i > j);
}

/* Restores the heap (h[0] the worst of the k kept) below position p. */
static void sift_down(const float *x, int *h, int k, int p)
{
	for (;;) {
		int c = 2 * p + 1;
		if (c >= k)
			return;
		if (c + 1 < k && worse(x, h[c + 1], h[c]))
			c++;
		if (!worse(x, h[c], h[p]))
			return;
		int t = h[p];
		h[p] = h[c];
		h[c] = t;
		p = c;
	}
}

int lms_top_k(const float *x, int n, int k, int *id, float *val)
{
	if (k > n)
		k = n;
	if (k <= 0)
		return 0;
	/* id as a min-heap of the best k seen, the worst at the root */
	for (int i = 0; i < k; i++)
		id[i] = i;
	for (int p = k / 2 - 1; p >= 0; p--)
		sift_down(x, id, k, p);
	for (int i = k; i < n; i++)
		if (worse(x, id[0], i)) {
			id[0] = i;
			sift_down(x, id, k, 0);
		}
	/* heap sort: move the worst to the end, k - 1 times */
	for (int m = k - 1; m > 0; m--) {
		int t = id[0];
		id[0] = id[m];
		id[m] = t;
		sift_down(x, id, m, 0);
	}
	for (int i = 0; val && i < k; i++)
		val[i] = x[id[i]];
	return k;
}
