/* Llama: RMSNorm, rotary position embeddings, grouped-query causal
 * self-attention and a SwiGLU feed-forward, forward and backward.
 *
 * Parameters, named and shaped as Hugging Face's LlamaForCausalLM state_dict
 * (nn.Linear layout: (out, in)), packed in this order:
 *   model.embed_tokens.weight                      (V, C)
 *   model.layers.{l}.input_layernorm.weight        (C)
 *   model.layers.{l}.self_attn.q_proj.weight       (C, C)      NH heads of hs
 *   model.layers.{l}.self_attn.q_proj.bias         (C)         with qkv_bias (Qwen2)
 *   model.layers.{l}.self_attn.k_proj.weight       (KC, C)     KC = KV hs
 *   model.layers.{l}.self_attn.k_proj.bias         (KC)        with qkv_bias
 *   model.layers.{l}.self_attn.v_proj.weight       (KC, C)
 *   model.layers.{l}.self_attn.v_proj.bias         (KC)        with qkv_bias
 *   model.layers.{l}.self_attn.o_proj.weight       (C, C)
 *   model.layers.{l}.self_attn.q_norm.weight       (hs)        with qk_norm (Qwen3)
 *   model.layers.{l}.self_attn.k_norm.weight       (hs)        with qk_norm
 *   model.layers.{l}.post_attention_layernorm.weight (C)
 *   model.layers.{l}.mlp.gate_proj.weight          (H, C)
 *   model.layers.{l}.mlp.up_proj.weight            (H, C)
 *   model.layers.{l}.mlp.down_proj.weight          (C, H)      for l = 0 .. L-1
 *   model.norm.weight                              (C)
 *   lm_head.weight                                 (V, C)      unless tied
 * q_proj and k_proj rows follow Hugging Face's rotate_half convention (see
 * llama_ops.h); llama2c.c permutes llama2.c checkpoints into it on load.
 *
 * One block, x = its input (the token embeddings for l = 0):
 *   xn1 = rmsnorm(x) w_ln1
 *   q, k, v = rope(xn1 Wq^T + bq), rope(xn1 Wk^T + bk), xn1 Wv^T + bv
 *             (Qwen3: q = rope(rmsnorm_h(xn1 Wq^T) w_qn), k likewise with
 *             w_kn, where rmsnorm_h normalizes each head's hs entries)
 *   ao  = causal softmax(q k^T / sqrt(hs)) v   (query head h reads key/value
 *                                               head h / (NH / KV))
 *   r1  = x + ao Wo^T
 *   xn2 = rmsnorm(r1) w_ln2
 *   g, u = xn2 Wg^T, xn2 Wu^T;   s = silu(g) u
 *   res = r1 + s Wd^T
 * and after the last block hfin = rmsnorm(res) w_norm, which run.c
 * unembeds. The matrices are read as stored (nn/wmat.h: float32, half,
 * bfloat16 or quantized, converted inside the products); gradients reach
 * them only in float32 models. Every block's activations are kept for the explorer and the
 * backward; k and v of earlier positions are the KV cache. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "interp/hooks.h"
#include "nn/llama_ops.h"
#include "lmscope/rng.h"
#include "nn/ops.h"
#include "nn/wmat.h"

/* ---- parameters ------------------------------------------------------------ */

static int kv_width(const struct lms_config *c)
{
	return c->KV * (c->C / c->NH);
}

/* Tensors per layer: 9, the three q, k, v biases with qkv_bias and the two
 * q, k norms with qk_norm. */
static int layer_tensors(const struct lms_config *c)
{
	return 9 + 3 * !!c->qkv_bias + 2 * !!c->qk_norm;
}

static size_t layer_size(const struct lms_config *c)
{
	size_t C = (size_t)c->C, KC = (size_t)kv_width(c), H = (size_t)c->H;
	size_t bias = c->qkv_bias ? C + 2 * KC : 0;
	size_t qkn = c->qk_norm ? 2 * (C / c->NH) : 0;
	return C + C * C + 2 * KC * C + C * C + C + 3 * H * C + bias + qkn;
}

static size_t norm_offset(const struct lms_config *c)
{
	return (size_t)c->V * c->C + (size_t)c->L * layer_size(c);
}

/* Index in the tensor table of model.norm.weight; the embedding is 0 and
 * layer l's tensors start at 1 + l * layer_tensors. */
static int norm_index(const struct lms_config *c)
{
	return 1 + c->L * layer_tensors(c);
}

/* One layer's weights as stored (values are read through wm, see model.h). */
struct layer_w {
	const float *ln1, *ln2;                   /* (C) */
	const float *bq, *bk, *bv;                /* (C), (KC), (KC); NULL without biases */
	const float *qn, *kn;                     /* (hs); NULL without qk_norm */
	const struct lms_wmat *wq, *wk, *wv, *wo; /* (C, C), (KC, C), (KC, C), (C, C) */
	const struct lms_wmat *wg, *wu, *wd;      /* (H, C), (H, C), (C, H) */
};

