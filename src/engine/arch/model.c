/* Model configurations, allocation and the parameter tensor table. The
 * architecture files say which tensors exist; this file owns the memory. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "nn/wmat.h"

static const char *const arch_names[] = {
	[LMS_RNN] = "rnn",   [LMS_LSTM] = "lstm",   [LMS_GRU] = "gru",
	[LMS_GPT2] = "gpt2", [LMS_LLAMA] = "llama",
};

const char *lms_arch_name(enum lms_arch a)
{
	if ((unsigned)a >= sizeof arch_names / sizeof *arch_names)
		return "unknown";
	return arch_names[a];
}

const char *lms_model_type(const struct lms_config *c)
{
	if (c->arch == LMS_LLAMA && c->qk_norm)
		return "qwen3";
	if (c->arch == LMS_LLAMA && c->qkv_bias)
		return "qwen2";
	return lms_arch_name(c->arch);
}

int lms_arch_from_name(const char *name, enum lms_arch *out)
{
	for (size_t i = 0; i < sizeof arch_names / sizeof *arch_names; i++)
		if (strcmp(name, arch_names[i]) == 0) {
			*out = (enum lms_arch)i;
			return 1;
		}
	return 0;
}

int lms_arch_is_recurrent(enum lms_arch a)
{
	return a == LMS_RNN || a == LMS_LSTM || a == LMS_GRU;
}

/* Limits far above any model lmscope can run on a workstation, low enough
 * that products of them fit comfortably in size_t and int arithmetic. */
#define MAX_DIM (1 << 20)
#define MAX_PARAMS ((size_t)1 << 32)

enum lms_status lms_config_check(const struct lms_config *c, const char *what)
{
	if ((unsigned)c->arch > LMS_LLAMA)
		return lms_fail(LMS_EUNSUPPORTED, "%s: unknown architecture", what);
	if (c->V <= 0 || c->V > 4 * MAX_DIM)
		return lms_fail(LMS_EFORMAT, "%s: vocabulary size %d out of range", what, c->V);
	if (c->C <= 0 || c->C > MAX_DIM || c->H <= 0 || c->H > MAX_DIM)
		return lms_fail(LMS_EFORMAT, "%s: width %d / hidden %d out of range", what, c->C, c->H);
	if (c->L <= 0 || c->L > LMS_MAX_LAYERS)
		return lms_fail(LMS_EFORMAT, "%s: %d layers (1 to %d supported)", what, c->L,
		                LMS_MAX_LAYERS);
	if (c->maxT <= 0 || c->maxT > MAX_DIM)
		return lms_fail(LMS_EFORMAT, "%s: context length %d out of range", what, c->maxT);
	if (lms_arch_is_recurrent(c->arch) && c->tied && c->C != c->H)
		return lms_fail(LMS_EFORMAT,
		                "%s: tied embeddings need the embedding as wide as the state "
		                "(%d and %d)",
		                what, c->C, c->H);
	if (!lms_arch_is_recurrent(c->arch)) {
		if (c->NH <= 0 || c->C % c->NH)
			return lms_fail(LMS_EFORMAT, "%s: %d heads do not divide width %d", what, c->NH, c->C);
		if (c->KV <= 0 || c->NH % c->KV)
			return lms_fail(LMS_EFORMAT, "%s: %d key/value heads do not divide %d heads", what,
			                c->KV, c->NH);
		if (c->arch == LMS_LLAMA && (c->C / c->NH) % 2)
			return lms_fail(LMS_EFORMAT, "%s: rotary embeddings need an even head size", what);
	}
	if (!(c->eps >= 0.0f && c->eps < 1.0f))
		return lms_fail(LMS_EFORMAT, "%s: normalisation epsilon out of range", what);
	if (lms_config_n_params(c) > MAX_PARAMS)
		return lms_fail(LMS_ENOMEM, "%s: %zu parameters is more than lmscope supports", what,
		                lms_config_n_params(c));
	return LMS_OK;
}

const struct lms_arch_ops *lms_arch_ops(enum lms_arch a)
{
	switch (a) {
	case LMS_RNN:
	case LMS_LSTM:
	case LMS_GRU: return &lms_rnn_ops;
	case LMS_GPT2: return &lms_gpt2_ops;
	case LMS_LLAMA: return &lms_llama_ops;
	}
	return NULL;
}

size_t lms_config_n_params(const struct lms_config *c)
{
	const struct lms_arch_ops *ops = lms_arch_ops(c->arch);
	if (!ops)
		return 0;
	int n = ops->tensors(c, NULL);
	struct lms_tensor *t = calloc((size_t)n, sizeof *t);
	if (!t)
		return 0;
	ops->tensors(c, t);
	size_t total = n ? t[n - 1].offset + t[n - 1].numel : 0;
	free(t);
	return total;
}

