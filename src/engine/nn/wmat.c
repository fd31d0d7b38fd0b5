/* Weight matrices as stored (wmat.h): the per-type conversion to float and
 * the two products. Typed matrices are converted a tile at a time into a
 * small per-thread buffer that stays in the cache, and each tile is
 * multiplied there by OpenBLAS: every stored byte is read once per product,
 * float32 copies of whole matrices never exist. */
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#if defined(__F16C__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "io/safetensors.h"
#include "nn/blas.h"
#include "nn/quant.h"
#include "nn/wmat.h"

typedef void (*to_f32_fn)(float *out, const void *src, size_t n);

static void f32_to_f32(float *out, const void *src, size_t n)
{
	memcpy(out, src, n * sizeof(float));
}

static void f16_to_f32(float *out, const void *src, size_t n)
{
	const uint16_t *s = src;
	size_t i = 0;
#ifdef __F16C__
	for (; i + 8 <= n; i += 8) {
		__m128i h;
		memcpy(&h, s + i, sizeof h);
		_mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
	}
#endif
	for (; i < n; i++) {
		uint16_t h;
		memcpy(&h, s + i, sizeof h);
		out[i] = lms_f16_to_f32(h);
	}
}

/* bfloat16 is the top half of a float32: a shift */
static void bf16_to_f32(float *out, const void *src, size_t n)
{
	const unsigned char *s = src;
	size_t i = 0;
#ifdef __AVX512F__
	for (; i + 16 <= n; i += 16) {
		__m256i h = _mm256_loadu_si256((const __m256i *)(s + 2 * i));
		_mm512_storeu_si512(out + i, _mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
	}
#endif
	for (; i < n; i++) {
		uint16_t h;
		memcpy(&h, s + 2 * i, sizeof h);
		uint32_t x = (uint32_t)h << 16;
		memcpy(out + i, &x, sizeof x);
	}
}

static const struct {
	const char *name;
	int block;          /* values per block */
	size_t block_bytes; /* bytes per block */
	to_f32_fn to_f32;   /* NULL: not available in this build */
} types[LMS_W_NTYPES] = {
	[LMS_W_F32] = {"F32", 1, 4, f32_to_f32},
	[LMS_W_F16] = {"F16", 1, 2, f16_to_f32},
	[LMS_W_BF16] = {"BF16", 1, 2, bf16_to_f32},
	/* the quantized types: quant.c's lms_dequant_* (quant.h) */
	[LMS_W_Q8_0] = {"Q8_0", 32, 34, lms_dequant_q8_0},
	[LMS_W_Q4_0] = {"Q4_0", 32, 18, lms_dequant_q4_0},
	[LMS_W_Q4_1] = {"Q4_1", 32, 20, lms_dequant_q4_1},
	[LMS_W_Q5_0] = {"Q5_0", 32, 22, lms_dequant_q5_0},
	[LMS_W_Q5_1] = {"Q5_1", 32, 24, lms_dequant_q5_1},
	[LMS_W_Q4_K] = {"Q4_K", 256, 144, lms_dequant_q4_k},
	[LMS_W_Q5_K] = {"Q5_K", 256, 176, lms_dequant_q5_k},
	[LMS_W_Q6_K] = {"Q6_K", 256, 210, lms_dequant_q6_k},
};

static int valid(enum lms_wtype t)
{
	return (unsigned)t < LMS_W_NTYPES;
}

const char *lms_wtype_name(enum lms_wtype t)
{
	return valid(t) ? types[t].name : "unknown";
}

int lms_wtype_block(enum lms_wtype t)
{
	return valid(t) ? types[t].block : 0;
}

size_t lms_wtype_block_bytes(enum lms_wtype t)
{
	return valid(t) ? types[t].block_bytes : 0;
}

size_t lms_wtype_row_bytes(enum lms_wtype t, int cols)
{
	if (!valid(t) || cols <= 0 || cols % types[t].block)
		return 0;
	return (size_t)(cols / types[t].block) * types[t].block_bytes;
}

int lms_wtype_available(enum lms_wtype t)
{
	return valid(t) && types[t].to_f32 != NULL;
}

struct lms_wmat lms_wmat_of(enum lms_wtype t, const void *data, int rows, int cols)
{
	struct lms_wmat w = {t, data, rows, cols, lms_wtype_row_bytes(t, cols)};
	return w;
}

void lms_wtype_to_f32(float *out, const void *src, enum lms_wtype t, size_t n)
{
	types[t].to_f32(out, src, n);
}

void lms_wmat_row(float *out, const struct lms_wmat *w, int r)
{
	lms_wtype_to_f32(out, (const unsigned char *)w->data + (size_t)r * w->row_bytes, w->type,
	                 (size_t)w->cols);
}

/* ---- products ------------------------------------------------------------------ */

/* The tile: 256K floats (1 MiB), in the second-level cache while OpenBLAS
 * reads it, and enough rows (128 of a 2048-wide matrix) for OpenBLAS's
 * packing to pay. One per thread, so runs on different threads never share
 * it. */
#define TILE_FLOATS 262144
static _Thread_local float tile[TILE_FLOATS];

/* Tile geometry for w: columns per tile K (all of them when they fit, else
 * a whole number of blocks) and rows per tile R. */
static void tile_shape(const struct lms_wmat *w, int *K, int *R)
{
	int blk = types[w->type].block;
	*K = w->cols <= TILE_FLOATS ? w->cols : TILE_FLOATS / blk * blk;
	*R = TILE_FLOATS / *K;
}

/* tile (R, K) = w[r0 .. r0+R, k0 .. k0+K) as float */
static void load_tile(const struct lms_wmat *w, int r0, int R, int k0, int K)
{
	const unsigned char *base = w->data;
	size_t kb = (size_t)(k0 / types[w->type].block) * types[w->type].block_bytes;
	for (int i = 0; i < R; i++)
		types[w->type].to_f32(tile + (size_t)i * K, base + (size_t)(r0 + i) * w->row_bytes + kb,
		                      (size_t)K);
}

/* Below this many input rows, 16-bit matrices are multiplied directly, the
 * conversion done in registers (the explorer's keystroke has N = 1, where a
 * product streams the weights once and the tile would only add a write and
 * a read of every value). */
#define DIRECT_ROWS 4

/* 16 values of a 16-bit row as floats */
#ifdef __AVX512F__
static inline __m512 load16(const void *p, enum lms_wtype t)
{
	__m256i h = _mm256_loadu_si256((const __m256i *)p);
	if (t == LMS_W_F16)
		return _mm512_cvtph_ps(h);
	return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
#endif

/* out[t, r] += in[t] . w_r for t < N <= DIRECT_ROWS and rows r in [r0, r1),
 * w F16 or BF16 */
static void direct_forward(float *out, int ldo, const float *in, int ldi, const struct lms_wmat *w,
                           int N, int r0, int r1)
{
	int cols = w->cols;
	for (int r = r0; r < r1; r++) {
		const uint16_t *row =
			(const uint16_t *)((const unsigned char *)w->data + (size_t)r * w->row_bytes);
		float acc[DIRECT_ROWS] = {0};
		int i = 0;
#ifdef __AVX512F__
		if (N == 1) { /* the keystroke: two chains of FMAs in registers */
			__m512 s0 = _mm512_setzero_ps(), s1 = _mm512_setzero_ps();
			for (; i + 32 <= cols; i += 32) {
				s0 = _mm512_fmadd_ps(load16(row + i, w->type), _mm512_loadu_ps(in + i), s0);
				s1 = _mm512_fmadd_ps(load16(row + i + 16, w->type), _mm512_loadu_ps(in + i + 16),
				                     s1);
			}
			acc[0] = _mm512_reduce_add_ps(_mm512_add_ps(s0, s1));
		}
		__m512 s[DIRECT_ROWS];
		for (int t = 0; t < N; t++)
			s[t] = _mm512_setzero_ps();
		for (; i + 16 <= cols; i += 16) {
			__m512 x = load16(row + i, w->type);
			for (int t = 0; t < N; t++)
				s[t] = _mm512_fmadd_ps(x, _mm512_loadu_ps(in + (size_t)t * ldi + i), s[t]);
		}
		for (int t = 0; t < N; t++)
			acc[t] += _mm512_reduce_add_ps(s[t]);
#endif
		float x[16];
		for (; i < cols; i += 16) {
			int k = cols - i < 16 ? cols - i : 16;
			types[w->type].to_f32(x, row + i, (size_t)k);
			for (int t = 0; t < N; t++)
				for (int j = 0; j < k; j++)
					acc[t] += x[j] * in[(size_t)t * ldi + i + j];
		}
		for (int t = 0; t < N; t++)
			out[(size_t)t * ldo + r] += acc[t];
	}
}

/* din[t] += dout[t, r] w_r for t < N <= DIRECT_ROWS and rows r in [r0, r1),
 * w F16 or BF16 */
static void direct_backward(float *din, int ldd, const float *dout, int ldo,
                            const struct lms_wmat *w, int N, int r0, int r1)
{
	int cols = w->cols;
	for (int r = r0; r < r1; r++) {
		const uint16_t *row =
			(const uint16_t *)((const unsigned char *)w->data + (size_t)r * w->row_bytes);
		float g[DIRECT_ROWS];
		int any = 0;
		for (int t = 0; t < N; t++) {
			g[t] = dout[(size_t)t * ldo + r];
			any |= g[t] != 0.0f;
		}
		if (!any)
			continue;
		int i = 0;
#ifdef __AVX512F__
		for (; i + 16 <= cols; i += 16) {
			__m512 x = load16(row + i, w->type);
			for (int t = 0; t < N; t++) {
				float *d = din + (size_t)t * ldd + i;
				_mm512_storeu_ps(d, _mm512_fmadd_ps(x, _mm512_set1_ps(g[t]), _mm512_loadu_ps(d)));
			}
		}
#endif
		float x[16];
		for (; i < cols; i += 16) {
			int k = cols - i < 16 ? cols - i : 16;
			types[w->type].to_f32(x, row + i, (size_t)k);
			for (int t = 0; t < N; t++)
				for (int j = 0; j < k; j++)
					din[(size_t)t * ldd + i + j] += g[t] * x[j];
		}
	}
}

static int direct(const struct lms_wmat *w, int N)
{
	return N <= DIRECT_ROWS && (w->type == LMS_W_F16 || w->type == LMS_W_BF16);
}

/* A float32 block m (rows, cols), row stride ld:
 *   forward (back = 0): y (N, rows) += x (N, cols) @ m^T
 *   backward (back = 1): y (N, cols) += x (N, rows) @ m */
static void block_product(int back, float *y, int ldy, const float *x, int ldx, const float *m,
                          int rows, int cols, int ld, int N)
{
	if (N == 1)
		lms_sgemv(back ? CblasTrans : CblasNoTrans, rows, cols, 1.0f, m, ld, x, 1.0f, y);
	else if (back)
		lms_sgemm(CblasNoTrans, CblasNoTrans, N, cols, rows, 1.0f, x, ldx, m, ld, 1.0f, y, ldy);
	else
		lms_sgemm(CblasNoTrans, CblasTrans, N, rows, cols, 1.0f, x, ldx, m, ld, 1.0f, y, ldy);
}

/* Both products of a typed w over more rows than DIRECT_ROWS: tile by
 * tile, converted and multiplied as float32 blocks. */
static void tiled_product(int back, float *y, int ldy, const float *x, int ldx,
                          const struct lms_wmat *w, int N, int r_begin, int r_end)
{
	int K, R;
	tile_shape(w, &K, &R);
	for (int k0 = 0; k0 < w->cols; k0 += K) {
		int kn = w->cols - k0 < K ? w->cols - k0 : K;
		for (int r0 = r_begin; r0 < r_end; r0 += R) {
			int rn = r_end - r0 < R ? r_end - r0 : R;
			load_tile(w, r0, rn, k0, kn);
			/* the tile is w[r0 .. r0+rn, k0 .. k0+kn) */
			if (back)
				block_product(1, y + k0, ldy, x + r0, ldx, tile, rn, kn, kn, N);
			else
				block_product(0, y + r0, ldy, x + k0, ldx, tile, rn, kn, kn, N);
		}
	}
}

/* ---- typed products over two cores ---------------------------------------------

 * A typed product's halves of w's rows, one per core (lms_split): forward,
 * each half writes its own outputs; backward, both would add into every
 * output, so the second half adds into a buffer of its own, added in after. */
struct typed_job {
	int back;
	float *y;
	int ldy;
	const float *x;
	int ldx;
	const struct lms_wmat *w;
	int N;
	float *y2; /* (N, cols) the second half's backward sums; NULL forward */
};

static void typed_part(void *arg, int part, int parts)
{
	const struct typed_job *j = arg;
	int r0 = (int)((long)j->w->rows * part / parts),
		r1 = (int)((long)j->w->rows * (part + 1) / parts);
	float *y = j->y;
	int ldy = j->ldy;
	if (j->back && part == 1) {
		y = j->y2;
		ldy = j->w->cols;
	}
	if (direct(j->w, j->N) && j->back)
		direct_backward(y, ldy, j->x, j->ldx, j->w, j->N, r0, r1);
	else if (direct(j->w, j->N))
		direct_forward(y, ldy, j->x, j->ldx, j->w, j->N, r0, r1);
	else
		tiled_product(j->back, y, ldy, j->x, j->ldx, j->w, j->N, r0, r1);
}

/* About 0.2 ms of work or more, at one core's 24 GB/s and 100 GFLOP/s: then
 * a second core pays for waking it */
static int worth_splitting(const struct lms_wmat *w, int N)
{
	double bytes = (double)w->rows * w->row_bytes, flops = 2.0 * N * w->rows * w->cols;
	return bytes / 24e3 + flops / 100e3 >= 200.0;
}

static void typed_product(int back, float *y, int ldy, const float *x, int ldx,
                          const struct lms_wmat *w, int N)
{
	struct typed_job j = {back, y, ldy, x, ldx, w, N, NULL};
	int large = worth_splitting(w, N);
	if (large && back) {
		j.y2 = calloc((size_t)N * w->cols, sizeof(float));
		large = j.y2 != NULL;
	}
	if (lms_split(typed_part, &j, large) == 2 && back)
		for (int t = 0; t < N; t++)
			for (int c = 0; c < w->cols; c++)
				y[(size_t)t * ldy + c] += j.y2[(size_t)t * w->cols + c];
	free(j.y2);
}

void lms_wmat_forward(float *out, int ldo, const float *in, int ldi, const struct lms_wmat *w,
                      const float *b, int N)
{
	for (int t = 0; t < N; t++) {
		if (b)
			memcpy(out + (size_t)t * ldo, b, (size_t)w->rows * sizeof(float));
		else
			memset(out + (size_t)t * ldo, 0, (size_t)w->rows * sizeof(float));
	}
	if (w->type == LMS_W_F32)
		block_product(0, out, ldo, in, ldi, w->data, w->rows, w->cols, w->cols, N);
	else
		typed_product(0, out, ldo, in, ldi, w, N);
}

void lms_wmat_backward(float *din, int ldd, const float *dout, int ldo, const struct lms_wmat *w,
                       int N)
{
	if (w->type == LMS_W_F32)
		block_product(1, din, ldd, dout, ldo, w->data, w->rows, w->cols, w->cols, N);
	else
		typed_product(1, din, ldd, dout, ldo, w, N);
}