/* The same layer's gradients, float32, at the tensors' offsets into grads. */
struct layer_g {
	float *ln1, *wq, *bq, *wk, *bk, *wv, *bv, *wo, *qn, *kn, *ln2, *wg, *wu, *wd;
};

/* Layer l's tensors in table order (llama_tensors), optional ones NULL. */
struct layer_t {
	const struct lms_wmat *w[14];
	const struct lms_tensor *t[14];
};

enum { T_LN1, T_WQ, T_BQ, T_WK, T_BK, T_WV, T_BV, T_WO, T_QN, T_KN, T_LN2, T_WG, T_WU, T_WD };

static struct layer_t layer_tab(const struct lms_model *m, int l)
{
	const struct lms_config *c = &m->cfg;
	int first = 1 + l * layer_tensors(c), i = first;
	struct layer_t lt = {{0}, {0}};
	for (int k = T_LN1; k <= T_WD; k++) {
		int bias = k == T_BQ || k == T_BK || k == T_BV, norm = k == T_QN || k == T_KN;
		if ((bias && !c->qkv_bias) || (norm && !c->qk_norm))
			continue;
		lt.w[k] = m->wm + i;
		lt.t[k] = m->tensors + i;
		i++;
	}
	return lt;
}

static const float *data_of(const struct lms_wmat *w)
{
	return w ? w->data : NULL;
}

static struct layer_w layer_of(const struct lms_model *m, int l)
{
	struct layer_t t = layer_tab(m, l);
	struct layer_w w = {
		.ln1 = data_of(t.w[T_LN1]),
		.ln2 = data_of(t.w[T_LN2]),
		.bq = data_of(t.w[T_BQ]),
		.bk = data_of(t.w[T_BK]),
		.bv = data_of(t.w[T_BV]),
		.qn = data_of(t.w[T_QN]),
		.kn = data_of(t.w[T_KN]),
		.wq = t.w[T_WQ],
		.wk = t.w[T_WK],
		.wv = t.w[T_WV],
		.wo = t.w[T_WO],
		.wg = t.w[T_WG],
		.wu = t.w[T_WU],
		.wd = t.w[T_WD],
	};
	return w;
}

static struct layer_g grads_of(const struct lms_model *m, int l)
{
	struct layer_t t = layer_tab(m, l);
	float *g[14] = {0};
	for (int k = T_LN1; k <= T_WD; k++)
		g[k] = t.t[k] ? m->grads + t.t[k]->offset : NULL;
	struct layer_g d = {
		.ln1 = g[T_LN1],
		.wq = g[T_WQ],
		.bq = g[T_BQ],
		.wk = g[T_WK],
		.bk = g[T_BK],
		.wv = g[T_WV],
		.bv = g[T_BV],
		.wo = g[T_WO],
		.qn = g[T_QN],
		.kn = g[T_KN],
		.ln2 = g[T_LN2],
		.wg = g[T_WG],
		.wu = g[T_WU],
		.wd = g[T_WD],
	};
	return d;
}

static const float *final_norm_w(const struct lms_model *m)
{
	return m->wm[norm_index(&m->cfg)].data;
}

static int llama_tensors(const struct lms_config *c, struct lms_tensor *out)
{
	int n = 1 + layer_tensors(c) * c->L + 1 + !c->tied;
	if (!out)
		return n;
	int64_t C = c->C, KC = kv_width(c), H = c->H;
	size_t off = 0;
	char name[64];
	struct lms_tensor *t = out;
	lms_tensor_set(t++, "model.embed_tokens.weight", 2, c->V, C, &off);
	for (int l = 0; l < c->L; l++) {
#define LAYER(suffix, nd, d0, d1)                                                                  \
	do {                                                                                           \
		snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix);                              \
		lms_tensor_set(t++, name, nd, d0, d1, &off);                                               \
	} while (0)
		LAYER("input_layernorm.weight", 1, C, 0);
		LAYER("self_attn.q_proj.weight", 2, C, C);
		if (c->qkv_bias)
			LAYER("self_attn.q_proj.bias", 1, C, 0);
		LAYER("self_attn.k_proj.weight", 2, KC, C);
		if (c->qkv_bias)
			LAYER("self_attn.k_proj.bias", 1, KC, 0);
		LAYER("self_attn.v_proj.weight", 2, KC, C);
		if (c->qkv_bias)
			LAYER("self_attn.v_proj.bias", 1, KC, 0);
		LAYER("self_attn.o_proj.weight", 2, C, C);
		if (c->qk_norm) {
			LAYER("self_attn.q_norm.weight", 1, C / c->NH, 0);
			LAYER("self_attn.k_norm.weight", 1, C / c->NH, 0);
		}
		LAYER("post_attention_layernorm.weight", 1, C, 0);
		LAYER("mlp.gate_proj.weight", 2, H, C);
		LAYER("mlp.up_proj.weight", 2, H, C);
		LAYER("mlp.down_proj.weight", 2, C, H);
#undef LAYER
	}
	lms_tensor_set(t++, "model.norm.weight", 1, C, 0, &off);
	if (!c->tied)
		lms_tensor_set(t++, "lm_head.weight", 2, c->V, C, &off);
	return n;
}

