/* Issue 5's explorer workloads: the engine thread's update for one
 * keystroke (tokens -> forward with prefix reuse -> logits and surprisal ->
 * top-k -> saliency backward -> attention / lens extraction -> copy into a
 * view), exactly as the explorer's worker runs it, at a given context.
 *
 *   bench explorer MODEL_DIR CTX     a model directory (the default model)
 *   bench explorer gpt2-small CTX    GPT-2 small's shape, random weights
 *   bench explorer default-shape CTX the default model's shape, random weights
 *
 * Reports the median keystroke update (one token appended: prefix reuse),
 * the median full update (first token changed: nothing reusable), each
 * without the logit lens, the time to candidates of each (from the start of
 * the update until the new next-token list is published, as the explorer's
 * status line shows it), the lens's own time (the update's last phase,
 * dropped when a newer keystroke arrives) and the peak resident memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tui/tui.h"
#include "tui/engine.h"
#include "bench.h"
#include "lmscope/clock.h"
#include "lmscope/model.h"
#include "lmscope/rng.h"

enum { REPS = 21 };

/* GPT-2 small's shape, or (small != 0) the default model's shape (`make
 * models`: 4 layers, 4 heads, d=128, a 16384-word vocabulary, context 64),
 * a stand-in with random weights until models/kjv-transformer exists. */
static struct lms_config gpt2_config(int small)
{
	struct lms_config c = {0};
	c.arch = LMS_GPT2;
	c.V = small ? 16384 : 50257;
	c.maxT = small ? 64 : 1024;
	c.C = small ? 128 : 768;
	c.H = 4 * c.C;
	c.L = small ? 4 : 12;
	c.NH = c.KV = small ? 4 : 12;
	c.eps = 1e-5f;
	c.tied = 1;
	return c;
}

/* The context as the explorer without a tokenizer takes it: ids as text. */
static void ids_text(struct tui_request *rq, const int *ids, int n)
{
	size_t cap = (size_t)n * 12 + 1, k = 0;
	char *t = malloc(cap);
	for (int i = 0; i < n; i++)
		k += (size_t)snprintf(t + k, cap - k, "%d ", ids[i]);
	tui_request_set_text(rq, t, k);
	free(t);
}

/* Wall time of one update; *cpu gets this thread's CPU time for it, which
 * on a busy machine says what the update costs when it has a core (with
 * OPENBLAS_NUM_THREADS=1 all of the work is on this thread). */
static double update(struct tui_engine *e, struct tui_request *rq, struct tui_view *out,
                     double *cpu)
{
	double c0 = bench_thread_cpu(), t0 = lms_now();
	tui_engine_update(e, rq, NULL);
	tui_engine_publish(e, out);
	double t = lms_now() - t0;
	if (cpu)
		*cpu = bench_thread_cpu() - c0;
	return t;
}

int bench_explorer(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench explorer MODEL_DIR|gpt2-small|default-shape CTX\n");
		return 2;
	}
	const char *name = argv[1];
	int n = atoi(argv[2]);
	lms_set_threads(0); /* as the explorer's main does */
	struct lms_model *m = NULL;
	enum lms_status st;
	if (!strcmp(name, "gpt2-small") || !strcmp(name, "default-shape")) {
		struct lms_config c = gpt2_config(!strcmp(name, "default-shape"));
		st = lms_model_create(&c, 1, &m);
	} else {
		st = lms_model_load(name, &m);
	}
	if (st) {
		fprintf(stderr, "bench: %s\n", lms_errmsg());
		return 1;
	}
	if (n < 2 || n > m->cfg.maxT) {
		fprintf(stderr, "bench: context %d does not fit (2 to %d)\n", n, m->cfg.maxT);
		lms_model_free(m);
		return 2;
	}
	/* without a tokenizer the explorer reads ids: the same work minus BPE */
	struct tui_model tm = {.m = m, .tok = NULL, .path = name};
	struct tui_engine e;
	if ((st = tui_engine_open(&e, &tm))) {
		fprintf(stderr, "bench: %s\n", lms_errmsg());
		lms_model_free(m);
		return 1;
	}
	struct tui_request rq = {0};
	rq.lens_pos = -1; /* the lens at the last position */
	rq.target = rq.contrast = -1;
	struct tui_view out = {0};
	int *ids = malloc(sizeof(int) * (size_t)n);
	struct lms_rng g;
	lms_rng_seed(&g, 7);
	for (int i = 0; i < n; i++)
		ids[i] = (int)lms_rng_below(&g, (uint64_t)m->cfg.V);
	int reps = n > 256 ? 3 : REPS;
	double key[REPS], key_cpu[REPS], full[REPS], lens[REPS], key_cand[REPS], full_cand[REPS];
	double full_dla[REPS];
	for (int rep = 0; rep < reps; rep++) {
		/* a keystroke that appends the n-th token to n - 1 computed ones:
		 * forward, logits, surprisal, top-k, saliency backward, attention */
		rq.need_lens = 0;
		ids_text(&rq, ids, n - 1);
		update(&e, &rq, &out, NULL);
		ids_text(&rq, ids, n);
		key[rep] = update(&e, &rq, &out, &key_cpu[rep]);
		key_cand[rep] = out.cand_ms * 1e-3;
		/* then the logit lens of every layer, the update's last phase */
		rq.need_lens = 1;
		lens[rep] = update(&e, &rq, &out, NULL);
		/* a change at the start: nothing can be reused */
		rq.need_lens = 0;
		ids[0] = (ids[0] + 1) % m->cfg.V;
		ids_text(&rq, ids, n);
		full[rep] = update(&e, &rq, &out, NULL);
		full_cand[rep] = out.cand_ms * 1e-3;
		/* the same with the direct logit attribution pane open (D) */
		ids[0] = (ids[0] + 1) % m->cfg.V;
		ids_text(&rq, ids, n);
		rq.need_dla = 1;
		full_dla[rep] = update(&e, &rq, &out, NULL);
		rq.need_dla = 0;
	}
	const char *label = !strcmp(name, "gpt2-small")      ? "gpt2small"
	                    : !strcmp(name, "default-shape") ? "default_shape"
	                                                     : "default";
	char k[96];
	snprintf(k, sizeof k, "explorer_%s_ctx%d_keystroke", label, n);
	bench_result(k, 1e3 * bench_median(key, reps), "ms");
	snprintf(k, sizeof k, "explorer_%s_ctx%d_keystroke_cpu", label, n);
	bench_result(k, 1e3 * bench_median(key_cpu, reps), "ms");
	snprintf(k, sizeof k, "explorer_%s_ctx%d_keystroke_candidates", label, n);
	bench_result(k, 1e3 * bench_median(key_cand, reps), "ms");
	snprintf(k, sizeof k, "explorer_%s_ctx%d_full_candidates", label, n);
	bench_result(k, 1e3 * bench_median(full_cand, reps), "ms");
	snprintf(k, sizeof k, "explorer_%s_ctx%d_full_update", label, n);
	bench_result(k, 1e3 * bench_median(full, reps), "ms");
	snprintf(k, sizeof k, "explorer_%s_ctx%d_full_update_dla", label, n);
	bench_result(k, 1e3 * bench_median(full_dla, reps), "ms");
	snprintf(k, sizeof k, "explorer_%s_ctx%d_lens", label, n);
	bench_result(k, 1e3 * bench_median(lens, reps), "ms");
	snprintf(k, sizeof k, "explorer_%s_ctx%d_peak_rss", label, n);
	bench_result(k, bench_peak_rss_kb() / 1024.0, "MiB");
	free(ids);
	tui_view_free(&out);
	tui_request_free(&rq);
	tui_engine_close(&e);
	lms_model_free(m);
	return 0;
}

