/* The engine's thread pool (src/engine/base/par.c) and the kernels that use
 * it: every task runs once on a slot of its own, several callers at once
 * and nested calls all finish, and each pooled kernel (GELU, LayerNorm,
 * attention) gives bitwise the numbers it gives on one thread, at sizes
 * with one row, odd counts and more parts than threads. The kernel cases
 * pin OpenBLAS to one thread, as the explorer does: only then do the
 * kernels use the pool (nn/ops.c). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "base/par.h"
#include "lmscope/status.h"
#include "nn/ops.h"
#include "testutil.h"

enum { MAX_TASKS = 5000, MAX_SLOTS = 8 };

struct count_job {
	atomic_int runs[MAX_TASKS];
	atomic_int busy[MAX_SLOTS]; /* threads on each slot right now */
	atomic_int bad;             /* a slot out of range or shared */
	int slots;
};

static void count_task(void *ctx, int task, int slot)
{
	struct count_job *j = ctx;
	if (slot < 0 || slot >= j->slots || atomic_fetch_add(&j->busy[slot], 1) != 0)
		atomic_store(&j->bad, 1);
	atomic_fetch_add(&j->runs[task], 1);
	for (volatile int spin = 0; spin < 2000; spin++) /* let the other threads in */
		;
	if (slot >= 0 && slot < j->slots)
		atomic_fetch_sub(&j->busy[slot], 1);
}

/* Runs n tasks capped at cap slots on a pool of threads threads; every
 * task must run exactly once, on a slot below the cap no other thread
 * holds meanwhile. */
static void check_counts(int threads, int n, int cap)
{
	static struct count_job j;
	memset(&j, 0, sizeof j);
	int eff = cap > 0 && cap < threads ? cap : threads;
	j.slots = eff;
	lms_par_set_threads(threads);
	lms_par_for(n, cap, count_task, &j);
	ck_assert_msg(!atomic_load(&j.bad), "threads %d, n %d, cap %d: a bad slot", threads, n, cap);
	for (int i = 0; i < n; i++)
		ck_assert_msg(atomic_load(&j.runs[i]) == 1, "threads %d, n %d: task %d ran %d times",
		              threads, n, i, atomic_load(&j.runs[i]));
}

START_TEST(test_tasks_once)
{
	const int threads[] = {1, 2, 3, 5};
	const int ns[] = {0, 1, 2, 3, 7, 100, MAX_TASKS};
	for (size_t t = 0; t < sizeof threads / sizeof *threads; t++)
		for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
			check_counts(threads[t], ns[k], 0);
			check_counts(threads[t], ns[k], 2);
		}
	ck_assert_int_eq(lms_par_threads(), 5);
	lms_par_set_threads(1);
	ck_assert_int_eq(lms_par_threads(), 1);
}
END_TEST

/* A task that itself calls the pool: the inner call finds the workers
 * taken and runs its tasks on its own thread. */
static void inner_task(void *ctx, int task, int slot)
{
	(void)slot;
	atomic_fetch_add((atomic_int *)ctx, task + 1);
}

static void outer_task(void *ctx, int task, int slot)
{
	(void)task;
	(void)slot;
	lms_par_for(10, 0, inner_task, ctx);
}

START_TEST(test_nested)
{
	lms_par_set_threads(2);
	atomic_int sum = 0;
	lms_par_for(6, 0, outer_task, &sum);
	ck_assert_int_eq(atomic_load(&sum), 6 * 55);
}
END_TEST

/* ---- the pooled kernels against one thread ------------------------------- */

static float *normal(size_t n, float scale, unsigned seed)
{
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	float *x = malloc((n ? n : 1) * sizeof *x);
	tu_fill_normal(x, n, scale, &g);
	return x;
}

static float *copy(const float *x, size_t n)
{
	float *y = malloc((n ? n : 1) * sizeof *y);
	memcpy(y, x, n * sizeof *y);
	return y;
}

