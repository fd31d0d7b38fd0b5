/* Permutation importance over a dataset (Breiman 2001; Fisher et al. 2019):
 * the examples are windows of K tokens and the token after each; a feature
 * is shuffled across the examples, breaking its link to the target while
 * keeping its distribution, and the rise of the mean cross-entropy measures
 * how much the model relies on it. Features: the token at offset d = 1..K
 * back from the predicted one, and (optionally) contiguous groups of
 * embedding dimensions at every position. R shuffles give a spread. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "attr/attrwork.h"
#include "lmscope/rng.h"

void lms_importance_opts_default(struct lms_importance_opts *o)
{
	memset(o, 0, sizeof *o);
	o->positions = 8;
	o->repeats = 5;
	o->max_examples = 512;
	o->batch = 64;
	o->seed = 1;
}

void lms_importance_free(struct lms_importance *imp)
{
	free(imp->offset);
	free(imp->group);
	free(imp->group_start);
	memset(imp, 0, sizeof *imp);
}

struct job {
	struct lms_attrwork w;
	const struct lms_importance_opts *o;
	int N, K;
	const int *ctx; /* (N, K) */
	const int *tgt; /* (N) */
	long done, total;
};

/* Mean cross-entropy over the examples with context rows ctx (N, K); when
 * perm is set, dims [d0, d1) of every position of example e come from
 * example perm[e]. */
static enum lms_status mean_xent(struct job *j, const int *ctx, const int *perm, int d0, int d1,
                                 double *out)
{
	struct lms_run *r = j->w.r;
	int C = j->w.m->cfg.C, K = j->K;
	double sum = 0.0;
	for (int first = 0; first < j->N; first += r->B) {
		int rows = j->N - first < r->B ? j->N - first : r->B;
		for (int b = 0; b < rows; b++) {
			int e = first + b;
			lms_attrwork_set_ids(&j->w, b, ctx + (size_t)e * K, K);
			if (!perm)
				continue;
			const int *src = ctx + (size_t)perm[e] * K;
			/* the donor's embedding row goes through the row's input
			 * gradient buffer, unused by these forwards */
			for (int t = 0; t < K; t++) {
				size_t row = ((size_t)b * r->T + t) * C;
				lms_model_embed_row(j->w.m, src[t], r->demb + row);
				memcpy(r->emb + row + d0, r->demb + row + d0, (d1 - d0) * sizeof(float));
			}
		}
		/* rows past `rows` keep stale inputs; their values are not read */
		lms_forward(r, 0, K);
		for (int b = 0; b < rows; b++)
			sum -= lms_attrwork_logprob(&j->w, b, K, j->tgt[first + b]);
		j->done++;
		if (j->o->progress && j->o->progress(j->o->userdata, j->done, j->total))
			return lms_fail(LMS_EINTR, "interrupted");
	}
	*out = sum / j->N;
	return LMS_OK;
}

static void shuffle(int *perm, int N, struct lms_rng *g)
{
	for (int e = 0; e < N; e++)
		perm[e] = e;
	for (int e = N - 1; e > 0; e--) {
		int k = (int)lms_rng_below(g, (uint64_t)e + 1), t = perm[e];
		perm[e] = perm[k];
		perm[k] = t;
	}
}

/* Mean and sample standard deviation of the R rises in xs. */
static void summarise(struct lms_importance_row *row, const double *xs, double base, int R)
{
	double mx = 0.0, mp = 0.0, sx = 0.0, sp = 0.0, pb = exp(base);
	for (int i = 0; i < R; i++) {
		mx += (xs[i] - base) / R;
		mp += (exp(xs[i]) - pb) / R;
	}
	for (int i = 0; i < R && R > 1; i++) {
		sx += (xs[i] - base - mx) * (xs[i] - base - mx) / (R - 1);
		sp += (exp(xs[i]) - pb - mp) * (exp(xs[i]) - pb - mp) / (R - 1);
	}
	row->xent_rise = mx;
	row->xent_sd = sqrt(sx);
	row->ppl_rise = mp;
	row->ppl_sd = sqrt(sp);
}

static enum lms_status check_opts(const struct lms_model *m, int N,
                                  const struct lms_importance_opts *o)
{
	const struct lms_config *c = &m->cfg;
	int K = o->positions;
	if (K < 1 || (!lms_arch_is_recurrent(c->arch) && K > c->maxT))
		return lms_fail(LMS_EARG, "positions %d out of range (1 to the context, %d)", K, c->maxT);
	if (K > 4096)
		return lms_fail(LMS_EARG, "positions %d out of range (at most 4096)", K);
	if (o->repeats < 1 || o->repeats > 1000)
		return lms_fail(LMS_EARG, "repeats %d out of range (1 to 1000)", o->repeats);
	if (o->dim_groups < 0 || o->dim_groups > c->C)
		return lms_fail(LMS_EARG, "dimension groups %d out of range (0 to the width, %d)",
		                o->dim_groups, c->C);
	if (o->batch < 1 || o->batch > 4096)
		return lms_fail(LMS_EARG, "rows per batch %d out of range (1 to 4096)", o->batch);
	if (N < 2)
		return lms_fail(LMS_EARG, "%d examples: shuffling needs at least two", N);
	return LMS_OK;
}

