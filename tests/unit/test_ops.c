/* Layer ops (src/engine/nn/ops.c): every BLAS-backed op against its plain-loop
 * twin (ops_ref.c), and every backward against central finite differences
 * of a random projection L = sum_i r_i out_i, accumulated in double. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lmscope/status.h"
#include "nn/blas.h"
#include "nn/ops.h"
#include "testutil.h"

/* Finite differences are taken in float32 on functions with O(1) values:
 * eps = 1e-2 keeps truncation (~eps^2) and rounding (~1e-7 / eps) both
 * near 1e-5; the tolerance leaves a margin of ~10x. */
#define FD_EPS 1e-2
#define FD_TOL 2e-3
#define REF_TOL 1e-5

static float *vec(size_t n, float scale, struct lms_rng *g)
{
	float *x = malloc(n * sizeof *x);
	tu_fill_normal(x, n, scale, g);
	return x;
}

static float *zeros(size_t n)
{
	return calloc(n, sizeof(float));
}

/* A forward computed from whatever the inputs currently hold. */
struct fd_fn {
	void (*run)(const struct fd_fn *f, float *out);
	const float *a[6];
	int i[8];
	float eps;
};

static double project(const float *out, const float *r, size_t n)
{
	double s = 0.0;
	for (size_t i = 0; i < n; i++)
		s += (double)out[i] * r[i];
	return s;
}

/* Worst relative error between grad (nx) and central differences of
 * L = r . f(x) over every entry of x. */
static double fd_check(const struct fd_fn *f, float *x, size_t nx, const float *grad,
                       const float *r, size_t nout)
{
	float *out = zeros(nout);
	double worst = 0.0;
	for (size_t i = 0; i < nx; i++) {
		float keep = x[i];
		x[i] = keep + (float)FD_EPS;
		f->run(f, out);
		double lp = project(out, r, nout);
		x[i] = keep - (float)FD_EPS;
		f->run(f, out);
		double lm = project(out, r, nout);
		x[i] = keep;
		double num = (lp - lm) / (2 * FD_EPS);
		double e = fabs(num - grad[i]) / fmax(1e-2, fmax(fabs(num), fabs(grad[i])));
		if (e > worst)
			worst = e;
	}
	free(out);
	return worst;
}

/* ---- matmul (Conv1D layout) and linear (nn.Linear layout) ------------------ */

enum { N = 5, C = 7, OC = 6 };

static void run_matmul(const struct fd_fn *f, float *out)
{
	lms_matmul_forward(out, f->a[0], f->a[1], f->a[2], N, C, OC);
}

static void run_linear(const struct fd_fn *f, float *out)
{
	lms_linear_forward(out, f->a[0], f->a[1], f->a[2], N, C, OC);
}

typedef void (*mm_fwd)(float *, const float *, const float *, const float *, int, int, int);
typedef void (*mm_bwd)(float *, float *, float *, const float *, const float *, const float *, int,
                       int, int);

