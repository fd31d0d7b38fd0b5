/* Issue 6's attribution workloads on the benchmark GPT-2 (4 layers, 4 heads,
 * d=256, V=8192, random weights): integrated gradients with 32 steps and
 * lime with 256 samples, at a given context, each in a work run allocated
 * once beforehand as the explorer does. tests/bench/torch_attribution.py
 * times the same model evaluations in PyTorch.
 *
 *   bench attribution ig|lime CTX */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "lmscope/clock.h"
#include "lmscope/attribution.h"
#include "lmscope/rng.h"

enum { ATTR_REPS = 7 };

int bench_attribution(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[1], "ig") && strcmp(argv[1], "lime"))) {
		fprintf(stderr, "usage: bench attribution ig|lime CTX\n");
		return 2;
	}
	int ig = !strcmp(argv[1], "ig"), n = atoi(argv[2]);
	struct lms_config c = {.arch = LMS_GPT2,
	                       .V = 8192,
	                       .maxT = 1024,
	                       .C = 256,
	                       .H = 1024,
	                       .L = 4,
	                       .NH = 4,
	                       .KV = 4,
	                       .eps = 1e-5f,
	                       .tied = 1};
	struct lms_model *m;
	if (n < 1 || n > c.maxT || lms_model_create(&c, 1, &m)) {
		fprintf(stderr, "bench: cannot create the model: %s\n", lms_errmsg());
		return 1;
	}
	int *ids = malloc((size_t)n * sizeof *ids);
	struct lms_rng g;
	lms_rng_seed(&g, 2);
	for (int i = 0; i < n; i++)
		ids[i] = (int)lms_rng_below(&g, c.V);
	struct lms_attr_opts o;
	lms_attr_opts_default(&o);
	o.method = ig ? LMS_ATTR_INTEGRATED_GRADIENTS : LMS_ATTR_LIME;
	o.ig_steps = 32;
	o.lime_samples = 256;
	o.replace_id = 0;
	int rows = ig ? o.ig_steps + 2 : 64;
	if (lms_run_new(m, rows, n, &o.run)) {
		fprintf(stderr, "bench: %s\n", lms_errmsg());
		return 1;
	}
	float *scores = malloc((size_t)n * sizeof *scores);
	double t[ATTR_REPS];
	struct lms_attr_info info;
	for (int r = 0; r < ATTR_REPS; r++) {
		double t0 = lms_now();
		if (lms_attribute(m, ids, n, 17, -1, &o, scores, &info)) {
			fprintf(stderr, "bench: %s\n", lms_errmsg());
			return 1;
		}
		t[r] = lms_now() - t0;
	}
	char key[64];
	snprintf(key, sizeof key, "attr_%s_ctx%d", ig ? "ig32" : "lime256", n);
	bench_result(key, 1e3 * bench_median(t, ATTR_REPS), "ms");
	if (ig) {
		snprintf(key, sizeof key, "attr_ig32_ctx%d_gap", n);
		printf("# completeness gap %.3g (f %.4f, f(baseline) %.4f)\n", info.gap, info.f,
		       info.f_baseline);
	} else {
		printf("# lime: lambda %.3g, R^2 %.3f, %d nonzero\n", info.lambda, info.r2, info.nonzero);
	}
	lms_run_free(o.run);
	free(scores);
	free(ids);
	lms_model_free(m);
	return 0;
}