enum lms_status lms_importance_run(const struct lms_model *m, const int *tokens, size_t ntok,
                                   const struct lms_importance_opts *o, struct lms_importance *out)
{
	memset(out, 0, sizeof *out);
	int K = o->positions;
	if (K < 1 || K > 4096 || o->max_examples < 2)
		return lms_fail(LMS_EARG, "positions %d / examples %d out of range", K, o->max_examples);
	if (ntok < (size_t)K + 2)
		return lms_fail(LMS_EARG, "%zu tokens make fewer than two examples of %d positions", ntok,
		                K);
	/* windows start every `stride` tokens, as many as allowed */
	size_t avail = ntok - K;
	size_t stride = avail > (size_t)o->max_examples ? avail / o->max_examples : 1;
	int N =
		(int)(avail / stride < (size_t)o->max_examples ? avail / stride : (size_t)o->max_examples);
	int *ctx = malloc((size_t)N * (K + 1) * sizeof(int));
	if (!ctx)
		return lms_fail(LMS_ENOMEM, "out of memory");
	int *tgt = ctx + (size_t)N * K;
	for (int e = 0; e < N; e++) {
		memcpy(ctx + (size_t)e * K, tokens + (size_t)e * stride, K * sizeof(int));
		tgt[e] = tokens[(size_t)e * stride + K];
	}
	enum lms_status st = lms_importance_examples(m, ctx, tgt, N, o, out);
	free(ctx);
	return st;
}

enum lms_status lms_importance_examples(const struct lms_model *m, const int *ctx, const int *tgt,
                                        int N, const struct lms_importance_opts *o,
                                        struct lms_importance *out)
{
	memset(out, 0, sizeof *out);
	enum lms_status st = check_opts(m, N, o);
	if (st)
		return st;
	int K = o->positions, R = o->repeats, G = o->dim_groups, C = m->cfg.C;
	for (size_t i = 0; i < (size_t)N * K; i++)
		if (ctx[i] < 0 || ctx[i] >= m->cfg.V)
			return lms_fail(LMS_EARG, "token id %d outside the vocabulary (0 to %d)", ctx[i],
			                m->cfg.V - 1);
	for (int e = 0; e < N; e++)
		if (tgt[e] < 0 || tgt[e] >= m->cfg.V)
			return lms_fail(LMS_EARG, "token id %d outside the vocabulary (0 to %d)", tgt[e],
			                m->cfg.V - 1);
	struct job j = {.o = o, .N = N, .K = K, .ctx = ctx, .tgt = tgt};
	int *shuf = malloc(((size_t)N * K + N) * sizeof(int));
	double *xs = malloc((size_t)R * sizeof(double));
	out->offset = calloc((size_t)K, sizeof *out->offset);
	out->group = calloc((size_t)(G ? G : 1), sizeof *out->group);
	out->group_start = calloc((size_t)G + 1, sizeof *out->group_start);
	if (!shuf || !xs || !out->offset || !out->group || !out->group_start) {
		free(shuf);
		free(xs);
		lms_importance_free(out);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	int *perm = shuf + (size_t)N * K;
	st = lms_attrwork_open(&j.w, m, NULL, K, o->batch < N ? o->batch : N);
	if (st) {
		free(shuf);
		free(xs);
		lms_importance_free(out);
		return st;
	}
	int B = j.w.r->B;
	j.total = (long)(1 + (long)(K + G) * R) * ((N + B - 1) / B);
	out->examples = N;
	out->positions = K;
	out->groups = G;
	struct lms_rng g;
	lms_rng_seed(&g, o->seed);
	st = mean_xent(&j, ctx, NULL, 0, 0, &out->xent);
	for (int d = 1; d <= K && !st; d++) {
		int col = K - d;
		for (int i = 0; i < R && !st; i++) {
			shuffle(perm, N, &g);
			memcpy(shuf, ctx, (size_t)N * K * sizeof(int));
			for (int e = 0; e < N; e++)
				shuf[(size_t)e * K + col] = ctx[(size_t)perm[e] * K + col];
			st = mean_xent(&j, shuf, NULL, 0, 0, &xs[i]);
		}
		if (!st)
			summarise(&out->offset[d - 1], xs, out->xent, R);
	}
	for (int q = 0; q <= G; q++)
		out->group_start[q] = G ? (int)((long)q * C / G) : 0;
	for (int q = 0; q < G && !st; q++) {
		for (int i = 0; i < R && !st; i++) {
			shuffle(perm, N, &g);
			st = mean_xent(&j, ctx, perm, out->group_start[q], out->group_start[q + 1], &xs[i]);
		}
		if (!st)
			summarise(&out->group[q], xs, out->xent, R);
	}
	lms_attrwork_close(&j.w);
	free(shuf);
	free(xs);
	if (st)
		lms_importance_free(out);
	return st;
}
