/* The SwiGLU gate of Llama's feed-forward block (Shazeer 2020):
 *   out = silu(g) u,  silu(g) = g s(g),  s = the logistic sigmoid.
 * Backward: d silu / dg = s(g) (1 + g (1 - s(g))), so
 *   dg += dout u s (1 + g (1 - s)),   du += dout silu(g). */
#include <math.h>

#include "nn/llama_ops.h"

void lms_swiglu_forward(float *out, const float *gate, const float *up, int n)
{
	for (int i = 0; i < n; i++) {
		float g = gate[i];
		out[i] = g / (1.0f + expf(-g)) * up[i];
	}
}

void lms_swiglu_backward(float *dgate, float *dup, const float *dout, const float *gate,
                         const float *up, int n)
{
	for (int i = 0; i < n; i++) {
		float g = gate[i];
		float s = 1.0f / (1.0f + expf(-g));
		if (dgate)
			dgate[i] += dout[i] * up[i] * s * (1.0f + g * (1.0f - s));
		if (dup)
			dup[i] += dout[i] * g * s;
	}
}