/* The training timeline (src/tui/timeline.c): one step to another snapshot
 * with the context unchanged, as the explorer's worker runs it: the
 * snapshot's weights read (F16) and copied into the model, then the whole
 * update from position 0 (no lens, as on a keystroke).
 *
 *   bench timeline MODEL_DIR CTX     MODEL_DIR with at least two snapshots
 *
 * Reports the median step (load + update), its load alone, and the time
 * until the candidates are ready. */
int bench_timeline(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: bench timeline MODEL_DIR CTX\n");
		return 2;
	}
	int n = atoi(argv[2]);
	lms_set_threads(0);
	struct tui_model tm = {.path = argv[1]};
	enum lms_status st = lms_model_load(argv[1], &tm.m);
	if (!st)
		tui_timeline_open(&tm, argv[1]);
	if (!st && tm.snaps.n < 2)
		st = lms_fail(LMS_EARG, "%s: %s", argv[1],
		              tm.snap_note[0] ? tm.snap_note : "fewer than two snapshots");
	if (!st && (n < 2 || n > tm.m->cfg.maxT))
		st = lms_fail(LMS_EARG, "context %d does not fit (2 to %d)", n, tm.m->cfg.maxT);
	struct tui_engine e;
	if (!st)
		st = tui_engine_open(&e, &tm);
	if (st) {
		fprintf(stderr, "bench: %s\n", lms_errmsg());
		tui_timeline_close(&tm);
		lms_model_free(tm.m);
		return 1;
	}
	struct tui_request rq = {0};
	rq.target = rq.contrast = -1;
	rq.snapshot = -1;
	struct tui_view out = {0};
	int *ids = malloc(sizeof(int) * (size_t)n);
	struct lms_rng g;
	lms_rng_seed(&g, 7);
	for (int i = 0; i < n; i++)
		ids[i] = (int)lms_rng_below(&g, (uint64_t)tm.m->cfg.V);
	ids_text(&rq, ids, n);
	update(&e, &rq, &out, NULL);
	double step[REPS], load[REPS], cand[REPS];
	for (int rep = 0; rep < REPS; rep++) {
		rq.snapshot = rep % 2;
		step[rep] = update(&e, &rq, &out, NULL);
		load[rep] = out.snap_ms * 1e-3;
		cand[rep] = out.cand_ms * 1e-3;
	}
	char k[96];
	snprintf(k, sizeof k, "explorer_timeline_ctx%d_step", n);
	bench_result(k, 1e3 * bench_median(step, REPS), "ms");
	snprintf(k, sizeof k, "explorer_timeline_ctx%d_step_load", n);
	bench_result(k, 1e3 * bench_median(load, REPS), "ms");
	snprintf(k, sizeof k, "explorer_timeline_ctx%d_step_candidates", n);
	bench_result(k, 1e3 * bench_median(cand, REPS), "ms");
	free(ids);
	tui_view_free(&out);
	tui_request_free(&rq);
	tui_engine_close(&e);
	tui_timeline_close(&tm);
	lms_model_free(tm.m);
	return 0;
}
