/* The engine's matrix products (blas.h) and the thread count each gets.
 *
 * OpenBLAS has one thread count for every product. On two cores the right
 * count depends on the product: a keystroke's matrix-vector products read
 * GPT-2 small's 494 MB of weights at about 24 GB/s on one core and 48 on
 * two, while a product of a few dozen rows over a 768-wide matrix finishes
 * before a second thread has woken (0.8 ms on one thread, slower on two; a
 * head of attention over 64 positions is a hundredth of that). Under
 * lms_set_threads_by_size, products past the thresholds below run on
 * `most` threads, the others on one; on exactly two cores a large sgemm
 * runs as two one-thread halves, the second on lms_split's helper, which
 * was faster than OpenBLAS's two threads (lms_sgemm). The count is
 * OpenBLAS's global, so
 * concurrent callers (the explorer's two models' workers) may run a product
 * on the other's count. That is a matter of speed and of the last bits:
 * OpenBLAS's sums may be ordered differently on one thread than on two, as
 * they always were between LMSCOPE_THREADS settings. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>

#include "lmscope/status.h"
#include "nn/blas.h"
#include "nn/gemm_few.h"

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
static int current; /* the count last set here (atomic: every engine thread sets it) */

/* OpenBLAS's idle threads spin for 2^28 cycles (a tenth of a second here)
 * after each threaded product before they sleep. Work that lms_split puts
 * on the helper thread next then shares a core with a spinning worker: the
 * lens took 26 ms split or not, 14 ms once the worker slept. OpenBLAS reads
 * OPENBLAS_THREAD_TIMEOUT (2^n cycles) when it is loaded, before any code
 * of ours runs, and starts its threads with it. So, unless the user has
 * set it, it is set here to 2^19 cycles (a quarter of a millisecond at 2.1
 * GHz, about as long as the helper spins), OpenBLAS reads its environment
 * again, and its threads are stopped, as its own fork handler stops them,
 * to start with the new timeout at the next threaded product. Both
 * functions are exported by OpenBLAS but not declared in cblas.h. Called
 * once, from main's lms_set_threads, before any other thread runs. */
void openblas_read_env(void);
int blas_thread_shutdown_(void);

static void short_spin(void)
{
	if (getenv("OPENBLAS_THREAD_TIMEOUT"))
		return;
	setenv("OPENBLAS_THREAD_TIMEOUT", "19", 0);
	openblas_read_env();
	blas_thread_shutdown_();
}

void lms_set_threads_by_size(int n)
{
	if (n <= 1) {
		lms_set_threads(1);
		return;
	}
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, short_spin);
	most = n;
	__atomic_store_n(&current, 0, __ATOMIC_RELAXED);
}

void lms_blas_fixed(void)
{
	most = 0;
	__atomic_store_n(&current, 0, __ATOMIC_RELAXED);
}

/* Set on both threads of a split product (lms_split): each half's
 * products run on the calling thread alone. */
static _Thread_local int serial;

static void use(int large)
{
	if (!most)
		return;
	int want = large && !serial ? most : 1;
	if (want != __atomic_load_n(&current, __ATOMIC_RELAXED)) {
		openblas_set_num_threads(want);
		__atomic_store_n(&current, want, __ATOMIC_RELAXED);
	}
}

static int min3(int a, int b, int c)
{
	int m = a < b ? a : b;
	return m < c ? m : c;
}

static int try_split(lms_split_fn fn, void *arg);

/* One sgemm's arguments, for the halves of a product */
struct gemm {
	CBLAS_TRANSPOSE ta, tb;
	int M, N, K;
	float alpha, beta;
	const float *A, *B;
	int lda, ldb, ldc;
	float *C;
};

/* Columns [N part / parts, N (part + 1) / parts) of C, each on its thread
 * alone: op(B)'s columns are B's rows when tb transposes, else its columns */
static void gemm_part(void *arg, int part, int parts)
{
	const struct gemm *g = arg;
	int n0 = (int)((long)g->N * part / parts), n1 = (int)((long)g->N * (part + 1) / parts);
	const float *B = g->tb == CblasTrans ? g->B + (size_t)n0 * g->ldb : g->B + n0;
	use(0);
	cblas_sgemm(CblasRowMajor, g->ta, g->tb, g->M, n1 - n0, g->K, g->alpha, g->A, g->lda, B, g->ldb,
	            g->beta, g->C + n0, g->ldc);
}

