/* GPT-2: learned position embeddings, pre-LayerNorm blocks of causal
 * multi-head self-attention and a GELU (tanh) MLP, a final LayerNorm, and
 * the output tied to the token embedding (run.c does the unembedding).
 *
 * Parameters keep Hugging Face's names and shapes (Conv1D weights stored
 * (in, out)) but are stacked over layers, llm.c style: every layer's
 * ln_1.weight, then every layer's ln_1.bias, and so on, so each kind of
 * tensor is one (L, ...) array.
 *
 * Training dropout (r->drop, nn/dropout.h) where GPT-2 has it: on the
 * embedding sum (site 0) and on each block's two residual branches before
 * they are added, the attention's after c_proj (site 1 + 2l) and the
 * MLP's after its c_proj (site 2 + 2l); not on the attention
 * probabilities, which are streamed and recomputed in the backward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "interp/hooks.h"
#include "lmscope/rng.h"
#include "nn/dropout.h"
#include "nn/ops.h"

/* The parameter block, or a gradient block with the same layout. */
struct gpt2_params {
	float *wte;      /* (V, C) */
	float *wpe;      /* (maxT, C) */
	float *ln1w;     /* (L, C) */
	float *ln1b;     /* (L, C) */
	float *qkvw;     /* (L, C, 3C) */
	float *qkvb;     /* (L, 3C) */
	float *attprojw; /* (L, C, C) */
	float *attprojb; /* (L, C) */
	float *ln2w;     /* (L, C) */
	float *ln2b;     /* (L, C) */
	float *fcw;      /* (L, C, H) */
	float *fcb;      /* (L, H) */
	float *fcprojw;  /* (L, H, C) */
	float *fcprojb;  /* (L, C) */
	float *lnfw;     /* (C) */
	float *lnfb;     /* (C) */
};

#define N_KINDS 16

/* One kind of tensor: its Hugging Face name (with %d for the layer), its
 * per-layer shape, and whether it is stacked over layers. */
struct kind {
	const char *name;
	int per_layer;
	int ndim;
	int64_t shape[2];
};

static void kinds(const struct lms_config *c, struct kind k[N_KINDS])
{
	int64_t V = c->V, C = c->C, H = c->H, P = c->maxT;
	struct kind t[N_KINDS] = {
		{"wte.weight", 0, 2, {V, C}},
		{"wpe.weight", 0, 2, {P, C}},
		{"h.%d.ln_1.weight", 1, 1, {C, 0}},
		{"h.%d.ln_1.bias", 1, 1, {C, 0}},
		{"h.%d.attn.c_attn.weight", 1, 2, {C, 3 * C}},
		{"h.%d.attn.c_attn.bias", 1, 1, {3 * C, 0}},
		{"h.%d.attn.c_proj.weight", 1, 2, {C, C}},
		{"h.%d.attn.c_proj.bias", 1, 1, {C, 0}},
		{"h.%d.ln_2.weight", 1, 1, {C, 0}},
		{"h.%d.ln_2.bias", 1, 1, {C, 0}},
		{"h.%d.mlp.c_fc.weight", 1, 2, {C, H}},
		{"h.%d.mlp.c_fc.bias", 1, 1, {H, 0}},
		{"h.%d.mlp.c_proj.weight", 1, 2, {H, C}},
		{"h.%d.mlp.c_proj.bias", 1, 1, {C, 0}},
		{"ln_f.weight", 0, 1, {C, 0}},
		{"ln_f.bias", 0, 1, {C, 0}},
	};
	memcpy(k, t, sizeof t);
}

static size_t kind_numel(const struct kind *k)
{
	return (size_t)k->shape[0] * (size_t)(k->ndim == 2 ? k->shape[1] : 1);
}

static int gpt2_tensors(const struct lms_config *c, struct lms_tensor *out)
{
	struct kind k[N_KINDS];
	kinds(c, k);
	int n = 0;
	size_t off = 0;
	for (int i = 0; i < N_KINDS; i++) {
		int layers = k[i].per_layer ? c->L : 1;
		for (int l = 0; l < layers; l++, n++) {
			size_t numel = kind_numel(&k[i]);
			if (out) {
				struct lms_tensor *t = &out[n];
				memset(t, 0, sizeof *t);
				snprintf(t->name, sizeof t->name, k[i].name, l);
				t->ndim = k[i].ndim;
				t->shape[0] = k[i].shape[0];
				t->shape[1] = k[i].ndim == 2 ? k[i].shape[1] : 0;
				t->offset = off;
				t->numel = numel;
			}
			off += numel;
		}
	}
	return n;
}

