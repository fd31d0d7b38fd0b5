/* Issue 7's Llama workloads on a llama2.c checkpoint (stories260K):
 *
 *   bench llama MODEL.bin           lmscope: greedy generation (KV cache, one
 *                                   new position per token) and the
 *                                   explorer's keystroke at context 64
 *   bench llama-baseline MODEL.bin  the same generation as a straightforward
 *                                   single-thread C loop over the same
 *                                   weights, written here in llama2.c's
 *                                   design (matrix-vector loops, KV cache)
 *
 * Both generate the same greedy tokens from BOS; the baseline checks that
 * its ids equal lmscope's and says so when they do not. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "lmscope/clock.h"
#include "lmscope/llama2c.h"
#include "lmscope/model.h"

enum { GEN = 200, REPS = 15, CTX = 64 };

/* ---- lmscope -------------------------------------------------------------- */

/* Greedy generation of n tokens after BOS through the engine. */
static void lms_generate(const struct lms_model *m, struct lms_run *r, int *seq, int n)
{
	seq[0] = 1;
	for (int len = 1; len <= n; len++) {
		lms_embed(r, seq, len);
		lms_forward(r, len - 1, len);
		lms_logits(r, 0, len - 1, len);
		seq[len] = bench_argmax(r->logits + (size_t)(len - 1) * m->cfg.V, m->cfg.V);
	}
}

/* The generation results both implementations print: speed over the best
 * of REPS wall-clock and CPU times of n tokens, and the ids generated (BOS
 * first), which run_llama.sh compares between them. */
static void report_generation(const double *t, const double *cpu, const int *seq, int n)
{
	bench_result("llama_generate_tokens_per_s", n / bench_best(t, REPS), "tok/s");
	bench_result("llama_generate_cpu_us_per_token", 1e6 * bench_best(cpu, REPS) / n, "us");
	printf("ids");
	for (int i = 0; i <= n; i++)
		printf("%c%d", i ? ',' : ' ', seq[i]);
	printf("\n");
}

static int load(const char *path, struct lms_model **m)
{
	if (lms_llama2c_load(path, m)) {
		fprintf(stderr, "bench llama: %s\n", lms_errmsg());
		return 2;
	}
	return 0;
}