/* Rows [M part / parts, M (part + 1) / parts) of C: op(A)'s rows are A's
 * columns when ta transposes, else its rows */
static void gemm_rows(void *arg, int part, int parts)
{
	const struct gemm *g = arg;
	int m0 = (int)((long)g->M * part / parts), m1 = (int)((long)g->M * (part + 1) / parts);
	const float *A = g->ta == CblasTrans ? g->A + m0 : g->A + (size_t)m0 * g->lda;
	use(0);
	cblas_sgemm(CblasRowMajor, g->ta, g->tb, m1 - m0, g->N, g->K, g->alpha, A, g->lda, g->B, g->ldb,
	            g->beta, g->C + (size_t)m0 * g->ldc, g->ldc);
}

static long few_products; /* products gemm_few.c took (atomic) */

/* Part `part` of a few-row product's columns: whole 64-column panels when
 * B is not transposed */
static void few_part(void *arg, int part, int parts)
{
	const struct lms_few *f = arg;
	int unit = f->bt ? 1 : 64, units = (f->N + unit - 1) / unit;
	int n0 = units * part / parts * unit;
	int n1 = part == parts - 1 ? f->N : units * (part + 1) / parts * unit;
	lms_few_columns(f, n0, n1);
}

/* A few rows of A against a matrix B of a megabyte or more (a weight, the
 * unembedding), B read in place rather than packed: the explorer's
 * products at 64 positions ran 10 to 60% faster than OpenBLAS's on its
 * AVX-512 kernels (64 x 2304 x 768: 280 against 243 GFLOP/s; the surprisal's
 * 63 x 50257 x 768 against B^T: 318 against 201; the lens's 12 rows: 164
 * against 82), OpenBLAS's packing being a third of its time there. On two
 * cores, when large, by columns over the helper. 0: not such a product, or
 * no kernel in this build. */
static int few_rows(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
                    const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
	if (ta != CblasNoTrans || M < 2 || M > LMS_FEW_ROWS || (size_t)N * K < GEMV_MIN_FLOATS)
		return 0;
	/* a fixed count of OpenBLAS threads keeps OpenBLAS, unless it is one */
	if (!most && openblas_get_num_threads() != 1)
		return 0;
	struct lms_few f = {tb == CblasTrans, M, N, K, alpha, beta, A, B, lda, ldb, ldc, C, NULL};
	if (!lms_few_prepare(&f))
		return 0;
	int large = 2.0 * M * N * K >= GEMM_MIN_FLOP;
	if (!large || most < 2 || serial || !try_split(few_part, &f))
		few_part(&f, 0, 1);
	lms_few_release(&f);
	__atomic_add_fetch(&few_products, 1, __ATOMIC_RELAXED);
	return 1;
}

long lms_few_count(void)
{
	return __atomic_load_n(&few_products, __ATOMIC_RELAXED);
}

