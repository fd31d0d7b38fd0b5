/* Models, their parameters, and a run: the activations and gradients of one
 * forward/backward over a batch of token sequences.
 *
 * Shape letters, outermost first, used in every comment of the engine:
 *   B  batch rows            T  positions (context length in use)
 *   C  embedding width       H  hidden width (RNN state, MLP inner, Llama FFN)
 *   V  vocabulary size       L  layers
 *   NH attention heads       KV key/value heads (Llama), hs = C / NH
 *   G  gates per RNN cell (RNN 1, GRU 3, LSTM 4)
 *
 * Ownership: lms_model_* allocate and free a model; a model owns one block of
 * parameters (and, on request, one block of gradients with the same layout).
 * lms_run_new allocates every activation for B x T once; nothing in
 * lms_forward / lms_backward allocates, so the explorer's keystroke path
 * never does. Runs read their model and never change it; any number of runs
 * may share one model across threads. */
#ifndef LMSCOPE_MODEL_H
#define LMSCOPE_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "lmscope/status.h"

#define LMS_MAX_LAYERS 128

struct lms_intervention;
struct lms_dropout;

enum lms_arch { LMS_RNN, LMS_LSTM, LMS_GRU, LMS_GPT2, LMS_LLAMA };

struct lms_config {
	enum lms_arch arch;
	int V;            /* vocab_size */
	int maxT;         /* positions the model supports (n_positions); recurrent: buffer default */
	int C;            /* n_embd / embedding_dim / hidden_size */
	int H;            /* RNN hidden_dim; GPT-2 MLP width (4C); Llama intermediate_size */
	int L;            /* layers */
	int NH;           /* attention heads (0 for recurrent) */
	int KV;           /* key/value heads (Llama); NH elsewhere */
	float eps;        /* layer_norm_epsilon / rms_norm_eps */
	float rope_theta; /* Llama rotary base */
	int tied;         /* output projection is the token embedding */
	int qkv_bias;     /* Llama family: q, k, v projections have biases (Qwen2) */
	int qk_norm;      /* Llama family: per-head RMSNorm on q and k before rope (Qwen3) */
	/* Llama family: rope_scaling of config.json. LMS_ROPE_LINEAR divides
	 * every frequency by factor; LMS_ROPE_LLAMA3 divides the low
	 * frequencies (wavelength above orig_maxT / low_freq) by factor, keeps
	 * the high ones (wavelength below orig_maxT / high_freq) and blends
	 * between, as Meta's Llama 3.1 reference does. */
	struct lms_rope_scaling {
		int kind; /* LMS_ROPE_NONE, LMS_ROPE_LINEAR, LMS_ROPE_LLAMA3 */
		float factor, low_freq, high_freq;
		int orig_maxT;
	} rope;
};

enum { LMS_ROPE_NONE, LMS_ROPE_LINEAR, LMS_ROPE_LLAMA3 };

/* One named parameter tensor inside the model's parameter block. Names are
 * the Hugging Face / PyTorch state_dict names (without a "transformer."
 * prefix); shapes are as PyTorch stores them. */
struct lms_tensor {
	char name[64];
	int ndim;
	int64_t shape[4];
	size_t offset; /* in floats, into params (and grads) */
	size_t numel;
};

struct lms_wmat; /* a tensor as stored (src/engine/nn/wmat.h) */

/* Every tensor's values are read through wm[i]: float32 tensors point into
 * params; a model whose weights are kept as stored (half, bfloat16,
 * quantized: typed) points its matrices into the file mappings it holds in
 * storage, and params then holds only its float32 tensors (norms,
 * biases), each at wm[i].data. Offsets in tensors[] are those of an
 * all-float32 layout: they address params of a float32 model and grads. */
struct lms_model {
	struct lms_config cfg;
	float *params;   /* float32 model: n_params floats, laid out as tensors[] says */
	float *grads;    /* NULL until lms_model_grads(); float32 layout */
	size_t n_params; /* parameters, whatever their storage */
	struct lms_tensor *tensors;
	int n_tensors;
	struct lms_wmat *wm; /* (n_tensors) each tensor as stored, (shape0, shape1);
	                          1-D ones as (1, n). Only the embedding, the
	                          unembedding and the Llama family's matrices are
	                          multiplied through it (GPT-2's Conv1D weights,
	                          (in, out), are read from params directly). */
	int typed;           /* some tensor is not float32: inference and attribution only */
	size_t stored_bytes; /* bytes of the parameters as stored */
	void *storage;       /* what wm points into besides params (file mappings) */
	void (*storage_free)(void *storage);
};

