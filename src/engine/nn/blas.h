/* The engine's matrix products, through one door: row-major cblas_sgemm and
 * cblas_sgemv with the same arguments (minus the order), each run on the
 * number of OpenBLAS threads its size deserves under lms_set_threads_by_size
 * (lmscope/status.h), else on OpenBLAS's one count. */
#ifndef LMS_NN_BLAS_H
#define LMS_NN_BLAS_H

#include <cblas.h>

/* C (M, N) = alpha op(A) (M, K) @ op(B) (K, N) + beta C */
void lms_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc);

/* y = alpha op(A) x + beta y, A (rows, cols) row stride lda */
void lms_sgemv(CBLAS_TRANSPOSE ta, int rows, int cols, float alpha, const float *A, int lda,
               const float *x, float beta, float *y);

/* Whether a matrix-vector product over `floats` matrix elements runs on one
 * thread (callers that would otherwise pick sgemm for its threading). */
int lms_sgemv_single(size_t floats);

/* Part `part` of `parts` (0 <= part < parts) of some work. */
typedef void (*lms_split_fn)(void *arg, int part, int parts);

/* Runs fn(arg, 0, 2) here and fn(arg, 1, 2) on a helper thread at once,
 * when the work is large and the products go by size over two or more
 * cores; else fn(arg, 0, 1). Products inside either part run on their
 * thread alone. Returns the parts used. */
int lms_split(lms_split_fn fn, void *arg, int large);
/* Whether lms_split may split large work (products go by size over two or
 * more cores). */
int lms_split_available(void);
/* How many works lms_split has run in two halves (for tests). */
long lms_split_count(void);
/* How many products the few-row kernels took (gemm_few.h; for tests). */
long lms_few_count(void);

/* Back to one count for every product (lms_set_threads calls it). */
void lms_blas_fixed(void);

#endif
