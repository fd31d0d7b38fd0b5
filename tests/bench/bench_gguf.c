/* GGUF models of real shapes with random weights (issue 13):
 *
 *   bench gguf-make OUT.gguf SHAPE TYPE   writes a Llama of SHAPE
 *                                         (tinyllama: 22 layers, d 2048, FFN
 *                                         5632, 32 heads, 4 KV heads, V 32000;
 *                                         smollm2: 30 layers, d 576, FFN 1536,
 *                                         9 heads, 3 KV heads, V 49152) with
 *                                         N(0, 0.02) weights stored as TYPE
 *                                         (Q4_K_M, Q8_0, ...), context 256
 *   bench gguf FILE.gguf NAME             load time, resident memory against
 *                                         the file size, the explorer's
 *                                         keystroke-to-candidates at context
 *                                         64 (the appended position, prefix
 *                                         reused, and its logits) and the full
 *                                         update with saliency (64 positions
 *                                         forward, backward to the inputs)
 *
 * Results are keyed gguf_NAME_*; tests/bench/torch_gguf.py times the same
 * workloads in PyTorch on float32 weights of the same shape. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arch/arch.h"
#include "bench.h"
#include "io/gguf.h"
#include "lmscope/clock.h"
#include "lmscope/gguf.h"
#include "lmscope/model.h"
#include "lmscope/rng.h"

enum { CTX = 64, REPS = 5 };

static double best(const double *x, int n)
{
	double b = x[0];
	for (int i = 1; i < n; i++)
		b = x[i] < b ? x[i] : b;
	return b;
}

static int shape_of(const char *name, struct lms_config *c)
{
	memset(c, 0, sizeof *c);
	c->arch = LMS_LLAMA;
	c->eps = 1e-5f;
	c->rope_theta = 10000.0f;
	/* the engine allocates every layer's attention for the whole context
	 * (the explorer keeps them): 2048 positions of TinyLlama would need
	 * 28 GiB, so the files say 256 */
	c->maxT = 256;
	if (!strcmp(name, "tinyllama")) {
		c->L = 22, c->C = 2048, c->H = 5632, c->NH = 32, c->KV = 4, c->V = 32000;
		return 0;
	}
	if (!strcmp(name, "smollm2")) {
		c->L = 30, c->C = 576, c->H = 1536, c->NH = 9, c->KV = 3, c->V = 49152, c->tied = 1;
		return 0;
	}
	return -1;
}

/* Every tensor of the shape over one buffer of random values (random
 * weights need not differ between tensors), written as type. */
static int make(int argc, char **argv)
{
	struct lms_config c;
	if (argc < 4 || shape_of(argv[2], &c) || !lms_gguf_type_known(argv[3])) {
		fprintf(stderr, "usage: bench gguf-make OUT.gguf tinyllama|smollm2 TYPE\n");
		return 2;
	}
	struct lms_model *m;
	if (lms_model_alloc_table(&c, &m))
		return 2;
	size_t most = 0;
	for (int i = 0; i < m->n_tensors; i++)
		most = m->tensors[i].numel > most ? m->tensors[i].numel : most;
	float *buf = malloc(most * sizeof(float));
	struct lms_rng g;
	lms_rng_seed(&g, 1);
	for (size_t k = 0; k < most; k++)
		buf[k] = 0.02f * lms_rng_normal(&g);
	/* every tensor starts at offset 0 of buf (norms included: timing only) */
	for (int i = 0; i < m->n_tensors; i++)
		m->tensors[i].offset = 0;
	m->params = buf;
	double t0 = lms_now();
	enum lms_status st = lms_gguf_save(m, argv[1], argv[3]);
	if (st)
		fprintf(stderr, "bench gguf-make: %s\n", lms_errmsg());
	else
		printf("%s: %s %s written in %.1f s\n", argv[1], argv[2], argv[3], lms_now() - t0);
	m->params = NULL;
	lms_model_free(m);
	free(buf);
	return st ? 1 : 0;
}

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * 4;
}

static int argmax(const float *x, int n)
{
	int b = 0;
	for (int i = 1; i < n; i++)
		b = x[i] > x[b] ? i : b;
	return b;
}

static int run(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench gguf FILE.gguf NAME\n");
		return 2;
	}
	const char *name = argv[2];
	struct stat sb;
	if (stat(argv[1], &sb))
		return 2;
	char key[96];
	double t0 = lms_now();
	struct lms_model *m;
	if (lms_gguf_load(argv[1], &m, NULL)) {
		fprintf(stderr, "bench gguf: %s\n", lms_errmsg());
		return 2;
	}
	double load = lms_now() - t0;
	struct lms_run *r;
	if (lms_run_new(m, 1, CTX, &r))
		return 2;
	int ids[CTX], V = m->cfg.V;
	for (int i = 0; i < CTX; i++)
		ids[i] = (i * 7919 + 13) % V;
	double tk[REPS], tf[REPS], ck[REPS], cf[REPS];
	lms_embed(r, ids, CTX);
	lms_forward(r, 0, CTX); /* pages the weights in */
	for (int k = 0; k < REPS; k++) {
		double t1 = lms_now(), c1 = bench_process_cpu();
		lms_embed(r, ids, CTX);
		lms_forward(r, CTX - 1, CTX);
		lms_logits(r, 0, CTX - 1, CTX);
		tk[k] = lms_now() - t1;
		ck[k] = bench_process_cpu() - c1;
		int tg = argmax(r->logits + (size_t)(CTX - 1) * V, V);
		t1 = lms_now();
		c1 = bench_process_cpu();
		lms_embed(r, ids, CTX);
		lms_forward(r, 0, CTX);
		lms_objective_logprob(r, 0, CTX - 1, tg, -1, LMS_GRAD_INPUT);
		lms_backward(r, LMS_GRAD_INPUT);
		tf[k] = lms_now() - t1;
		cf[k] = bench_process_cpu() - c1;
	}
	long rss = rss_kb();
	snprintf(key, sizeof key, "gguf_%s_load_s", name);
	bench_result(key, load, "s");
	snprintf(key, sizeof key, "gguf_%s_file", name);
	bench_result(key, (double)sb.st_size / (1 << 20), "MB");
	snprintf(key, sizeof key, "gguf_%s_rss", name);
	bench_result(key, (double)rss / 1024, "MB");
	snprintf(key, sizeof key, "gguf_%s_rss_over_file", name);
	bench_result(key, (double)rss * 1024 / (double)sb.st_size, "x");
	snprintf(key, sizeof key, "gguf_%s_keystroke_ctx64_ms", name);
	bench_result(key, 1e3 * best(tk, REPS), "ms");
	snprintf(key, sizeof key, "gguf_%s_saliency_ctx64_ms", name);
	bench_result(key, 1e3 * best(tf, REPS), "ms");
	/* CPU time (every thread): on a shared machine the wall clock also
	 * counts other programs' turns */
	snprintf(key, sizeof key, "gguf_%s_keystroke_ctx64_cpu_ms", name);
	bench_result(key, 1e3 * best(ck, REPS), "ms");
	snprintf(key, sizeof key, "gguf_%s_saliency_ctx64_cpu_ms", name);
	bench_result(key, 1e3 * best(cf, REPS), "ms");
	lms_run_free(r);
	lms_model_free(m);
	return 0;
}

int bench_gguf(int argc, char **argv)
{
	return argc > 1 && !strcmp(argv[0], "gguf-make") ? make(argc, argv) : run(argc, argv);
}
