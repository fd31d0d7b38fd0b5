/* Where two models that share a vocabulary compute different things on the
 * same tokens: a quantized model beside its full-precision original, a
 * checkpoint beside a later one. Shape letters as in model.h.
 *
 * At one position pos of ids, with A the first model and B the second:
 *   kl            (L) KL(P_A || P_B) = sum_k P_A(k) (log P_A(k) - log P_B(k))
 *                 in nats, P_X the softmax of X's logit lens (lms_lens: the
 *                 final norm and unembedding) of its residual stream after
 *                 layer l at pos; layer L-1 is the models' own prediction
 *   attn_maxdiff  (L, NH) max |att_A - att_B| of head h of layer l over the
 *                 query/key pairs q <= pos, k <= q (NULL for recurrent models)
 *   rho           Spearman rank correlation of the two grad_norm saliencies
 *                 (explain's default method) over positions [0, pos], both
 *                 explaining log p(target) with target A's most probable
 *                 token after pos (explain's default target, of A); NaN
 *                 below two positions, where a rank correlation means nothing
 *
 * Only the tokens up to pos are read: a causal model's numbers at pos do not
 * depend on what follows. */
#ifndef LMSCOPE_DIVERGENCE_H
#define LMSCOPE_DIVERGENCE_H

#include "lmscope/model.h"
#include "lmscope/status.h"

struct lms_divergence {
	const struct lms_model *a, *b;
	int L, NH, V;
	int pos;              /* the position compared (after lms_divergence_compute) */
	int target;           /* the saliencies' target: A's most probable next token */
	double *kl;           /* (L) nats */
	double *attn_maxdiff; /* (L, NH), or NULL when the models have no attention */
	double rho;           /* NaN below two positions */
	float *work;          /* private: (2 V + 2 maxT) lens rows and saliencies */
};

/* Checks that a and b can be compared (the same vocabulary size, layer
 * count and head count; the message, starting with what_b, names the one
 * that differs, LMS_EARG) and allocates d's arrays for them. */
enum lms_status lms_divergence_new(const struct lms_model *a, const struct lms_model *b,
                                   const char *what_b, struct lms_divergence *d);
void lms_divergence_free(struct lms_divergence *d);

/* Fills d for ids[0 .. pos] (pos + 1 tokens, at most both models'
 * context). ra and rb: work runs of a and b (B >= 1, T > pos), whose
 * contents are overwritten (a caller reusing a prefix must forward from 0
 * next); NULL: one is allocated for the call. */
enum lms_status lms_divergence_compute(struct lms_divergence *d, struct lms_run *ra,
                                       struct lms_run *rb, const int *ids, int pos);

#endif