/* Points every member of p into base, in the order of gpt2_tensors. */
static void params_at(struct gpt2_params *p, const struct lms_config *c, float *base)
{
	struct kind k[N_KINDS];
	kinds(c, k);
	float **slot[N_KINDS] = {
		&p->wte,      &p->wpe,      &p->ln1w, &p->ln1b, &p->qkvw, &p->qkvb,
		&p->attprojw, &p->attprojb, &p->ln2w, &p->ln2b, &p->fcw,  &p->fcb,
		&p->fcprojw,  &p->fcprojb,  &p->lnfw, &p->lnfb,
	};
	size_t off = 0;
	for (int i = 0; i < N_KINDS; i++) {
		*slot[i] = base + off;
		off += kind_numel(&k[i]) * (k[i].per_layer ? (size_t)c->L : 1);
	}
}

/* GPT-2's initialisation: N(0, 0.02) weights, the projections into the
 * residual stream scaled by 1 / sqrt(2 L), zero biases, LayerNorm gain 1. */
static void gpt2_init(const struct lms_config *c, float *params, uint64_t seed)
{
	struct gpt2_params p;
	params_at(&p, c, params);
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	size_t C = c->C, H = c->H, L = c->L;
	float s = 0.02f, sres = 0.02f / sqrtf(2.0f * (float)c->L);
	struct {
		float *w;
		size_t n;
		float std;
	} normal[] = {
		{p.wte, (size_t)c->V * C, s}, {p.wpe, (size_t)c->maxT * C, s},
		{p.qkvw, L * C * 3 * C, s},   {p.attprojw, L * C * C, sres},
		{p.fcw, L * C * H, s},        {p.fcprojw, L * H * C, sres},
	};
	for (size_t i = 0; i < sizeof normal / sizeof *normal; i++)
		for (size_t j = 0; j < normal[i].n; j++)
			normal[i].w[j] = normal[i].std * lms_rng_normal(&g);
	float *ones[] = {p.ln1w, p.ln2w};
	for (int i = 0; i < 2; i++)
		for (size_t j = 0; j < L * C; j++)
			ones[i][j] = 1.0f;
	for (size_t j = 0; j < C; j++)
		p.lnfw[j] = 1.0f;
	/* biases were zeroed by the allocation; make that explicit */
	memset(p.qkvb, 0, L * 3 * C * sizeof(float));
	memset(p.attprojb, 0, L * C * sizeof(float));
	memset(p.ln1b, 0, L * C * sizeof(float));
	memset(p.ln2b, 0, L * C * sizeof(float));
	memset(p.fcb, 0, L * H * sizeof(float));
	memset(p.fcprojb, 0, L * C * sizeof(float));
	memset(p.lnfb, 0, C * sizeof(float));
}

/* ---- activations -------------------------------------------------------- */

/* Activations of a B x T run, and the gradient buffers of one layer at a
 * time, all carved out of one allocation. Every (.., B, T, X) buffer has
 * row stride T positions. */
struct gpt2_acts {
	int B, T;
	float *encoded; /* (B, T, C) emb + wpe */
	/* One LayerNorm's output, ln_1's or ln_2's of the layer being computed:
	 * only a weight gradient reads them again, and recomputes them */
	float *ln;        /* (B, T, C) */
	float *ln1_mean;  /* (L, B, T) */
	float *ln1_rstd;  /* (L, B, T) */
	float *qkv;       /* (L, B, T, 3C) the KV cache lives here */
	float *atty;      /* (L, B, T, C) attention output before c_proj */
	float *residual2; /* (L, B, T, C) after the attention half of a block */
	float *ln2_mean;  /* (L, B, T) */
	float *ln2_rstd;  /* (L, B, T) */
	float *fch;       /* (L, B, T, H) c_fc output */
	/* GELU(fch) of one layer: the forward's layer being computed, the
	 * backward's (weight gradients), or layer gelu_l of batch row gelu_b for
	 * the neurons view; not kept per layer (151 MB for GPT-2 small at 1024
	 * positions) since it is one cheap function of fch */
	float *fch_gelu;    /* (B, T, H) */
	int gelu_l, gelu_b; /* the layer and batch row fch_gelu holds for the view; -1: none */
	float *residual3;   /* (L, B, T, C) the residual stream after each block */
	float *lnf_mean;    /* (B, T) */
	float *lnf_rstd;    /* (B, T) */
	/* backward, reused by every layer */
	float *dresidual; /* (B, T, C) d objective / d residual stream */
	float *dln;       /* (B, T, C) */
	float *dqkv;      /* (B, T, 3C) */
	float *datty;     /* (B, T, C) */
	float *dfch_gelu; /* (B, T, H) */
	float *dfch;      /* (B, T, H) */
	float *dbranch;   /* (B, T, C) a residual branch's gradient through its dropout mask */
	/* the masks the last forward applied (r->drop then), which its
	 * backward follows; NULL: none */
	const struct lms_dropout *drop;
	/* Attention probabilities are not kept (L x NH x T x T floats, 604 MB
	 * for GPT-2 small at 1024 positions): the forward streams them and
	 * the backward and the views recompute them from q and k. */
	float *attwork; /* (2, min(T, LMS_ATT_BLOCK), T) the kernels' scratch (ops.h) */
	float *attview; /* (T, T) head view_h of layer view_l, batch row view_b, row stride T */
	int view_l, view_h, view_b; /* which head attview holds; view_l -1: none */
	/* the forward's products over several batch rows' runs (B > 1 only) */
	float *pack_in;  /* (B, T, max(C, H)) */
	float *pack_out; /* (B, T, max(3C, H)) */
	float *block;
};

