/* Activation patching's parts shared by patch.c (the sweep, its clean and
 * corrupt runs, recurrent models) and patch_batch.c (a Transformer's sites
 * as the rows of batched runs). Internal to the engine. */
#ifndef LMS_INTERP_PATCH_BATCH_H
#define LMS_INTERP_PATCH_BATCH_H

#include "lmscope/interp.h"

/* What the batched sweep reads, each (L, n, C) with row stride C: the
 * clean run's block inputs and heads' outputs (before the output
 * projection), the corrupt run's block inputs, and each block's output
 * with its attention output (attn_after) or its MLP output (mlp_after)
 * taken from the clean run at every position from the first difference
 * on. A patch of either at one position t changes its block's output only
 * at t (what follows in the block works position by position), so the
 * sweep patches it as the next block's input there. */
struct lms_patch_src {
	const float *clean_resid, *clean_heads, *corrupt_resid;
	const float *attn_after, *mlp_after;
};

/* The logit difference from a row of logits x (V): x[target] -
 * x[contrast], or log p(target) when contrast < 0. */
double lms_ld_of_logits(const float *x, int V, int target, int contrast);

/* lms_logit_diff with a contrast (>= 0) at the last position of batch row
 * b of a forwarded run. */
double lms_logit_diff_row(struct lms_run *r, int b, int target, int contrast);

/* (ld - LD_corrupt) / (LD_clean - LD_corrupt), NaN when they are equal. */
double lms_patch_score(double ld, const struct lms_patch_result *p);

/* Fills p's resid_pre, attn_out, mlp_out (L, n) and heads (L, NH) for a
 * Transformer, given p's target, contrast and both logit differences and
 * corrupt, a run forwarded over the corrupt context (row 0, n positions;
 * only its keys and values are read): batched runs of at most `rows`
 * sites each (0: chosen from the model's size, patch_batch.c). first: the
 * first position where clean and corrupt differ; sites before it score 0
 * without a forward. */
enum lms_status lms_patch_batched(const struct lms_run *corrupt, int first, int rows,
                                  const struct lms_patch_src *s, struct lms_patch_result *p);

/* lms_patch_sweep with the batch size given (see lms_patch_batched); the
 * unit tests compare batch sizes, down to one site per forward. */
enum lms_status lms_patch_sweep_rows(const struct lms_model *m, const int *clean,
                                     const int *corrupt, int n, int target, int contrast, int rows,
                                     struct lms_patch_result *out);

#endif