/* (one assertion per array: check records every assertion it passes) */
static void same_bits(const float *a, const float *b, size_t n, const char *what, int size)
{
	if (!memcmp(a, b, n * sizeof *a))
		return;
	size_t i = 0;
	while (!memcmp(a + i, b + i, sizeof *a))
		i++;
	ck_abort_msg("%s, size %d: entry %zu differs: %.9g %.9g", what, size, i, a[i], b[i]);
}

/* One kernel's outputs with the pool at `threads`: run() fills out (n)
 * from the inputs and whatever out held (backward kernels accumulate). */
struct kcase {
	void (*run)(const struct kcase *k, float *out);
	const float *in[6];
	int i[6];
	size_t n; /* floats of out */
};

static float *run_with(const struct kcase *k, int threads, const float *init)
{
	lms_par_set_threads(threads);
	float *out = copy(init, k->n);
	k->run(k, out);
	return out;
}

/* out on one thread, then on 2 and 3 threads: the same bits */
static void check_kernel(const struct kcase *k, const char *what, int size)
{
	float *init = normal(k->n, 1.0f, 99);
	float *one = run_with(k, 1, init);
	for (int t = 2; t <= 3; t++) {
		float *many = run_with(k, t, init);
		same_bits(one, many, k->n, what, size);
		free(many);
	}
	free(one);
	free(init);
}

static void run_gelu(const struct kcase *k, float *out)
{
	lms_gelu_forward(out, k->in[0], k->i[0]);
}

static void run_gelu_back(const struct kcase *k, float *out)
{
	lms_gelu_backward(out, k->in[1], k->in[0], k->i[0]);
}

START_TEST(test_gelu_bits)
{
	lms_set_blas_threads(1);
	/* one row, odd counts, one part and a bit, many parts */
	const int ns[] = {1, 17, 3 * 1024 + 5, 32768 + 1, 5 * 32768 + 13};
	for (size_t t = 0; t < sizeof ns / sizeof *ns; t++) {
		int n = ns[t];
		float *x = normal((size_t)n, 3.0f, 1), *d = normal((size_t)n, 1.0f, 2);
		struct kcase k = {run_gelu, {x, d}, {n}, (size_t)n};
		check_kernel(&k, "gelu forward", n);
		k.run = run_gelu_back;
		check_kernel(&k, "gelu backward", n);
		free(x);
		free(d);
	}
}
END_TEST

/* out = [y (N, C), mean (N), rstd (N)] */
static void run_ln(const struct kcase *k, float *out)
{
	int N = k->i[0], C = k->i[1];
	float *y = out, *mean = y + (size_t)N * C, *rstd = mean + N;
	lms_layernorm_forward(y, mean, rstd, k->in[0], k->in[1], k->in[2], N, C, 1e-5f);
}

/* out = [dx (N, C), dw (C), db (C)]; k->i[2]: dw and db wanted */
static void run_ln_back(const struct kcase *k, float *out)
{
	int N = k->i[0], C = k->i[1];
	float *dx = out, *dw = dx + (size_t)N * C, *db = dw + C;
	int want = k->i[2];
	lms_layernorm_backward(dx, want ? dw : NULL, want ? db : NULL, k->in[3], k->in[0], k->in[1],
	                       k->in[4], k->in[5], N, C);
}

START_TEST(test_layernorm_bits)
{
	lms_set_blas_threads(1);
	/* (N, C): one row; odd widths whose rows make several parts; GPT-2's */
	const int shapes[][2] = {{1, 768}, {5000, 7}, {2001, 33}, {300, 768}, {97, 1000}};
	for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++) {
		int N = shapes[t][0], C = shapes[t][1];
		size_t nc = (size_t)N * C;
		float *x = normal(nc, 2.0f, 3), *w = normal((size_t)C, 1.0f, 4);
		float *b = normal((size_t)C, 1.0f, 5), *dy = normal(nc, 1.0f, 6);
		float *mean = malloc((size_t)N * sizeof *mean), *rstd = malloc((size_t)N * sizeof *rstd);
		float *tmp = malloc(nc * sizeof *tmp);
		lms_par_set_threads(1);
		lms_layernorm_forward(tmp, mean, rstd, x, w, b, N, C, 1e-5f);
		struct kcase k = {run_ln, {x, w, b, dy, mean, rstd}, {N, C, 1}, nc + 2 * (size_t)N};
		check_kernel(&k, "layernorm forward", N);
		k.run = run_ln_back;
		k.n = nc + 2 * (size_t)C;
		check_kernel(&k, "layernorm backward", N);
		k.i[2] = 0;
		check_kernel(&k, "layernorm backward without dw", N);
		free(x);
		free(w);
		free(b);
		free(dy);
		free(mean);
		free(rstd);
		free(tmp);
	}
}
END_TEST