static void *gpt2_acts_new(const struct lms_model *m, int B, int T)
{
	const struct lms_config *c = &m->cfg;
	struct gpt2_acts *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->B = B;
	a->T = T;
	a->view_l = a->gelu_l = -1;
	size_t BT = (size_t)B * T, L = c->L, C = c->C, H = c->H;
	struct {
		float **p;
		size_t n;
	} parts[] = {
		{&a->encoded, BT * C},
		{&a->ln, BT * C},
		{&a->ln1_mean, L * BT},
		{&a->ln1_rstd, L * BT},
		{&a->qkv, L * BT * 3 * C},
		{&a->atty, L * BT * C},
		{&a->residual2, L * BT * C},
		{&a->ln2_mean, L * BT},
		{&a->ln2_rstd, L * BT},
		{&a->fch, L * BT * H},
		{&a->fch_gelu, BT * H},
		{&a->residual3, L * BT * C},
		{&a->lnf_mean, BT},
		{&a->lnf_rstd, BT},
		{&a->dresidual, BT * C},
		{&a->dln, BT * C},
		{&a->dqkv, BT * 3 * C},
		{&a->datty, BT * C},
		{&a->dfch_gelu, BT * H},
		{&a->dfch, BT * H},
		{&a->dbranch, BT * C},
		{&a->attwork, 2 * (size_t)(T < LMS_ATT_BLOCK ? T : LMS_ATT_BLOCK) * T},
		{&a->attview, (size_t)T * T},
		{&a->pack_in, B > 1 ? BT * (H > C ? H : C) : 0},
		{&a->pack_out, B > 1 ? BT * (H > 3 * C ? H : 3 * C) : 0},
	};
	size_t total = 0;
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++)
		total += parts[i].n;
	/* calloc maps fresh zero pages: memory grows with the positions used */
	a->block = calloc(total, sizeof(float));
	if (!a->block) {
		free(a);
		return NULL;
	}
	float *p = a->block;
	for (size_t i = 0; i < sizeof parts / sizeof *parts; i++) {
		*parts[i].p = p;
		p += parts[i].n;
	}
	return a;
}

static void gpt2_acts_free(void *acts)
{
	struct gpt2_acts *a = acts;
	if (!a)
		return;
	free(a->block);
	free(a);
}

/* ---- forward -------------------------------------------------------------- */

/* The rows one step of the forward or backward touches: positions
 * [from, n) of each batch row, as `nseg` runs of `len` rows, run s starting
 * at row s * stride + from. When those runs are back to back (one batch
 * row, or n == T) they are fused into one, so BLAS sees a single product.
 * A batched patch (interp/hooks.h) starts batch row b later, at
 * starts[b]: then run s is [max(from, starts[s]), n). */
struct span {
	int nseg, len, from, stride, n;
	const struct lms_intervention *iv; /* for the starts; NULL: every run at from */
	int gather; /* products over the runs gathered into one (patching sweeps) */
};

static struct span span_of(int B, int T, int from, int n)
{
	struct span s = {B, n - from, from, T, n, NULL, 0};
	if (B == 1 || (from == 0 && n == T)) {
		s.len = (B - 1) * T + (n - from);
		s.nseg = 1;
	}
	return s;
}

