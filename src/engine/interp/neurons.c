/* MLP neuron statistics over a corpus (lmscope/interp.h): per neuron of one
 * layer its mean, variance and strongest activations, and the file that
 * keeps a pass for next time. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "lmscope/atomic.h"
#include "lmscope/interp.h"
#include "lmscope/tokenizer.h"

#define MAX_WINDOW 256

const float *lms_run_neurons(const struct lms_run *r, int l, int *H)
{
	const struct lms_config *c = &r->m->cfg;
	const struct lms_arch_ops *ops = lms_arch_ops(c->arch);
	if (!ops->block || l < 0 || l >= c->L)
		return NULL;
	struct lms_block_acts b;
	ops->block(r, l, 0, &b);
	*H = c->H;
	return b.neurons ? b.neurons : ops->neurons(r, l, 0);
}

static enum lms_status alloc_stats(struct lms_neuron_stats *s, int layer, int H, int K)
{
	memset(s, 0, sizeof *s);
	s->layer = layer;
	s->H = H;
	s->K = K;
	s->mean = calloc((size_t)H, sizeof(double));
	s->var = calloc((size_t)H, sizeof(double));
	s->top = malloc((size_t)H * K * sizeof *s->top);
	if (!s->mean || !s->var || !s->top) {
		lms_neuron_stats_free(s);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < (size_t)H * K; i++)
		s->top[i] = (struct lms_neuron_hit){-INFINITY, -1};
	return LMS_OK;
}

/* Inserts (v, offset) into a list of K hits, highest first, if it belongs. */
static void keep_top(struct lms_neuron_hit *top, int K, float v, long offset)
{
	if (!(v > top[K - 1].value))
		return;
	int i = K - 1;
	while (i > 0 && top[i - 1].value < v) {
		top[i] = top[i - 1];
		i--;
	}
	top[i] = (struct lms_neuron_hit){v, offset};
}

/* Adds a window's activations act (len, H) at corpus offset off0; sums of
 * x and x^2 go to s->mean and s->var until the pass ends. */
static void add_window(struct lms_neuron_stats *s, const float *act, int len, long off0)
{
	for (int t = 0; t < len; t++) {
		const float *a = act + (size_t)t * s->H;
		for (int i = 0; i < s->H; i++) {
			s->mean[i] += a[i];
			s->var[i] += (double)a[i] * a[i];
			keep_top(s->top + (size_t)i * s->K, s->K, a[i], off0 + t);
		}
	}
	s->count += len;
}

enum lms_status lms_neuron_pass(const struct lms_model *m, const int *tokens, long ntok, int l,
                                int K, lms_progress_fn progress, void *ctx,
                                struct lms_neuron_stats *out)
{
	const struct lms_config *c = &m->cfg;
	memset(out, 0, sizeof *out);
	if (!lms_arch_ops(c->arch)->block)
		return lms_fail(LMS_EUNSUPPORTED, "%s models have no MLP neurons", lms_arch_name(c->arch));
	if (l < 0 || l >= c->L)
		return lms_fail(LMS_EARG, "layer %d outside 0 to %d", l, c->L - 1);
	if (K < 1 || ntok < 1)
		return lms_fail(LMS_EARG, "neuron pass: nothing to do (%ld tokens, top %d)", ntok, K);
	int T = c->maxT < MAX_WINDOW ? c->maxT : MAX_WINDOW;
	struct lms_run *r;
	enum lms_status st = lms_run_new(m, 1, T, &r);
	if (st)
		return st;
	st = alloc_stats(out, l, c->H, K);
	long windows = (ntok + T - 1) / T;
	for (long w = 0; !st && w < windows; w++) {
		long off = w * T;
		int len = ntok - off < T ? (int)(ntok - off) : T;
		st = lms_embed(r, tokens + off, len);
		if (st)
			break;
		lms_forward(r, 0, len);
		int H;
		add_window(out, lms_run_neurons(r, l, &H), len, off);
		if (progress && progress(ctx, w + 1, windows))
			st = lms_fail(LMS_EINTR, "neuron pass interrupted");
	}
	lms_run_free(r);
	if (st) {
		lms_neuron_stats_free(out);
		return st;
	}
	for (int i = 0; i < out->H; i++) {
		double mu = out->mean[i] / out->count;
		out->mean[i] = mu;
		out->var[i] = fmax(0.0, out->var[i] / out->count - mu * mu);
	}
	return LMS_OK;
}

void lms_neuron_stats_free(struct lms_neuron_stats *s)
{
	free(s->mean);
	free(s->var);
	free(s->top);
	s->mean = s->var = NULL;
	s->top = NULL;
}