/* Hugging Face's LlamaConfig default: N(0, 0.02) matrices, unit norms,
 * zero biases. */
static void llama_init(const struct lms_config *c, float *params, uint64_t seed)
{
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	int n = llama_tensors(c, NULL);
	struct lms_tensor *t = calloc((size_t)n, sizeof *t);
	if (!t)
		return;
	llama_tensors(c, t);
	for (int i = 0; i < n; i++) {
		float *p = params + t[i].offset;
		int bias = strstr(t[i].name, ".bias") != NULL;
		for (size_t j = 0; j < t[i].numel; j++)
			p[j] = bias ? 0.0f : t[i].ndim == 1 ? 1.0f : 0.02f * lms_rng_normal(&g);
	}
	free(t);
}

/* out (N, rows) = in (N, cols) @ w^T + b, rows of the run buffers packed */
static void lin(float *out, const float *in, const struct lms_wmat *w, const float *b, int N)
{
	lms_wmat_forward(out, w->rows, in, w->cols, w, b, N);
}

/* din (N, cols) += dout @ w; dw (rows, cols) += dout^T @ in and db (rows)
 * += the rows of dout when asked (float32 models only: grads exist only
 * for them). Any of din, dw, db may be NULL. */
static void lin_back(float *din, float *dw, float *db, const float *dout, const float *in,
                     const struct lms_wmat *w, int N)
{
	if (din)
		lms_wmat_backward(din, w->cols, dout, w->rows, w, N);
	if (dw || db)
		lms_linear_backward(NULL, dw, db, dout, in, w->data, N, w->cols, w->rows);
}

static size_t llama_wte_offset(const struct lms_config *c)
{
	(void)c;
	return 0;
}

static size_t llama_wout_offset(const struct lms_config *c)
{
	return c->tied ? 0 : norm_offset(c) + (size_t)c->C;
}

static long llama_bout_offset(const struct lms_config *c)
{
	(void)c;
	return -1;
}

/* ---- activations ------------------------------------------------------------- */

/* One layer's saved activations, each (B, T, X) with row stride T. */
struct layer_a {
	float *xn1;   /* (B, T, C) */
	float *rstd1; /* (B, T) */
	float *q;     /* (B, T, C) after rope */
	float *k;     /* (B, T, KC) after rope: the key cache */
	float *qp;    /* (B, T, C) q_proj output before q_norm; qk_norm only */
	float *kp;    /* (B, T, KC) k_proj output before k_norm; qk_norm only */
	float *rstdq; /* (B, T, NH) q_norm's per head; qk_norm only */
	float *rstdk; /* (B, T, KV) k_norm's per head; qk_norm only */
	float *v;     /* (B, T, KC) the value cache */
	float *ao;    /* (B, T, C) attention output, before o_proj */
	float *r1;    /* (B, T, C) residual after attention */
	float *xn2;   /* (B, T, C) */
	float *rstd2; /* (B, T) */
	float *g;     /* (B, T, H) gate_proj output */
	float *u;     /* (B, T, H) up_proj output */
	float *s;     /* (B, T, H) silu(g) u */
	float *res;   /* (B, T, C) the block's output: the residual stream */
};

struct llama_acts {
	int B, T;
	struct layer_a *layer; /* (L) */
	float *rstdf;          /* (B, T) final norm */
	float *cosv, *sinv;    /* (T, hs/2) rotary table */
	/* backward scratch, shared by the layers */
	float *d1, *d2;        /* (B, T, C) */
	float *dxn, *dao, *dq; /* (B, T, C) */
	float *dk, *dv;        /* (B, T, KC) */
	float *dqp, *dkp;      /* (B, T, C), (B, T, KC) before the q, k norms; qk_norm only */
	float *dg, *du, *ds;   /* (B, T, H) */
	/* Attention probabilities are not kept (L x NH x T x T floats: 4.5 GB
	 * for a 30-layer, 9-head model at 2048 positions): the forward streams
	 * them, the backward and the views recompute them from q and k. */
	float *attwork; /* (2, min(T, LMS_ATT_BLOCK), T) the kernels' scratch (ops.h) */
	float *attview; /* (T, T) head view_h of layer view_l, batch row view_b, row stride T */
	int view_l, view_h, view_b; /* which head attview holds; view_l -1: none */
	/* a patching sweep's products over several batch rows (B > 1 only) */
	float *pack_in, *pack_out; /* (B, T, max(C, H)) */
	float *block;              /* the one allocation the above point into */
};