/* out = att (B, NH, T, T) then o (B, T, NH hs), queries [t0, t1) after
 * [0, t0) (a keystroke's prefix); k->i: B, T, NH, KV, hs, t0 */
static struct lms_attn_layout layout_of(const struct kcase *k)
{
	struct lms_attn_layout s = {
		.B = k->i[0], .T = k->i[1], .NH = k->i[2], .KV = k->i[3], .hs = k->i[4]};
	s.ldq = s.NH * s.hs;
	s.ldkv = s.KV * s.hs;
	s.ldo = s.NH * s.hs;
	return s;
}

static size_t att_floats(const struct lms_attn_layout *s)
{
	return (size_t)s->B * s->NH * s->T * s->T;
}

static void run_att(const struct kcase *k, float *out)
{
	struct lms_attn_layout s = layout_of(k);
	float *o = out + att_floats(&s);
	lms_attention_forward(o, out, k->in[0], k->in[1], k->in[2], &s, 0, k->i[5]);
	lms_attention_forward(o, out, k->in[0], k->in[1], k->in[2], &s, k->i[5], s.T);
}

static void run_att_streamed(const struct kcase *k, float *out)
{
	struct lms_attn_layout s = layout_of(k);
	size_t rows = s.T < LMS_ATT_BLOCK ? (size_t)s.T : LMS_ATT_BLOCK;
	float *work = calloc(LMS_ATT_SLOTS * rows * s.T, sizeof *work);
	lms_attention_forward_streamed(out, work, k->in[0], k->in[1], k->in[2], &s, 0, k->i[5]);
	lms_attention_forward_streamed(out, work, k->in[0], k->in[1], k->in[2], &s, k->i[5], s.T);
	free(work);
}

/* out = [dq, dk, dv]; recomputing the probabilities (in[3] NULL) or given */
static void run_att_back(const struct kcase *k, float *out)
{
	struct lms_attn_layout s = layout_of(k);
	size_t nq = (size_t)s.B * s.T * s.ldq, nkv = (size_t)s.B * s.T * s.ldkv;
	size_t rows = s.T < LMS_ATT_BLOCK ? (size_t)s.T : LMS_ATT_BLOCK;
	float *work = calloc(LMS_ATT_SLOTS * 2 * rows * s.T, sizeof *work);
	lms_attention_backward(out, out + nq, out + nq + nkv, work, k->in[4], k->in[3], k->in[0],
	                       k->in[1], k->in[2], &s, s.T);
	free(work);
}