int bench_llama(int argc, char **argv)
{
	struct lms_model *m;
	if (argc < 2 || load(argv[1], &m))
		return 2;
	const struct lms_config *c = &m->cfg;
	struct lms_run *r;
	if (lms_run_new(m, 1, GEN + 1 < c->maxT ? GEN + 1 : c->maxT, &r))
		return 2;
	int n = r->T - 1, *seq = malloc(sizeof(int) * (n + 1));
	double t[REPS], cpu[REPS];
	for (int k = 0; k < REPS; k++) {
		double t0 = lms_now(), c0 = bench_process_cpu();
		lms_generate(m, r, seq, n);
		t[k] = lms_now() - t0;
		cpu[k] = bench_process_cpu() - c0;
	}
	report_generation(t, cpu, seq, n);
	lms_run_free(r);

	/* The explorer's keystroke at context 64: the appended position only
	 * (prefix reuse), then log p(argmax) backward to the inputs; and the
	 * same from scratch; and a training step's forward + backward to every
	 * parameter over the 64 positions. */
	if (lms_run_new(m, 1, CTX, &r) || lms_model_grads(m))
		return 2;
	int ids[CTX];
	for (int i = 0; i < CTX; i++)
		ids[i] = seq[i % (n + 1)];
	double tk[REPS * 4], tf[REPS * 4], tp[REPS * 4];
	lms_embed(r, ids, CTX);
	lms_forward(r, 0, CTX);
	for (int k = 0; k < REPS * 4; k++) {
		double t0 = lms_now();
		lms_embed(r, ids, CTX);
		lms_forward(r, CTX - 1, CTX);
		lms_logits(r, 0, CTX - 1, CTX);
		int tg = bench_argmax(r->logits + (size_t)(CTX - 1) * c->V, c->V);
		lms_objective_logprob(r, 0, CTX - 1, tg, -1, LMS_GRAD_INPUT);
		lms_backward(r, LMS_GRAD_INPUT);
		tk[k] = lms_now() - t0;

		t0 = lms_now();
		lms_embed(r, ids, CTX);
		lms_forward(r, 0, CTX);
		lms_objective_logprob(r, 0, CTX - 1, tg, -1, LMS_GRAD_INPUT);
		lms_backward(r, LMS_GRAD_INPUT);
		tf[k] = lms_now() - t0;

		t0 = lms_now();
		lms_embed(r, ids, CTX);
		lms_forward(r, 0, CTX);
		lms_objective_xent(r, ids, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
		lms_backward(r, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
		tp[k] = lms_now() - t0;
	}
	bench_result("llama_keystroke_ctx64_ms", 1e3 * bench_best(tk, REPS * 4), "ms");
	bench_result("llama_fwd_bwd_inputs_ctx64_ms", 1e3 * bench_best(tf, REPS * 4), "ms");
	bench_result("llama_fwd_bwd_params_ctx64_ms", 1e3 * bench_best(tp, REPS * 4), "ms");
	bench_result("llama_peak_rss", (double)bench_peak_rss_kb() / 1024, "MB");
	lms_run_free(r);
	lms_model_free(m);
	free(seq);
	return 0;
}

/* ---- the baseline: one position at a time, plain loops ----------------------- */

struct base {
	const struct lms_config *c;
	const float *emb, *norm, *wcls;
	const float **ln1, **wq, **wk, **wv, **wo, **ln2, **wg, **wu, **wd; /* (L) */
	float *x, *xb, *xb2, *q, *hb, *hb2, *att, *logits;                  /* one position */
	float *kc, *vc;                                                     /* (L, T, KC) */
};

static const float *tensor(const struct lms_model *m, int l, const char *suffix)
{
	char name[64];
	if (l < 0)
		snprintf(name, sizeof name, "%s", suffix);
	else
		snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix);
	const struct lms_tensor *t = lms_model_tensor(m, name);
	return t ? m->params + t->offset : NULL;
}

static void rmsnorm(float *o, const float *x, const float *w, int n, float eps)
{
	float ss = 0.0f;
	for (int i = 0; i < n; i++)
		ss += x[i] * x[i];
	ss = 1.0f / sqrtf(ss / n + eps);
	for (int i = 0; i < n; i++)
		o[i] = w[i] * (ss * x[i]);
}

/* xout (d) = w (d, n) @ x (n) */
static void matmul(float *xout, const float *x, const float *w, int n, int d)
{
	for (int i = 0; i < d; i++) {
		float v = 0.0f;
		for (int j = 0; j < n; j++)
			v += w[(size_t)i * n + j] * x[j];
		xout[i] = v;
	}
}

/* The rotate_half rotation of every head of x at position pos. */
static void rope(float *x, int heads, int hs, int pos, float theta)
{
	int half = hs / 2;
	for (int i = 0; i < half; i++) {
		float f = pos * powf(theta, -2.0f * i / hs), co = cosf(f), si = sinf(f);
		for (int h = 0; h < heads; h++) {
			float *v = x + h * hs, a = v[i], b = v[i + half];
			v[i] = a * co - b * si;
			v[i + half] = b * co + a * si;
		}
	}
}

static void base_step(struct base *b, int token, int pos)
{
	const struct lms_config *c = b->c;
	int C = c->C, H = c->H, hs = C / c->NH, KC = c->KV * hs, grp = c->NH / c->KV, T = c->maxT;
	memcpy(b->x, b->emb + (size_t)token * C, C * sizeof(float));
	for (int l = 0; l < c->L; l++) {
		float *k = b->kc + ((size_t)l * T + pos) * KC, *v = b->vc + ((size_t)l * T + pos) * KC;
		rmsnorm(b->xb, b->x, b->ln1[l], C, c->eps);
		matmul(b->q, b->xb, b->wq[l], C, C);
		matmul(k, b->xb, b->wk[l], C, KC);
		matmul(v, b->xb, b->wv[l], C, KC);
		rope(b->q, c->NH, hs, pos, c->rope_theta);
		rope(k, c->KV, hs, pos, c->rope_theta);
		for (int h = 0; h < c->NH; h++) {
			const float *qh = b->q + h * hs;
			float *att = b->att, mx = -INFINITY, sum = 0.0f;
			for (int t = 0; t <= pos; t++) {
				const float *kt = b->kc + ((size_t)l * T + t) * KC + (h / grp) * hs;
				float s = 0.0f;
				for (int i = 0; i < hs; i++)
					s += qh[i] * kt[i];
				att[t] = s / sqrtf((float)hs);
				mx = att[t] > mx ? att[t] : mx;
			}
			for (int t = 0; t <= pos; t++)
				sum += att[t] = expf(att[t] - mx);
			float *o = b->xb + h * hs;
			memset(o, 0, hs * sizeof(float));
			for (int t = 0; t <= pos; t++) {
				const float *vt = b->vc + ((size_t)l * T + t) * KC + (h / grp) * hs;
				for (int i = 0; i < hs; i++)
					o[i] += att[t] / sum * vt[i];
			}
		}
		matmul(b->xb2, b->xb, b->wo[l], C, C);
		for (int i = 0; i < C; i++)
			b->x[i] += b->xb2[i];
		rmsnorm(b->xb, b->x, b->ln2[l], C, c->eps);
		matmul(b->hb, b->xb, b->wg[l], C, H);
		matmul(b->hb2, b->xb, b->wu[l], C, H);
		for (int i = 0; i < H; i++)
			b->hb[i] = b->hb[i] / (1.0f + expf(-b->hb[i])) * b->hb2[i];
		matmul(b->xb2, b->hb, b->wd[l], H, C);
		for (int i = 0; i < C; i++)
			b->x[i] += b->xb2[i];
	}
	rmsnorm(b->x, b->x, b->norm, C, c->eps);
	matmul(b->logits, b->x, b->wcls, C, c->V);
}

int bench_llama_baseline(int argc, char **argv)
{
	struct lms_model *m;
	if (argc < 2 || load(argv[1], &m))
		return 2;
	const struct lms_config *c = &m->cfg;
	int L = c->L, C = c->C, H = c->H, KC = c->KV * (C / c->NH);
	struct base b = {.c = c};
	b.emb = tensor(m, -1, "model.embed_tokens.weight");
	b.norm = tensor(m, -1, "model.norm.weight");
	b.wcls = c->tied ? b.emb : tensor(m, -1, "lm_head.weight");
	const float ***lists[] = {&b.ln1, &b.wq, &b.wk, &b.wv, &b.wo, &b.ln2, &b.wg, &b.wu, &b.wd};
	const char *names[] = {
		"input_layernorm.weight",  "self_attn.q_proj.weight", "self_attn.k_proj.weight",
		"self_attn.v_proj.weight", "self_attn.o_proj.weight", "post_attention_layernorm.weight",
		"mlp.gate_proj.weight",    "mlp.up_proj.weight",      "mlp.down_proj.weight"};
	for (int i = 0; i < 9; i++) {
		*lists[i] = malloc(sizeof(float *) * L);
		for (int l = 0; l < L; l++)
			(*lists[i])[l] = tensor(m, l, names[i]);
	}
	b.x = calloc(C, sizeof(float));
	b.xb = calloc(C, sizeof(float));
	b.xb2 = calloc(C, sizeof(float));
	b.q = calloc(C, sizeof(float));
	b.hb = calloc(H, sizeof(float));
	b.hb2 = calloc(H, sizeof(float));
	b.att = calloc(c->maxT, sizeof(float));
	b.logits = calloc(c->V, sizeof(float));
	b.kc = calloc((size_t)L * c->maxT * KC, sizeof(float));
	b.vc = calloc((size_t)L * c->maxT * KC, sizeof(float));
	int n = GEN < c->maxT - 1 ? GEN : c->maxT - 1, *seq = malloc(sizeof(int) * (n + 1));
	double t[REPS], cpu[REPS];
	for (int k = 0; k < REPS; k++) {
		double t0 = lms_now(), c0 = bench_process_cpu();
		seq[0] = 1;
		for (int pos = 0; pos < n; pos++) {
			base_step(&b, seq[pos], pos);
			seq[pos + 1] = bench_argmax(b.logits, c->V);
		}
		t[k] = lms_now() - t0;
		cpu[k] = bench_process_cpu() - c0;
	}
	report_generation(t, cpu, seq, n);
	for (int i = 0; i < 9; i++)
		free((void *)*lists[i]);
	free(b.x);
	free(b.xb);
	free(b.xb2);
	free(b.q);
	free(b.hb);
	free(b.hb2);
	free(b.att);
	free(b.logits);
	free(b.kc);
	free(b.vc);
	free(seq);
	lms_model_free(m);
	return 0;
}
