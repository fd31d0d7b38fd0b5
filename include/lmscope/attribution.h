/* Attribution: how much each input position contributes to one next-token
 * prediction, by several methods, and how far each answer can be trusted.
 *
 * The explained quantity is f(x) = log p(target | x) at the last position,
 * or log p(target | x) - log p(contrast | x) when contrast >= 0 ("why target
 * rather than contrast"). Every method returns one score per position
 * (n floats); positive means "pushes f up".
 *
 *   grad_norm             ||df/de_j||_2 (never negative)
 *   grad_x_input          sum_k (df/de_j)_k e_jk
 *   integrated_gradients  (e_j - b_j) . mean over a path b + a (e - b) of
 *                         df/de_j, a at the m midpoints of [0, 1]; the
 *                         completeness gap sum_j score_j - (f(e) - f(b)) tells
 *                         how well the m steps integrate
 *   occlusion             f(x) - f(x with token j replaced or removed)
 *   lime                  coefficients of a LASSO surrogate f(x masked by z)
 *                         ~ b0 + sum_j beta_j z_j over random keep-masks z,
 *                         lambda chosen by k-fold cross-validation
 *   attention_rollout     Transformers only: row n-1 of the product over
 *                         layers of 0.5 A + 0.5 I (A the head-mean attention),
 *                         rows renormalised; it ignores target and contrast
 *
 * e_j is position j's token embedding row (before position embeddings), as
 * in model.h. Work happens in a caller's run when opts.run is set (the
 * explorer keeps one, so a keystroke allocates no activations); its B rows
 * are the batch in which integration steps and masked variants are
 * evaluated, so B = 1 suits the gradient methods and rollout (one row is all
 * they use) and B of m + 2 (IG) or 64 (occlusion, lime) the others. Without
 * a run, one sized for the method is allocated for the call. The run's
 * contents are overwritten: a caller that reuses its prefix must run its
 * next forward from position 0. The scratch the sampling methods need
 * (n C floats and less) is allocated per call. */
#ifndef LMSCOPE_ATTRIBUTION_H
#define LMSCOPE_ATTRIBUTION_H

#include <stddef.h>
#include <stdint.h>

#include "lmscope/model.h"
#include "lmscope/status.h"

struct lms_tokenizer;

enum lms_attr_method {
	LMS_ATTR_GRAD_NORM,
	LMS_ATTR_GRAD_X_INPUT,
	LMS_ATTR_INTEGRATED_GRADIENTS,
	LMS_ATTR_OCCLUSION,
	LMS_ATTR_LIME,
	LMS_ATTR_ATTENTION_ROLLOUT,
	LMS_ATTR_N_METHODS
};

/* "grad_norm", "grad_x_input", "integrated_gradients", "occlusion", "lime",
 * "attention_rollout"; "ig" and "rollout" are accepted as short names. */
const char *lms_attr_method_name(enum lms_attr_method meth);
int lms_attr_method_from_name(const char *name, enum lms_attr_method *out);
/* Whether a method applies to an architecture (rollout needs attention). */
int lms_attr_method_supported(enum lms_attr_method meth, enum lms_arch arch);

/* How occlusion, lime and deletion curves hide a token. */
enum lms_occlude {
	LMS_OCCLUDE_REPLACE, /* by replace_id's embedding, or zeros when replace_id < 0 */
	LMS_OCCLUDE_REMOVE,  /* drop the position (lime always replaces) */
};