/* The forward's span: batch rows that start late keep their own runs. */
static struct span span_forward(const struct lms_intervention *iv, int B, int T, int from, int n)
{
	if (!iv || !iv->row_from)
		return span_of(B, T, from, n);
	if (B == 1)
		return span_of(1, T, lms_iv_row_from(iv, 0, from), n);
	struct span s = {B, n - from, from, T, n, iv, 1};
	return s;
}

static int seg_from(const struct span *s, int i)
{
	return s->iv ? lms_iv_row_from(s->iv, i, s->from) : s->from;
}

static size_t seg_row(const struct span *s, int i)
{
	return (size_t)i * s->stride + seg_from(s, i);
}

static int seg_len(const struct span *s, int i)
{
	return s->iv ? s->n - seg_from(s, i) : s->len;
}

/* Layer l's slice of an (L, B, T, X) activation. */
static float *layer(float *base, int l, const struct gpt2_acts *a, size_t X)
{
	return base + (size_t)l * a->B * a->T * X;
}

/* out (rows, OC) = inp (rows, C) @ w + b over the span's rows. In a
 * patching sweep's batch the runs are gathered into one matrix first, so
 * that w is read once for all of them (a run per batch row would stream
 * it once per row); other batches keep a product per run. */
static void span_matmul(struct gpt2_acts *a, const struct span *sp, float *out, const float *inp,
                        const float *w, const float *b, int C, int OC)
{
	if (!sp->gather || sp->nseg == 1) {
		for (int i = 0; i < sp->nseg; i++) {
			size_t r0 = seg_row(sp, i);
			lms_matmul_forward(out + r0 * OC, inp + r0 * C, w, b, seg_len(sp, i), C, OC);
		}
		return;
	}
	int rows = 0;
	for (int i = 0; i < sp->nseg; i++) {
		int len = seg_len(sp, i);
		memcpy(a->pack_in + (size_t)rows * C, inp + seg_row(sp, i) * C,
		       (size_t)len * C * sizeof(float));
		rows += len;
	}
	if (!rows)
		return;
	lms_matmul_forward(a->pack_out, a->pack_in, w, b, rows, C, OC);
	rows = 0;
	for (int i = 0; i < sp->nseg; i++) {
		int len = seg_len(sp, i);
		memcpy(out + seg_row(sp, i) * OC, a->pack_out + (size_t)rows * OC,
		       (size_t)len * OC * sizeof(float));
		rows += len;
	}
}

/* Attention of queries [from, n) of every batch row, or of each row's own
 * run when rows start late. */
static void span_attention(const struct span *sp, float *atty, float *work, const float *qkv,
                           struct lms_attn_layout lay, int C)
{
	if (!sp->iv) {
		lms_attention_forward_streamed(atty, work, qkv, qkv + C, qkv + 2 * C, &lay, sp->from,
		                               sp->n);
		return;
	}
	int B = lay.B, T = lay.T;
	lay.B = 1;
	for (int b = 0; b < B; b++) {
		const float *q = qkv + (size_t)b * T * 3 * C;
		lms_attention_forward_streamed(atty + (size_t)b * T * C, work, q, q + C, q + 2 * C, &lay,
		                               seg_from(sp, b), sp->n);
	}
}

/* Training dropout of site s over the span's rows of x (B, T, C), in
 * place; the masks cover every row of the run. */
static void span_dropout(const struct lms_dropout *d, int s, float *x, const struct span *sp, int C)
{
	if (!d)
		return;
	const uint64_t *mask = lms_dropout_mask(d, s);
	for (int i = 0; i < sp->nseg; i++) {
		size_t u0 = seg_row(sp, i) * C;
		lms_dropout_forward(x + u0, x + u0, mask, u0, (size_t)seg_len(sp, i) * C, d->scale);
	}
}

