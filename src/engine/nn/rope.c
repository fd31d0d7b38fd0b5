/* Rotary position embeddings (Su et al. 2021) in Hugging Face's rotate_half
 * layout (see llama_ops.h). For the pair (a, b) = (x_i, x_{i+hs/2}) at
 * position p, angle f = p theta^(-2i/hs):
 *   a' = a cos f - b sin f,   b' = b cos f + a sin f.
 * The backward applies the transpose, the rotation by -f:
 *   da = da' cos f + db' sin f,   db = db' cos f - da' sin f. */
#include <math.h>
#include <stddef.h>
#include <string.h>

#include "nn/llama_ops.h"

/* Frequency i of hs/2 under a scaling (model.h's struct lms_rope_scaling;
 * llama3 as in Meta's Llama 3.1 reference and Hugging Face's
 * _compute_llama3_parameters). */
static double scaled_freq(double freq, const struct lms_rope_scaling *s)
{
	if (!s || s->kind == LMS_ROPE_NONE)
		return freq;
	if (s->kind == LMS_ROPE_LINEAR)
		return freq / s->factor;
	double wavelen = 2.0 * M_PI / freq;
	double low_wavelen = s->orig_maxT / s->low_freq, high_wavelen = s->orig_maxT / s->high_freq;
	if (wavelen < high_wavelen)
		return freq;
	if (wavelen > low_wavelen)
		return freq / s->factor;
	double smooth = (s->orig_maxT / wavelen - s->low_freq) / (s->high_freq - s->low_freq);
	return (1.0 - smooth) * freq / s->factor + smooth * freq;
}

void lms_rope_table(float *cosv, float *sinv, int maxT, int hs, float theta,
                    const struct lms_rope_scaling *scaling)
{
	int half = hs / 2;
	for (int i = 0; i < half; i++) {
		double freq = scaled_freq(1.0 / pow((double)theta, (double)(2 * i) / hs), scaling);
		for (int p = 0; p < maxT; p++) {
			double f = p * freq;
			cosv[(size_t)p * half + i] = (float)cos(f);
			sinv[(size_t)p * half + i] = (float)sin(f);
		}
	}
}

static void rotate(float *x, const float *cosv, const float *sinv, int p0, int N, int ld, int nh,
                   int hs, float sign)
{
	int half = hs / 2;
	for (int n = 0; n < N; n++) {
		const float *c = cosv + (size_t)(p0 + n) * half;
		const float *s = sinv + (size_t)(p0 + n) * half;
		for (int h = 0; h < nh; h++) {
			float *v = x + (size_t)n * ld + (size_t)h * hs;
			for (int i = 0; i < half; i++) {
				float a = v[i], b = v[i + half], sn = sign * s[i];
				v[i] = a * c[i] - b * sn;
				v[i + half] = b * c[i] + a * sn;
			}
		}
	}
}

void lms_rope_forward(float *x, const float *cosv, const float *sinv, int p0, int N, int ld, int nh,
                      int hs)
{
	rotate(x, cosv, sinv, p0, N, ld, nh, hs, 1.0f);
}

void lms_rope_backward(float *dx, const float *cosv, const float *sinv, int p0, int N, int ld,
                       int nh, int hs)
{
	rotate(dx, cosv, sinv, p0, N, ld, nh, hs, -1.0f);
}

void lms_rope_rows_permute(void *dst, const void *src, int heads, int hs, size_t row_bytes,
                           int to_pairs)
{
	int half = hs / 2;
	for (int h = 0; h < heads; h++)
		for (int i = 0; i < half; i++)
			for (int j = 0; j < 2; j++) {
				size_t pair = (size_t)h * hs + 2 * i + j,
					   rh = (size_t)h * hs + (size_t)j * half + i;
				size_t d = to_pairs ? pair : rh, s = to_pairs ? rh : pair;
				memcpy((char *)dst + d * row_bytes, (const char *)src + s * row_bytes, row_bytes);
			}
}
