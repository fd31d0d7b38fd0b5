/* Few-row products read in place (gemm_few.h).
 *
 * Both kernels are one register tile: R rows of a "p" operand, each
 * element broadcast, times G vectors of 16 columns of a "q" operand,
 * accumulated over k into R x G zmm registers (at most 24 of the 32):
 *
 *   acc[i][g] += p_i[k] * q[k][16 g : 16 g + 16]      for k in a K block
 *
 * - B not transposed (C = A B, B (K, N)): p = A's rows (R = 6), q = a
 *   panel of B's columns, 64 wide (G = 4) and read in place; the row
 *   tiles of A share the panel from L2. acc is C's tile as it lies.
 * - B transposed (C = A B^T, B (N, K)): p = B's rows, q = A^T (K, 64),
 *   transposed once per product; G = ceil(M / 16) and R grows as G
 *   shrinks (16, 12, 8, 6 rows for G = 1 to 4). acc is C^T's tile,
 *   stored transposed.
 *
 * K is taken in blocks of KC, so that a panel (KC x 64) and the rows of
 * the other operand it meets stay in L2; C gathers the blocks' sums. */
#include <stdlib.h>

#include "nn/gemm_few.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>

/* Compiled for AVX-512 whatever the build's -march (the sanitizer and
 * valgrind builds have none), taken when the processor has it: valgrind
 * reports none, so it never runs them. */
#define AVX512 __attribute__((target("avx512f")))

/* K blocks of 768: GPT-2 small's width whole; 512 and 1024 were slower on
 * its 64-row products (a 3072-deep one: 263, 264 and 163 GFLOP/s) */
enum { KC = 768, NW = 64, NN_R = 6 };

#define INLINE static inline __attribute__((always_inline)) AVX512

/* The mask of the first w (<= 16) of a vector's lanes */
INLINE __mmask16 lanes(int w)
{
	return w >= 16 ? (__mmask16)0xFFFF : w <= 0 ? (__mmask16)0 : (__mmask16)((1u << w) - 1);
}

/* acc (R, G vectors) = sum over k < kc of p[i ldp + k] * q[k ldq + 16 g],
 * q's lanes under m[g] (m NULL: every lane; masked loads were a fifth
 * slower) */
INLINE void tile(__m512 out[24], const float *p, size_t ldp, const float *q, size_t ldq, int kc,
                 const __mmask16 m[4], const int R, const int G)
{
	/* a local array indexed by constants only, which the compiler keeps
	 * in registers (out, indexed at run time by the caller, is memory) */
	__m512 acc[24];
#pragma GCC unroll 24
	for (int i = 0; i < R * G; i++)
		acc[i] = _mm512_setzero_ps();
	for (int k = 0; k < kc; k++) {
		const float *qk = q + (size_t)k * ldq;
		__m512 v[4];
#pragma GCC unroll 4
		for (int g = 0; g < G; g++)
			v[g] = m ? _mm512_maskz_loadu_ps(m[g], qk + 16 * g) : _mm512_loadu_ps(qk + 16 * g);
#pragma GCC unroll 24
		for (int i = 0; i < R; i++) {
			__m512 b = _mm512_set1_ps(p[i * ldp + k]);
#pragma GCC unroll 4
			for (int g = 0; g < G; g++)
				acc[i * G + g] = _mm512_fmadd_ps(b, v[g], acc[i * G + g]);
		}
	}
#pragma GCC unroll 24
	for (int i = 0; i < R * G; i++)
		out[i] = acc[i];
}

/* y = alpha acc + (first K block ? beta y : y), y's lanes under m; beta 0
 * reads nothing (C may hold anything then, as BLAS allows) */
INLINE __m512 gather_sum(__m512 acc, const float *y, __mmask16 m, float alpha, float beta,
                         int first)
{
	__m512 old = first && beta == 0.0f ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m, y);
	if (first && beta != 0.0f && beta != 1.0f)
		old = _mm512_mul_ps(old, _mm512_set1_ps(beta));
	return _mm512_fmadd_ps(_mm512_set1_ps(alpha), acc, old);
}

/* ---- C = A B: rows [m0, m0 + NN_R) x columns [n, n + w), k in [k0, k0 + kc);
 * rows below `keep` are another tile's and not stored */
AVX512 static void nn_block(const struct lms_few *f, int m0, int keep, int n, int w, int k0, int kc)
{
	__mmask16 m[4];
	for (int g = 0; g < 4; g++)
		m[g] = lanes(w - 16 * g);
	__m512 acc[24];
	const float *a = f->A + (size_t)m0 * f->lda + k0, *b = f->B + (size_t)k0 * f->ldb + n;
	if (w == NW)
		tile(acc, a, (size_t)f->lda, b, (size_t)f->ldb, kc, NULL, NN_R, 4);
	else
		tile(acc, a, (size_t)f->lda, b, (size_t)f->ldb, kc, m, NN_R, 4);
	for (int i = keep - m0; i < NN_R; i++) {
		float *y = f->C + (size_t)(m0 + i) * f->ldc + n;
		for (int g = 0; g < 4; g++)
			if (m[g])
				_mm512_mask_storeu_ps(
					y + 16 * g, m[g],
					gather_sum(acc[i * 4 + g], y + 16 * g, m[g], f->alpha, f->beta, k0 == 0));
	}
}