static void gpt2_forward(struct lms_run *r, int from, int n)
{
	const struct lms_config *c = &r->m->cfg;
	struct gpt2_acts *a = r->acts;
	struct gpt2_params p;
	params_at(&p, c, r->m->params);
	int B = a->B, T = a->T, C = c->C, H = c->H;
	struct span sp = span_forward(r->iv, B, T, from, n);
	struct lms_attn_layout lay = lms_attn_layout_fused(B, T, C, c->NH);
	a->view_l = a->gelu_l = -1;
	/* the masks cover the run's B x T positions (nn/dropout.h) */
	const struct lms_dropout *drop =
		r->drop && r->drop->units == (size_t)B * T * C ? r->drop : NULL;
	a->drop = drop;

	/* encoded = dropout(emb + wpe[t]) */
	for (int b = 0; b < B; b++)
		for (int t = lms_iv_row_from(r->iv, b, from); t < n; t++) {
			size_t row = (size_t)b * T + t;
			float *enc = a->encoded + row * C;
			lms_residual_forward(enc, r->emb + row * C, p.wpe + (size_t)t * C, C);
			if (drop)
				lms_dropout_forward(enc, enc, lms_dropout_mask(drop, 0), row * C, C, drop->scale);
		}

	for (int l = 0; l < c->L; l++) {
		float *res = l == 0 ? a->encoded : layer(a->residual3, l - 1, a, C);
		float *ln1 = a->ln, *ln1m = layer(a->ln1_mean, l, a, 1);
		float *ln1r = layer(a->ln1_rstd, l, a, 1), *qkv = layer(a->qkv, l, a, 3 * C);
		float *atty = layer(a->atty, l, a, C), *res2 = layer(a->residual2, l, a, C);
		float *ln2 = a->ln, *ln2m = layer(a->ln2_mean, l, a, 1);
		float *ln2r = layer(a->ln2_rstd, l, a, 1), *fch = layer(a->fch, l, a, H);
		float *fchg = a->fch_gelu, *res3 = layer(a->residual3, l, a, C);
		size_t lC = (size_t)l * C;
		if (!lms_iv_layer_in(r->iv, l, res, B, T, C, from, n))
			continue;

		for (int i = 0; i < sp.nseg; i++) {
			size_t r0 = seg_row(&sp, i);
			lms_layernorm_forward(ln1 + r0 * C, ln1m + r0, ln1r + r0, res + r0 * C, p.ln1w + lC,
			                      p.ln1b + lC, seg_len(&sp, i), C, c->eps);
		}
		span_matmul(a, &sp, qkv, ln1, p.qkvw + lC * 3 * C, p.qkvb + lC * 3, C, 3 * C);
		/* the last layer of a patching sweep: past the keys and values,
		 * only the last position */
		struct span post = sp;
		if (lms_iv_last_only(r->iv, l, c->L)) {
			post = span_of(B, T, n - 1, n);
			post.gather = 1;
		}
		span_attention(&post, atty, a->attwork, qkv, lay, C);
		lms_iv_heads(r->iv, l, atty, B, T, C, post.from, n);
		/* res2 = res + dropout(atty @ c_proj): the branch goes straight into res2 */
		span_matmul(a, &post, res2, atty, p.attprojw + lC * C, p.attprojb + lC, C, C);
		span_dropout(drop, 1 + 2 * l, res2, &post, C);
		for (int i = 0; i < post.nseg; i++) {
			size_t r0 = seg_row(&post, i);
			int len = seg_len(&post, i);
			lms_residual_forward(res2 + r0 * C, res2 + r0 * C, res + r0 * C, len * C);
			lms_layernorm_forward(ln2 + r0 * C, ln2m + r0, ln2r + r0, res2 + r0 * C, p.ln2w + lC,
			                      p.ln2b + lC, len, C, c->eps);
		}
		span_matmul(a, &post, fch, ln2, p.fcw + lC * H, p.fcb + (size_t)l * H, C, H);
		for (int i = 0; i < post.nseg; i++) {
			size_t r0 = seg_row(&post, i);
			lms_gelu_forward(fchg + r0 * H, fch + r0 * H, seg_len(&post, i) * H);
		}
		/* res3 = res2 + dropout(fchg @ c_proj) */
		span_matmul(a, &post, res3, fchg, p.fcprojw + (size_t)l * H * C, p.fcprojb + lC, H, C);
		span_dropout(drop, 2 + 2 * l, res3, &post, C);
		for (int i = 0; i < post.nseg; i++) {
			size_t r0 = seg_row(&post, i);
			int len = seg_len(&post, i);
			lms_iv_mlp(r->iv, l, res3, r0, len, T, C);
			lms_residual_forward(res3 + r0 * C, res3 + r0 * C, res2 + r0 * C, len * C);
		}
	}
	const float *last = layer(a->residual3, c->L - 1, a, C);
	struct span fin = r->iv && r->iv->last_only ? span_of(B, T, n - 1, n) : sp;
	for (int i = 0; i < fin.nseg; i++) {
		size_t r0 = seg_row(&fin, i);
		lms_layernorm_forward(r->hfin + r0 * C, a->lnf_mean + r0, a->lnf_rstd + r0, last + r0 * C,
		                      p.lnfw, p.lnfb, seg_len(&fin, i), C, c->eps);
	}
}

