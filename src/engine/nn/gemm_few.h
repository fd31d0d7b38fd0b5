/* Products of a few rows against a large matrix, without packing it.
 *
 * OpenBLAS copies op(B) into its packed layout before every product. When
 * A has a few dozen rows (the explorer's 64-position update, the logit
 * lens's dozen rows) each packed element is used that many times only, and
 * the copy of a matrix read cold from memory took 40% of OpenBLAS's time in
 * a GPT-2-small update (perf: sgemm_incopy and itcopy against the kernel).
 * These kernels read B where it lies, a panel at a time that the row tiles
 * then share from cache. blas.c's lms_sgemm sends them the products they
 * were measured to win. */
#ifndef LMS_NN_GEMM_FEW_H
#define LMS_NN_GEMM_FEW_H

/* The most rows of A these kernels take. */
#define LMS_FEW_ROWS 64

/* C (M, N) = alpha A (M, K) @ op(B) + beta C, row-major, A not transposed;
 * op(B) = B (K, N), or B^T with B (N, K) when bt. */
struct lms_few {
	int bt, M, N, K;
	float alpha, beta;
	const float *A, *B;
	int lda, ldb, ldc;
	float *C;
	float *At; /* bt: A^T (K, 64), columns past M zero; lms_few_prepare makes it */
};

/* Whether this build has the kernels (AVX-512) and f fits them (M <=
 * LMS_FEW_ROWS; at least 6 rows of A when B is not transposed, 32 of B
 * when it is); then f is ready for lms_few_columns (for bt, At is
 * allocated: lms_few_release frees it). 0: use another product. */
int lms_few_prepare(struct lms_few *f);
/* Columns [n0, n1) of C, at least 16 of them unless n1 = N; calls for
 * disjoint ranges may run at once. */
void lms_few_columns(const struct lms_few *f, int n0, int n1);
void lms_few_release(struct lms_few *f);

#endif