struct lms_attr_opts {
	enum lms_attr_method method;
	struct lms_run *run; /* optional work run of the model, T >= n */
	/* Ablations every forward of a run allocated here follows (NULL:
	 * none; a caller's run keeps its own r->iv; lmscope/interp.h). */
	const struct lms_intervention *iv;
	int ig_steps;             /* integration steps m (default 32) */
	int baseline_id;          /* IG baseline: that token's embedding at every
	                             position; < 0: zero vectors (default) */
	enum lms_occlude occlude; /* default LMS_OCCLUDE_REPLACE */
	int replace_id;           /* hiding token (normally <unk>); < 0: zeros */
	int lime_samples;         /* default 256 */
	int lime_folds;           /* cross-validation folds (default 5) */
	float lime_keep;          /* probability a token is kept (default 0.5) */
	float lime_kernel;        /* kernel width on the cosine distance of a mask
	                             to the full input; 0 = unweighted (default 0.25) */
	uint64_t seed;            /* lime's masks and folds */
	/* Called after each batch of rows (IG, occlusion, lime) with rows done
	 * of total; a non-zero return stops the method with LMS_EINTR, so the
	 * explorer can drop a stale request. NULL: never called. */
	int (*progress)(void *userdata, long done, long total);
	void *userdata;
};

/* What a method found out about its own reliability. */
struct lms_attr_info {
	double f;          /* f(x) */
	double f_baseline; /* IG: f(baseline) */
	double sum;        /* sum of the scores */
	double gap;        /* IG: sum - (f - f_baseline) */
	double lambda;     /* lime: the cross-validated penalty */
	double r2;         /* lime: weighted R^2 of the surrogate on its samples */
	int nonzero;       /* lime: coefficients not shrunk to zero */
	int evaluations;   /* forward passes (rows) spent */
};

void lms_attr_opts_default(struct lms_attr_opts *o);
/* The defaults that follow the tokenizer, which every front end applies the
 * same way: the hiding token is its <unk> (zeros when it has none, or when
 * tok is NULL). */
void lms_attr_opts_use_tokenizer(struct lms_attr_opts *o, const struct lms_tokenizer *tok);

/* scores (n) for ids (n) explaining `target` (against `contrast` when >= 0).
 * info may be NULL. */
enum lms_status lms_attribute(const struct lms_model *m, const int *ids, int n, int target,
                              int contrast, const struct lms_attr_opts *o, float *scores,
                              struct lms_attr_info *info);

/* ---- attention rollout ------------------------------------------------- */

/* R (n, n) = rollout of A (L, n, n), each layer's attention already averaged
 * over heads: R = Ahat_{L-1} ... Ahat_0 with Ahat = rownorm(0.5 A + 0.5 I).
 * work holds 2 n n floats. */
void lms_rollout(float *R, const float *A, int L, int n, float *work);
/* The same from the attention a forward left in row b of a run (Transformers;
 * LMS_EUNSUPPORTED otherwise). work holds (L + 2) n n floats. */
enum lms_status lms_rollout_run(float *R, const struct lms_run *r, int b, int n, float *work);

/* ---- faithfulness ------------------------------------------------------ */

/* Deletion curve: hide the positions in order of decreasing score, one more
 * at each step, and record p(target) after k = 0..n hidden (curve has n + 1
 * entries; with removal the last entry, an empty context, repeats the one
 * before). area = trapezoid area under the curve over k / n in [0, 1]: low
 * means the scores found what the prediction rests on. opts supplies run,
 * occlude and replace_id; its progress callback is called after each step
 * (each batch of rows) and a non-zero return abandons the curve with
 * LMS_EINTR, leaving curve and area partly written. */
enum lms_status lms_deletion_curve(const struct lms_model *m, const int *ids, int n, int target,
                                   const float *scores, const struct lms_attr_opts *o, float *curve,
                                   double *area);

/* Spearman rank correlation of a and b (n), ties given their mean rank;
 * 0 when either is constant. */
double lms_spearman(const float *a, const float *b, int n);