/* ---- backward ------------------------------------------------------------- */

static void zero_rows(float *buf, const struct span *sp, size_t X)
{
	for (int i = 0; i < sp->nseg; i++)
		memset(buf + seg_row(sp, i) * X, 0, (size_t)sp->len * X * sizeof(float));
}

/* Parameter-gradient pointer for layer-stacked tensor `base` (NULL when
 * weight gradients are not wanted). */
static float *pg(float *base, size_t off, int want)
{
	return want ? base + off : NULL;
}

/* Whether any of x (n) is non-zero. */
static int any_nonzero(const float *x, int n)
{
	for (int i = 0; i < n; i++)
		if (x[i] != 0.0f)
			return 1;
	return 0;
}

/* The gradient of a dropout site's input from that of its output dout,
 * units [u0, u0 + n) of the run: dout itself without dropout, else
 * through the forward's mask into dbranch. */
static const float *branch_grad(struct gpt2_acts *a, int s, const float *dout, size_t u0, size_t n)
{
	if (!a->drop)
		return dout;
	lms_dropout_backward(a->dbranch + u0, dout, lms_dropout_mask(a->drop, s), u0, n,
	                     a->drop->scale);
	return a->dbranch + u0;
}

static void gpt2_backward(struct lms_run *r, int flags)
{
	const struct lms_config *c = &r->m->cfg;
	struct gpt2_acts *a = r->acts;
	struct gpt2_params p, g = {0};
	params_at(&p, c, r->m->params);
	int want = (flags & LMS_GRAD_PARAMS) && r->m->grads;
	if (want)
		params_at(&g, c, r->m->grads);
	a->gelu_l = -1;
	int B = a->B, T = a->T, C = c->C, H = c->H, n = r->n;
	struct span sp = span_of(B, T, 0, n);
	struct lms_attn_layout lay = lms_attn_layout_fused(B, T, C, c->NH);

	/* Positions whose output is not differentiated (all but the last for a
	 * log-prob objective) get no gradient until the last layer's attention
	 * spreads it: down to there, only rows [g0, n) need work. */
	int g0 = n - 1;
	for (int b = 0; b < B && g0 > 0; b++) {
		int f = 0;
		while (f < g0 && !any_nonzero(r->dhfin + ((size_t)b * T + f) * C, C))
			f++;
		g0 = f;
	}
	struct span top = span_of(B, T, g0, n);

	/* hfin = layernorm(residual3[L-1]) */
	zero_rows(a->dresidual, &sp, C);
	const float *last = layer(a->residual3, c->L - 1, a, C);
	for (int i = 0; i < top.nseg; i++) {
		size_t r0 = seg_row(&top, i);
		lms_layernorm_backward(a->dresidual + r0 * C, pg(g.lnfw, 0, want), pg(g.lnfb, 0, want),
		                       r->dhfin + r0 * C, last + r0 * C, p.lnfw, a->lnf_mean + r0,
		                       a->lnf_rstd + r0, top.len, C);
	}

	for (int l = c->L - 1; l >= 0; l--) {
		const float *res = l == 0 ? a->encoded : layer(a->residual3, l - 1, a, C);
		float *ln1 = a->ln, *ln1m = layer(a->ln1_mean, l, a, 1);
		float *ln1r = layer(a->ln1_rstd, l, a, 1), *qkv = layer(a->qkv, l, a, 3 * C);
		float *atty = layer(a->atty, l, a, C), *res2 = layer(a->residual2, l, a, C);
		float *ln2 = a->ln, *ln2m = layer(a->ln2_mean, l, a, 1);
		float *ln2r = layer(a->ln2_rstd, l, a, 1), *fch = layer(a->fch, l, a, H);
		float *fchg = a->fch_gelu;
		size_t lC = (size_t)l * C;

		zero_rows(a->dfch_gelu, &sp, H);
		zero_rows(a->dfch, &sp, H);
		zero_rows(a->dln, &sp, C);
		zero_rows(a->datty, &sp, C);
		zero_rows(a->dqkv, &sp, 3 * C);
		/* dresidual holds d res3; res3 = res2 + dropout(fchg @ c_proj), so
		 * d res2 starts as d res3 and the ln_2 branch adds to it in place */
		const struct span *ms = l == c->L - 1 ? &top : &sp;
		for (int i = 0; i < ms->nseg; i++) {
			size_t r0 = seg_row(ms, i);
			int len = ms->len;
			float *dres = a->dresidual + r0 * C;
			/* the weight gradient of c_proj reads its input again */
			if (want)
				lms_gelu_forward(fchg + r0 * H, fch + r0 * H, len * H);
			const float *dmlp = branch_grad(a, 2 + 2 * l, dres, r0 * C, (size_t)len * C);
			lms_matmul_backward(a->dfch_gelu + r0 * H, pg(g.fcprojw, (size_t)l * H * C, want),
			                    pg(g.fcprojb, lC, want), dmlp, fchg + r0 * H,
			                    p.fcprojw + (size_t)l * H * C, len, H, C);
			lms_iv_mlp_backward(r->iv, l, a->dfch_gelu + r0 * H, (size_t)len * H);
			lms_gelu_backward(a->dfch + r0 * H, a->dfch_gelu + r0 * H, fch + r0 * H, len * H);
			/* so does c_fc's (the same mean and rstd are written again) */
			if (want)
				lms_layernorm_forward(ln2 + r0 * C, ln2m + r0, ln2r + r0, res2 + r0 * C,
				                      p.ln2w + lC, p.ln2b + lC, len, C, c->eps);
			lms_matmul_backward(a->dln + r0 * C, pg(g.fcw, lC * H, want),
			                    pg(g.fcb, (size_t)l * H, want), a->dfch + r0 * H, ln2 + r0 * C,
			                    p.fcw + lC * H, len, C, H);
			lms_layernorm_backward(dres, pg(g.ln2w, lC, want), pg(g.ln2b, lC, want),
			                       a->dln + r0 * C, res2 + r0 * C, p.ln2w + lC, ln2m + r0,
			                       ln2r + r0, len, C);
			/* res2 = res + dropout(atty @ c_proj): d res is d res2 plus the
			 * attention branch */
			const float *datt = branch_grad(a, 1 + 2 * l, dres, r0 * C, (size_t)len * C);
			lms_matmul_backward(a->datty + r0 * C, pg(g.attprojw, lC * C, want),
			                    pg(g.attprojb, lC, want), datt, atty + r0 * C, p.attprojw + lC * C,
			                    len, C, C);
		}
		float *dqkv = a->dqkv;
		lms_iv_heads_backward(r->iv, l, a->datty, B, T, C, n);
		/* in the top layer datty is zero below g0, unless a mean
		 * ablation spread it to every query */
		int q0 = l == c->L - 1 && !lms_iv_whole(r->iv) ? g0 : 0;
		lms_attention_backward(dqkv, dqkv + C, dqkv + 2 * C, a->attwork, a->datty, NULL, qkv,
		                       qkv + C, qkv + 2 * C, &lay, q0, n);
		zero_rows(a->dln, &sp, C);
		for (int i = 0; i < sp.nseg; i++) {
			size_t r0 = seg_row(&sp, i);
			if (want)
				lms_layernorm_forward(ln1 + r0 * C, ln1m + r0, ln1r + r0, res + r0 * C, p.ln1w + lC,
				                      p.ln1b + lC, sp.len, C, c->eps);
			lms_matmul_backward(a->dln + r0 * C, pg(g.qkvw, lC * 3 * C, want),
			                    pg(g.qkvb, lC * 3, want), dqkv + r0 * 3 * C, ln1 + r0 * C,
			                    p.qkvw + lC * 3 * C, sp.len, C, 3 * C);
			lms_layernorm_backward(a->dresidual + r0 * C, pg(g.ln1w, lC, want),
			                       pg(g.ln1b, lC, want), a->dln + r0 * C, res + r0 * C, p.ln1w + lC,
			                       ln1m + r0, ln1r + r0, sp.len, C);
		}
	}
	/* encoded = dropout(emb + wpe[t]) */
	for (int b = 0; b < B; b++)
		for (int t = 0; t < n; t++) {
			size_t row = (size_t)b * T + t;
			const float *d = branch_grad(a, 0, a->dresidual + row * C, row * C, C);
			lms_residual_backward(r->demb + row * C, want ? g.wpe + (size_t)t * C : NULL, d, C);
		}
}

