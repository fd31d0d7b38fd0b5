/* AdamW with a warm-up + cosine learning-rate schedule and gradient clipping
 * by global norm. Internal to the engine (train.c uses it; tests too).
 *
 * The optimizer state is two moment vectors with the parameters' layout and
 * a step count; it is saved and restored with the training checkpoint. */
#ifndef LMS_OPTIM_H
#define LMS_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "lmscope/model.h"

struct lms_adamw {
	size_t n;       /* parameters */
	float *m;       /* (n) first moment */
	float *v;       /* (n) second moment */
	uint8_t *decay; /* (n) 1 where weight decay applies (matrices), 0 for biases and norms */
	long t;         /* updates made so far */
	float beta1, beta2, eps, weight_decay;
};

/* Zeroed moments for model m; weight decay applies to tensors of two or more
 * dimensions (weights and embeddings), not to biases or norm gains. */
enum lms_status lms_adamw_new(struct lms_adamw *o, const struct lms_model *m, float beta1,
                              float beta2, float eps, float weight_decay);
void lms_adamw_free(struct lms_adamw *o);

/* One update of params from grads with learning rate lr:
 *   m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
 *   p -= lr (m / (1 - b1^t) / (sqrt(v / (1 - b2^t)) + eps) + wd p)   (wd only where decay) */
void lms_adamw_step(struct lms_adamw *o, float *params, const float *grads, float lr);

/* Global L2 norm of g (n); when max_norm > 0 and the norm exceeds it, g is
 * scaled to norm max_norm. Returns the norm before clipping (NaN/Inf pass
 * through so the caller can stop). */
double lms_clip_grad_norm(float *g, size_t n, double max_norm);

/* Learning rate at update `step` (0-based) of `total`: linear warm-up from
 * lr / warmup to lr over the first `warmup` updates, then cosine decay to
 * lr * min_frac at the last update. */
double lms_lr_at(long step, long total, long warmup, double lr, double min_frac);

#endif
