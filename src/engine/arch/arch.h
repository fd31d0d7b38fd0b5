/* What each architecture provides to the generic model code (model.c, run.c).
 * Internal to the engine. One file per architecture implements one of these
 * tables: gpt2.c, rnn.c (RNN, LSTM and GRU), llama.c. */
#ifndef LMS_ARCH_H
#define LMS_ARCH_H

#include <stdint.h>

#include "lmscope/model.h"
#include "nn/wmat.h"

/* One Transformer block's activations of one batch row, each (T, X) with
 * row stride X (see lmscope/interp.h). */
struct lms_block_acts {
	const float *resid_pre;  /* (T, C) the block's input */
	const float *heads;      /* (T, C) attention-weighted values, before the output projection */
	const float *resid_mid;  /* (T, C) after the attention half */
	const float *resid_post; /* (T, C) the block's output */
	const float *neurons;    /* (T, H) the MLP's hidden activations; NULL: see ops.neurons */
};

struct lms_arch_ops {
	/* Parameter tensors in storage order, with offsets packed from 0 in
	 * that order; out may be NULL. Returns the count. */
	int (*tensors)(const struct lms_config *c, struct lms_tensor *out);
	/* Fills a fresh parameter block (the architecture's usual init). */
	void (*init)(const struct lms_config *c, float *params, uint64_t seed);
	/* Allocates and frees the private activations for B x T. */
	void *(*acts_new)(const struct lms_model *m, int B, int T);
	void (*acts_free)(void *acts);
	/* r->emb -> r->hfin over positions [from, n) (see lms_forward). */
	void (*forward)(struct lms_run *r, int from, int n);
	/* r->dhfin -> r->demb and/or r->m->grads (see lms_backward). */
	void (*backward)(struct lms_run *r, int flags);
	/* Explorer views (see model.h); NULL entries mean "not available". */
	const float *(*attention)(const struct lms_run *r, int l, int h, int b);
	const float *(*hidden)(const struct lms_run *r, int l, int b, int *D);
	const float *(*gates)(const struct lms_run *r, int l, int b, int *G);
	void (*block)(const struct lms_run *r, int l, int b, struct lms_block_acts *out);
	/* The MLP's hidden activations of layer l, row b, (T, H), when the
	 * architecture recomputes them rather than keep them (block's neurons
	 * NULL); valid until the next call or forward. */
	const float *(*neurons)(const struct lms_run *r, int l, int b);
	/* Copies every layer's keys and values (the attention cache) of
	 * positions [0, n) of batch row 0 of src into batch row b of dst, a
	 * run of the same model: dst's row b can then continue src's context
	 * from any position (patching sweeps). NULL for RNNs. */
	void (*kv_copy)(struct lms_run *dst, int b, const struct lms_run *src, int n);
	const float *(*cell)(const struct lms_run *r, int l, int b, int *H);
	/* Final normalisation applied before the unembedding, one vector of
	 * width Cout (NULL when there is none, as in RNNs). */
	void (*final_norm)(const struct lms_model *m, float *out, const float *in);
	/* The unembedding: wout (V, Cout) row-major and bout (V) or NULL; the
	 * same pointers offset into grads give their gradients. */
	size_t (*wout_offset)(const struct lms_config *c);
	long (*bout_offset)(const struct lms_config *c); /* -1: no bias */
	/* Offset of the token embedding (V, C), whose rows lms_embed gathers. */
	size_t (*wte_offset)(const struct lms_config *c);
	/* Dropout sites of a training forward (r->drop, nn/dropout.h), each
	 * (B, T, *width) units (a narrower site uses the first B * T * X);
	 * NULL: the architecture has no dropout. */
	int (*dropout_sites)(const struct lms_config *c, int *width);
};

extern const struct lms_arch_ops lms_gpt2_ops;
extern const struct lms_arch_ops lms_rnn_ops; /* RNN, LSTM and GRU */
extern const struct lms_arch_ops lms_llama_ops;

const struct lms_arch_ops *lms_arch_ops(enum lms_arch a);

/* For an architecture's tensors(): a 1-D (d0) or 2-D (d0, d1) tensor named
 * name at *offset, which advances past it. */
void lms_tensor_set(struct lms_tensor *t, const char *name, int ndim, int64_t d0, int64_t d1,
                    size_t *offset);

/* A model with its tensor table and a zeroed parameter block, no init;
 * wm[] points into params. */
enum lms_status lms_model_alloc(const struct lms_config *c, struct lms_model **out);
/* A model with its tensor table and an empty wm[], no params: for loaders
 * that keep weights as stored and fill wm[] (and params) themselves. */
enum lms_status lms_model_alloc_table(const struct lms_config *c, struct lms_model **out);
/* Tensor t as a weight matrix of type over data: 2-D (shape0, shape1),
 * 1-D (1, numel). */
struct lms_wmat lms_tensor_wmat(const struct lms_tensor *t, enum lms_wtype type, const void *data);

/* Row id of the token embedding and row k of the unembedding as float
 * (C and Cout floats; run.c). */
void lms_model_embed_row(const struct lms_model *m, int id, float *out);
void lms_model_unembed_row(const struct lms_model *m, int k, float *out);
/* The logits at position pos of batch rows [0, rows), one product over
 * them (wout read once, where lms_logits of each row would stream it per
 * row): r->logits row b * T + pos. */
void lms_logits_at(struct lms_run *r, int rows, int pos);
/* The unembedding (V, Cout) and the token embedding (V, C) as stored. */
const struct lms_wmat *lms_model_wout(const struct lms_model *m);
const struct lms_wmat *lms_model_wte(const struct lms_model *m);

#endif