static void check_mm(mm_fwd fwd, mm_fwd fwd_ref, mm_bwd bwd, mm_bwd bwd_ref,
                     void (*run)(const struct fd_fn *, float *))
{
	struct lms_rng g;
	lms_rng_seed(&g, 7);
	float *x = vec(N * C, 1.0f, &g), *w = vec(C * OC, 0.5f, &g), *b = vec(OC, 0.5f, &g);
	float *dout = vec(N * OC, 1.0f, &g);
	float *out = zeros(N * OC), *out_ref = zeros(N * OC);
	/* forward, with and without bias, and the one-row (gemv) path */
	for (int nb = 0; nb < 2; nb++)
		for (int rows = 1; rows <= N; rows += N - 1) {
			fwd(out, x, w, nb ? NULL : b, rows, C, OC);
			fwd_ref(out_ref, x, w, nb ? NULL : b, rows, C, OC);
			ck_assert_double_lt(tu_max_rel_err(out, out_ref, (size_t)rows * OC, 1e-3), REF_TOL);
		}
	/* backward against the twin; gradients accumulate onto what is there */
	float *dx = vec(N * C, 1.0f, &g), *dw = vec(C * OC, 1.0f, &g), *db = vec(OC, 1.0f, &g);
	float *dx_ref = malloc(sizeof(float) * N * C), *dw_ref = malloc(sizeof(float) * C * OC);
	float *db_ref = malloc(sizeof(float) * OC);
	memcpy(dx_ref, dx, sizeof(float) * N * C);
	memcpy(dw_ref, dw, sizeof(float) * C * OC);
	memcpy(db_ref, db, sizeof(float) * OC);
	for (int rows = 1; rows <= N; rows += N - 1) {
		bwd(dx, dw, db, dout, x, w, rows, C, OC);
		bwd_ref(dx_ref, dw_ref, db_ref, dout, x, w, rows, C, OC);
	}
	ck_assert_double_lt(tu_max_rel_err(dx, dx_ref, N * C, 1e-3), REF_TOL);
	ck_assert_double_lt(tu_max_rel_err(dw, dw_ref, C * OC, 1e-3), REF_TOL);
	ck_assert_double_lt(tu_max_rel_err(db, db_ref, OC, 1e-3), REF_TOL);
	/* a NULL dw and db skip those and leave dinp unchanged */
	memset(dx, 0, sizeof(float) * N * C);
	memset(dx_ref, 0, sizeof(float) * N * C);
	bwd(dx, NULL, NULL, dout, x, w, N, C, OC);
	bwd_ref(dx_ref, dw_ref, db_ref, dout, x, w, N, C, OC);
	ck_assert_double_lt(tu_max_rel_err(dx, dx_ref, N * C, 1e-3), REF_TOL);
	/* backward against finite differences */
	memset(dx, 0, sizeof(float) * N * C);
	memset(dw, 0, sizeof(float) * C * OC);
	memset(db, 0, sizeof(float) * OC);
	bwd(dx, dw, db, dout, x, w, N, C, OC);
	struct fd_fn f = {.run = run, .a = {x, w, b}};
	ck_assert_double_lt(fd_check(&f, x, N * C, dx, dout, N * OC), FD_TOL);
	ck_assert_double_lt(fd_check(&f, w, C * OC, dw, dout, N * OC), FD_TOL);
	ck_assert_double_lt(fd_check(&f, b, OC, db, dout, N * OC), FD_TOL);
	free(x);
	free(w);
	free(b);
	free(dout);
	free(out);
	free(out_ref);
	free(dx);
	free(dw);
	free(db);
	free(dx_ref);
	free(dw_ref);
	free(db_ref);
}

START_TEST(test_matmul)
{
	check_mm(lms_matmul_forward, lms_matmul_forward_ref, lms_matmul_backward,
	         lms_matmul_backward_ref, run_matmul);
}
END_TEST

START_TEST(test_linear)
{
	check_mm(lms_linear_forward, lms_linear_forward_ref, lms_linear_backward,
	         lms_linear_backward_ref, run_linear);
}
END_TEST

/* The two layouts are transposes of each other. */
START_TEST(test_matmul_linear_agree)
{
	struct lms_rng g;
	lms_rng_seed(&g, 3);
	float *x = vec(N * C, 1.0f, &g), *w = vec(C * OC, 1.0f, &g), *wt = zeros(C * OC);
	for (int c = 0; c < C; c++)
		for (int o = 0; o < OC; o++)
			wt[o * C + c] = w[c * OC + o];
	float *a = zeros(N * OC), *b = zeros(N * OC);
	lms_matmul_forward(a, x, w, NULL, N, C, OC);
	lms_linear_forward(b, x, wt, NULL, N, C, OC);
	ck_assert_double_lt(tu_max_rel_err(a, b, N * OC, 1e-3), REF_TOL);
	free(x);
	free(w);
	free(wt);
	free(a);
	free(b);
}
END_TEST

/* ---- layernorm ------------------------------------------------------------- */