/* Architecture name as in config.json's model_type ("gpt2", "lstm", ...). */
const char *lms_arch_name(enum lms_arch a);
/* config.json's model_type for c: the architecture's name, except that a
 * Llama-family model with q/k/v biases is "qwen2" and one with q/k norms
 * "qwen3", as Hugging Face names them. */
const char *lms_model_type(const struct lms_config *c);
int lms_arch_from_name(const char *name, enum lms_arch *out);
int lms_arch_is_recurrent(enum lms_arch a);

/* Checks a configuration for consistency and sane sizes (no dimension of
 * zero, heads dividing C, at most ~4e9 parameters). On failure the message
 * starts with `what` (normally the config file's path). */
enum lms_status lms_config_check(const struct lms_config *c, const char *what);
size_t lms_config_n_params(const struct lms_config *c);

/* A model with freshly initialised parameters (the architecture's usual
 * initialisation, deterministic in seed). */
enum lms_status lms_model_create(const struct lms_config *c, uint64_t seed, struct lms_model **out);
void lms_model_free(struct lms_model *m);
/* Allocates (zeroed) gradients if absent; LMS_EUNSUPPORTED for a typed
 * model (training needs float32 weights: lmscope convert makes them). */
enum lms_status lms_model_grads(struct lms_model *m);
void lms_model_zero_grads(struct lms_model *m);
const struct lms_tensor *lms_model_tensor(const struct lms_model *m, const char *name);

/* Model directories (Hugging Face layout: config.json + model.safetensors,
 * or shards listed in model.safetensors.index.json). Llama-family F16 and
 * BF16 weights stay as stored, memory-mapped (typed); F32 weights and every
 * other architecture are read into params. */
enum lms_status lms_model_load(const char *dir, struct lms_model **out);
/* Every check lms_model_load makes short of reading the values: the
 * config, the safetensors header, each tensor's name and shape. */
enum lms_status lms_model_probe(const char *dir, struct lms_config *c);
/* A float32 copy of any model (typed ones converted), for saving and
 * training. */
enum lms_status lms_model_to_f32(const struct lms_model *m, struct lms_model **out);
/* Writes config.json and model.safetensors atomically (F32, or F16 when f16). */
enum lms_status lms_model_save(const struct lms_model *m, const char *dir, int f16);

/* ---- runs ---------------------------------------------------------------- */

enum {
	LMS_GRAD_INPUT = 1,
	LMS_GRAD_PARAMS = 2,
	LMS_LOGITS_READY = 4, /* lms_objective_logprob: the row's logits are current */
};

struct lms_run {
	const struct lms_model *m;
	int B, T;       /* capacity */
	int n;          /* positions valid in every row after the last forward */
	int Cout;       /* width of hfin (C, or H for recurrent) */
	int *ids;       /* (B, T) the tokens of the last lms_embed */
	float *emb;     /* (B, T, C) input token embedding rows e_j (editable) */
	float *demb;    /* (B, T, C) d objective / d e_j */
	float *hfin;    /* (B, T, Cout) what the unembedding reads */
	float *dhfin;   /* (B, T, Cout) */
	float *logits;  /* (B, T, V) rows filled by lms_logits; the xent
	                    objective turns them into d objective / d logits */
	float *scratch; /* (max(V, Cout)) for the objectives and the lens */
	/* The softmax of the row the last lms_logits computed on its own (one
	 * row), which lms_objective_logprob reuses: that row (b * T + t; -1
	 * when none), its log-normaliser, and the expected unembedding row
	 * sum_k p_k wout_k. lms_forward and every lms_logits reset it. */
	long soft_row;
	double soft_lse;
	float *soft_mean;    /* (Cout); read it through lms_soft_mean */
	int soft_mean_ready; /* 0: soft_mean is still to be made from the logits */
	float *wrows;        /* (max(2, rows of a head block), Cout) unembedding rows as float */
	/* Ablations and patches every forward follows (lmscope/interp.h);
	 * NULL (as lms_run_new leaves it): the model as it is. */
	const struct lms_intervention *iv;
	/* Training-only dropout (nn/dropout.h): the masks the forward applies
	 * and the backward follows. NULL (as lms_run_new leaves it, and as
	 * every evaluation, explanation and view runs): none. The training
	 * loop sets it for an update's forward and backward only. */
	const struct lms_dropout *drop;
	void *acts; /* architecture-private activations and their gradients */
};

