/* The engine's matrix products (blas.h) and the thread count each gets.
 *
 * OpenBLAS has one thread count for every product. On two cores the right
 * count depends on the product: a keystroke's matrix-vector products read
 * GPT-2 small's 494 MB of weights at about 24 GB/s on one core and 48 on
 * two, while a product of a few dozen rows over a 768-wide matrix finishes
 * before a second thread has woken (0.8 ms on one thread, slower on two; a
 * head of attention over 64 positions is a hundredth of that). Under
 * lms_set_threads_by_size, products past the thresholds below run on
 * `most` threads, the others on one. The count is OpenBLAS's global, so
 * concurrent callers (the explorer's two models' workers) may run a product
 * on the other's count. That is a matter of speed and of the last bits:
 * OpenBLAS's sums may be ordered differently on one thread than on two, as
 * they always were between LMSCOPE_THREADS settings. */
#include <stddef.h>

#include "lmscope/status.h"
#include "nn/blas.h"

/* Measured on this project's two-core machine (OpenBLAS 0.3.21):
 * M = 64 rows over 768 x 768 (75 MFLOP) 0.81 ms on one thread, 0.48 on two;
 * 256 x 256 x 64 (8 MFLOP) 0.09 and 0.10; 64 x 128 x 64 0.012 and 0.022;
 * products of 12 rows or fewer no faster on two at any width (OpenBLAS
 * packs the whole weight matrix either way); matrix-vector products over
 * GPT-2 small's matrices (2.3 to 9.4 MB) and its unembedding (154 MB)
 * twice as fast on two, 48 GB/s against 24. */
enum {
	GEMM_MIN_FLOP = 16 << 20, /* 2 M N K */
	GEMM_MIN_ROWS = 16,       /* the smallest of M, N and K */
	GEMV_MIN_FLOATS = 256 << 10,
};

static int most;    /* threads for a large product; 0: OpenBLAS's own count throughout */
static int current; /* the count last set here */

void lms_set_threads_by_size(int n)
{
	if (n <= 1) {
		lms_set_threads(1);
		return;
	}
	most = n;
	current = 0;
}

void lms_blas_fixed(void)
{
	most = 0;
	current = 0;
}

static void use(int large)
{
	if (!most)
		return;
	int want = large ? most : 1;
	if (want != current) {
		openblas_set_num_threads(want);
		current = want;
	}
}

static int min3(int a, int b, int c)
{
	int m = a < b ? a : b;
	return m < c ? m : c;
}

void lms_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
	use(2.0 * M * N * K >= GEMM_MIN_FLOP && min3(M, N, K) >= GEMM_MIN_ROWS);
	cblas_sgemm(CblasRowMajor, ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

void lms_sgemv(CBLAS_TRANSPOSE ta, int rows, int cols, float alpha, const float *A, int lda,
               const float *x, float beta, float *y)
{
	use(!lms_sgemv_single((size_t)rows * cols));
	cblas_sgemv(CblasRowMajor, ta, rows, cols, alpha, A, lda, x, 1, beta, y, 1);
}

int lms_sgemv_single(size_t floats)
{
	if (most)
		return floats < GEMV_MIN_FLOATS;
	return openblas_get_num_threads() == 1;
}