static void run_layernorm(const struct fd_fn *f, float *out)
{
	float mean[N], rstd[N];
	lms_layernorm_forward(out, mean, rstd, f->a[0], f->a[1], f->a[2], N, C, 1e-5f);
}

START_TEST(test_layernorm)
{
	struct lms_rng g;
	lms_rng_seed(&g, 11);
	float *x = vec(N * C, 1.0f, &g), *w = vec(C, 1.0f, &g), *b = vec(C, 1.0f, &g);
	float *dout = vec(N * C, 1.0f, &g), *out = zeros(N * C);
	float mean[N], rstd[N];
	for (int i = 0; i < N * C; i++)
		x[i] += 0.5f; /* a non-zero mean */
	lms_layernorm_forward(out, mean, rstd, x, w, b, N, C, 1e-5f);
	/* against the definition, in double */
	for (int i = 0; i < N; i++) {
		double m = 0.0, v = 0.0;
		for (int k = 0; k < C; k++)
			m += x[i * C + k];
		m /= C;
		for (int k = 0; k < C; k++)
			v += (x[i * C + k] - m) * (x[i * C + k] - m);
		v /= C;
		for (int k = 0; k < C; k++) {
			double y = (x[i * C + k] - m) / sqrt(v + 1e-5) * w[k] + b[k];
			ck_assert_double_lt(fabs(y - out[i * C + k]), 1e-5 * fmax(1.0, fabs(y)));
		}
		ck_assert_double_lt(fabs(m - mean[i]), 1e-6);
	}
	float *dx = zeros(N * C), *dw = zeros(C), *db = zeros(C);
	lms_layernorm_backward(dx, dw, db, dout, x, w, mean, rstd, N, C);
	struct fd_fn f = {.run = run_layernorm, .a = {x, w, b}};
	ck_assert_double_lt(fd_check(&f, x, N * C, dx, dout, N * C), FD_TOL);
	ck_assert_double_lt(fd_check(&f, w, C, dw, dout, N * C), FD_TOL);
	ck_assert_double_lt(fd_check(&f, b, C, db, dout, N * C), FD_TOL);
	/* without weight gradients, dinp is the same */
	float *dx2 = zeros(N * C);
	lms_layernorm_backward(dx2, NULL, NULL, dout, x, w, mean, rstd, N, C);
	ck_assert_double_lt(tu_max_rel_err(dx, dx2, N * C, 1e-6), 1e-7);
	free(x);
	free(w);
	free(b);
	free(dout);
	free(out);
	free(dx);
	free(dw);
	free(db);
	free(dx2);
}
END_TEST

/* ---- GELU and residual ------------------------------------------------------- */

static void run_gelu(const struct fd_fn *f, float *out)
{
	lms_gelu_forward(out, f->a[0], f->i[0]);
}

START_TEST(test_gelu)
{
	enum { n = 41 };
	struct lms_rng g;
	lms_rng_seed(&g, 5);
	float *x = zeros(n), *out = zeros(n), *dout = vec(n, 1.0f, &g), *dx = zeros(n);
	for (int i = 0; i < n; i++)
		x[i] = -5.0f + 0.25f * (float)i;
	lms_gelu_forward(out, x, n);
	for (int i = 0; i < n; i++) {
		double v = x[i];
		double y = 0.5 * v * (1.0 + tanh(sqrt(2.0 / M_PI) * (v + 0.044715 * v * v * v)));
		ck_assert_double_lt(fabs(y - out[i]), 1e-6 * fmax(1.0, fabs(y)));
	}
	lms_gelu_backward(dx, dout, x, n);
	struct fd_fn f = {.run = run_gelu, .a = {x}, .i = {n}};
	ck_assert_double_lt(fd_check(&f, x, n, dx, dout, n), FD_TOL);
	/* far tails: identity and zero, with slopes 1 and 0; NaN stays NaN */
	float big[4] = {30.0f, -30.0f, 1e30f, -1e30f}, yb[4], gb[4] = {0}, ones[4] = {1, 1, 1, 1};
	lms_gelu_forward(yb, big, 4);
	lms_gelu_backward(gb, ones, big, 4);
	ck_assert(yb[0] == 30.0f && fabsf(yb[1]) < 1e-30f && yb[2] == 1e30f && fabsf(yb[3]) < 1e-30f);
	ck_assert(gb[0] == 1.0f && fabsf(gb[1]) < 1e-30f);
	float nan = NAN, ynan, gnan = 0.0f;
	lms_gelu_forward(&ynan, &nan, 1);
	lms_gelu_backward(&gnan, ones, &nan, 1);
	ck_assert(isnan(ynan) && isnan(gnan));
	free(x);
	free(out);
	free(dout);
	free(dx);
}
END_TEST

