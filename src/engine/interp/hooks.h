/* Where the architectures' forwards and backwards consult a run's
 * intervention (lmscope/interp.h). Internal to the engine. Every hook takes
 * iv = NULL (the model as it is) and then does nothing. Buffers are a run's
 * (B, T, X) activations with row stride T; only positions [from, n) of each
 * batch row are touched. */
#ifndef LMS_INTERP_HOOKS_H
#define LMS_INTERP_HOOKS_H

#include <stddef.h>

#include "lmscope/interp.h"

/* Whether forwards must start at position 0 (a mean ablation averages over
 * the whole context). */
int lms_iv_whole(const struct lms_intervention *iv);

/* Where batch row b of a forward over [from, n) starts: from, or later
 * for a batched patch (iv->row_from). */
int lms_iv_row_from(const struct lms_intervention *iv, int b, int from);

/* At the start of layer l, x (B, T, C) its input: returns 0 when the layer
 * is to be skipped (below iv->start_layer, or from iv->stop_layer on); else
 * copies start_resid and a resid_pre patch in. */
int lms_iv_layer_in(const struct lms_intervention *iv, int l, float *x, int B, int T, int C,
                    int from, int n);
/* Whether layer l of L computes past its keys and values only position
 * n - 1 (iv->last_only, the last layer, unless a mean ablation there needs
 * every position's head outputs). */
int lms_iv_last_only(const struct lms_intervention *iv, int l, int L);
/* After the attention of layer l, y (B, T, C) the heads' outputs before the
 * output projection: ablations and head / attn_out patches. */
void lms_iv_heads(const struct lms_intervention *iv, int l, float *y, int B, int T, int C, int from,
                  int n);
/* The same in the backward: dy (B, T, C) over [0, n) gets the gradient of
 * the ablated forward (0 for a zero ablation, the mean of dy over the
 * positions for a mean ablation). */
void lms_iv_heads_backward(const struct lms_intervention *iv, int l, float *dy, int B, int T, int C,
                           int n);
/* After layer l's MLP output projection, before the residual add: rows
 * [row0, row0 + len) of y (B * T, C) (position = row % T). */
void lms_iv_mlp(const struct lms_intervention *iv, int l, float *y, size_t row0, int len, int T,
                int C);
/* In the backward of an ablated MLP of layer l: zeroes d (count floats),
 * the gradient at the MLP's hidden activations, so the branch passes no
 * gradient to the stream. (Its output projection's weight gradient is then
 * not that of the ablated model; only input gradients are meant.) */
void lms_iv_mlp_backward(const struct lms_intervention *iv, int l, float *d, size_t count);
/* Recurrent: after step t of layer l, h (B, T, H) its states: unit
 * ablation and hidden patches at t. */
void lms_iv_state(const struct lms_intervention *iv, int l, float *h, int B, int T, int H, int t);
/* The same in the backward through time: dh (B, H) of step t of layer l
 * (the gradient reaching h_t) loses its ablated units. */
void lms_iv_state_backward(const struct lms_intervention *iv, int l, float *dh, int B, int H);

#endif