enum lms_status lms_run_new(const struct lms_model *m, int B, int T, struct lms_run **out);
void lms_run_free(struct lms_run *r);

/* Every (B, T, X) buffer of a run has row stride T: position t of row b is
 * at (b * T + t) * X, whatever n is. */

/* ids (B, n) packed (row b at ids + b * n) -> r->emb and r->ids. An id outside [0, V) is
 * an LMS_EARG. */
enum lms_status lms_embed(struct lms_run *r, const int *ids, int n);

/* Forward over positions [from, n) of every row, reading r->emb. Positions
 * before `from` are reused from the previous forward (prefix reuse, KV cache,
 * recurrent state) and must be unchanged since; from > 0 needs B == 1. */
void lms_forward(struct lms_run *r, int from, int n);

/* logits[b, t] for t in [t0, t1) of row b. */
void lms_logits(struct lms_run *r, int b, int t0, int t1);
/* The expected unembedding row sum_k p_k wout_k (Cout) of the row the last
 * one-row lms_logits computed (r->soft_row): made on first use when that
 * lms_logits left it for later. */
const float *lms_soft_mean(struct lms_run *r);

/* Objectives: each computes its value, seeds r->dhfin (zeroing it first),
 * and with LMS_GRAD_PARAMS also accumulates the unembedding's gradient.
 *
 * log p(target | x<=pos) at row b, minus log p(contrast) when contrast >= 0. */
double lms_objective_logprob(struct lms_run *r, int b, int pos, int target, int contrast,
                             int flags);
/* Mean cross-entropy over every (b, t < n) with targets[b * n + t] >= 0.
 * With neither LMS_GRAD_INPUT nor LMS_GRAD_PARAMS only the value is
 * computed (evaluation): r->dhfin is left as it was. */
double lms_objective_xent(struct lms_run *r, const int *targets, int flags);

/* Backward from r->dhfin over positions [0, n): fills r->demb
 * (LMS_GRAD_INPUT) and accumulates into r->m->grads (LMS_GRAD_PARAMS; the
 * model must have grads, see lms_model_grads). Only the gradients are
 * written; the parameters stay as they are. */
void lms_backward(struct lms_run *r, int flags);

/* ---- what the explorer shows ---------------------------------------------- */

/* Attention probabilities of layer l, head h, row b: (T, T) with row stride
 * r->T, causal (entries past the query are 0), rows [0, r->n) valid. NULL
 * for recurrent models. GPT-2 recomputes one head at a time from the run's
 * queries and keys into one buffer of the run: the pointer is valid until
 * the next call for another head or the next forward. */
const float *lms_run_attention(const struct lms_run *r, int l, int h, int b);
/* Hidden state after layer l (0 <= l < L) for row b: (T, D) with row stride D;
 * *D is set. Transformers: the residual stream after block l. Recurrent: the
 * layer's output h_t. */
const float *lms_run_hidden(const struct lms_run *r, int l, int b, int *D);
/* Gate activations of recurrent layer l for row b: (T, G*H) in PyTorch's gate
 * order, after their nonlinearities; NULL when the architecture has none. */
const float *lms_run_gates(const struct lms_run *r, int l, int b, int *G);
/* Cell state c_t of LSTM layer l for row b: (T, H) with row stride H; *H is
 * set. NULL for other architectures (and l or b out of range). */
const float *lms_run_cell(const struct lms_run *r, int l, int b, int *H);
/* Logit lens: the final norm (if any) and unembedding applied to a hidden
 * vector of width Cout; out has V floats. */
void lms_lens(struct lms_run *r, const float *h, float *out);
/* The logit lens of N hidden vectors at once: h (N, Cout) -> out (N, V), one
 * matrix product (the unembedding read once, not once per vector). */
void lms_lens_rows(struct lms_run *r, const float *h, int N, float *out);

#endif
