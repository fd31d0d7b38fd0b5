/* The intervention hooks the architectures call (hooks.h). */
#include <string.h>

#include "interp/hooks.h"

int lms_iv_whole(const struct lms_intervention *iv)
{
	return iv && iv->n_ablated && iv->mode == LMS_ABLATE_MEAN;
}

/* Whether the patch is at (site, layer l) and covers position t of batch
 * row b (a batched HEAD patch covers every position of a row with a head). */
static int patched(const struct lms_intervention *iv, enum lms_patch_site site, int l, int b, int t)
{
	if (iv->site != site || iv->layer != l || !iv->src)
		return 0;
	if (iv->rows)
		return site == LMS_PATCH_HEAD ? iv->rows[b] >= 0 : iv->rows[b] == t;
	return iv->pos < 0 || iv->pos == t;
}

/* The head a HEAD patch replaces in batch row b. */
static int head_of(const struct lms_intervention *iv, int b)
{
	return iv->rows ? iv->rows[b] : iv->head;
}

int lms_iv_row_from(const struct lms_intervention *iv, int b, int from)
{
	if (!iv || !iv->row_from)
		return from;
	return iv->row_from[b] > from ? iv->row_from[b] : from;
}

int lms_iv_layer_in(const struct lms_intervention *iv, int l, float *x, int B, int T, int C,
                    int from, int n)
{
	if (!iv)
		return 1;
	if (l < iv->start_layer || (iv->stop_layer > 0 && l >= iv->stop_layer))
		return 0;
	size_t row = (size_t)C * sizeof(float);
	for (int b = 0; b < B; b++)
		for (int t = lms_iv_row_from(iv, b, from); t < n; t++) {
			float *xt = x + ((size_t)b * T + t) * C;
			if (l == iv->start_layer && iv->start_resid)
				memcpy(xt, iv->start_resid + (size_t)t * C, row);
			if (patched(iv, LMS_PATCH_RESID_PRE, l, b, t))
				memcpy(xt, iv->src + (size_t)t * C, row);
		}
	return 1;
}

/* Whether a head of layer l is mean-ablated: its output at every
 * position is then its mean over the positions, which reads them all (an
 * MLP is always ablated to zero). */
static int mean_ablated(const struct lms_intervention *iv, int l)
{
	if (!iv->n_ablated || iv->mode != LMS_ABLATE_MEAN)
		return 0;
	for (int h = 0; iv->heads && h < iv->NH; h++)
		if (iv->heads[(size_t)l * iv->NH + h])
			return 1;
	return 0;
}

int lms_iv_last_only(const struct lms_intervention *iv, int l, int L)
{
	return iv && iv->last_only && l == L - 1 && !mean_ablated(iv, l);
}

/* Columns [c0, c0 + w) of rows [0, n) of y (T, C) := their mean over the rows. */
static void mean_columns(float *y, int n, int C, int c0, int w)
{
	for (int j = c0; j < c0 + w; j++) {
		double s = 0.0;
		for (int t = 0; t < n; t++)
			s += y[(size_t)t * C + j];
		float m = (float)(s / n);
		for (int t = 0; t < n; t++)
			y[(size_t)t * C + j] = m;
	}
}

/* Ablates the heads of layer l marked in iv in one batch row yb (T, C). */
static void ablate_heads(const struct lms_intervention *iv, int l, float *yb, int C, int from,
                         int n)
{
	int hs = C / iv->NH;
	for (int h = 0; h < iv->NH; h++) {
		if (!iv->heads[(size_t)l * iv->NH + h])
			continue;
		int c0 = h * hs;
		if (iv->mode == LMS_ABLATE_MEAN) {
			mean_columns(yb, n, C, c0, hs);
			continue;
		}
		for (int t = from; t < n; t++)
			memset(yb + (size_t)t * C + c0, 0, (size_t)hs * sizeof(float));
	}
}

void lms_iv_heads(const struct lms_intervention *iv, int l, float *y, int B, int T, int C, int from,
                  int n)
{
	if (!iv)
		return;
	int hs = C / iv->NH;
	for (int b = 0; b < B; b++) {
		float *yb = y + (size_t)b * T * C;
		if (iv->n_ablated)
			ablate_heads(iv, l, yb, C, from, n);
		for (int t = lms_iv_row_from(iv, b, from); t < n; t++) {
			float *yt = yb + (size_t)t * C;
			if (patched(iv, LMS_PATCH_ATTN_OUT, l, b, t))
				memcpy(yt, iv->src + (size_t)t * C, (size_t)C * sizeof(float));
			if (patched(iv, LMS_PATCH_HEAD, l, b, t)) {
				size_t c0 = (size_t)head_of(iv, b) * hs;
				memcpy(yt + c0, iv->src + (size_t)t * C + c0, (size_t)hs * sizeof(float));
			}
		}
	}
}

void lms_iv_heads_backward(const struct lms_intervention *iv, int l, float *dy, int B, int T, int C,
                           int n)
{
	if (!iv || !iv->n_ablated)
		return;
	/* zero: y_t = 0, no gradient; mean: y_t = (1/n) sum_i y_i for every t,
	 * so d/dy_i = (1/n) sum_t dy_t, the same mean_columns computes */
	for (int b = 0; b < B; b++)
		ablate_heads(iv, l, dy + (size_t)b * T * C, C, 0, n);
}

void lms_iv_mlp(const struct lms_intervention *iv, int l, float *y, size_t row0, int len, int T,
                int C)
{
	if (!iv)
		return;
	for (int i = 0; i < len; i++) {
		size_t row = row0 + (size_t)i;
		int t = (int)(row % (size_t)T), b = (int)(row / (size_t)T);
		float *yt = y + row * C;
		if (iv->mlp[l])
			memset(yt, 0, (size_t)C * sizeof(float));
		if (patched(iv, LMS_PATCH_MLP_OUT, l, b, t))
			memcpy(yt, iv->src + (size_t)t * C, (size_t)C * sizeof(float));
	}
}

void lms_iv_mlp_backward(const struct lms_intervention *iv, int l, float *d, size_t count)
{
	if (iv && iv->mlp[l])
		memset(d, 0, count * sizeof(float));
}

void lms_iv_state(const struct lms_intervention *iv, int l, float *h, int B, int T, int H, int t)
{
	if (!iv)
		return;
	for (int b = 0; b < B; b++) {
		float *ht = h + ((size_t)b * T + t) * H;
		if (patched(iv, LMS_PATCH_HIDDEN, l, b, t))
			memcpy(ht, iv->src + (size_t)t * H, (size_t)H * sizeof(float));
		if (!iv->n_ablated)
			continue;
		for (int u = 0; u < H; u++)
			if (iv->heads[(size_t)l * H + u])
				ht[u] = 0.0f;
	}
}

void lms_iv_state_backward(const struct lms_intervention *iv, int l, float *dh, int B, int H)
{
	if (!iv || !iv->n_ablated)
		return;
	for (int b = 0; b < B; b++)
		for (int u = 0; u < H; u++)
			if (iv->heads[(size_t)l * H + u])
				dh[(size_t)b * H + u] = 0.0f;
}