void lms_sgemm(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K, float alpha,
               const float *A, int lda, const float *B, int ldb, float beta, float *C, int ldc)
{
	if (few_rows(ta, tb, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc))
		return;
	int large = 2.0 * M * N * K >= GEMM_MIN_FLOP;
	/* A few rows against a large matrix (the logit lens's dozen rows
	 * against the unembedding) gain nothing from OpenBLAS's second thread,
	 * which packs the whole matrix too; split by columns, each half packs
	 * its own and both cores stream it (25 against 13 ms for the lens of
	 * GPT-2 small's 12 layers). */
	if (large && M < GEMM_MIN_ROWS && min3(N, K, GEMM_MIN_ROWS) >= GEMM_MIN_ROWS &&
	    lms_split_available() && !serial) {
		struct gemm g = {ta, tb, M, N, K, alpha, beta, A, B, lda, ldb, ldc, C};
		lms_split(gemm_part, &g, 1);
		return;
	}
	/* On two cores a large product runs as two one-thread halves, by rows
	 * when C has at least as many rows as columns, else by columns: over
	 * the shapes our models multiply, that beat OpenBLAS's own two threads
	 * by 0 to 35% (2176 x 256 x 256: 150 against 186 GFLOP/s; 64 x 768 x
	 * 768: 83 against 158), and the forward at 256 positions went from 14.2
	 * to 12.3 ms. OpenBLAS's threads take it when the helper is busy, and
	 * on more cores. */
	if (large && min3(M, N, K) >= GEMM_MIN_ROWS && most == 2 && !serial) {
		struct gemm g = {ta, tb, M, N, K, alpha, beta, A, B, lda, ldb, ldc, C};
		if (try_split(M >= N ? gemm_rows : gemm_part, &g))
			return;
	}
	use(large && min3(M, N, K) >= GEMM_MIN_ROWS);
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

/* ---- one product's work split over two cores ---------------------------------

 * The 16-bit and quantized weights are converted to float a tile at a time
 * (wmat.c) and the conversion is the caller's thread's work, which OpenBLAS
 * threads cannot share; so such a product, when large, is split in two
 * halves, the second on a helper thread that waits for them. One helper for
 * the process, taken by one caller at a time: a second caller meanwhile
 * runs both halves itself. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t job_cv = PTHREAD_COND_INITIALIZER, done_cv = PTHREAD_COND_INITIALIZER;
static pthread_t helper;
static int helper_up, taken, pending, finished, quit;
static long splits; /* works split in two so far */
static lms_split_fn job_fn;
static void *job_arg;

/* Waits up to about 0.2 ms for *flag, without sleeping */
static void spin_until(const int *flag)
{
	for (int i = 0; i < 20000 && !__atomic_load_n(flag, __ATOMIC_ACQUIRE); i++) {
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
}

static void *helper_main(void *unused)
{
	(void)unused;
	serial = 1;
	for (;;) {
		spin_until(&pending);
		pthread_mutex_lock(&mu);
		while (!pending && !quit)
			pthread_cond_wait(&job_cv, &mu);
		if (quit)
			break;
		__atomic_store_n(&pending, 0, __ATOMIC_RELAXED);
		pthread_mutex_unlock(&mu);
		job_fn(job_arg, 1, 2);
		pthread_mutex_lock(&mu);
		__atomic_store_n(&finished, 1, __ATOMIC_RELEASE);
		pthread_cond_signal(&done_cv);
		pthread_mutex_unlock(&mu);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

/* At exit the helper is stopped and joined (valgrind sees no thread left
 * behind); after fork the child has no helper, and starts its own. */
static void helper_stop(void)
{
	pthread_mutex_lock(&mu);
	quit = 1;
	pthread_cond_signal(&job_cv);
	pthread_mutex_unlock(&mu);
	pthread_join(helper, NULL);
}

static void helper_forget(void)
{
	pthread_mutex_init(&mu, NULL);
	pthread_cond_init(&job_cv, NULL);
	pthread_cond_init(&done_cv, NULL);
	helper_up = taken = pending = finished = quit = 0;
}

/* mu held; 0 when the helper runs */
static int helper_start(void)
{
	if (helper_up)
		return 0;
	if (pthread_create(&helper, NULL, helper_main, NULL) != 0)
		return -1;
	helper_up = 1;
	static int registered;
	if (!registered) {
		registered = 1;
		atexit(helper_stop);
		pthread_atfork(NULL, NULL, helper_forget);
	}
	return 0;
}

/* Runs fn's halves here and on the helper when it is free: 1 when it was
 * (the halves are done), 0 when another caller has it (nothing done). */
static int try_split(lms_split_fn fn, void *arg)
{
	pthread_mutex_lock(&mu);
	if (taken || helper_start()) {
		pthread_mutex_unlock(&mu);
		return 0;
	}
	taken = 1;
	use(0); /* each half's products on its thread alone, set once here */
	__atomic_store_n(&finished, 0, __ATOMIC_RELAXED);
	job_fn = fn;
	job_arg = arg;
	__atomic_store_n(&pending, 1, __ATOMIC_RELEASE);
	pthread_cond_signal(&job_cv);
	pthread_mutex_unlock(&mu);
	serial = 1;
	fn(arg, 0, 2);
	serial = 0;
	spin_until(&finished);
	pthread_mutex_lock(&mu);
	while (!finished)
		pthread_cond_wait(&done_cv, &mu);
	taken = 0;
	splits++;
	pthread_mutex_unlock(&mu);
	return 1;
}

int lms_split(lms_split_fn fn, void *arg, int large)
{
	if (large && most >= 2 && !serial && try_split(fn, arg))
		return 2;
	fn(arg, 0, 1);
	return 1;
}

int lms_split_available(void)
{
	return most >= 2;
}

long lms_split_count(void)
{
	pthread_mutex_lock(&mu);
	long n = splits;
	pthread_mutex_unlock(&mu);
	return n;
}
