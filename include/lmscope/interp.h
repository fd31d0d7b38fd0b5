/* Causal interventions and what they measure: ablation of attention heads,
 * MLPs and recurrent units, activation patching, direct logit attribution,
 * attention-head detectors and MLP neuron statistics.
 *
 * An intervention is a plain struct a run consults during its forward (and,
 * for ablations, its backward): set r->iv (lms_run_intervene) and every
 * forward of that run computes the intervened model. Shape letters as in
 * model.h; a head's output is its attention-weighted values, the hs columns
 * [h hs, (h+1) hs) of the (T, C) attention output before the output
 * projection.
 *
 *   zero ablation   head output := 0 at every position
 *   mean ablation   head output := its mean over positions [0, n) of the
 *                   current context (a run with one needs forwards from 0)
 *   MLP ablation    the MLP's output (after its output projection and bias)
 *                   := 0, in either mode
 *   unit ablation   (recurrent) unit u of layer l's state h := 0 at every
 *                   step, so the next step reads the ablated state too
 *
 * Patching replaces one site by values from another run (the caller's src):
 *   RESID_PRE  the residual stream entering layer l, (T, C)
 *   HEAD       head h's output in layer l, (T, C) (its columns are read)
 *   ATTN_OUT   every head's output in layer l, (T, C): with the output
 *              projection linear and its bias fixed, the attention block's
 *              output at those positions equals the source run's
 *   MLP_OUT    layer l's MLP output, (T, C)
 *   HIDDEN     (recurrent) layer l's state h, (T, H); an LSTM's cell state
 *              is left as it is
 * at one position, or at every position with pos = -1. Gradients through
 * a patched site are not defined (the patch is a constant): patch runs are
 * forward only. */
#ifndef LMSCOPE_INTERP_H
#define LMSCOPE_INTERP_H

#include <stddef.h>

#include "lmscope/model.h"
#include "lmscope/status.h"

enum lms_ablate_mode { LMS_ABLATE_ZERO, LMS_ABLATE_MEAN };

enum lms_patch_site {
	LMS_PATCH_NONE,
	LMS_PATCH_RESID_PRE,
	LMS_PATCH_HEAD,
	LMS_PATCH_ATTN_OUT,
	LMS_PATCH_MLP_OUT,
	LMS_PATCH_HIDDEN,
};

struct lms_intervention {
	int L, NH, H; /* the model's sizes (lms_intervention_new) */
	enum lms_ablate_mode mode;
	unsigned char *heads; /* (L, NH) 1: ablated (recurrent: (L, H) units) */
	unsigned char *mlp;   /* (L) 1: the MLP's output is 0 */
	int n_ablated;        /* heads, units and MLPs set */
	/* one patch (site NONE: none) */
	enum lms_patch_site site;
	int layer, head, pos; /* pos -1: every position */
	const float *src;     /* (T, X) the source run's values, row stride X */
	/* A forward may start at layer start_layer (> 0 or with start_resid):
	 * layers below are taken as they are, and start_resid (T, C), when not
	 * NULL, is copied in as that layer's input at the forward's positions.
	 * Patching sweeps use it to share the work before the patch point. */
	int start_layer;
	const float *start_resid;
	/* > 0: layers from stop_layer on are skipped too (hfin is then not the
	 * model's): a layer's own output, for the sweeps. */
	int stop_layer;
	/* The last layer computes past its keys and values only the last
	 * position, and hfin only there: all a logit difference reads. */
	int last_only;
	/* Batched patching (pos and head unused): batch row b patches its own
	 * site rows[b], a position (HEAD: a head, at every position; -1: none),
	 * and a forward computes row b only from position row_from[b] on (its
	 * earlier positions are taken as they are; n: the row is left alone).
	 * Either may be NULL (no batching, the forward's own start). */
	const int *rows;     /* (B) */
	const int *row_from; /* (B) */
};

