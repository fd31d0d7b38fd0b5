/* Evaluation throughput at GPT-2 small's shape (12 layers, 12 heads,
 * d=768, vocabulary 50257, tied output) with random weights: lms_eval_stream
 * over random tokens in windows of CTX with stride CTX - 1 (each token
 * scored once) and batch B, as `lmscope eval --stride 63 --batch 8` runs.
 * tests/bench/torch_eval.py times the same model shape, windows and batch.
 *
 *   bench eval gpt2-small [CTX [B [WINDOWS]]]   defaults 64, 8, 32 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "lmscope/clock.h"
#include "lmscope/eval.h"
#include "lmscope/model.h"
#include "lmscope/rng.h"

int bench_eval(int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "gpt2-small")) {
		fprintf(stderr, "usage: bench eval gpt2-small [CTX [B [WINDOWS]]]\n");
		return 2;
	}
	int T = argc > 2 ? atoi(argv[2]) : 64, B = argc > 3 ? atoi(argv[3]) : 8;
	int windows = argc > 4 ? atoi(argv[4]) : 32;
	struct lms_config c = {0};
	c.arch = LMS_GPT2;
	c.V = 50257;
	c.maxT = 1024;
	c.C = 768;
	c.H = 4 * c.C;
	c.L = 12;
	c.NH = c.KV = 12;
	c.eps = 1e-5f;
	c.tied = 1;
	if (T < 2 || T > c.maxT || B < 1 || windows < 1) {
		fprintf(stderr, "bench: bad context, batch or window count\n");
		return 2;
	}
	struct lms_model *m = NULL;
	struct lms_run *r = NULL;
	if (lms_model_create(&c, 1, &m) || lms_run_new(m, B, T, &r)) {
		fprintf(stderr, "bench: %s\n", lms_errmsg());
		lms_model_free(m);
		return 1;
	}
	/* windows of T with stride T - 1 over n tokens: n = windows (T - 1) + 1 */
	size_t n = (size_t)windows * (T - 1) + 1;
	int *ids = malloc(n * sizeof *ids);
	struct lms_rng g;
	lms_rng_seed(&g, 3);
	for (size_t i = 0; i < n; i++)
		ids[i] = (int)lms_rng_below(&g, (uint64_t)c.V);
	/* one batch first, untimed: page faults of the buffers */
	struct lms_eval warm = {0}, acc = {0};
	lms_eval_stream(r, ids, (size_t)B * (T - 1) + 1, T - 1, &warm, NULL, NULL);
	double t0 = lms_now();
	enum lms_status st = lms_eval_stream(r, ids, n, T - 1, &acc, NULL, NULL);
	double dt = lms_now() - t0;
	if (st)
		fprintf(stderr, "bench: %s\n", lms_errmsg());
	else
		bench_result("eval_gpt2small", (double)acc.targets / dt, "tok/s");
	free(ids);
	lms_run_free(r);
	lms_model_free(m);
	return st ? 1 : 0;
}
