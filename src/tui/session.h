/* The explorer's data model: what the input thread asks the engine for (a
 * request) and what the engine answered (a view). Only engine results fill a
 * view; panes read the newest view and draw it, never change it.
 *
 * Shape letters as in include/lmscope/model.h; n is the number of positions
 * the view covers (the tokens of the context after any cut from the left). */
#ifndef LMS_TUI_SESSION_H
#define LMS_TUI_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "lmscope/interp.h"
#include "lmscope/model.h"
#include "lmscope/snapshots.h"
#include "lmscope/tokenizer.h"

/* The loaded model and its tokenizer (tok NULL: contexts are typed as ids),
 * and the training snapshots of its directory (timeline.c), read when it
 * opens and never changed after. The worker thread alone reads and writes
 * m->params: stepping to a snapshot copies the snapshot's weights in. */
struct tui_model {
	struct lms_model *m;
	struct lms_tokenizer *tok;
	const char *path;
	const char *dir;            /* where the model was found (a bare name resolved) */
	const char *corpus;         /* --corpus FILE: the neuron contexts' corpus, or NULL */
	struct lms_snapshots snaps; /* n = 0: no timeline */
	char snap_note[256];        /* why there is none, when the index is bad */
};

/* Saliency methods of the method switch. The two gradient methods come
 * from the gradient the worker keeps for the target; the others run
 * through lms_attribute (attribution.h). A new method appends here. */
enum tui_method {
	TUI_GRAD_NORM,
	TUI_GRAD_X_INPUT,
	TUI_IG,
	TUI_OCCLUSION,
	TUI_LIME,
	TUI_ROLLOUT,
	TUI_N_METHODS
};
struct tui_method_info {
	const char *name;  /* as in `lmscope explain --method` */
	const char *label; /* for messages */
	int is_signed;     /* scores have a sign (two colors) */
	int attr;          /* enum lms_attr_method */
};
/* The next method after m that applies to the architecture. */
int tui_method_next(int m, enum lms_arch arch);
extern const struct tui_method_info tui_methods[TUI_N_METHODS];

/* What the attention pane shows (the worker extracts only that). */
enum tui_att_mode { TUI_ATT_MATRIX, TUI_ATT_OVERVIEW, TUI_ATT_QUERY, TUI_ATT_N_MODES };

/* Recurrent pane: the hidden state, or one of the cell's gates. */
#define TUI_PART_HIDDEN 0 /* parts 1..G are gate 0..G-1, G + 1 the LSTM's cell state c */

#define TUI_TOPK 100 /* candidates kept per view */
#define TUI_LENS_K 5 /* logit lens: candidates kept per layer */
#define TUI_NEURON_K                                                                               \
	10                     /* neurons: the most active kept, and corpus contexts per neuron
                           (the neurons command's default --top, whose cache is read) */
#define TUI_NEURON_CTX 160 /* bytes of one context's text */
#define TUI_THUMB 16       /* overview thumbnails are computed THUMB x THUMB (shown up to that) */

/* One request from the input thread; the worker computes only the newest. */
struct tui_request {
	uint64_t seq;
	char *text; /* UTF-8 context (not NUL-terminated) */
	size_t len, cap;
	int target;         /* saliency target id; -1 = the top candidate */
	int contrast;       /* -1 = none: why target rather than contrast */
	int method;         /* enum tui_method */
	int layer, head;    /* selected attention head / recurrent layer */
	int mean_heads;     /* show the mean over the layer's heads */
	int part;           /* recurrent: TUI_PART_HIDDEN or gate + 1 */
	int need_overview;  /* thumbnails and entropies of every head */
	int need_lens;      /* logit lens per layer */
	int lens_pos;       /* the lens's position (view index); -1 = the last */
	int need_faith;     /* deletion area and rank agreement of the saliency */
	int export_json;    /* nonzero: also write the JSON export to export_path */
	double t_post;      /* lms_now_ms() at the keystroke that posted it; 0: unknown */
	int need_patch;     /* the patching sweep (pane_patch.c) */
	char corrupt[1024]; /* the corrupted context, UTF-8, NUL-terminated */
	int need_change;    /* the change strip (pane_change.c) */
	int need_dla;       /* direct logit attribution of the target (pane_dla.c) */
	int need_neurons;   /* the most active MLP neurons (pane_neurons.c) */
	int neuron_pos;     /* their position (view index); -1 = the last */
	int neuron_open;    /* the neuron whose corpus contexts are listed; -1 none */
	int neuron_pass;    /* counts the asks for the corpus pass on the worker (r) */
	char ablate[128];   /* heads ablated, as `explain --ablate` (zero): "L.H,L.H"; "" none */
	int snapshot; /* the training snapshot shown (index into tm->snaps); -1: the model itself */
	char export_path[512];
};

/* One engine result. All arrays are owned by the view and grow as needed
 * (only on the worker thread). */
struct tui_view {
	uint64_t seq;    /* the request it answers (0: no result yet) */
	int valid;       /* 0 until the first forward, or after an error */
	int complete;    /* 0 for a partial result of a slow update */
	char error[256]; /* engine or tokenizer failure, shown in the status line */
	char note[256];  /* one-off message (export written) */
	double ms;       /* time of this update (the engine's, from its start) */
	double cand_ms;  /* from the keystroke until the candidates were published */