enum lms_status lms_model_alloc_table(const struct lms_config *c, struct lms_model **out)
{
	*out = NULL;
	enum lms_status st = lms_config_check(c, "model configuration");
	if (st)
		return st;
	const struct lms_arch_ops *ops = lms_arch_ops(c->arch);
	if (!ops)
		return lms_fail(LMS_EUNSUPPORTED, "architecture %s is not available",
		                lms_arch_name(c->arch));
	struct lms_model *m = calloc(1, sizeof *m);
	if (!m)
		return lms_fail(LMS_ENOMEM, "out of memory");
	m->cfg = *c;
	m->n_tensors = ops->tensors(c, NULL);
	m->tensors = calloc((size_t)m->n_tensors, sizeof *m->tensors);
	m->wm = calloc((size_t)m->n_tensors, sizeof *m->wm);
	if (!m->tensors || !m->wm) {
		lms_model_free(m);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	ops->tensors(c, m->tensors);
	const struct lms_tensor *last = &m->tensors[m->n_tensors - 1];
	m->n_params = last->offset + last->numel;
	m->stored_bytes = m->n_params * sizeof(float);
	*out = m;
	return LMS_OK;
}

struct lms_wmat lms_tensor_wmat(const struct lms_tensor *t, enum lms_wtype type, const void *data)
{
	if (t->ndim == 2)
		return lms_wmat_of(type, data, (int)t->shape[0], (int)t->shape[1]);
	return lms_wmat_of(type, data, 1, (int)t->numel);
}

enum lms_status lms_model_alloc(const struct lms_config *c, struct lms_model **out)
{
	enum lms_status st = lms_model_alloc_table(c, out);
	if (st)
		return st;
	struct lms_model *m = *out;
	m->params = calloc(m->n_params, sizeof(float));
	if (!m->params) {
		size_t n_params = m->n_params;
		lms_model_free(m);
		*out = NULL;
		return lms_fail(LMS_ENOMEM, "cannot allocate %zu parameters", n_params);
	}
	for (int i = 0; i < m->n_tensors; i++)
		m->wm[i] = lms_tensor_wmat(&m->tensors[i], LMS_W_F32, m->params + m->tensors[i].offset);
	return LMS_OK;
}

enum lms_status lms_model_to_f32(const struct lms_model *m, struct lms_model **out)
{
	enum lms_status st = lms_model_alloc(&m->cfg, out);
	if (st)
		return st;
	for (int i = 0; i < m->n_tensors; i++) {
		const struct lms_wmat *w = &m->wm[i];
		float *p = (*out)->params + m->tensors[i].offset;
		for (int r = 0; r < w->rows; r++)
			lms_wmat_row(p + (size_t)r * w->cols, w, r);
	}
	return LMS_OK;
}

enum lms_status lms_model_create(const struct lms_config *c, uint64_t seed, struct lms_model **out)
{
	enum lms_status st = lms_model_alloc(c, out);
	if (st)
		return st;
	lms_arch_ops(c->arch)->init(c, (*out)->params, seed);
	return LMS_OK;
}

void lms_model_free(struct lms_model *m)
{
	if (!m)
		return;
	free(m->params);
	free(m->grads);
	free(m->tensors);
	free(m->wm);
	if (m->storage_free)
		m->storage_free(m->storage);
	free(m);
}

enum lms_status lms_model_grads(struct lms_model *m)
{
	if (m->grads)
		return LMS_OK;
	if (m->typed)
		return lms_fail(LMS_EUNSUPPORTED, "weights kept as stored (half, bfloat16, quantized) "
		                                  "cannot be trained: convert the model to float32 first");
	m->grads = calloc(m->n_params, sizeof(float));
	if (!m->grads)
		return lms_fail(LMS_ENOMEM, "cannot allocate gradients for %zu parameters", m->n_params);
	return LMS_OK;
}

void lms_model_zero_grads(struct lms_model *m)
{
	if (m->grads)
		memset(m->grads, 0, m->n_params * sizeof(float));
}

const struct lms_tensor *lms_model_tensor(const struct lms_model *m, const char *name)
{
	for (int i = 0; i < m->n_tensors; i++)
		if (strcmp(m->tensors[i].name, name) == 0)
			return &m->tensors[i];
	return NULL;
}

void lms_tensor_set(struct lms_tensor *t, const char *name, int ndim, int64_t d0, int64_t d1,
                    size_t *offset)
{
	snprintf(t->name, sizeof t->name, "%s", name);
	t->ndim = ndim;
	t->shape[0] = d0;
	t->shape[1] = ndim > 1 ? d1 : 0;
	t->shape[2] = t->shape[3] = 0;
	t->numel = (size_t)d0 * (ndim > 1 ? (size_t)d1 : 1);
	t->offset = *offset;
	*offset += t->numel;
}