/* e^x against libm's double exp, across the range a softmax feeds it (the
 * block loop and the tail both), and 0 below -87 */
START_TEST(test_vexp)
{
	enum { n = 45 };
	float x[n], y[n];
	for (int i = 0; i < n; i++)
		x[i] = -90.0f + 2.1f * (float)i;
	lms_vexp(y, x, n);
	for (int i = 0; i < n; i++) {
		double want = x[i] < -87.0f ? 0.0 : exp((double)x[i]);
		ck_assert_msg(fabs(y[i] - want) <= 4e-7 * want, "e^%g: %g, want %g", x[i], y[i], want);
	}
	float z = 0.0f, one;
	lms_vexp(&one, &z, 1);
	ck_assert(fabsf(one - 1.0f) <= 1e-7f);
}
END_TEST

START_TEST(test_residual)
{
	float a[3] = {1, 2, 3}, b[3] = {10, 20, 30}, out[3];
	lms_residual_forward(out, a, b, 3);
	ck_assert(out[0] == 11 && out[1] == 22 && out[2] == 33);
	float da[3] = {1, 1, 1}, db[3] = {0}, d[3] = {0.5f, -1, 2};
	lms_residual_backward(da, db, d, 3);
	ck_assert(da[0] == 1.5f && da[1] == 0 && da[2] == 3);
	ck_assert(db[0] == 0.5f && db[1] == -1 && db[2] == 2);
	lms_residual_backward(NULL, db, d, 3);
	ck_assert(db[2] == 4);
}
END_TEST

/* ---- attention --------------------------------------------------------------- */

/* A layout with its buffers: q (B, T, ldq), k and v (B, T, ldkv), out. */
struct attn_case {
	struct lms_attn_layout s;
	float *q, *k, *v, *out, *att;
	size_t nq, nkv, nout, natt;
};

static void attn_case_init(struct attn_case *ac, struct lms_attn_layout s, int fused,
                           struct lms_rng *g)
{
	ac->s = s;
	size_t BT = (size_t)s.B * s.T;
	ac->nout = BT * s.ldo;
	ac->natt = (size_t)s.B * s.NH * s.T * s.T;
	if (fused) {
		ac->nq = BT * s.ldq;
		ac->q = vec(ac->nq, 1.0f, g);
		ac->k = ac->q + s.NH * s.hs;
		ac->v = ac->q + 2 * s.NH * s.hs;
		ac->nkv = 0;
	} else {
		ac->nq = BT * s.ldq;
		ac->nkv = BT * s.ldkv;
		ac->q = vec(ac->nq, 1.0f, g);
		ac->k = vec(ac->nkv, 1.0f, g);
		ac->v = vec(ac->nkv, 1.0f, g);
	}
	ac->out = zeros(ac->nout);
	ac->att = zeros(ac->natt);
}

static void attn_case_free(struct attn_case *ac)
{
	free(ac->q);
	if (ac->nkv) {
		free(ac->k);
		free(ac->v);
	}
	free(ac->out);
	free(ac->att);
}

static void run_attention(const struct fd_fn *f, float *out)
{
	const struct attn_case *ac = (const void *)f->a[0];
	lms_attention_forward(out, ac->att, ac->q, ac->k, ac->v, &ac->s, 0, f->i[0]);
}