static void *llama_acts_new(const struct lms_model *m, int B, int T)
{
	const struct lms_config *c = &m->cfg;
	size_t BT = (size_t)B * T, C = (size_t)c->C, KC = (size_t)kv_width(c), H = (size_t)c->H;
	size_t hs = C / c->NH, qkn = !!c->qk_norm;
	size_t per_layer = BT * (6 * C + 2 * KC + 3 * H + 2) + qkn * BT * (C + KC + c->NH + c->KV);
	size_t rows = T < LMS_ATT_BLOCK ? (size_t)T : LMS_ATT_BLOCK;
	size_t pack = B > 1 ? BT * (H > C ? H : C) : 0;
	size_t total = per_layer * c->L + BT + T * hs + BT * (5 * C + 2 * KC + 3 * H) +
	               qkn * BT * (C + KC) + 2 * rows * T + (size_t)T * T + 2 * pack;
	struct llama_acts *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->layer = calloc((size_t)c->L, sizeof *a->layer);
	a->block = calloc(total, sizeof(float));
	if (!a->layer || !a->block) {
		free(a->layer);
		free(a->block);
		free(a);
		return NULL;
	}
	a->B = B;
	a->T = T;
	a->view_l = -1;
	float *p = a->block;
#define TAKE(n) (p += (n), p - (n))
	for (int l = 0; l < c->L; l++) {
		struct layer_a *la = &a->layer[l];
		la->xn1 = TAKE(BT * C);
		la->rstd1 = TAKE(BT);
		la->q = TAKE(BT * C);
		la->k = TAKE(BT * KC);
		la->v = TAKE(BT * KC);
		la->qp = TAKE(qkn * BT * C);
		la->kp = TAKE(qkn * BT * KC);
		la->rstdq = TAKE(qkn * BT * c->NH);
		la->rstdk = TAKE(qkn * BT * c->KV);
		la->ao = TAKE(BT * C);
		la->r1 = TAKE(BT * C);
		la->xn2 = TAKE(BT * C);
		la->rstd2 = TAKE(BT);
		la->g = TAKE(BT * H);
		la->u = TAKE(BT * H);
		la->s = TAKE(BT * H);
		la->res = TAKE(BT * C);
	}
	a->rstdf = TAKE(BT);
	a->cosv = TAKE((size_t)T * hs / 2);
	a->sinv = TAKE((size_t)T * hs / 2);
	a->d1 = TAKE(BT * C);
	a->d2 = TAKE(BT * C);
	a->dxn = TAKE(BT * C);
	a->dao = TAKE(BT * C);
	a->dq = TAKE(BT * C);
	a->dk = TAKE(BT * KC);
	a->dv = TAKE(BT * KC);
	a->dqp = TAKE(qkn * BT * C);
	a->dkp = TAKE(qkn * BT * KC);
	a->dg = TAKE(BT * H);
	a->du = TAKE(BT * H);
	a->ds = TAKE(BT * H);
	a->attwork = TAKE(2 * rows * T);
	a->attview = TAKE((size_t)T * T);
	a->pack_in = TAKE(pack);
	a->pack_out = TAKE(pack);
#undef TAKE
	lms_rope_table(a->cosv, a->sinv, T, (int)hs, c->rope_theta > 0 ? c->rope_theta : 10000.0f,
	               &c->rope);
	return a;
}

static void llama_acts_free(void *p)
{
	struct llama_acts *a = p;
	if (!a)
		return;
	free(a->block);
	free(a->layer);
	free(a);
}

static struct lms_attn_layout layout_of(const struct lms_config *c, const struct llama_acts *a)
{
	struct lms_attn_layout s = {
		.B = a->B,
		.T = a->T,
		.NH = c->NH,
		.KV = c->KV,
		.hs = c->C / c->NH,
		.ldq = c->C,
		.ldkv = kv_width(c),
		.ldo = c->C,
	};
	return s;
}

/* ---- forward ----------------------------------------------------------------- */

/* With qk_norm, q and k (rows [row, row + N)) from their projections qp,
 * kp: each head's hs entries through RMSNorm (q_norm, k_norm), a row of
 * C = NH hs entries being NH rows of hs; before rope. */
static void norm_qk(struct layer_a *la, const struct layer_w *w, const struct lms_config *c,
                    size_t row, int N)
{
	int C = c->C, KC = kv_width(c), hs = C / c->NH;
	lms_rmsnorm_forward(la->q + row * C, la->rstdq + row * c->NH, la->qp + row * C, w->qn,
	                    N * c->NH, hs, c->eps);
	lms_rmsnorm_forward(la->k + row * KC, la->rstdk + row * c->KV, la->kp + row * KC, w->kn,
	                    N * c->KV, hs, c->eps);
}