/* An intervention for model m with nothing ablated or patched. */
enum lms_status lms_intervention_new(const struct lms_model *m, struct lms_intervention **out);
void lms_intervention_free(struct lms_intervention *iv);
/* Clears ablations and patch. */
void lms_intervention_clear(struct lms_intervention *iv);

/* Adds ablations from a spec "L.H[,L.H|L.mlp...]" (recurrent: "L.U" for
 * unit U). The message names the bad item. */
enum lms_status lms_intervention_parse(struct lms_intervention *iv, const char *spec);
/* "zero" or "mean". */
int lms_ablate_mode_from_name(const char *name, enum lms_ablate_mode *out);

/* Makes every later forward and backward of r follow iv (NULL: none). iv
 * must outlive its use; the run's next forward must start at 0. */
void lms_run_intervene(struct lms_run *r, const struct lms_intervention *iv);

/* ---- activation patching ---------------------------------------------------- */

/* The logit difference at the last position of row 0 of a forwarded run:
 * logit[target] - logit[contrast], or log p(target) when contrast < 0. */
double lms_logit_diff(struct lms_run *r, int target, int contrast);

/* What a patching sweep measures; arrays (L, T) and (L, NH), row-major,
 * NULL where the architecture has no such site (recurrent: only hidden). */
struct lms_patch_result {
	int L, T, NH;
	int target, contrast; /* as used (chosen when the caller gave -1) */
	double ld_clean, ld_corrupt;
	double *resid_pre; /* (L, T) */
	double *attn_out;  /* (L, T) */
	double *mlp_out;   /* (L, T) */
	double *heads;     /* (L, NH) every position of the head */
	double *hidden;    /* (L, T) recurrent state */
};

/* Runs clean and corrupt (n ids each, n <= the model's context) and, for
 * every site, the corrupt run with that site patched from the clean run:
 * score = (LD_patched - LD_corrupt) / (LD_clean - LD_corrupt) (NaN when
 * LD_clean = LD_corrupt). target < 0: the clean run's most probable next
 * token; contrast < 0 with target < 0: the corrupt run's most probable
 * (when that equals the target, no contrast: LD = log p(target)). Positions
 * before the patched one are shared with the corrupt run and not
 * recomputed. */
enum lms_status lms_patch_sweep(const struct lms_model *m, const int *clean, const int *corrupt,
                                int n, int target, int contrast, struct lms_patch_result *out);
void lms_patch_result_free(struct lms_patch_result *p);

/* ---- direct logit attribution --------------------------------------------- */

/* The decomposition of the final residual stream x at one position,
 * x = embed + sum_l (sum_h head_lh + attn_bias_l + mlp_l), each term t
 * mapped to logit units as  (t - mean(t)) * s * g . (w_target - w_contrast)
 * with s = 1 / sqrt(var(x) + eps) the final LayerNorm's scale of the whole x
 * (frozen; RMSNorm: t * s * g with s = 1 / sqrt(mean(x^2) + eps)) and g its
 * gain; final_bias = b . (w_target - w_contrast) (0 for RMSNorm). The terms
 * and final_bias sum to the logit (difference) up to rounding. */
struct lms_dla {
	int L, NH;
	double embed;      /* token (and position) embeddings */
	double *heads;     /* (L, NH) each head through its slice of the output projection */
	double *attn_bias; /* (L) the output projection's bias (0 without one) */
	double *mlp;       /* (L) */
	double final_bias;
	double sum;   /* of everything above */
	double logit; /* logit[target] (- logit[contrast]) from the unembedding */
};

/* DLA of position pos of row 0 of a forwarded Transformer run. */
enum lms_status lms_dla_compute(struct lms_run *r, int pos, int target, int contrast,
                                struct lms_dla *out);
void lms_dla_free(struct lms_dla *d);

/* ---- head detectors ---------------------------------------------------------- */

