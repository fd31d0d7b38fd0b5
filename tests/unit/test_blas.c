/* nn/blas.c, the engine's door to OpenBLAS: lms_sgemm and lms_sgemv against
 * plain loops written here, for products on either side of the by-size
 * thresholds, under one fixed thread and under the by-size policy; and two
 * threads using it at once (the explorer's two models' workers), each
 * product checked, while the products around it flip OpenBLAS's thread
 * count. */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lmscope/rng.h"
#include "lmscope/status.h"
#include "nn/blas.h"
#include "testutil.h"

/* c (M, N) = op(a) (M, K) @ op(b) + beta c, in double: op(a) = a^T with a
 * (K, M) when at, else a (M, K); op(b) = b^T with b (N, K) when bt, else
 * b (K, N) */
static void ref_gemm2(int at, int bt, int M, int N, int K, const float *a, const float *b,
                      float beta, float *c)
{
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			double s = beta * c[(size_t)i * N + j];
			for (int k = 0; k < K; k++)
				s += (double)(at ? a[(size_t)k * M + i] : a[(size_t)i * K + k]) *
				     (bt ? b[(size_t)j * K + k] : b[(size_t)k * N + j]);
			c[(size_t)i * N + j] = (float)s;
		}
}

static void ref_gemm(int bt, int M, int N, int K, const float *a, const float *b, float beta,
                     float *c)
{
	ref_gemm2(0, bt, M, N, K, a, b, beta, c);
}

/* worst |x - y| over n, relative to 1 + |y| */
static double worst(const float *x, const float *y, size_t n)
{
	double w = 0.0;
	for (size_t i = 0; i < n; i++)
		w = fmax(w, fabs((double)x[i] - y[i]) / (1.0 + fabs(y[i])));
	return w;
}

/* (M, N, K): below and above GEMM_MIN_FLOP and GEMM_MIN_ROWS; one row; a
 * few rows against a large matrix; on two cores the large ones split, by
 * columns (64 x 768, 12 x 4099) or by rows (300 x 64) */
static const int shapes[][3] = {{3, 5, 7},    {64, 64, 64},    {64, 768, 256}, {8, 1024, 256},
                                {1, 300, 40}, {12, 4099, 520}, {300, 64, 520}};
enum { SPLIT_SHAPES = 3 };

static void products_match(void)
{
	struct lms_rng g;
	lms_rng_seed(&g, 11);
	for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
		int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
		float *a = malloc(sizeof(float) * M * K), *b = malloc(sizeof(float) * N * K);
		float *c = malloc(sizeof(float) * M * N), *r = malloc(sizeof(float) * M * N);
		tu_fill_normal(a, (size_t)M * K, 1.0f, &g);
		tu_fill_normal(b, (size_t)N * K, 1.0f, &g);
		for (int t = 0; t < 4; t++) {
			int at = t / 2, bt = t % 2;
			tu_fill_normal(c, (size_t)M * N, 1.0f, &g);
			for (int i = 0; i < M * N; i++)
				r[i] = c[i];
			lms_sgemm(at ? CblasTrans : CblasNoTrans, bt ? CblasTrans : CblasNoTrans, M, N, K, 1.0f,
			          a, at ? M : K, b, bt ? K : N, 0.5f, c, N);
			ref_gemm2(at, bt, M, N, K, a, b, 0.5f, r);
			ck_assert_msg(worst(c, r, (size_t)M * N) < 1e-4, "sgemm %dx%dx%d at %d bt %d: %g", M, N,
			              K, at, bt, worst(c, r, (size_t)M * N));
		}
		/* y (N) = b (N, K) @ a[0] (K) + 0.5 y, and y (K) = b^T (K, N) @ c[0:N] */
		float *y = malloc(sizeof(float) * (N > K ? N : K)),
			  *yr = malloc(sizeof(float) * (N > K ? N : K));
		tu_fill_normal(y, (size_t)N, 1.0f, &g);
		for (int i = 0; i < N; i++)
			yr[i] = y[i];
		lms_sgemv(CblasNoTrans, N, K, 1.0f, b, K, a, 0.5f, y);
		ref_gemm(1, 1, N, K, a, b, 0.5f, yr);
		ck_assert_double_lt(worst(y, yr, (size_t)N), 1e-4);
		lms_sgemv(CblasTrans, N, K, 1.0f, b, K, c, 0.0f, y);
		for (int i = 0; i < K; i++)
			yr[i] = 0.0f;
		ref_gemm(0, 1, K, N, c, b, 0.0f, yr);
		ck_assert_double_lt(worst(y, yr, (size_t)K), 1e-4);
		free(a);
		free(b);
		free(c);
		free(r);
		free(y);
		free(yr);
	}
}

START_TEST(test_one_thread)
{
	lms_set_threads(1);
	long s0 = lms_split_count();
	products_match();
	ck_assert_int_eq(lms_split_count(), s0);
}
END_TEST