/* Attention of queries [from, n) of every batch row, or of each row's own
 * positions when a batched patch starts rows late (interp/hooks.h). */
static void attention_rows(const struct lms_intervention *iv, struct layer_a *la, float *work,
                           const struct lms_attn_layout *lay, int from, int n)
{
	if (!iv || !iv->row_from) {
		lms_attention_forward_streamed(la->ao, work, la->q, la->k, la->v, lay, from, n);
		return;
	}
	struct lms_attn_layout one = *lay;
	one.B = 1;
	size_t T = (size_t)lay->T;
	for (int b = 0; b < lay->B; b++) {
		size_t q = b * T * lay->ldq, kv = b * T * lay->ldkv;
		lms_attention_forward_streamed(la->ao + b * T * lay->ldo, work, la->q + q, la->k + kv,
		                               la->v + kv, &one, lms_iv_row_from(iv, b, from), n);
	}
}

/* out = in @ w^T + b over positions [start_b, n) of each batch row b
 * (start_b = from, or later in a patching sweep's batch, interp/hooks.h),
 * both (B, T, X) run buffers: a product per batch row, or in a sweep's
 * batch one over all of them gathered, so that w is read once for the
 * batch rather than once per row. */
static void rows_lin(const struct lms_run *r, float *out, const float *in, const struct lms_wmat *w,
                     const float *bias, int from, int n)
{
	struct llama_acts *a = r->acts;
	size_t IC = (size_t)w->cols, OC = (size_t)w->rows, T = (size_t)r->T;
	int gather = r->B > 1 && r->iv && r->iv->row_from, rows = 0;
	for (int b = 0; b < r->B; b++) {
		int f = lms_iv_row_from(r->iv, b, from), N = n - f;
		size_t row = b * T + f;
		if (N <= 0)
			continue;
		if (!gather)
			lin(out + row * OC, in + row * IC, w, bias, N);
		else
			memcpy(a->pack_in + rows * IC, in + row * IC, (size_t)N * IC * sizeof(float));
		rows += N;
	}
	if (!gather || !rows)
		return;
	lin(a->pack_out, a->pack_in, w, bias, rows);
	rows = 0;
	for (int b = 0; b < r->B; b++) {
		int f = lms_iv_row_from(r->iv, b, from), N = n - f;
		if (N <= 0)
			continue;
		memcpy(out + (b * T + f) * OC, a->pack_out + rows * OC, (size_t)N * OC * sizeof(float));
		rows += N;
	}
}