START_TEST(test_attention_bits)
{
	lms_set_blas_threads(1);
	/* B, T, NH, KV, hs, t0: heads with odd T over several blocks; grouped
	 * queries; one position; a keystroke's last query over a long prefix */
	const int shapes[][6] = {{3, 130, 4, 4, 64, 70},
	                         {2, 131, 6, 2, 32, 129},
	                         {1, 1, 3, 3, 64, 0},
	                         {1, 257, 16, 16, 128, 256}};
	for (size_t t = 0; t < sizeof shapes / sizeof *shapes; t++) {
		struct kcase k = {run_att, {NULL}, {0}, 0};
		memcpy(k.i, shapes[t], sizeof shapes[t]);
		struct lms_attn_layout s = layout_of(&k);
		size_t nq = (size_t)s.B * s.T * s.ldq, nkv = (size_t)s.B * s.T * s.ldkv;
		float *q = normal(nq, 1.0f, 7), *kk = normal(nkv, 1.0f, 8), *v = normal(nkv, 1.0f, 9);
		float *dout = normal(nq, 1.0f, 10), *att = calloc(att_floats(&s), sizeof *att);
		float *o = calloc(nq, sizeof *o);
		lms_par_set_threads(1);
		lms_attention_forward(o, att, q, kk, v, &s, 0, s.T);
		k.in[0] = q;
		k.in[1] = kk;
		k.in[2] = v;
		k.in[4] = dout;
		k.n = att_floats(&s) + nq;
		check_kernel(&k, "attention forward", (int)t);
		k.run = run_att_streamed;
		k.n = nq;
		check_kernel(&k, "attention forward streamed", (int)t);
		k.run = run_att_back;
		k.n = nq + 2 * nkv;
		check_kernel(&k, "attention backward recomputing", (int)t);
		k.in[3] = att;
		check_kernel(&k, "attention backward", (int)t);
		free(q);
		free(kk);
		free(v);
		free(dout);
		free(att);
		free(o);
	}
}
END_TEST

/* ---- several callers at once ---------------------------------------------- */

struct caller {
	const struct kcase *k;
	const float *init, *want;
	int ok;
};

static void *caller_main(void *arg)
{
	struct caller *c = arg;
	c->ok = 1;
	for (int rep = 0; rep < 20; rep++) {
		float *out = copy(c->init, c->k->n);
		c->k->run(c->k, out);
		c->ok &= !memcmp(out, c->want, c->k->n * sizeof *out);
		free(out);
	}
	return NULL;
}

START_TEST(test_concurrent_callers)
{
	lms_set_blas_threads(1);
	enum { CALLERS = 4 };
	int n = 3 * 32768 + 7;
	float *x = normal((size_t)n, 3.0f, 21), *d = normal((size_t)n, 1.0f, 22);
	struct kcase ks[2] = {{run_gelu, {x, d}, {n}, (size_t)n},
	                      {run_gelu_back, {x, d}, {n}, (size_t)n}};
	struct kcase att = {run_att_streamed, {NULL}, {2, 130, 4, 4, 64, 60}, 0};
	struct lms_attn_layout s = layout_of(&att);
	size_t nq = (size_t)s.B * s.T * s.ldq;
	float *q = normal(nq, 1.0f, 23), *kk = normal(nq, 1.0f, 24), *v = normal(nq, 1.0f, 25);
	att.in[0] = q;
	att.in[1] = kk;
	att.in[2] = v;
	att.n = nq;
	const struct kcase *kinds[3] = {&ks[0], &ks[1], &att};
	float *init[3], *want[3];
	lms_par_set_threads(1);
	for (int i = 0; i < 3; i++) {
		init[i] = normal(kinds[i]->n, 1.0f, 30 + i);
		want[i] = copy(init[i], kinds[i]->n);
		kinds[i]->run(kinds[i], want[i]);
	}
	lms_par_set_threads(2);
	pthread_t tid[CALLERS];
	struct caller c[CALLERS];
	for (int i = 0; i < CALLERS; i++) {
		c[i] = (struct caller){kinds[i % 3], init[i % 3], want[i % 3], 0};
		ck_assert_int_eq(pthread_create(&tid[i], NULL, caller_main, &c[i]), 0);
	}
	for (int i = 0; i < CALLERS; i++) {
		pthread_join(tid[i], NULL);
		ck_assert_msg(c[i].ok, "caller %d got other numbers than one thread's", i);
	}
	for (int i = 0; i < 3; i++) {
		free(init[i]);
		free(want[i]);
	}
	free(x);
	free(d);
	free(q);
	free(kk);
	free(v);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"tasks_once", test_tasks_once},         {"nested", test_nested},
		{"gelu_bits", test_gelu_bits},           {"layernorm_bits", test_layernorm_bits},
		{"attention_bits", test_attention_bits}, {"concurrent_callers", test_concurrent_callers},
	};
	return TU_SUITE("par", cases, 0);
}
