/* Issue 13's Hugging Face Llama workloads, on random BF16 checkpoints of
 * real models' shapes (tests/bench/make_hf_llama.py writes them):
 *
 *   bench hf-llama NAME DIR
 *
 * load time and resident memory (the weights stay BF16, memory-mapped),
 * the explorer's keystroke-to-candidates at context 64 (the appended
 * position's forward with prefix reuse, then its logits), the saliency at
 * context 64 (the whole forward, log p(argmax) and the backward to the
 * inputs: the explorer's full update), and greedy generation. Keys are
 * prefixed with NAME. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bench.h"
#include "lmscope/clock.h"
#include "lmscope/model.h"

enum { REPS = 5, CTX = 64, GEN = 32 };

static void result(const char *name, const char *key, double v, const char *unit)
{
	char k[96];
	snprintf(k, sizeof k, "%s_%s", name, key);
	bench_result(k, v, unit);
}

int bench_hf_llama(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench hf-llama NAME DIR\n");
		return 2;
	}
	const char *name = argv[1], *dir = argv[2];
	struct lms_model *m;
	double t0 = lms_now();
	if (lms_model_load(dir, &m)) {
		fprintf(stderr, "bench hf-llama: %s\n", lms_errmsg());
		return 2;
	}
	result(name, "load_s", lms_now() - t0, "s");
	result(name, "weights_file", (double)m->stored_bytes / 1048576.0, "MB");
	result(name, "rss_after_load", (double)bench_peak_rss_kb() / 1024, "MB");
	const struct lms_config *c = &m->cfg;
	struct lms_run *r;
	if (lms_run_new(m, 1, CTX, &r))
		return 2;
	int ids[CTX];
	for (int i = 0; i < CTX; i++)
		ids[i] = (int)((i * 7919L + 13) % c->V);

	double tk[REPS], ts[REPS], ck[REPS], cs[REPS];
	lms_embed(r, ids, CTX);
	lms_forward(r, 0, CTX);
	for (int k = 0; k < REPS; k++) {
		/* keystroke: one appended position, its candidates */
		t0 = lms_now();
		double c0 = bench_process_cpu();
		lms_embed(r, ids, CTX);
		lms_forward(r, CTX - 1, CTX);
		lms_logits(r, 0, CTX - 1, CTX);
		int tg = bench_argmax(r->logits + (size_t)(CTX - 1) * c->V, c->V);
		tk[k] = lms_now() - t0;
		ck[k] = bench_process_cpu() - c0;
		/* full update with saliency */
		t0 = lms_now();
		c0 = bench_process_cpu();
		lms_embed(r, ids, CTX);
		lms_forward(r, 0, CTX);
		lms_objective_logprob(r, 0, CTX - 1, tg, -1, 0);
		lms_backward(r, LMS_GRAD_INPUT);
		ts[k] = lms_now() - t0;
		cs[k] = bench_process_cpu() - c0;
	}
	/* wall clock, and CPU time (every thread): on a shared machine the
	 * wall clock also counts other programs' turns */
	result(name, "keystroke_ctx64_ms", 1e3 * bench_best(tk, REPS), "ms");
	result(name, "keystroke_ctx64_cpu_ms", 1e3 * bench_best(ck, REPS), "ms");
	result(name, "saliency_ctx64_ms", 1e3 * bench_best(ts, REPS), "ms");
	result(name, "saliency_ctx64_cpu_ms", 1e3 * bench_best(cs, REPS), "ms");

	/* greedy generation after the 64 positions' prefix, KV cache */
	int seq[CTX];
	memcpy(seq, ids, sizeof ids);
	t0 = lms_now();
	int n0 = CTX - GEN;
	lms_embed(r, seq, n0);
	lms_forward(r, 0, n0);
	for (int len = n0; len < CTX; len++) {
		lms_logits(r, 0, len - 1, len);
		seq[len] = bench_argmax(r->logits + (size_t)(len - 1) * c->V, c->V);
		lms_embed(r, seq, len + 1);
		lms_forward(r, len, len + 1);
	}
	double tg = lms_now() - t0;
	result(name, "generate_tokens_per_s", GEN / tg, "tok/s");
	result(name, "peak_rss", (double)bench_peak_rss_kb() / 1024, "MB");
	lms_run_free(r);
	lms_model_free(m);
	return 0;
}