static void llama_forward(struct lms_run *r, int from, int n)
{
	const struct lms_model *m = r->m;
	const struct lms_config *c = &m->cfg;
	struct llama_acts *a = r->acts;
	int C = c->C, KC = kv_width(c), H = c->H, hs = C / c->NH;
	struct lms_attn_layout lay = layout_of(c, a);
	if (n <= from)
		return;
	a->view_l = -1;
	for (int l = 0; l < c->L; l++) {
		struct layer_w w = layer_of(m, l);
		struct layer_a *la = &a->layer[l];
		float *xin = l ? a->layer[l - 1].res : r->emb;
		if (!lms_iv_layer_in(r->iv, l, xin, r->B, r->T, C, from, n))
			continue;
		for (int b = 0; b < r->B; b++) {
			int f = lms_iv_row_from(r->iv, b, from), N = n - f;
			size_t row = (size_t)b * r->T + f;
			if (N > 0)
				lms_rmsnorm_forward(la->xn1 + row * C, la->rstd1 + row, xin + row * C, w.ln1, N, C,
				                    c->eps);
		}
		/* with qk_norm the projections go to qp, kp and norm_qk makes q, k */
		rows_lin(r, c->qk_norm ? la->qp : la->q, la->xn1, w.wq, w.bq, from, n);
		rows_lin(r, c->qk_norm ? la->kp : la->k, la->xn1, w.wk, w.bk, from, n);
		rows_lin(r, la->v, la->xn1, w.wv, w.bv, from, n);
		for (int b = 0; b < r->B; b++) {
			int f = lms_iv_row_from(r->iv, b, from), N = n - f;
			size_t row = (size_t)b * r->T + f;
			if (N <= 0)
				continue;
			if (c->qk_norm)
				norm_qk(la, &w, c, row, N);
			lms_rope_forward(la->q + row * C, a->cosv, a->sinv, f, N, C, c->NH, hs);
			lms_rope_forward(la->k + row * KC, a->cosv, a->sinv, f, N, KC, c->KV, hs);
		}
		/* the last layer of a patching sweep: past the keys and values,
		 * only the last position */
		int post = lms_iv_last_only(r->iv, l, c->L) ? n - 1 : from;
		attention_rows(r->iv, la, a->attwork, &lay, post, n);
		lms_iv_heads(r->iv, l, la->ao, r->B, r->T, C, post, n);
		rows_lin(r, la->r1, la->ao, w.wo, NULL, post, n);
		for (int b = 0; b < r->B; b++) {
			int f = lms_iv_row_from(r->iv, b, post), N = n - f;
			size_t row = (size_t)b * r->T + f;
			if (N <= 0)
				continue;
			lms_residual_forward(la->r1 + row * C, la->r1 + row * C, xin + row * C, N * C);
			lms_rmsnorm_forward(la->xn2 + row * C, la->rstd2 + row, la->r1 + row * C, w.ln2, N, C,
			                    c->eps);
		}
		rows_lin(r, la->g, la->xn2, w.wg, NULL, post, n);
		rows_lin(r, la->u, la->xn2, w.wu, NULL, post, n);
		for (int b = 0; b < r->B; b++) {
			int f = lms_iv_row_from(r->iv, b, post), N = n - f;
			size_t row = (size_t)b * r->T + f;
			if (N > 0)
				lms_swiglu_forward(la->s + row * H, la->g + row * H, la->u + row * H, N * H);
		}
		rows_lin(r, la->res, la->s, w.wd, NULL, post, n);
		for (int b = 0; b < r->B; b++) {
			int f = lms_iv_row_from(r->iv, b, post), N = n - f;
			size_t row = (size_t)b * r->T + f;
			if (N <= 0)
				continue;
			lms_iv_mlp(r->iv, l, la->res, row, N, r->T, C);
			lms_residual_forward(la->res + row * C, la->res + row * C, la->r1 + row * C, N * C);
		}
	}
	const float *top = a->layer[c->L - 1].res;
	const float *wn = final_norm_w(m);
	int fin = r->iv && r->iv->last_only ? n - 1 : from;
	for (int b = 0; b < r->B; b++) {
		int f = lms_iv_row_from(r->iv, b, fin), N = n - f;
		size_t row = (size_t)b * r->T + f;
		if (N <= 0)
			continue;
		lms_rmsnorm_forward(r->hfin + row * C, a->rstdf + row, top + row * C, wn, N, C, c->eps);
	}
}

/* ---- backward ---------------------------------------------------------------- */

/* Zeroes positions [0, n) of every batch row of a (B, T, X) buffer. */
static void zero_rows(float *x, int B, int T, int n, int X)
{
	for (int b = 0; b < B; b++)
		memset(x + (size_t)b * T * X, 0, (size_t)n * X * sizeof(float));
}

static void copy_rows(float *dst, const float *src, int B, int T, int n, int X)
{
	for (int b = 0; b < B; b++)
		memcpy(dst + (size_t)b * T * X, src + (size_t)b * T * X, (size_t)n * X * sizeof(float));
}

/* The rows of dhfin that carry gradient: [*lo, *hi) covers every nonzero
 * row of every batch row. */
static void live_rows(const struct lms_run *r, int *lo, int *hi)
{
	int C = r->Cout;
	*lo = r->n;
	*hi = 0;
	for (int b = 0; b < r->B; b++)
		for (int t = 0; t < r->n; t++) {
			const float *d = r->dhfin + ((size_t)b * r->T + t) * C;
			int nz = 0;
			for (int i = 0; i < C && !nz; i++)
				nz = d[i] != 0.0f;
			if (nz) {
				*lo = t < *lo ? t : *lo;
				*hi = t + 1 > *hi ? t + 1 : *hi;
			}
		}
}

/* q = rmsnorm_h(qp) w_qn, k = rmsnorm_h(kp) w_kn per head: dqp (rows
 * [lo, n) of batch row row / T) and dkp (rows [0, n)) from dq and dk, and
 * the norms' weight gradients when asked. */
static void qk_norm_backward(struct llama_acts *a, const struct layer_a *la,
                             const struct layer_w *w, const struct layer_g *dw,
                             const struct lms_config *c, size_t row, int lo, int n)
{
	int C = c->C, KC = kv_width(c), hs = C / c->NH;
	size_t q0 = row + (size_t)lo;
	memset(a->dqp + q0 * C, 0, (size_t)(n - lo) * C * sizeof(float));
	memset(a->dkp + row * KC, 0, (size_t)n * KC * sizeof(float));
	lms_rmsnorm_backward(a->dqp + q0 * C, dw->qn, a->dq + q0 * C, la->qp + q0 * C, w->qn,
	                     la->rstdq + q0 * c->NH, (n - lo) * c->NH, hs);
	lms_rmsnorm_backward(a->dkp + row * KC, dw->kn, a->dk + row * KC, la->kp + row * KC, w->kn,
	                     la->rstdk + row * c->KV, n * c->KV, hs);
}