/* ---- the cache file --------------------------------------------------------
 * "LMSNEUR1", then int64 key, layer, H, K, count; then H doubles of mean, H
 * of var, and H K (float value, int64 offset) pairs; little-endian as the
 * machine writes them (the cache is local to where it was made). */

static const char MAGIC[8] = "LMSNEUR1";

struct header {
	char magic[8];
	int64_t key, layer, H, K, count;
};

enum lms_status lms_neuron_stats_save(const struct lms_neuron_stats *s, unsigned long long key,
                                      const char *path)
{
	struct header h = {
		.key = (int64_t)key, .layer = s->layer, .H = s->H, .K = s->K, .count = s->count};
	memcpy(h.magic, MAGIC, sizeof MAGIC);
	size_t HK = (size_t)s->H * s->K;
	struct lms_atomic a;
	enum lms_status st = lms_atomic_open(&a, path);
	if (st)
		return st;
	st = lms_atomic_put(&a, &h, sizeof h);
	if (!st)
		st = lms_atomic_put(&a, s->mean, (size_t)s->H * sizeof(double));
	if (!st)
		st = lms_atomic_put(&a, s->var, (size_t)s->H * sizeof(double));
	for (size_t i = 0; !st && i < HK; i++) {
		float v = s->top[i].value;
		int64_t off = s->top[i].offset;
		st = lms_atomic_put(&a, &v, sizeof v);
		if (!st)
			st = lms_atomic_put(&a, &off, sizeof off);
	}
	if (!st)
		return lms_atomic_commit(&a);
	lms_atomic_abort(&a);
	return st;
}

static int read_all(FILE *f, void *p, size_t n)
{
	return fread(p, 1, n, f) == n;
}

enum lms_status lms_neuron_stats_load(struct lms_neuron_stats *s, unsigned long long key, int layer,
                                      int H, int K, const char *path)
{
	memset(s, 0, sizeof *s);
	FILE *f = fopen(path, "rb");
	if (!f)
		return lms_fail(LMS_EIO, "%s: cannot open", path);
	struct header h;
	enum lms_status st = LMS_OK;
	if (!read_all(f, &h, sizeof h) || memcmp(h.magic, MAGIC, sizeof MAGIC) ||
	    h.key != (int64_t)key || h.layer != layer || h.H != H || h.K != K || h.count < 1)
		st = lms_fail(LMS_EFORMAT, "%s: not a neuron cache of this model, corpus and layer", path);
	if (!st)
		st = alloc_stats(s, layer, H, K);
	if (!st && (!read_all(f, s->mean, (size_t)H * sizeof(double)) ||
	            !read_all(f, s->var, (size_t)H * sizeof(double))))
		st = lms_fail(LMS_EFORMAT, "%s: truncated", path);
	for (size_t i = 0; !st && i < (size_t)H * K; i++) {
		float v;
		int64_t off;
		if (!read_all(f, &v, sizeof v) || !read_all(f, &off, sizeof off))
			st = lms_fail(LMS_EFORMAT, "%s: truncated", path);
		s->top[i] = (struct lms_neuron_hit){v, (long)off};
	}
	fclose(f);
	if (st)
		lms_neuron_stats_free(s);
	else
		s->count = (long)h.count;
	return st;
}

/* ---- naming a corpus and its cache ------------------------------------------- */

/* FNV-1a's loop, from a basis one digit short of FNV's own
 * (14695981039346656037): the caches written so far are named with it. */
unsigned long long lms_neuron_corpus_key(const int *ids, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		uint32_t v = (uint32_t)ids[i];
		for (int b = 0; b < 4; b++) {
			h ^= (v >> (8 * b)) & 0xff;
			h *= 1099511628211ull;
		}
	}
	return h;
}

enum lms_status lms_neuron_cache_path(const char *model, int layer, int K, unsigned long long key,
                                      char **out)
{
	size_t len = strlen(model);
	while (len > 1 && model[len - 1] == '/')
		len--;
	if (asprintf(out, "%.*s.neurons-l%d-k%d-%016llx", (int)len, model, layer, K, key) < 0) {
		*out = NULL;
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	return LMS_OK;
}

enum lms_status lms_neuron_context(const struct lms_tokenizer *tok, const int *ids, long offset,
                                   int max_tokens, char **out)
{
	long from = offset + 1 > max_tokens ? offset + 1 - max_tokens : 0;
	enum lms_status st =
		lms_tokenizer_decode(tok, ids + from, (size_t)(offset + 1 - from), out, NULL);
	if (st)
		return st;
	for (char *p = *out; *p; p++)
		if (*p == '\n' || *p == '\t' || *p == '\r')
			*p = ' ';
	return LMS_OK;
}
