/* The work area the attribution methods share: a run (the caller's or one of
 * their own) and the evaluation of f over a batch of input variants, each
 * row of the run holding one variant. Internal to the engine. */
#ifndef LMS_ATTRWORK_H
#define LMS_ATTRWORK_H

#include "lmscope/attribution.h"
#include "lmscope/interp.h"

struct lms_attrwork {
	const struct lms_model *m;
	struct lms_run *r;   /* where variants are evaluated */
	struct lms_run *own; /* r when allocated here, else NULL */
	/* every position of the last forward is read afterwards (rollout's
	 * attention), so the last layer may not be trimmed to the last one */
	int all_positions;
	struct lms_intervention *blank; /* owned: nothing ablated, copied when r follows none */
};

/* Opens a work area for inputs of n positions: run when given (T >= n, of
 * model m), else a run with enough rows for `rows` variants (at most 64). */
enum lms_status lms_attrwork_open(struct lms_attrwork *w, const struct lms_model *m,
                                  struct lms_run *run, int n, int rows);
void lms_attrwork_close(struct lms_attrwork *w);

/* Row b's embedding rows (n, C) set from ids, where an id < 0 stands for a
 * zero vector; r->ids records max(id, 0). */
void lms_attrwork_set_ids(struct lms_attrwork *w, int b, const int *ids, int n);

/* Forward over rows [0, rows) of n positions, reading r->emb as the caller
 * left it; vals[b] = f of row b at position n - 1. With grad, also the
 * backward to the inputs: r->demb row b then holds df/de for that row
 * (rows past `rows` contribute nothing). */
void lms_attrwork_eval(struct lms_attrwork *w, int rows, int n, int target, int contrast,
                       double *vals, int grad);

/* Reports rows done of total to o->progress; non-zero: stop (LMS_EINTR). */
int lms_attrwork_stop(const struct lms_attr_opts *o, long done, long total);

/* log p(target) of row b at position n - 1, from the last forward. */
double lms_attrwork_logprob(struct lms_attrwork *w, int b, int n, int target);

/* The methods, each in its own file; scores (n), info never NULL. */
enum lms_status lms_attr_ig(struct lms_attrwork *w, const int *ids, int n, int target, int contrast,
                            const struct lms_attr_opts *o, float *scores,
                            struct lms_attr_info *info);
enum lms_status lms_attr_occlusion(struct lms_attrwork *w, const int *ids, int n, int target,
                                   int contrast, const struct lms_attr_opts *o, float *scores,
                                   struct lms_attr_info *info);
enum lms_status lms_attr_lime(struct lms_attrwork *w, const int *ids, int n, int target,
                              int contrast, const struct lms_attr_opts *o, float *scores,
                              struct lms_attr_info *info);

/* Rows needed to evaluate a method in one batch (sizing an own run). */
int lms_attr_rows(enum lms_attr_method meth, const struct lms_attr_opts *o, int n);

#endif