/* Over a forwarded run's row 0 of n tokens ids, per head (L, NH):
 *   previous  mean over i >= 1 of att[i][i-1]
 *   duplicate mean over the i whose token occurred before (j the latest
 *             earlier occurrence) of att[i][j]
 *   induction mean over those i with j + 1 < i of att[i][j+1]
 * A score with no position to average over is NaN. */
struct lms_head_scores {
	int L, NH;
	double *previous, *duplicate, *induction; /* (L, NH) each */
};
enum lms_status lms_head_scores_compute(const struct lms_run *r, const int *ids, int n,
                                        struct lms_head_scores *out);
void lms_head_scores_free(struct lms_head_scores *s);
/* The same for one head, from its attention a (n, n) with row stride T, for
 * a caller that already holds it (the explorer's overview reads every head
 * once); prev (n) from lms_head_prev. */
void lms_head_prev(int *prev, const int *ids, int n);
void lms_head_scores_of(const float *a, int T, const int *prev, int n, double *previous,
                        double *duplicate, double *induction);
/* N random ids in [0, V) (seeded), then the same N again: 2N ids in out. */
void lms_repeated_tokens(int *out, int N, int V, unsigned long long seed);

/* ---- MLP neurons ------------------------------------------------------------- */

/* Layer l's MLP neuron activations (after the nonlinearity: GPT-2's GELU
 * output, Llama's silu(gate) * up) of row 0: (T, H) with row stride H. NULL
 * for recurrent models or a bad layer. GPT-2 recomputes them into one
 * buffer of the run: valid until the next call or forward. */
const float *lms_run_neurons(const struct lms_run *r, int l, int *H);

/* One neuron's strongest activations over a corpus. */
struct lms_neuron_hit {
	float value;
	long offset; /* the token's index in the corpus */
};

struct lms_neuron_stats {
	int layer, H, K;
	long count;                 /* positions seen */
	double *mean, *var;         /* (H) */
	struct lms_neuron_hit *top; /* (H, K) highest first; value -inf where fewer */
};

/* Progress callback: done of total windows; return non-zero to stop. */
typedef int (*lms_progress_fn)(void *ctx, long done, long total);

/* A pass over ntok corpus tokens in windows of T (the model's context, at
 * most 256): every neuron of layer l's mean, variance and K largest
 * activations. */
enum lms_status lms_neuron_pass(const struct lms_model *m, const int *tokens, long ntok, int l,
                                int K, lms_progress_fn progress, void *ctx,
                                struct lms_neuron_stats *out);
void lms_neuron_stats_free(struct lms_neuron_stats *s);
/* The pass as a file (atomic write) and back; a file that does not match
 * (layer, H, K, key) is LMS_EFORMAT. key identifies the corpus. */
enum lms_status lms_neuron_stats_save(const struct lms_neuron_stats *s, unsigned long long key,
                                      const char *path);
enum lms_status lms_neuron_stats_load(struct lms_neuron_stats *s, unsigned long long key, int layer,
                                      int H, int K, const char *path);

/* The cache of a corpus pass, as `lmscope neurons --cache` keeps it: its
 * key is an FNV-1a hash of the corpus's tokens (lms_tokenizer_encode, no
 * BOS), its file MODEL.neurons-lL-kK-KEY beside the model directory
 * (malloc'd into *out). */
unsigned long long lms_neuron_corpus_key(const int *ids, size_t n);
enum lms_status lms_neuron_cache_path(const char *model, int layer, int K, unsigned long long key,
                                      char **out);
/* The text of the corpus tokens ids up to and including offset, at most
 * max_tokens of them, newlines and tabs as spaces (malloc'd into *out): a
 * hit's context as the neurons command and the explorer show it, with
 * LMS_NEURON_CONTEXT tokens. */
#define LMS_NEURON_CONTEXT 12
struct lms_tokenizer;
enum lms_status lms_neuron_context(const struct lms_tokenizer *tok, const int *ids, long offset,
                                   int max_tokens, char **out);

#endif