START_TEST(test_by_size)
{
	lms_set_threads_by_size(2);
	ck_assert(lms_sgemv_single(1000));
	ck_assert(!lms_sgemv_single(768 * 3072));
	long s0 = lms_split_count();
	products_match();
	/* the large products, with a and b transposed and not */
	ck_assert_int_eq(lms_split_count() - s0, 4 * SPLIT_SHAPES);
}
END_TEST

/* The few-row kernels (nn/gemm_few.c) against a double loop written here:
 * A (M, K) row stride lda; B (K, N) or, bt, (N, K), row stride ldb; C
 * (M, N) row stride ldc; beta 0 reads nothing of C */
static void ref_strided(int bt, int M, int N, int K, float alpha, const float *a, int lda,
                        const float *b, int ldb, float beta, float *c, int ldc)
{
	for (int i = 0; i < M; i++)
		for (int j = 0; j < N; j++) {
			double s = 0.0;
			for (int k = 0; k < K; k++)
				s += (double)a[(size_t)i * lda + k] *
				     (bt ? b[(size_t)j * ldb + k] : b[(size_t)k * ldb + j]);
			float *y = c + (size_t)i * ldc + j;
			*y = (float)(alpha * s + (beta == 0.0f ? 0.0 : (double)beta * *y));
		}
}

/* (M, N, K), each with B of 256K floats or more: whole and partial tiles
 * of rows (6 at a time; 63 leaves 3), of a 64-column panel (1000 = 15 x 64
 * + 40), of B's rows (16, 12, 8 or 6 at a time as M takes 1 to 4 vectors
 * of 16), K past one 768 block (1500), a short K, and 2 to 64 rows */
static const int few_shapes[][3] = {{63, 1000, 1500}, {64, 4099, 64}, {7, 1000, 300},
                                    {33, 333, 800},   {2, 3000, 100}, {17, 530, 500},
                                    {48, 700, 400},   {12, 4099, 520}};

static void few_match(void)
{
	struct lms_rng g;
	lms_rng_seed(&g, 21);
	for (size_t s = 0; s < sizeof few_shapes / sizeof *few_shapes; s++) {
		int M = few_shapes[s][0], N = few_shapes[s][1], K = few_shapes[s][2];
		/* padded strides, to catch a kernel that assumes them tight */
		int lda = K + 3, ldc = N + 5;
		float *a = malloc(sizeof(float) * M * lda), *b = malloc(sizeof(float) * (N + 7) * (K + 7));
		float *c = malloc(sizeof(float) * M * ldc), *r = malloc(sizeof(float) * M * ldc);
		tu_fill_normal(a, (size_t)M * lda, 1.0f, &g);
		tu_fill_normal(b, (size_t)(N + 7) * (K + 7), 1.0f, &g);
		for (int t = 0; t < 6; t++) {
			int bt = t % 2, ldb = bt ? K + 7 : N + 7;
			float beta = t < 2 ? 0.0f : t < 4 ? 0.5f : 1.0f, alpha = t < 4 ? 1.0f : -0.75f;
			tu_fill_normal(c, (size_t)M * ldc, 1.0f, &g);
			if (beta == 0.0f) /* not to be read */
				for (int i = 0; i < M * ldc; i++)
					c[i] = NAN;
			memcpy(r, c, sizeof(float) * M * ldc);
			long f0 = lms_few_count();
			lms_sgemm(CblasNoTrans, bt ? CblasTrans : CblasNoTrans, M, N, K, alpha, a, lda, b, ldb,
			          beta, c, ldc);
			ref_strided(bt, M, N, K, alpha, a, lda, b, ldb, beta, r, ldc);
			/* every product here is theirs, but for B unmoved under 6 rows */
			ck_assert_int_eq(lms_few_count() - f0, bt || M >= 6);
			double e = 0.0;
			for (int i = 0; i < M; i++)
				e = fmax(e, worst(c + (size_t)i * ldc, r + (size_t)i * ldc, (size_t)N));
			ck_assert_msg(e < 1e-4, "few rows %dx%dx%d bt %d beta %g: %g", M, N, K, bt, beta, e);
			/* the padding between C's rows is left alone */
			for (int i = 0; i < M; i++)
				for (int j = N; j < ldc; j++) {
					float x = c[(size_t)i * ldc + j], y = r[(size_t)i * ldc + j];
					ck_assert(x == y || (isnan(x) && isnan(y)));
				}
		}
		free(a);
		free(b);
		free(c);
		free(r);
	}
}

START_TEST(test_few_rows)
{
	__builtin_cpu_init();
	if (!__builtin_cpu_supports("avx512f")) {
		printf("SKIP: few_rows: no AVX-512 on this processor\n");
		return;
	}
	lms_set_threads(1);
	few_match();
	lms_set_threads_by_size(2);
	long s0 = lms_split_count();
	few_match();
	/* the large ones over two cores: 63 x 1000 x 1500 and 12 x 4099 x 520
	 * both ways, 64 x 4099 x 64 and 33 x 333 x 800 with B transposed
	 * (every product but the three smallest, each both ways) */
	ck_assert_int_ge(lms_split_count() - s0, 6);
}
END_TEST