static void check_attention(struct lms_attn_layout s, int fused)
{
	struct lms_rng g;
	lms_rng_seed(&g, 23);
	struct attn_case ac;
	attn_case_init(&ac, s, fused, &g);
	int n = s.T - 1; /* leave the last position unused */
	float *out_ref = zeros(ac.nout), *att_ref = zeros(ac.natt);
	lms_attention_forward(ac.out, ac.att, ac.q, ac.k, ac.v, &s, 0, n);
	lms_attention_forward_ref(out_ref, att_ref, ac.q, ac.k, ac.v, &s, 0, n);
	ck_assert_double_lt(tu_max_rel_err(ac.out, out_ref, ac.nout, 1e-3), REF_TOL);
	ck_assert_double_lt(tu_max_rel_err(ac.att, att_ref, ac.natt, 1e-3), REF_TOL);
	/* rows are distributions over the past */
	for (int bh = 0; bh < s.B * s.NH; bh++)
		for (int t = 0; t < n; t++) {
			const float *row = ac.att + ((size_t)bh * s.T + t) * s.T;
			double sum = 0.0;
			for (int j = 0; j < s.T; j++) {
				if (j > t)
					ck_assert(row[j] == 0.0f);
				ck_assert(row[j] >= 0.0f);
				sum += row[j];
			}
			ck_assert_double_lt(fabs(sum - 1.0), 1e-5);
		}
	/* prefix reuse: queries [k, n) after a forward of [0, k) */
	if (s.B == 1) {
		float *out2 = zeros(ac.nout), *att2 = zeros(ac.natt);
		lms_attention_forward(out2, att2, ac.q, ac.k, ac.v, &s, 0, 3);
		lms_attention_forward(out2, att2, ac.q, ac.k, ac.v, &s, 3, n);
		ck_assert_double_lt(tu_max_rel_err(ac.out, out2, ac.nout, 1e-3), 1e-6);
		ck_assert_double_lt(tu_max_rel_err(ac.att, att2, ac.natt, 1e-3), 1e-6);
		free(out2);
		free(att2);
	}
	/* backward against the twin, accumulating onto random values */
	size_t nd = fused ? ac.nq : ac.nq + 2 * ac.nkv;
	float *dout = vec(ac.nout, 1.0f, &g), *d = vec(nd, 1.0f, &g),
		  *d_ref = malloc(nd * sizeof(float));
	memcpy(d_ref, d, nd * sizeof(float));
	float *scratch = zeros((size_t)n * n);
	float *dq = d, *dk = fused ? d + s.NH * s.hs : d + ac.nq,
		  *dv = fused ? d + 2 * s.NH * s.hs : dk + ac.nkv;
	float *dq_ref = d_ref, *dk_ref = d_ref + (dk - d), *dv_ref = d_ref + (dv - d);
	lms_attention_backward(dq, dk, dv, scratch, dout, ac.att, ac.q, ac.k, ac.v, &s, 0, n);
	lms_attention_backward_ref(dq_ref, dk_ref, dv_ref, dout, ac.att, ac.q, ac.k, ac.v, &s, n);
	ck_assert_double_lt(tu_max_rel_err(d, d_ref, nd, 1e-3), REF_TOL);
	/* backward against finite differences (dout zero at the unused position) */
	for (int b = 0; b < s.B; b++)
		memset(dout + ((size_t)b * s.T + n) * s.ldo, 0, s.ldo * sizeof(float));
	memset(d, 0, nd * sizeof(float));
	lms_attention_backward(dq, dk, dv, scratch, dout, ac.att, ac.q, ac.k, ac.v, &s, 0, n);
	struct fd_fn f = {.run = run_attention, .a = {(const float *)(const void *)&ac}, .i = {n}};
	if (fused) {
		ck_assert_double_lt(fd_check(&f, ac.q, ac.nq, d, dout, ac.nout), FD_TOL);
	} else {
		ck_assert_double_lt(fd_check(&f, ac.q, ac.nq, dq, dout, ac.nout), FD_TOL);
		ck_assert_double_lt(fd_check(&f, ac.k, ac.nkv, dk, dout, ac.nout), FD_TOL);
		ck_assert_double_lt(fd_check(&f, ac.v, ac.nkv, dv, dout, ac.nout), FD_TOL);
	}
	free(out_ref);
	free(att_ref);
	free(dout);
	free(d);
	free(d_ref);
	free(scratch);
	attn_case_free(&ac);
}

