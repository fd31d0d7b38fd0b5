/* Issue 2's engine workloads: forward, keystroke update (forward with prefix
 * reuse + saliency backward) and full forward + backward-to-inputs, for the
 * benchmark GPT-2 (4 layers, 4 heads, d=256, V=8192) and LSTM (2 layers,
 * d=256, V=8192); and the sgemm rate OpenBLAS reaches here.
 *
 *   bench engine sgemm
 *   bench engine gpt2|lstm CTX */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "bench.h"
#include "lmscope/clock.h"
#include "lmscope/model.h"
#include "lmscope/rng.h"

enum { REPS = 30 };

static int bench_sgemm(void)
{
	int n = 1024;
	float *a = calloc((size_t)n * n, sizeof *a), *b = calloc((size_t)n * n, sizeof *b),
		  *c = calloc((size_t)n * n, sizeof *c);
	for (int i = 0; i < n * n; i++)
		a[i] = b[i] = (float)(i % 7) * 0.1f;
	double t[5];
	for (int r = 0; r < 5; r++) {
		double t0 = lms_now();
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n, b, n, 0.0f, c,
		            n);
		t[r] = lms_now() - t0;
	}
	bench_result("sgemm_1024_gflops", 2.0 * n * n * n / bench_median(t, 5) / 1e9, "GFLOP/s");
	free(a);
	free(b);
	free(c);
	return 0;
}

static struct lms_config bench_config(const char *arch)
{
	struct lms_config c = {0};
	c.V = 8192;
	c.C = 256;
	c.L = strcmp(arch, "gpt2") ? 2 : 4;
	c.maxT = 1024;
	if (!strcmp(arch, "gpt2")) {
		c.arch = LMS_GPT2;
		c.H = 4 * c.C;
		c.NH = c.KV = 4;
		c.eps = 1e-5f;
		c.tied = 1;
	} else {
		c.arch = LMS_LSTM;
		c.H = 256;
	}
	return c;
}

/* One keystroke's saliency: log p(argmax) at the last position, backward to
 * the inputs only. */
static void saliency(struct lms_run *r, int n)
{
	lms_logits(r, 0, n - 1, n);
	const float *x = r->logits + (size_t)(n - 1) * r->m->cfg.V;
	int best = 0;
	for (int k = 1; k < r->m->cfg.V; k++)
		if (x[k] > x[best])
			best = k;
	lms_objective_logprob(r, 0, n - 1, best, -1, LMS_GRAD_INPUT | LMS_LOGITS_READY);
	lms_backward(r, LMS_GRAD_INPUT);
}

int bench_engine(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "sgemm"))
		return bench_sgemm();
	if (argc < 3) {
		fprintf(stderr, "usage: bench engine sgemm | gpt2|lstm CTX\n");
		return 2;
	}
	const char *arch = argv[1];
	int n = atoi(argv[2]);
	struct lms_config c = bench_config(arch);
	struct lms_model *m;
	struct lms_run *r;
	if (lms_model_create(&c, 1, &m) || lms_run_new(m, 1, n, &r)) {
		fprintf(stderr, "bench: %s\n", lms_errmsg());
		return 1;
	}
	int *ids = malloc(sizeof(int) * n);
	struct lms_rng g;
	lms_rng_seed(&g, 7);
	for (int i = 0; i < n; i++)
		ids[i] = (int)lms_rng_below(&g, c.V);
	double fwd[REPS], full[REPS], key[REPS];
	for (int rep = 0; rep < REPS; rep++) {
		double t0 = lms_now();
		lms_embed(r, ids, n);
		lms_forward(r, 0, n);
		lms_logits(r, 0, n - 1, n);
		fwd[rep] = lms_now() - t0;

		t0 = lms_now();
		lms_embed(r, ids, n);
		lms_forward(r, 0, n);
		saliency(r, n);
		full[rep] = lms_now() - t0;

		/* the explorer's keystroke: the first n - 1 positions are
		 * unchanged, the last token is new */
		lms_embed(r, ids, n);
		lms_forward(r, 0, n - 1);
		t0 = lms_now();
		lms_embed(r, ids, n);
		lms_forward(r, n - 1, n);
		saliency(r, n);
		key[rep] = lms_now() - t0;
	}
	char k[64];
	snprintf(k, sizeof k, "%s_ctx%d_forward", arch, n);
	bench_result(k, 1e3 * bench_median(fwd, REPS), "ms");
	snprintf(k, sizeof k, "%s_ctx%d_fwd_bwd_full", arch, n);
	bench_result(k, 1e3 * bench_median(full, REPS), "ms");
	snprintf(k, sizeof k, "%s_ctx%d_keystroke", arch, n);
	bench_result(k, 1e3 * bench_median(key, REPS), "ms");
	snprintf(k, sizeof k, "%s_ctx%d_peak_rss", arch, n);
	bench_result(k, bench_peak_rss_kb() / 1024.0, "MiB");
	free(ids);
	lms_run_free(r);
	lms_model_free(m);
	return 0;
}
