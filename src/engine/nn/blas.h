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

/* Back to one count for every product (lms_set_threads calls it). */
void lms_blas_fixed(void);

#endif