/* OpenBLAS's idle threads are to sleep a quarter of a millisecond after a
 * product (blas.c short_spin), unless the user said otherwise: the value
 * this process started with, else 19. */
START_TEST(test_thread_timeout)
{
	lms_set_threads_by_size(2);
	const char *now = getenv("OPENBLAS_THREAD_TIMEOUT");
	ck_assert_ptr_nonnull(now);
	char buf[1 << 16];
	FILE *f = fopen("/proc/self/environ", "rb");
	ck_assert_ptr_nonnull(f);
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	buf[n] = '\0';
	const char *start = NULL, *key = "OPENBLAS_THREAD_TIMEOUT=";
	for (size_t i = 0; i < n; i += strlen(buf + i) + 1)
		if (!strncmp(buf + i, key, strlen(key)))
			start = buf + i + strlen(key);
	ck_assert_str_eq(now, start ? start : "19");
}
END_TEST

/* One engine thread's stream of products: a large, a small and a few-row
 * sgemm (split over the helper thread, or both halves here while the other
 * thread has it) and a large sgemv, in turn, each against its reference. */
struct stream {
	const float *a, *w;
	const float *ref_big, *ref_small, *ref_v, *ref_few;
	int bad;
};

enum { BIG_M = 64, SMALL_M = 8, FEW_M = 12, WN = 4096, WK = 256, ROUNDS = 12 };

static void *stream_run(void *arg)
{
	struct stream *s = arg;
	float *c = malloc(sizeof(float) * BIG_M * WN);
	for (int it = 0; it < ROUNDS; it++) {
		lms_sgemm(CblasNoTrans, CblasTrans, FEW_M, WN, WK, 1.0f, s->a, WK, s->w, WK, 0.0f, c, WN);
		s->bad += worst(c, s->ref_few, (size_t)FEW_M * WN) > 1e-4;
		lms_sgemm(CblasNoTrans, CblasTrans, BIG_M, WN, WK, 1.0f, s->a, WK, s->w, WK, 0.0f, c, WN);
		s->bad += worst(c, s->ref_big, (size_t)BIG_M * WN) > 1e-4;
		lms_sgemm(CblasNoTrans, CblasTrans, SMALL_M, WN, WK, 1.0f, s->a, WK, s->w, WK, 0.0f, c, WN);
		s->bad += worst(c, s->ref_small, (size_t)SMALL_M * WN) > 1e-4;
		lms_sgemv(CblasNoTrans, WN, WK, 1.0f, s->w, WK, s->a, 0.0f, c);
		s->bad += worst(c, s->ref_v, WN) > 1e-4;
	}
	free(c);
	return NULL;
}

START_TEST(test_two_threads)
{
	lms_set_threads_by_size(2);
	struct lms_rng g;
	lms_rng_seed(&g, 5);
	float *w = malloc(sizeof(float) * WN * WK), *a[2], *ref[2][4];
	tu_fill_normal(w, (size_t)WN * WK, 1.0f, &g);
	struct stream st[2];
	for (int t = 0; t < 2; t++) {
		a[t] = malloc(sizeof(float) * BIG_M * WK);
		tu_fill_normal(a[t], (size_t)BIG_M * WK, 1.0f, &g);
		ref[t][0] = calloc((size_t)BIG_M * WN, sizeof(float));
		ref[t][1] = calloc((size_t)SMALL_M * WN, sizeof(float));
		ref[t][2] = calloc(WN, sizeof(float));
		ref[t][3] = calloc((size_t)FEW_M * WN, sizeof(float));
		ref_gemm(1, BIG_M, WN, WK, a[t], w, 0.0f, ref[t][0]);
		ref_gemm(1, FEW_M, WN, WK, a[t], w, 0.0f, ref[t][3]);
		ref_gemm(1, SMALL_M, WN, WK, a[t], w, 0.0f, ref[t][1]);
		ref_gemm(1, 1, WN, WK, a[t], w, 0.0f, ref[t][2]);
		st[t] = (struct stream){a[t], w, ref[t][0], ref[t][1], ref[t][2], ref[t][3], 0};
	}
	long s0 = lms_split_count();
	pthread_t other;
	ck_assert_int_eq(pthread_create(&other, NULL, stream_run, &st[1]), 0);
	stream_run(&st[0]);
	pthread_join(other, NULL);
	/* each few-row product split, on the helper or, when the other thread
	 * had it, both halves here; at least one thread's every one did */
	ck_assert_int_ge(lms_split_count() - s0, ROUNDS);
	ck_assert_int_eq(st[0].bad, 0);
	ck_assert_int_eq(st[1].bad, 0);
	for (int t = 0; t < 2; t++) {
		free(a[t]);
		for (int k = 0; k < 4; k++)
			free(ref[t][k]);
	}
	free(w);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"one_thread", test_one_thread},   {"by_size", test_by_size},
		{"two_threads", test_two_threads}, {"thread_timeout", test_thread_timeout},
		{"few_rows", test_few_rows},
	};
	return TU_SUITE("blas", cases, 0);
}
