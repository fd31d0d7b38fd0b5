/* Issue 15's causal workloads: the activation-patching sweep (every layer x
 * position for resid_pre, attn_out and mlp_out, and every head) at a given
 * context, on the default model (models/kjv-transformer, run from the
 * repository's root) or a random GPT-2-small-size model (12 layers, 12
 * heads, d=768, V=50257); and the head detectors (a forward over N random
 * tokens repeated twice, then the three scores of every head) on the
 * GPT-2-small-size model. tests/bench/torch_interp.py times the same in
 * PyTorch, one forward per patched site, as hook-based tools do.
 *
 *   bench interp patch kjv|gpt2s CTX
 *   bench interp heads gpt2s N */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "lmscope/clock.h"
#include "lmscope/interp.h"
#include "lmscope/rng.h"

enum { REPS = 5 };

static struct lms_model *model_of(const char *name)
{
	struct lms_model *m = NULL;
	if (!strcmp(name, "kjv")) {
		if (lms_model_load("models/kjv-transformer", &m))
			return NULL;
		return m;
	}
	struct lms_config c = {.arch = LMS_GPT2,
	                       .V = 50257,
	                       .maxT = 1024,
	                       .C = 768,
	                       .H = 3072,
	                       .L = 12,
	                       .NH = 12,
	                       .KV = 12,
	                       .eps = 1e-5f,
	                       .tied = 1};
	if (strcmp(name, "gpt2s") || lms_model_create(&c, 1, &m))
		return NULL;
	return m;
}

/* The two most probable next tokens after ids. */
static void top_two(const struct lms_model *m, const int *ids, int n, int *a, int *b)
{
	struct lms_run *r;
	*a = 0;
	*b = 1;
	if (lms_run_new(m, 1, n, &r))
		return;
	lms_embed(r, ids, n);
	lms_forward(r, 0, n);
	lms_logits(r, 0, n - 1, n);
	const float *x = r->logits + (size_t)(n - 1) * m->cfg.V;
	for (int k = 0; k < m->cfg.V; k++)
		if (x[k] > x[*a]) {
			*b = *a;
			*a = k;
		} else if (k != *a && x[k] > x[*b]) {
			*b = k;
		}
	if (*a == *b)
		*b = *a ? 0 : 1;
	lms_run_free(r);
}

static int patch(struct lms_model *m, const char *name, int n)
{
	int *clean = malloc((size_t)n * sizeof *clean), *corrupt = malloc((size_t)n * sizeof *corrupt);
	struct lms_rng g;
	lms_rng_seed(&g, 3);
	for (int i = 0; i < n; i++)
		clean[i] = corrupt[i] = (int)lms_rng_below(&g, (uint64_t)m->cfg.V);
	corrupt[n / 3] = (clean[n / 3] + 1) % m->cfg.V;
	/* the logit difference of the clean run's two most probable tokens, as
	 * patching experiments measure (random text would often leave both
	 * runs with the same top token and no contrast: LD = log p(target),
	 * which needs every logit of every patched run) */
	int target, contrast;
	top_two(m, clean, n, &target, &contrast);
	/* GPT-2-small's sweep takes long: its median of fewer runs */
	int reps = m->cfg.C > 256 ? 1 : REPS;
	double t[REPS];
	for (int r = 0; r < reps; r++) {
		struct lms_patch_result p;
		double t0 = lms_now();
		if (lms_patch_sweep(m, clean, corrupt, n, target, contrast, &p)) {
			fprintf(stderr, "bench: %s\n", lms_errmsg());
			return 1;
		}
		t[r] = lms_now() - t0;
		lms_patch_result_free(&p);
	}
	char key[64];
	snprintf(key, sizeof key, "patch_all_%s_ctx%d", name, n);
	bench_result(key, 1e3 * bench_median(t, reps), "ms");
	printf("# %d layers x %d positions x 3 sites + %d heads\n", m->cfg.L, n, m->cfg.L * m->cfg.NH);
	free(clean);
	free(corrupt);
	return 0;
}

static int heads(struct lms_model *m, const char *name, int N)
{
	int n = 2 * N, *ids = malloc((size_t)n * sizeof *ids);
	lms_repeated_tokens(ids, N, m->cfg.V, 1);
	struct lms_run *r;
	if (lms_run_new(m, 1, n, &r)) {
		fprintf(stderr, "bench: %s\n", lms_errmsg());
		return 1;
	}
	double t[REPS];
	for (int k = 0; k < REPS; k++) {
		struct lms_head_scores s;
		double t0 = lms_now();
		lms_embed(r, ids, n);
		lms_forward(r, 0, n);
		if (lms_head_scores_compute(r, ids, n, &s)) {
			fprintf(stderr, "bench: %s\n", lms_errmsg());
			return 1;
		}
		t[k] = lms_now() - t0;
		lms_head_scores_free(&s);
	}
	char key[64];
	snprintf(key, sizeof key, "heads_%s_n%d", name, N);
	bench_result(key, 1e3 * bench_median(t, REPS), "ms");
	lms_run_free(r);
	free(ids);
	return 0;
}

int bench_interp(int argc, char **argv)
{
	if (argc < 4 || (strcmp(argv[1], "patch") && strcmp(argv[1], "heads"))) {
		fprintf(stderr, "usage: bench interp patch kjv|gpt2s CTX | heads gpt2s N\n");
		return 2;
	}
	struct lms_model *m = model_of(argv[2]);
	int n = atoi(argv[3]);
	if (!m || n < 1) {
		fprintf(stderr, "bench: cannot make the model %s: %s\n", argv[2], lms_errmsg());
		return 1;
	}
	int rc = !strcmp(argv[1], "patch") ? patch(m, argv[2], n) : heads(m, argv[2], n);
	lms_model_free(m);
	return rc;
}