START_TEST(test_attention_fused)
{
	/* GPT-2's fused qkv: B = 2, T = 6, C = 8, NH = 2 */
	check_attention(lms_attn_layout_fused(2, 6, 8, 2), 1);
	check_attention(lms_attn_layout_fused(1, 7, 6, 3), 1);
}
END_TEST

START_TEST(test_attention_grouped)
{
	/* grouped queries: 4 query heads sharing 2 key/value heads of size 3 */
	struct lms_attn_layout s = {
		.B = 1, .T = 6, .NH = 4, .KV = 2, .hs = 3, .ldq = 12, .ldkv = 6, .ldo = 12};
	check_attention(s, 0);
	s.B = 2;
	check_attention(s, 0);
}
END_TEST

/* Long contexts take the blocked path (queries in blocks of 64 rows). */
START_TEST(test_attention_long)
{
	struct lms_rng g;
	lms_rng_seed(&g, 31);
	struct attn_case ac;
	struct lms_attn_layout s = lms_attn_layout_fused(1, 150, 8, 2);
	attn_case_init(&ac, s, 1, &g);
	float *out_ref = zeros(ac.nout), *att_ref = zeros(ac.natt);
	lms_attention_forward(ac.out, ac.att, ac.q, ac.k, ac.v, &s, 0, 150);
	lms_attention_forward_ref(out_ref, att_ref, ac.q, ac.k, ac.v, &s, 0, 150);
	/* outputs average up to 150 values: float sums of that length, taken
	 * in another order, differ by a few 1e-6 of the inputs' size */
	ck_assert_double_lt(tu_max_rel_err(ac.out, out_ref, ac.nout, 1e-1), REF_TOL);
	ck_assert_double_lt(tu_max_rel_err(ac.att, att_ref, ac.natt, 1e-3), REF_TOL);
	/* a shorter forward afterwards leaves every row causal */
	lms_attention_forward(ac.out, ac.att, ac.q, ac.k, ac.v, &s, 0, 70);
	for (int t = 0; t < 70; t++)
		for (int j = t + 1; j < 150; j++)
			ck_assert(ac.att[(size_t)t * 150 + j] == 0.0f);
	free(out_ref);
	free(att_ref);
	attn_case_free(&ac);
}
END_TEST

static void run_attention_streamed(const struct fd_fn *f, float *out)
{
	const struct attn_case *ac = (const void *)f->a[0];
	float *scratch = (float *)(const void *)f->a[1];
	lms_attention_forward_streamed(out, scratch, ac->q, ac->k, ac->v, &ac->s, 0, f->i[0]);
}

/* The streamed forward (no probabilities kept), the probabilities
 * recomputed one head at a time and the backward that recomputes them,
 * against the textbook loops and finite differences; queries in three
 * calls [0, split), [split, n - 1) and [n - 1, n), as keystrokes reuse a
 * prefix. */