	char *text; /* the request's text, as the tokens index it */
	size_t len;
	int n;            /* positions computed */
	int cut;          /* tokens cut from the left (context longer than maxT) */
	int kept;         /* leading tokens kept before the cut (a BOS), 0 or 1 */
	size_t cut_byte;  /* byte offset in text where the computed tokens start */
	int *ids;         /* (n) */
	size_t *offsets;  /* (n + 1) byte offsets of each token in text */
	float *surprisal; /* (n) -log p(ids[t] | ids[<t]) in nats; NaN at t = 0 */

	int V;
	float *logprob; /* (V) log p(next token) after the last position */
	int k;          /* candidates in top */
	int top_id[TUI_TOPK];
	float top_lp[TUI_TOPK];
	char ablate[128];        /* the ablation the view is of ("" none) */
	int snapshot;            /* the weights it is of: the snapshot's index, -1 the model's own */
	double snap_ms;          /* the last step to a snapshot: loading and copying its weights */
	int have_base;           /* base_lp is the unablated model's */
	float base_lp[TUI_TOPK]; /* log p(top_id[i]) without the ablation */

	int target, contrast; /* ids used (contrast -1 when none) */
	double objective;     /* log p(target) [- log p(contrast)] */
	float target_lp;      /* log p(target) */
	int method;
	int have_saliency; /* 0 while the backward is still running */
	char sal_note[96]; /* what the method says about itself (IG's gap, ...) */
	float *saliency;   /* (n) */
	/* the change strip (pane_change.c): what appending token t did to the
	 * next-token distribution, KL(p(.|ids[<=t]) || p(.|ids[<t])) in nats
	 * (NaN at t = 0 and where the logits are not kept), and the top-1
	 * after it (-1: unknown) */
	int have_change;
	float *change_kl; /* (n) */
	int *change_top;  /* (n) */
	/* faithfulness of the saliency (attribution.h): the area under its
	 * deletion curve, and its Spearman rank correlation with each other
	 * cheap method, per enum tui_method (NaN: not compared) */
	int have_faith;
	double faith_area;
	double faith_rho[TUI_N_METHODS];

	/* attention (Transformers): one selected matrix, row stride n */
	int L, NH;
	int layer, head, mean_heads;
	float *att; /* (n, n) query rows, key columns; NULL-sized when recurrent */
	int have_overview;
	float *entropy; /* (L, NH) mean entropy over queries, nats */
	float *thumb;   /* (L, NH, THUMB, THUMB) */
	float *detect;  /* (3, L, NH) previous-token, duplicate-token and induction
	                          scores over the context (lms_head_scores; NaN: none) */

	/* recurrent: the selected layer's hidden state or gate, (n, D) */
	int part, G, D;
	int has_cell; /* LSTM: part G + 1 is the cell state c */
	float *act;

	/* the logit lens at position lens_pos: each layer's hidden state there
	 * read through the final norm and unembedding (lms_lens_rows); ids -1
	 * for a layer whose state is not the unembedding's width */
	int have_lens;
	int lens_pos;
	int *lens_id;   /* (L, TUI_LENS_K) each layer's most probable tokens, best first */
	float *lens_p;  /* (L, TUI_LENS_K) their probabilities */
	int *lens_rank; /* (L) the target's rank in each layer's lens, 1 = top; 0 unknown */
	float *lens_tp; /* (L) the target's probability there */

	int have_patch;
	char patch_note[160];          /* why there is no sweep (token counts differ, ...) */
	struct lms_patch_result patch; /* clean: the context, corrupt: rq->corrupt */
	int have_dla;
	struct lms_dla dla; /* of the target (minus the contrast) at the last position */

	/* the MLP neurons of layer neuron_layer at position neuron_pos: the
	 * neuron_k most active (after the nonlinearity, lms_run_neurons),
	 * highest first */
	int have_neurons;
	int neuron_layer, neuron_pos, neuron_k;
	int neuron_id[TUI_NEURON_K];
	float neuron_act[TUI_NEURON_K];
	/* the corpus contexts of neuron nctx_neuron of that layer, from the
	 * cache of `lmscope neurons --cache` (nctx_n of them, strongest first),
	 * or nctx_note saying why there are none */
	int have_nctx;
	int nctx_layer, nctx_neuron, nctx_n;
	float nctx_value[TUI_NEURON_K];
	long nctx_offset[TUI_NEURON_K];
	char nctx_text[TUI_NEURON_K][TUI_NEURON_CTX];
	char nctx_note[512];

	/* capacities */
	size_t cap_text, cap_n, cap_nn, cap_V, cap_LH, cap_act, cap_L;
};

/* Makes room for the sizes given; 0 on allocation failure. */
int tui_view_reserve(struct tui_view *v, size_t len, int n, int V, int L, int NH, size_t act);
void tui_view_free(struct tui_view *v);
/* A deep copy of src into out (growing out's arrays); 0 on allocation
 * failure. Publishing a result and pinning one are copies. */
int tui_view_copy(struct tui_view *out, const struct tui_view *src);

/* Display string of a token: its piece, or "#id" without a tokenizer. */
const char *tui_token_str(const struct tui_model *tm, int id, char *buf, size_t size);

/* Request text handling (input thread: copies only, grows rarely). */
int tui_request_set_text(struct tui_request *rq, const char *text, size_t len);
void tui_request_free(struct tui_request *rq);
/* Copies every field of src into dst, growing dst->text as needed. */
int tui_request_copy(struct tui_request *dst, const struct tui_request *src);

#endif
