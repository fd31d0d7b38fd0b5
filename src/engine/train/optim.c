/* AdamW (Loshchilov & Hutter: decoupled weight decay), the warm-up + cosine
 * schedule, and clipping by global norm. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train/optim.h"

enum lms_status lms_adamw_new(struct lms_adamw *o, const struct lms_model *m, float beta1,
                              float beta2, float eps, float weight_decay)
{
	memset(o, 0, sizeof *o);
	o->n = m->n_params;
	o->m = calloc(o->n, sizeof *o->m);
	o->v = calloc(o->n, sizeof *o->v);
	o->decay = calloc(o->n, 1);
	if (!o->m || !o->v || !o->decay) {
		lms_adamw_free(o);
		return lms_fail(LMS_ENOMEM, "cannot allocate optimizer state for %zu parameters",
		                m->n_params);
	}
	for (int i = 0; i < m->n_tensors; i++) {
		const struct lms_tensor *t = &m->tensors[i];
		if (t->ndim >= 2)
			memset(o->decay + t->offset, 1, t->numel);
	}
	o->beta1 = beta1;
	o->beta2 = beta2;
	o->eps = eps;
	o->weight_decay = weight_decay;
	return LMS_OK;
}

void lms_adamw_free(struct lms_adamw *o)
{
	free(o->m);
	free(o->v);
	free(o->decay);
	o->m = o->v = NULL;
	o->decay = NULL;
}

void lms_adamw_step(struct lms_adamw *o, float *params, const float *grads, float lr)
{
	o->t++;
	float b1 = o->beta1, b2 = o->beta2;
	/* bias corrections of the moment estimates */
	float c1 = 1.0f - (float)pow(b1, (double)o->t);
	float c2 = 1.0f - (float)pow(b2, (double)o->t);
	float wd = o->weight_decay;
	for (size_t i = 0; i < o->n; i++) {
		float g = grads[i];
		float m = o->m[i] = b1 * o->m[i] + (1.0f - b1) * g;
		float v = o->v[i] = b2 * o->v[i] + (1.0f - b2) * g * g;
		float mhat = m / c1, vhat = v / c2;
		float upd = mhat / (sqrtf(vhat) + o->eps);
		if (o->decay[i])
			upd += wd * params[i];
		params[i] -= lr * upd;
	}
}

double lms_clip_grad_norm(float *g, size_t n, double max_norm)
{
	double ss = 0.0;
	for (size_t i = 0; i < n; i++)
		ss += (double)g[i] * g[i];
	double norm = sqrt(ss);
	if (max_norm > 0.0 && isfinite(norm) && norm > max_norm) {
		float s = (float)(max_norm / norm);
		for (size_t i = 0; i < n; i++)
			g[i] *= s;
	}
	return norm;
}

double lms_lr_at(long step, long total, long warmup, double lr, double min_frac)
{
	if (warmup > 0 && step < warmup)
		return lr * (double)(step + 1) / (double)warmup;
	long span = total - warmup - 1;
	if (span <= 0)
		return lr;
	double p = (double)(step - warmup) / (double)span;
	if (p > 1.0)
		p = 1.0;
	double cosine = 0.5 * (1.0 + cos(3.141592653589793 * p));
	return lr * (min_frac + (1.0 - min_frac) * cosine);
}