/* Work avoided, exactly: the model is causal, so positions after the last
 * one with gradient in dhfin (hi) influence nothing the objective reads and
 * the whole backward runs over [0, hi). In the top block, positions before
 * the first one with gradient (lo) get gradient only through their keys and
 * values, so the feed-forward, o_proj, q_proj and norm backwards there run
 * over [lo, hi) only. The explorer's log p(next token) has lo = hi - 1. */
static void llama_backward(struct lms_run *r, int flags)
{
	const struct lms_model *m = r->m;
	const struct lms_config *c = &m->cfg;
	struct llama_acts *a = r->acts;
	int B = r->B, T = r->T, lo, n;
	int C = c->C, KC = kv_width(c), H = c->H, hs = C / c->NH;
	int wgrad = (flags & LMS_GRAD_PARAMS) && m->grads;
	struct lms_attn_layout lay = layout_of(c, a);
	live_rows(r, &lo, &n);
	if (n <= 0)
		return;
	if (lms_iv_whole(r->iv)) /* a mean ablation spreads gradient to every query */
		lo = 0;

	/* hfin = rmsnorm(res_{L-1}) w_norm */
	float *dcur = a->d1;
	zero_rows(dcur, B, T, n, C);
	const float *wn = final_norm_w(m);
	float *dwn = wgrad ? m->grads + norm_offset(c) : NULL;
	for (int b = 0; b < B; b++) {
		size_t row = (size_t)b * T + lo;
		lms_rmsnorm_backward(dcur + row * C, dwn, r->dhfin + row * C,
		                     a->layer[c->L - 1].res + row * C, wn, a->rstdf + row, n - lo, C);
	}

	for (int l = c->L - 1; l >= 0; l--) {
		struct layer_w w = layer_of(m, l);
		struct layer_g dw = wgrad ? grads_of(m, l) : (struct layer_g){0};
		struct layer_a *la = &a->layer[l];
		const float *xin = l ? a->layer[l - 1].res : r->emb;
		float *dxin = l ? a->d1 : r->demb;
		float *dr1 = a->d2;
		int N = n - lo; /* rows [lo, n) of the top block's row-wise work */

		/* res = r1 + s Wd^T: dr1 = dres; ds = dres Wd */
		copy_rows(dr1, dcur, B, T, n, C);
		zero_rows(a->ds, B, T, n, H);
		zero_rows(a->dg, B, T, n, H);
		zero_rows(a->du, B, T, n, H);
		zero_rows(a->dxn, B, T, n, C);
		for (int b = 0; b < B; b++) {
			size_t row = (size_t)b * T + lo;
			lin_back(a->ds + row * H, dw.wd, NULL, dcur + row * C, la->s + row * H, w.wd, N);
			lms_iv_mlp_backward(r->iv, l, a->ds + row * H, (size_t)N * H);
			/* s = silu(g) u; g, u = xn2 Wg^T, xn2 Wu^T */
			lms_swiglu_backward(a->dg + row * H, a->du + row * H, a->ds + row * H, la->g + row * H,
			                    la->u + row * H, N * H);
			lin_back(a->dxn + row * C, dw.wg, NULL, a->dg + row * H, la->xn2 + row * C, w.wg, N);
			lin_back(a->dxn + row * C, dw.wu, NULL, a->du + row * H, la->xn2 + row * C, w.wu, N);
			/* xn2 = rmsnorm(r1) w_ln2 */
			lms_rmsnorm_backward(dr1 + row * C, dw.ln2, a->dxn + row * C, la->r1 + row * C, w.ln2,
			                     la->rstd2 + row, N, C);
		}

		/* r1 = x + ao Wo^T: dx = dr1 (+ the attention path below) */
		copy_rows(dxin, dr1, B, T, n, C);
		zero_rows(a->dao, B, T, n, C);
		zero_rows(a->dq, B, T, n, C);
		zero_rows(a->dk, B, T, n, KC);
		zero_rows(a->dv, B, T, n, KC);
		zero_rows(a->dxn, B, T, n, C);
		for (int b = 0; b < B; b++) {
			size_t row = (size_t)b * T + lo;
			lin_back(a->dao + row * C, dw.wo, NULL, dr1 + row * C, la->ao + row * C, w.wo, N);
		}
		lms_iv_heads_backward(r->iv, l, a->dao, B, T, C, n);
		/* ao = softmax(q k^T / sqrt(hs)) v: dq is zero where dao is, below lo */
		lms_attention_backward(a->dq, a->dk, a->dv, a->attwork, a->dao, NULL, la->q, la->k, la->v,
		                       &lay, lo, n);
		for (int b = 0; b < B; b++) {
			size_t row = (size_t)b * T;
			/* q, k = rope(xn1 Wq^T + bq), rope(xn1 Wk^T + bk); v = xn1 Wv^T + bv */
			lms_rope_backward(a->dq + (row + lo) * C, a->cosv, a->sinv, lo, N, C, c->NH, hs);
			lms_rope_backward(a->dk + row * KC, a->cosv, a->sinv, 0, n, KC, c->KV, hs);
			const float *dq = a->dq, *dk = a->dk;
			if (c->qk_norm) {
				qk_norm_backward(a, la, &w, &dw, c, row, lo, n);
				dq = a->dqp;
				dk = a->dkp;
			}
			lin_back(a->dxn + (row + lo) * C, dw.wq, dw.bq, dq + (row + lo) * C,
			         la->xn1 + (row + lo) * C, w.wq, N);
			lin_back(a->dxn + row * C, dw.wk, dw.bk, dk + row * KC, la->xn1 + row * C, w.wk, n);
			lin_back(a->dxn + row * C, dw.wv, dw.bv, a->dv + row * KC, la->xn1 + row * C, w.wv, n);
			/* xn1 = rmsnorm(x) w_ln1 */
			lms_rmsnorm_backward(dxin + row * C, dw.ln1, a->dxn + row * C, xin + row * C, w.ln1,
			                     la->rstd1 + row, n, C);
		}
		dcur = dxin;
		lo = 0; /* below the top block every position has gradient */
	}
}