/* ---- explorer views and the tied head --------------------------------------- */

/* One head's probabilities, recomputed from the run's q and k for rows
 * [0, n) of the last forward (0 above the diagonal and right of n), and
 * kept until another head is asked for or the run changes. */
static const float *gpt2_attention(const struct lms_run *r, int l, int h, int b)
{
	const struct lms_config *c = &r->m->cfg;
	struct gpt2_acts *a = r->acts;
	if (l < 0 || l >= c->L || h < 0 || h >= c->NH || b < 0 || b >= a->B)
		return NULL;
	if (a->view_l == l && a->view_h == h && a->view_b == b)
		return a->attview;
	int T = a->T, n = r->n > 0 && r->n <= T ? r->n : 0;
	struct lms_attn_layout lay = lms_attn_layout_fused(a->B, T, c->C, c->NH);
	const float *qkv = layer(a->qkv, l, a, 3 * (size_t)c->C);
	lms_attention_probs(a->attview, T, qkv, qkv + c->C, &lay, b, h, n);
	a->view_l = l;
	a->view_h = h;
	a->view_b = b;
	return a->attview;
}

static const float *gpt2_hidden(const struct lms_run *r, int l, int b, int *D)
{
	const struct lms_config *c = &r->m->cfg;
	const struct gpt2_acts *a = r->acts;
	if (l < 0 || l >= c->L || b < 0 || b >= a->B)
		return NULL;
	*D = c->C;
	return a->residual3 + ((size_t)l * a->B + b) * a->T * c->C;
}