static void check_streamed(struct lms_attn_layout s, int fused, int split)
{
	struct lms_rng g;
	lms_rng_seed(&g, 37);
	struct attn_case ac;
	attn_case_init(&ac, s, fused, &g);
	int n = s.T - 1, T = s.T;
	float *out_ref = zeros(ac.nout), *att_ref = zeros(ac.natt);
	float *work = zeros(2 * (size_t)T * T);
	lms_attention_forward_ref(out_ref, att_ref, ac.q, ac.k, ac.v, &s, 0, n);
	/* then one query on its own, as a keystroke appends one token */
	lms_attention_forward_streamed(ac.out, work, ac.q, ac.k, ac.v, &s, 0, split);
	lms_attention_forward_streamed(ac.out, work, ac.q, ac.k, ac.v, &s, split, n - 1);
	lms_attention_forward_streamed(ac.out, work, ac.q, ac.k, ac.v, &s, n - 1, n);
	ck_assert_double_lt(tu_max_rel_err(ac.out, out_ref, ac.nout, 1e-1), 1e-5);
	/* each head's probabilities, in a buffer holding garbage beforehand */
	float *p = vec((size_t)T * T, 5.0f, &g);
	for (int b = 0; b < s.B; b++)
		for (int h = 0; h < s.NH; h++) {
			lms_attention_probs(p, T, ac.q, ac.k, &s, b, h, n);
			const float *r = att_ref + ((size_t)b * s.NH + h) * T * T;
			for (int t = 0; t < n; t++)
				for (int j = 0; j < T; j++) {
					float x = p[(size_t)t * T + j], y = r[(size_t)t * T + j];
					if (j > t) /* to the row's end: no garbage left right of n */
						ck_assert(x == 0.0f);
					else
						ck_assert_double_lt(fabs(x - y), 1e-5);
				}
		}
	/* backward recomputing the probabilities, against the twin given them */
	size_t nd = fused ? ac.nq : ac.nq + 2 * ac.nkv;
	float *dout = vec(ac.nout, 1.0f, &g), *d = vec(nd, 1.0f, &g),
		  *d_ref = malloc(nd * sizeof(float));
	for (int b = 0; b < s.B; b++)
		memset(dout + ((size_t)b * T + n) * s.ldo, 0, s.ldo * sizeof(float));
	memcpy(d_ref, d, nd * sizeof(float));
	float *dq = d, *dk = fused ? d + s.NH * s.hs : d + ac.nq,
		  *dv = fused ? d + 2 * s.NH * s.hs : dk + ac.nkv;
	float *dq_ref = d_ref, *dk_ref = d_ref + (dk - d), *dv_ref = d_ref + (dv - d);
	lms_attention_backward(dq, dk, dv, work, dout, NULL, ac.q, ac.k, ac.v, &s, 0, n);
	lms_attention_backward_ref(dq_ref, dk_ref, dv_ref, dout, att_ref, ac.q, ac.k, ac.v, &s, n);
	/* the twin's probabilities differ from the recomputed ones by float
	 * rounding, which sums of up to n terms carry into the gradient: the
	 * bound grows with n (at 300 positions OpenBLAS's AVX-512 kernels,
	 * which sum in another order than its AVX2 ones, came to 1.25e-5) */
	double tol = n > 150 ? REF_TOL * n / 150.0 : REF_TOL;
	ck_assert_double_lt(tu_max_rel_err(d, d_ref, nd, 1e-1), tol);
	/* given the probabilities a storing forward kept: the same numbers */
	float *att = zeros(ac.natt), *out2 = zeros(ac.nout);
	lms_attention_forward(out2, att, ac.q, ac.k, ac.v, &s, 0, n);
	memset(d, 0, nd * sizeof(float));
	memset(d_ref, 0, nd * sizeof(float));
	lms_attention_backward(dq, dk, dv, work, dout, NULL, ac.q, ac.k, ac.v, &s, 0, n);
	lms_attention_backward(dq_ref, dk_ref, dv_ref, work, dout, att, ac.q, ac.k, ac.v, &s, 0, n);
	ck_assert_double_lt(tu_max_rel_err(d, d_ref, nd, 1e-3), 1e-6);
	free(att);
	free(out2);
	/* queries [split, n) alone, dout zero below them (a top layer's last
	 * rows): every key's gradient still, and dq below split untouched */
	for (int b = 0; b < s.B; b++)
		memset(dout + (size_t)b * T * s.ldo, 0, (size_t)split * s.ldo * sizeof(float));
	for (size_t i = 0; i < nd; i++)
		d[i] = d_ref[i] = 0.25f * (float)(i % 7) - 0.5f;
	lms_attention_backward(dq, dk, dv, work, dout, NULL, ac.q, ac.k, ac.v, &s, split, n);
	lms_attention_backward_ref(dq_ref, dk_ref, dv_ref, dout, att_ref, ac.q, ac.k, ac.v, &s, n);
	ck_assert_double_lt(tu_max_rel_err(d, d_ref, nd, 1e-1), tol);
	/* finite differences in float drown in the rounding of 150-term sums:
	 * the long case is held to the twin above only */
	if (T > 16)
		goto done;
	memset(d, 0, nd * sizeof(float));
	lms_attention_backward(dq, dk, dv, work, dout, NULL, ac.q, ac.k, ac.v, &s, 0, n);
	struct fd_fn f = {
		.run = run_attention_streamed, .a = {(const float *)(const void *)&ac, work}, .i = {n}};
	if (fused) {
		ck_assert_double_lt(fd_check(&f, ac.q, ac.nq, d, dout, ac.nout), FD_TOL);
	} else {
		ck_assert_double_lt(fd_check(&f, ac.q, ac.nq, dq, dout, ac.nout), FD_TOL);
		ck_assert_double_lt(fd_check(&f, ac.k, ac.nkv, dk, dout, ac.nout), FD_TOL);
		ck_assert_double_lt(fd_check(&f, ac.v, ac.nkv, dv, dout, ac.nout), FD_TOL);
	}
done:
	free(p);
	free(out_ref);
	free(att_ref);
	free(work);
	free(dout);
	free(d);
	free(d_ref);
	attn_case_free(&ac);
}