/* ---- what the explorer shows ------------------------------------------------ */

/* One head's probabilities, recomputed from the run's q and k for rows
 * [0, n) of the last forward (0 above the diagonal and right of n), and
 * kept until another head is asked for or the run changes. */
static const float *llama_attention(const struct lms_run *r, int l, int h, int b)
{
	const struct lms_config *c = &r->m->cfg;
	struct llama_acts *a = r->acts;
	if (l < 0 || l >= c->L || h < 0 || h >= c->NH || b < 0 || b >= r->B)
		return NULL;
	if (a->view_l == l && a->view_h == h && a->view_b == b)
		return a->attview;
	int T = a->T, n = r->n > 0 && r->n <= T ? r->n : 0;
	struct lms_attn_layout lay = layout_of(c, a);
	lms_attention_probs(a->attview, T, a->layer[l].q, a->layer[l].k, &lay, b, h, n);
	a->view_l = l;
	a->view_h = h;
	a->view_b = b;
	return a->attview;
}

static const float *llama_hidden(const struct lms_run *r, int l, int b, int *D)
{
	const struct lms_config *c = &r->m->cfg;
	const struct llama_acts *a = r->acts;
	if (l < 0 || l >= c->L || b < 0 || b >= r->B)
		return NULL;
	*D = c->C;
	return a->layer[l].res + (size_t)b * r->T * c->C;
}

static void llama_block(const struct lms_run *r, int l, int b, struct lms_block_acts *out)
{
	const struct lms_config *c = &r->m->cfg;
	const struct llama_acts *a = r->acts;
	const struct layer_a *la = &a->layer[l];
	size_t C = c->C, row = (size_t)b * r->T;
	out->resid_pre = (l ? a->layer[l - 1].res : r->emb) + row * C;
	out->heads = la->ao + row * C;
	out->resid_mid = la->r1 + row * C;
	out->resid_post = la->res + row * C;
	out->neurons = la->s + row * c->H;
}

static void llama_kv_copy(struct lms_run *dst, int b, const struct lms_run *src, int n)
{
	const struct lms_config *c = &dst->m->cfg;
	struct llama_acts *d = dst->acts;
	const struct llama_acts *s = src->acts;
	size_t KC = (size_t)kv_width(c), off = (size_t)b * d->T * KC, len = (size_t)n * KC;
	for (int l = 0; l < c->L; l++) {
		memcpy(d->layer[l].k + off, s->layer[l].k, len * sizeof(float));
		memcpy(d->layer[l].v + off, s->layer[l].v, len * sizeof(float));
	}
	d->view_l = -1;
}

static void llama_final_norm(const struct lms_model *m, float *out, const float *in)
{
	float rstd;
	lms_rmsnorm_forward(out, &rstd, in, final_norm_w(m), 1, m->cfg.C, m->cfg.eps);
}

const struct lms_arch_ops lms_llama_ops = {
	.tensors = llama_tensors,
	.init = llama_init,
	.acts_new = llama_acts_new,
	.acts_free = llama_acts_free,
	.forward = llama_forward,
	.backward = llama_backward,
	.attention = llama_attention,
	.hidden = llama_hidden,
	.gates = NULL,
	.block = llama_block,
	.kv_copy = llama_kv_copy,
	.final_norm = llama_final_norm,
	.wout_offset = llama_wout_offset,
	.bout_offset = llama_bout_offset,
	.wte_offset = llama_wte_offset,
};