static void gpt2_block(const struct lms_run *r, int l, int b, struct lms_block_acts *out)
{
	const struct lms_config *c = &r->m->cfg;
	const struct gpt2_acts *a = r->acts;
	size_t C = c->C, row = (size_t)b * a->T;
	out->resid_pre = (l ? layer(a->residual3, l - 1, a, C) : a->encoded) + row * C;
	out->heads = layer(a->atty, l, a, C) + row * C;
	out->resid_mid = layer(a->residual2, l, a, C) + row * C;
	out->resid_post = layer(a->residual3, l, a, C) + row * C;
	out->neurons = NULL; /* recomputed on demand: gpt2_neurons */
}

/* GELU(fch) of layer l for rows [0, n) of batch row b, kept until another
 * is asked for or the run changes. */
static const float *gpt2_neurons(const struct lms_run *r, int l, int b)
{
	const struct lms_config *c = &r->m->cfg;
	struct gpt2_acts *a = r->acts;
	if (l < 0 || l >= c->L || b < 0 || b >= a->B)
		return NULL;
	size_t H = c->H, row = (size_t)b * a->T;
	if (a->gelu_l != l || a->gelu_b != b)
		lms_gelu_forward(a->fch_gelu + row * H, layer(a->fch, l, a, H) + row * H,
		                 (int)((size_t)r->n * H));
	a->gelu_l = l;
	a->gelu_b = b;
	return a->fch_gelu + row * H;
}

static void gpt2_kv_copy(struct lms_run *dst, int b, const struct lms_run *src, int n)
{
	const struct lms_config *c = &dst->m->cfg;
	struct gpt2_acts *d = dst->acts;
	const struct gpt2_acts *s = src->acts;
	size_t X = 3 * (size_t)c->C; /* q rides along: k and v sit between q's */
	d->view_l = d->gelu_l = -1;
	for (int l = 0; l < c->L; l++)
		memcpy(layer(d->qkv, l, d, X) + (size_t)b * d->T * X, s->qkv + (size_t)l * s->B * s->T * X,
		       (size_t)n * X * sizeof(float));
}

static void gpt2_final_norm(const struct lms_model *m, float *out, const float *in)
{
	struct gpt2_params p;
	params_at(&p, &m->cfg, m->params);
	float mean, rstd;
	lms_layernorm_forward(out, &mean, &rstd, in, p.lnfw, p.lnfb, 1, m->cfg.C, m->cfg.eps);
}

static size_t gpt2_wte_offset(const struct lms_config *c)
{
	(void)c;
	return 0;
}

static int gpt2_dropout_sites(const struct lms_config *c, int *width)
{
	*width = c->C;
	return 1 + 2 * c->L;
}

static long gpt2_bout_offset(const struct lms_config *c)
{
	(void)c;
	return -1;
}

const struct lms_arch_ops lms_gpt2_ops = {
	.tensors = gpt2_tensors,
	.init = gpt2_init,
	.acts_new = gpt2_acts_new,
	.acts_free = gpt2_acts_free,
	.forward = gpt2_forward,
	.backward = gpt2_backward,
	.attention = gpt2_attention,
	.hidden = gpt2_hidden,
	.gates = NULL,
	.block = gpt2_block,
	.neurons = gpt2_neurons,
	.kv_copy = gpt2_kv_copy,
	.final_norm = gpt2_final_norm,
	.wout_offset = gpt2_wte_offset,
	.bout_offset = gpt2_bout_offset,
	.wte_offset = gpt2_wte_offset,
	.dropout_sites = gpt2_dropout_sites,
};