/* The last tile of rows overlaps the one before it (M >= NN_R), so that
 * every tile is whole */
AVX512 static void nn_columns(const struct lms_few *f, int n0, int n1)
{
	for (int n = n0; n < n1; n += NW) {
		int w = n1 - n < NW ? n1 - n : NW;
		for (int k0 = 0; k0 < f->K; k0 += KC) {
			int kc = f->K - k0 < KC ? f->K - k0 : KC;
			for (int m0 = 0; m0 < f->M; m0 += NN_R) {
				int start = f->M - m0 < NN_R ? f->M - NN_R : m0;
				nn_block(f, start, m0, n, w, k0, kc);
			}
		}
	}
}

/* ---- C = A B^T: columns [n, n + R) of C (B's rows), every row of C;
 * columns below `keep` are another tile's and not stored */
INLINE void nt_block(const struct lms_few *f, int n, int keep, int k0, int kc, const int R,
                     const int G)
{
	__m512 acc[24];
	tile(acc, f->B + (size_t)n * f->ldb + k0, (size_t)f->ldb, f->At + (size_t)k0 * NW, NW, kc, NULL,
	     R, G);
	float t[24 * 16]; /* acc as C^T's rows */
	for (int i = 0; i < R * G; i++)
		_mm512_storeu_ps(t + 16 * i, acc[i]);
	int first = k0 == 0;
	for (int r = 0; r < f->M; r++) {
		float *y = f->C + (size_t)r * f->ldc;
		for (int i = keep - n; i < R; i++) {
			float s = f->alpha * t[i * G * 16 + r];
			y[n + i] = first && f->beta == 0.0f ? s : s + (first ? f->beta : 1.0f) * y[n + i];
		}
	}
}

/* R rows of B per tile, over G vectors of A's rows; the last tile overlaps
 * the one before it (n1 - n0 >= R: lms_few_columns) */
#define NT_COLUMNS(G, R)                                                                           \
	AVX512 static void nt_columns_##G(const struct lms_few *f, int n0, int n1)                     \
	{                                                                                              \
		for (int k0 = 0; k0 < f->K; k0 += KC) {                                                    \
			int kc = f->K - k0 < KC ? f->K - k0 : KC;                                              \
			for (int n = n0; n < n1; n += R)                                                       \
				nt_block(f, n1 - n < R ? n1 - R : n, n, k0, kc, R, G);                             \
		}                                                                                          \
	}
NT_COLUMNS(1, 16)
NT_COLUMNS(2, 12)
NT_COLUMNS(3, 8)
NT_COLUMNS(4, 6)

int lms_few_prepare(struct lms_few *f)
{
	f->At = NULL;
	if (!__builtin_cpu_supports("avx512f"))
		return 0;
	/* whole tiles: NN_R rows of A; 16 of B's (the tallest transposed tile) */
	if (f->M > LMS_FEW_ROWS || f->K < 1 || (!f->bt && f->M < NN_R) || (f->bt && f->N < 32))
		return 0;
	if (!f->bt)
		return 1;
	/* A^T (K, 64), zero past row M of A */
	f->At = calloc((size_t)f->K * NW, sizeof(float));
	if (!f->At)
		return 0;
	for (int r = 0; r < f->M; r++) {
		const float *a = f->A + (size_t)r * f->lda;
		for (int k = 0; k < f->K; k++)
			f->At[(size_t)k * NW + r] = a[k];
	}
	return 1;
}

void lms_few_columns(const struct lms_few *f, int n0, int n1)
{
	if (!f->bt) {
		nn_columns(f, n0, n1);
		return;
	}
	switch ((f->M + 15) / 16) {
	case 1: nt_columns_1(f, n0, n1); break;
	case 2: nt_columns_2(f, n0, n1); break;
	case 3: nt_columns_3(f, n0, n1); break;
	default: nt_columns_4(f, n0, n1);
	}
}

#else /* not x86-64: lms_sgemm keeps OpenBLAS */

int lms_few_prepare(struct lms_few *f)
{
	f->At = NULL;
	return 0;
}

void lms_few_columns(const struct lms_few *f, int n0, int n1)
{
	(void)f;
	(void)n0;
	(void)n1;
}

#endif

void lms_few_release(struct lms_few *f)
{
	free(f->At);
	f->At = NULL;
}