/* The faithfulness report both front ends show beside a saliency (explain
 * --faithfulness, the explorer's saliency pane): one policy for which other
 * methods the saliency is ranked against, and how.
 *
 * lms_faith_compares: whether a saliency by o->method over n positions is
 * compared with `other`: the methods cheap enough for every request (one
 * forward and backward, or n + 1 forwards: grad_norm, grad_x_input,
 * occlusion, attention_rollout) that apply to the architecture, never the
 * method itself; integrated gradients and lime (m + 2 and hundreds of
 * forwards) only when they are the method. Nothing is compared below two
 * positions: a rank correlation of one position means nothing (and
 * occlusion by removal cannot remove the only token). */
int lms_faith_compares(const struct lms_attr_opts *o, enum lms_attr_method other,
                       enum lms_arch arch, int n);

struct lms_faithfulness {
	double area;                    /* deletion area of the scores; NAN until computed */
	double rho[LMS_ATTR_N_METHODS]; /* Spearman with each method compared, else NAN */
};

/* The report for scores (n) by o->method explaining target (against
 * contrast when >= 0): the deletion curve (n + 1) and area of the scores,
 * then each compared method by lms_attribute with the same options and its
 * rank agreement with the scores. other (n floats) holds the other methods'
 * scores; NULL: allocated for the call. o as lms_attribute's (run, occlude,
 * replace_id; progress abandons between steps with LMS_EINTR). On failure
 * out holds what was computed before it (NAN elsewhere). */
enum lms_status lms_faithfulness(const struct lms_model *m, const int *ids, int n, int target,
                                 int contrast, const float *scores, const struct lms_attr_opts *o,
                                 float *curve, float *other, struct lms_faithfulness *out);

/* ---- the embedding-gradient view --------------------------------------- */

/* d loss / d (token embedding matrix), loss = -f, restricted to the rows of
 * the tokens involved: the distinct input ids in order of first appearance,
 * then target and contrast when not already listed. With a tied output
 * projection the rows include the unembedding's share. tokens gets up to
 * n + 2 ids, grad (n + 2, C) their rows; *k the count. run as in opts. */
enum lms_status lms_embgrad(const struct lms_model *m, struct lms_run *run, const int *ids, int n,
                            int target, int contrast, int *tokens, float *grad, int *k);

/* ---- permutation importance over a dataset ----------------------------- */

/* Progress: done of total units; return non-zero to stop (LMS_EINTR). */
typedef int (*lms_progress_fn)(void *userdata, long done, long total);

struct lms_importance_opts {
	int positions;    /* K: offsets d = 1..K, each example has K context tokens */
	int repeats;      /* R shuffles per feature (default 5) */
	int dim_groups;   /* G > 0: also G contiguous groups of embedding dims */
	int max_examples; /* windows taken from the token stream (default 512) */
	int batch;        /* rows per forward (default 64) */
	uint64_t seed;
	lms_progress_fn progress;
	void *userdata;
};

/* One feature's effect: the rise of the mean cross-entropy (nats) and of the
 * perplexity when the feature is shuffled across examples. */
struct lms_importance_row {
	double xent_rise, xent_sd; /* mean and standard deviation over repeats */
	double ppl_rise, ppl_sd;
};

struct lms_importance {
	int examples;
	double xent; /* unshuffled mean cross-entropy */
	int positions;
	struct lms_importance_row *offset; /* (positions): offset d at [d - 1] */
	int groups;
	int *group_start;                 /* (groups + 1) dim boundaries */
	struct lms_importance_row *group; /* (groups) */
};

void lms_importance_opts_default(struct lms_importance_opts *o);
/* Examples are windows of K tokens of `tokens` and the token after each. */
enum lms_status lms_importance_run(const struct lms_model *m, const int *tokens, size_t ntok,
                                   const struct lms_importance_opts *o, struct lms_importance *out);
/* The same over given examples: contexts ctx (N, K) and the targets (N). */
enum lms_status lms_importance_examples(const struct lms_model *m, const int *ctx, const int *tgt,
                                        int N, const struct lms_importance_opts *o,
                                        struct lms_importance *out);
void lms_importance_free(struct lms_importance *imp);

#endif
