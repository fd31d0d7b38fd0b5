/* The textbook loops of wmat.h's products, for the unit tests only: each
 * weight converted block by block through the per-type dispatch, sums in
 * double. */
#include "nn/wmat.h"

/* w[o, i] as float */
static float weight(const struct lms_wmat *w, int o, int i)
{
	float blk[256];
	int nb = lms_wtype_block(w->type);
	const unsigned char *row = (const unsigned char *)w->data + (size_t)o * w->row_bytes;
	lms_wtype_to_f32(blk, row + (size_t)(i / nb) * lms_wtype_block_bytes(w->type), w->type,
	                 (size_t)nb);
	return blk[i % nb];
}

void lms_wmat_forward_ref(float *out, int ldo, const float *in, int ldi, const struct lms_wmat *w,
                          const float *b, int N)
{
	for (int t = 0; t < N; t++)
		for (int o = 0; o < w->rows; o++) {
			double s = b ? b[o] : 0.0;
			for (int i = 0; i < w->cols; i++)
				s += (double)in[(size_t)t * ldi + i] * weight(w, o, i);
			out[(size_t)t * ldo + o] = (float)s;
		}
}

void lms_wmat_backward_ref(float *din, int ldd, const float *dout, int ldo,
                           const struct lms_wmat *w, int N)
{
	for (int t = 0; t < N; t++)
		for (int i = 0; i < w->cols; i++) {
			double s = din[(size_t)t * ldd + i];
			for (int o = 0; o < w->rows; o++)
				s += (double)dout[(size_t)t * ldo + o] * weight(w, o, i);
			din[(size_t)t * ldd + i] = (float)s;
		}
}