/* The streamed kernels' cases: fused q, k, v; grouped queries; several
 * blocks of LMS_ATT_BLOCK queries with the split inside one. */
static void streamed_cases(void)
{
	check_streamed(lms_attn_layout_fused(2, 6, 8, 2), 1, 2);
	struct lms_attn_layout s = {
		.B = 2, .T = 6, .NH = 4, .KV = 2, .hs = 3, .ldq = 12, .ldkv = 6, .ldo = 12};
	check_streamed(s, 0, 3);
	check_streamed(lms_attn_layout_fused(1, 150, 8, 2), 1, 70);
}

START_TEST(test_attention_streamed)
{
	streamed_cases();
}
END_TEST

/* With one BLAS thread a single query takes sgemv (ops.c one_query). */
START_TEST(test_attention_one_thread)
{
	lms_set_threads(1);
	streamed_cases();
}
END_TEST

/* Each product by its size (nn/blas.c): a small head's single query is
 * small, so sgemv takes it, whatever the larger products get. And a long
 * context's heads in two halves over two cores (ops.c second_scratch), by
 * groups of heads sharing keys and values: forward and backward. */
START_TEST(test_attention_by_size)
{
	lms_set_threads_by_size(2);
	streamed_cases();
	long s0 = lms_split_count();
	struct lms_attn_layout s = {
		.B = 2, .T = 300, .NH = 4, .KV = 2, .hs = 32, .ldq = 128, .ldkv = 64, .ldo = 128};
	check_streamed(s, 0, 150);
	/* the forward's middle call, the backward (twice) */
	ck_assert_int_ge(lms_split_count() - s0, 3);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"matmul", test_matmul},
		{"linear", test_linear},
		{"matmul_linear_agree", test_matmul_linear_agree},
		{"layernorm", test_layernorm},
		{"gelu", test_gelu},
		{"vexp", test_vexp},
		{"residual", test_residual},
		{"attention_fused", test_attention_fused},
		{"attention_grouped", test_attention_grouped},
		{"attention_long", test_attention_long},
		{"attention_streamed", test_attention_streamed},
		{"attention_one_thread", test_attention_one_thread},
		{"attention_by_size", test_attention_by_size},
	};
	return TU_SUITE("ops", cases, 0);
}
