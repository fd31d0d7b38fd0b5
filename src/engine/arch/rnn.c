/* Recurrent language models: Elman RNN (tanh), LSTM and GRU, multi-layer,
 * with PyTorch's equations and gate order, forward and backward through time.
 *
 * Parameters, as the state_dict of the textbook PyTorch language model
 *   embedding = nn.Embedding(V, C)
 *   encoder   = nn.RNN / nn.LSTM / nn.GRU(C, H, L, batch_first=True)
 *   output    = nn.Linear(H, V)
 * stores them, packed in this order:
 *   embedding.weight          (V, C)
 *   encoder.weight_ih_l{k}    (G*H, I)   I = C for k = 0, else H
 *   encoder.weight_hh_l{k}    (G*H, H)
 *   encoder.bias_ih_l{k}      (G*H)
 *   encoder.bias_hh_l{k}      (G*H)      for k = 0 .. L-1
 *   output.weight             (V, H)    unless tied (C = H): then the embedding
 *   output.bias               (V)
 *
 * One step of layer k, x = the layer's input at t, h = its state at t-1
 * (zero before the first position), xg = W_ih x + b_ih, hg = W_hh h + b_hh,
 * each split into G blocks of H in PyTorch's order:
 *   RNN   h' = tanh(xg + hg)
 *   LSTM  i, f, g, o = sigm, sigm, tanh, sigm of (xg + hg)
 *         c' = f * c + i * g          h' = o * tanh(c')
 *   GRU   r, z = sigm(xg_r + hg_r), sigm(xg_z + hg_z)
 *         n = tanh(xg_n + r * hg_n)   h' = (1 - z) * n + z * h
 *
 * Forward: the input projections of every position at once (one matrix
 * product per layer), then the recurrence one position at a time for all
 * rows together. The gate activations, every layer's h (the top layer's is
 * r->hfin) and the LSTM cell states are kept, so that the explorer can show
 * them and a forward from position `from` can continue the saved state.
 *
 * Training dropout (r->drop, nn/dropout.h) on the connections between
 * layers only, never on the recurrent ones (Zaremba et al. 2014, the
 * textbook model's nn.Dropout): site l on layer l's input (the embedding
 * for l = 0, else the layer below's output), site L on the top layer's
 * output before the unembedding. The recurrence reads each layer's own,
 * undropped output; with dropout the top layer's is kept in a->htop and
 * r->hfin holds its dropped copy. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "arch/arch.h"
#include "nn/blas.h"
#include "interp/hooks.h"
#include "nn/dropout.h"
#include "lmscope/rng.h"
#include "nn/ops.h"
#include "nn/rnn_cell.h"

static int gates_of(enum lms_arch a)
{
	return a == LMS_LSTM ? 4 : a == LMS_GRU ? 3 : 1;
}

/* ---- parameters ------------------------------------------------------------ */

static int rnn_tensors(const struct lms_config *c, struct lms_tensor *out)
{
	int n = 1 + 4 * c->L + 1 + !c->tied;
	if (!out)
		return n;
	int64_t GH = (int64_t)gates_of(c->arch) * c->H;
	size_t off = 0;
	char name[64];
	struct lms_tensor *t = out;
	lms_tensor_set(t++, "embedding.weight", 2, c->V, c->C, &off);
	for (int k = 0; k < c->L; k++) {
		snprintf(name, sizeof name, "encoder.weight_ih_l%d", k);
		lms_tensor_set(t++, name, 2, GH, k ? c->H : c->C, &off);
		snprintf(name, sizeof name, "encoder.weight_hh_l%d", k);
		lms_tensor_set(t++, name, 2, GH, c->H, &off);
		snprintf(name, sizeof name, "encoder.bias_ih_l%d", k);
		lms_tensor_set(t++, name, 1, GH, 0, &off);
		snprintf(name, sizeof name, "encoder.bias_hh_l%d", k);
		lms_tensor_set(t++, name, 1, GH, 0, &off);
	}
	if (!c->tied)
		lms_tensor_set(t++, "output.weight", 2, c->V, c->H, &off);
	lms_tensor_set(t++, "output.bias", 1, c->V, 0, &off);
	return n;
}

/* Offsets (in floats) of one layer's tensors, following rnn_tensors. */
struct layer_w {
	size_t wih; /* (G*H, I) */
	size_t whh; /* (G*H, H) */
	size_t bih; /* (G*H) */
	size_t bhh; /* (G*H) */
	int nin;    /* input width I */
};

static struct layer_w layer_offsets(const struct lms_config *c, int k)
{
	size_t GH = (size_t)gates_of(c->arch) * c->H;
	size_t off = (size_t)c->V * c->C;
	if (k > 0)
		off += GH * c->C + (size_t)(k - 1) * GH * c->H + (size_t)k * (GH * c->H + 2 * GH);
	struct layer_w w;
	w.nin = k ? c->H : c->C;
	w.wih = off;
	w.whh = w.wih + GH * w.nin;
	w.bih = w.whh + GH * c->H;
	w.bhh = w.bih + GH;
	return w;
}

static size_t rnn_wte_offset(const struct lms_config *c)
{
	(void)c;
	return 0;
}

/* One past the recurrent layers' parameters. */
static size_t layers_end(const struct lms_config *c)
{
	struct layer_w w = layer_offsets(c, c->L - 1);
	return w.bhh + (size_t)gates_of(c->arch) * c->H;
}

static size_t rnn_wout_offset(const struct lms_config *c)
{
	return c->tied ? rnn_wte_offset(c) : layers_end(c);
}

static long rnn_bout_offset(const struct lms_config *c)
{
	return (long)(layers_end(c) + (c->tied ? 0 : (size_t)c->V * c->H));
}

static void fill_uniform(float *x, size_t n, float bound, struct lms_rng *g)
{
	for (size_t i = 0; i < n; i++)
		x[i] = bound * (2.0f * lms_rng_uniform(g) - 1.0f);
}

/* The textbook language model's initialisation: embedding and output weight
 * uniform in [-0.1, 0.1], output bias zero; the recurrent layers keep
 * PyTorch's default, uniform in [-1/sqrt(H), 1/sqrt(H)] for every weight and
 * bias. */
static void rnn_init(const struct lms_config *c, float *params, uint64_t seed)
{
	struct lms_rng g;
	lms_rng_seed(&g, seed);
	fill_uniform(params, (size_t)c->V * c->C, 0.1f, &g);
	size_t start = layer_offsets(c, 0).wih, end = layers_end(c);
	fill_uniform(params + start, end - start, 1.0f / sqrtf((float)c->H), &g);
	if (!c->tied)
		fill_uniform(params + end, (size_t)c->V * c->H, 0.1f, &g);
	memset(params + rnn_bout_offset(c), 0, (size_t)c->V * sizeof(float));
}

/* ---- activations ----------------------------------------------------------- */

/* Every (B, T, X) buffer has row stride T, like the run's own buffers. */
struct rnn_acts {
	int B, T, L, G, H;
	float *gates; /* (L, B, T, G*H) after their nonlinearities */
	float *h;     /* (L-1, B, T, H) outputs of the layers below the top (top: r->hfin) */
	float *c;     /* (L, B, T, H) LSTM cell states; NULL otherwise */
	float *tc;    /* (L, B, T, H) LSTM tanh(c), for the backward; NULL otherwise */
	float *hn;    /* (L, B, T, H) GRU W_hn h + b_hn; NULL otherwise */
	float *htop;  /* (B, T, H) the top layer's output under dropout (r->hfin: dropped) */
	float *xin;   /* (B, T, W) the dropped input of the layer being computed, W = max(C, H) */
	float *dxin;  /* (B, T, W) d objective / d xin */
	float *dtop;  /* (B, T, H) d objective / d htop */
	float *xg;    /* (B, T, G*H) input projections of the layer being computed */
	float *hg;    /* (B, G*H) one step's W_hh h + b_hh */
	float *dxg;   /* (B, T, G*H) d objective / d xg of the layer being differentiated */
	float *dhg;   /* (B, T, G*H) d objective / d hg (GRU; aliases dxg otherwise) */
	float *dh;    /* (B, T, H) d objective / d the output of the layer below */
	float *dcur;  /* (B, H) d objective / d h_t, all paths */
	float *drec;  /* (B, H) d objective / d h_{t-1} through step t */
	float *dcrec; /* (B, H) d objective / d c_{t-1} through step t (LSTM) */
	float *mem;   /* the one allocation the above point into */
	/* the masks the last forward applied (r->drop then, if it covers the
	 * run), which its backward follows; NULL: none */
	const struct lms_dropout *drop;
};

/* Units per position of a dropout site: the wider of a layer's inputs. */
static int drop_width(const struct lms_config *c)
{
	return c->C > c->H ? c->C : c->H;
}

static void *rnn_acts_new(const struct lms_model *m, int B, int T)
{
	const struct lms_config *c = &m->cfg;
	struct rnn_acts *a = calloc(1, sizeof *a);
	if (!a)
		return NULL;
	a->B = B;
	a->T = T;
	a->L = c->L;
	a->G = gates_of(c->arch);
	a->H = c->H;
	size_t BT = (size_t)B * T, H = (size_t)c->H, GH = (size_t)a->G * H, L = (size_t)c->L;
	size_t W = (size_t)drop_width(c);
	int lstm = c->arch == LMS_LSTM, gru = c->arch == LMS_GRU;
	size_t sizes[] = {
		L * BT * GH,              /* gates */
		(L - 1) * BT * H,         /* h */
		lstm ? L * BT * H : 0,    /* c */
		lstm ? L * BT * H : 0,    /* tc */
		gru ? L * BT * H : 0,     /* hn */
		BT * H,                   /* htop */
		BT * W,                   /* xin */
		BT * W,                   /* dxin */
		BT * H,                   /* dtop */
		BT * GH,                  /* xg */
		(size_t)B * GH,           /* hg */
		BT * GH,                  /* dxg */
		gru ? BT * GH : 0,        /* dhg */
		BT * H,                   /* dh */
		(size_t)B * H,            /* dcur */
		(size_t)B * H,            /* drec */
		lstm ? (size_t)B * H : 0, /* dcrec */
	};
	size_t total = 0;
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		total += sizes[i];
	a->mem = calloc(total, sizeof(float));
	if (!a->mem) {
		free(a);
		return NULL;
	}
	float **ptrs[] = {&a->gates, &a->h,    &a->c,    &a->tc,   &a->hn,   &a->htop,
	                  &a->xin,   &a->dxin, &a->dtop, &a->xg,   &a->hg,   &a->dxg,
	                  &a->dhg,   &a->dh,   &a->dcur, &a->drec, &a->dcrec};
	float *p = a->mem;
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		*ptrs[i] = sizes[i] ? p : NULL;
		p += sizes[i];
	}
	if (!gru)
		a->dhg = a->dxg;
	return a;
}

static void rnn_acts_free(void *acts)
{
	struct rnn_acts *a = acts;
	if (!a)
		return;
	free(a->mem);
	free(a);
}

/* Layer l's output (B, T, H): the top layer writes straight into r->hfin,
 * or into a->htop under dropout. */
static float *layer_out(const struct lms_run *r, int l)
{
	const struct rnn_acts *a = r->acts;
	if (l == a->L - 1)
		return a->drop ? a->htop : r->hfin;
	return a->h + (size_t)l * a->B * a->T * a->H;
}

static float *layer_gates(const struct rnn_acts *a, int l)
{
	return a->gates + (size_t)l * a->B * a->T * a->G * a->H;
}

static float *layer_state(const struct rnn_acts *a, float *base, int l)
{
	return base ? base + (size_t)l * a->B * a->T * a->H : NULL;
}

/* ---- matrix products over strided rows --------------------------------------- */

/* The recurrence multiplies position t of every batch row, rows T positions
 * apart, so it cannot use ops.h's linear ops (contiguous rows); with one row
 * these are matrix-vector products.
 *
 * out (M, N) = in (M, K) @ W^T (K, N) + beta * out, W (N, K) row-major;
 * rows of in and out are lda / ldo floats apart. */
static void rows_times_wt(float *out, int ldo, const float *in, int lda, const float *W, int M,
                          int N, int K, float beta)
{
	if (M == 1)
		lms_sgemv(CblasNoTrans, N, K, 1.0f, W, K, in, beta, out);
	else
		lms_sgemm(CblasNoTrans, CblasTrans, M, N, K, 1.0f, in, lda, W, K, beta, out, ldo);
}

/* out (M, N) = in (M, K) @ W (K, N) + beta * out, W (K, N) row-major. */
static void rows_times_w(float *out, int ldo, const float *in, int lda, const float *W, int M,
                         int N, int K, float beta)
{
	if (M == 1)
		lms_sgemv(CblasTrans, K, N, 1.0f, W, N, in, beta, out);
	else
		lms_sgemm(CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, in, lda, W, N, beta, out, ldo);
}

/* Positions [t0, t1) of every row of a (B, T, X) buffer as runs of
 * consecutive rows (first row, count): one run when they are contiguous. */
struct span {
	size_t first;
	int count;
};

static int spans(int B, int T, int t0, int t1, struct span *s)
{
	if (B == 1 || (t0 == 0 && t1 == T)) {
		s[0].first = (size_t)t0;
		s[0].count = (B - 1) * T + (t1 - t0);
		return 1;
	}
	for (int b = 0; b < B; b++) {
		s[b].first = (size_t)b * T + t0;
		s[b].count = t1 - t0;
	}
	return B;
}

/* ---- dropout between layers ------------------------------------------------- */

/* out = dropout of site s applied to x (B, T, X) over the spans' rows. */
static void spans_dropout(const struct lms_dropout *d, int s, float *out, const float *x,
                          const struct span *sp, int ns, int X)
{
	for (int i = 0; i < ns; i++) {
		size_t u0 = sp[i].first * X;
		lms_dropout_forward(out + u0, x + u0, lms_dropout_mask(d, s), u0, (size_t)sp[i].count * X,
		                    d->scale);
	}
}

/* dinp = the gradient through site s's mask of dout (B, T, X), the spans' rows. */
static void spans_dropout_backward(const struct lms_dropout *d, int s, float *dinp,
                                   const float *dout, const struct span *sp, int ns, int X)
{
	for (int i = 0; i < ns; i++) {
		size_t u0 = sp[i].first * X;
		lms_dropout_backward(dinp + u0, dout + u0, lms_dropout_mask(d, s), u0,
		                     (size_t)sp[i].count * X, d->scale);
	}
}

/* ---- forward ------------------------------------------------------------- */

static void rnn_forward(struct lms_run *r, int from, int n)
{
	const struct lms_config *c = &r->m->cfg;
	struct rnn_acts *a = r->acts;
	const float *P = r->m->params;
	int B = a->B, T = a->T, H = c->H, GH = a->G * H;
	if (from >= n)
		return;
	struct span sp[B];
	int ns = spans(B, T, from, n, sp);
	a->drop = r->drop && r->drop->units == (size_t)B * T * drop_width(c) ? r->drop : NULL;
	for (int l = 0; l < c->L; l++) {
		struct layer_w w = layer_offsets(c, l);
		const float *x = l ? layer_out(r, l - 1) : r->emb; /* (B, T, I) */
		if (a->drop) {
			spans_dropout(a->drop, l, a->xin, x, sp, ns, w.nin);
			x = a->xin;
		}
		/* xg (B, T, G*H) = x @ W_ih^T + b_ih, positions [from, n) */
		for (int i = 0; i < ns; i++)
			lms_linear_forward(a->xg + sp[i].first * GH, x + sp[i].first * w.nin, P + w.wih,
			                   P + w.bih, sp[i].count, w.nin, GH);
		struct lms_cell_fwd s = {
			.B = B,
			.T = T,
			.H = H,
			.xg = a->xg,
			.hg = a->hg,
			.gates = layer_gates(a, l),
			.hout = layer_out(r, l),
			.cout = layer_state(a, a->c, l),
			.tcout = layer_state(a, a->tc, l),
			.hn = layer_state(a, a->hn, l),
		};
		for (int t = from; t < n; t++) {
			s.t = t;
			s.hprev = t ? s.hout : NULL;
			s.cprev = t ? s.cout : NULL;
			/* hg (B, G*H) = h_{t-1} @ W_hh^T + b_hh */
			for (int b = 0; b < B; b++)
				memcpy(a->hg + (size_t)b * GH, P + w.bhh, GH * sizeof(float));
			if (t)
				rows_times_wt(a->hg, GH, s.hout + (size_t)(t - 1) * H, T * H, P + w.whh, B, GH, H,
				              1.0f);
			lms_cell_forward(c->arch, &s);
			lms_iv_state(r->iv, l, s.hout, B, T, H, t);
		}
	}
	if (a->drop)
		spans_dropout(a->drop, c->L, r->hfin, a->htop, sp, ns, H);
}

/* ---- backward through time ------------------------------------------------- */

/* Gradients below TINY are flushed to zero. Through a long context the
 * gradient of an early position decays geometrically; once it reaches
 * subnormal floats, x86 arithmetic on it runs ~30x slower (seconds for a
 * 256-token LSTM backward). Values this small are zero for every purpose of
 * the explorer and of training, and a step into which nothing flows can be
 * skipped altogether. */
#define TINY 1e-30f

/* Loops over a step's vectors run in blocks of this many floats with a
 * fixed trip count, which the compiler vectorises at -O2; then the rest. */
#define STEP_BLOCK 16

/* Sets the entries of x with |x| < TINY to zero; returns whether any is left. */
static int flush_tiny(float *x, size_t n)
{
	int any = 0;
	size_t i = 0;
	for (; i + STEP_BLOCK <= n; i += STEP_BLOCK)
		for (int j = 0; j < STEP_BLOCK; j++) {
			float v = fabsf(x[i + j]) < TINY ? 0.0f : x[i + j];
			any |= v != 0.0f;
			x[i + j] = v;
		}
	for (; i < n; i++) {
		if (fabsf(x[i]) < TINY)
			x[i] = 0.0f;
		else
			any = 1;
	}
	return any;
}

/* out (n) = a + b */
static void add_rows(float *restrict out, const float *restrict a, const float *restrict b, int n)
{
	int i = 0;
	for (; i + STEP_BLOCK <= n; i += STEP_BLOCK)
		for (int j = 0; j < STEP_BLOCK; j++)
			out[i + j] = a[i + j] + b[i + j];
	for (; i < n; i++)
		out[i] = a[i] + b[i];
}

/* Zeroes position t of every row of a (B, T, X) buffer. */
static void zero_position(float *x, int B, int T, int X, int t)
{
	for (int b = 0; b < B; b++)
		memset(x + ((size_t)b * T + t) * X, 0, (size_t)X * sizeof(float));
}

/* One past the last position where any row of dhfin is nonzero: later
 * positions cannot influence the objective's gradient, so BPTT starts there
 * (a log-prob objective seeds only its own position). */
static int seeded_end(const struct lms_run *r)
{
	int end = 0, H = r->Cout;
	for (int b = 0; b < r->B; b++)
		for (int t = r->n - 1; t >= end; t--) {
			const float *d = r->dhfin + ((size_t)b * r->T + t) * H;
			int any = 0;
			for (int j = 0; j < H && !any; j++)
				any = d[j] != 0.0f;
			if (any) {
				end = t + 1;
				break;
			}
		}
	return end;
}

static void rnn_backward(struct lms_run *r, int flags)
{
	const struct lms_config *c = &r->m->cfg;
	struct rnn_acts *a = r->acts;
	const float *P = r->m->params;
	float *dP = r->m->grads;
	int B = a->B, T = a->T, H = c->H, GH = a->G * H;
	int params = (flags & LMS_GRAD_PARAMS) && dP;
	int n = seeded_end(r);
	if (n == 0)
		return;
	struct span sp[B];
	int ns = spans(B, T, 0, n, sp);
	const float *dtop = r->dhfin; /* (B, T, H) d objective / d the top layer's output */
	if (a->drop) {
		spans_dropout_backward(a->drop, c->L, a->dtop, r->dhfin, sp, ns, H);
		dtop = a->dtop;
	}
	for (int l = c->L - 1; l >= 0; l--) {
		struct layer_w w = layer_offsets(c, l);
		const float *dout = l == c->L - 1 ? dtop : a->dh; /* (B, T, H) */
		struct lms_cell_bwd s = {
			.B = B,
			.T = T,
			.H = H,
			.dcur = a->dcur,
			.gates = layer_gates(a, l),
			.hout = layer_out(r, l),
			.cst = layer_state(a, a->c, l),
			.tc = layer_state(a, a->tc, l),
			.hn = layer_state(a, a->hn, l),
			.dxg = a->dxg,
			.dhg = a->dhg,
			.drec = a->drec,
			.dcrec = a->dcrec,
		};
		memset(a->drec, 0, (size_t)B * H * sizeof(float));
		if (a->dcrec)
			memset(a->dcrec, 0, (size_t)B * H * sizeof(float));
		for (int t = n - 1; t >= 0; t--) {
			s.t = t;
			/* dcur = d / d h_t from above (dout) and from step t+1 (drec) */
			for (int b = 0; b < B; b++) {
				const float *d = dout + ((size_t)b * T + t) * H;
				add_rows(a->dcur + (size_t)b * H, d, a->drec + (size_t)b * H, H);
			}
			lms_iv_state_backward(r->iv, l, a->dcur, B, H);
			int live = flush_tiny(a->dcur, (size_t)B * H);
			if (a->dcrec)
				live |= flush_tiny(a->dcrec, (size_t)B * H);
			if (!live) {
				/* nothing flows into step t: its gradients are zero */
				zero_position(a->dxg, B, T, GH, t);
				if (a->dhg != a->dxg)
					zero_position(a->dhg, B, T, GH, t);
				memset(a->drec, 0, (size_t)B * H * sizeof(float));
				continue;
			}
			lms_cell_backward(c->arch, &s);
			for (int b = 0; b < B; b++) {
				flush_tiny(a->dxg + ((size_t)b * T + t) * GH, (size_t)GH);
				if (a->dhg != a->dxg)
					flush_tiny(a->dhg + ((size_t)b * T + t) * GH, (size_t)GH);
			}
			/* forward: hg = h_{t-1} @ W_hh^T + b_hh, so
			 * drec (B, H) (+)= dhg_t (B, G*H) @ W_hh (G*H, H) */
			if (t)
				rows_times_w(a->drec, H, a->dhg + (size_t)t * GH, T * GH, P + w.whh, B, H, GH,
				             c->arch == LMS_GRU ? 1.0f : 0.0f);
		}
		/* forward: xg = x @ W_ih^T + b_ih, hg = h_{t-1} @ W_hh^T + b_hh, with x
		 * the layer's input after dropout when there is dropout (recomputed
		 * from the same mask); its gradient then goes through the mask */
		const float *x = l ? layer_out(r, l - 1) : r->emb; /* (B, T, I) */
		float *dx = l ? a->dh : r->demb;                   /* (B, T, I) */
		float *dlin = dx;
		if (a->drop) {
			spans_dropout(a->drop, l, a->xin, x, sp, ns, w.nin);
			x = a->xin;
			dlin = a->dxin;
		}
		for (int i = 0; i < ns; i++) {
			size_t f = sp[i].first;
			int m = sp[i].count;
			/* demb was zeroed by lms_backward; dh holds the layer above's */
			if (l || dlin != dx)
				memset(dlin + f * w.nin, 0, (size_t)m * w.nin * sizeof(float));
			lms_linear_backward(dlin + f * w.nin, params ? dP + w.wih : NULL,
			                    params ? dP + w.bih : NULL, a->dxg + f * GH, x + f * w.nin,
			                    P + w.wih, m, w.nin, GH);
			if (params)
				lms_linear_backward(NULL, NULL, dP + w.bhh, a->dhg + f * GH, NULL, NULL, m, H, GH);
		}
		/* dx is the input's whole gradient: demb has no other term, dh's was cleared */
		if (a->drop)
			spans_dropout_backward(a->drop, l, dx, dlin, sp, ns, w.nin);
		/* dW_hh (G*H, H) += sum over t >= 1 of dhg_t^T h_{t-1}, row by row
		 * (h_{-1} = 0 contributes nothing) */
		if (params && n > 1)
			for (int b = 0; b < B; b++)
				lms_linear_backward(NULL, dP + w.whh, NULL, a->dhg + ((size_t)b * T + 1) * GH,
				                    s.hout + (size_t)b * T * H, P + w.whh, n - 1, H, GH);
	}
}

/* ---- explorer views -------------------------------------------------------- */

static const float *rnn_hidden(const struct lms_run *r, int l, int b, int *D)
{
	const struct rnn_acts *a = r->acts;
	if (l < 0 || l >= a->L || b < 0 || b >= a->B)
		return NULL;
	*D = a->H;
	return layer_out(r, l) + (size_t)b * a->T * a->H;
}

static const float *rnn_gates(const struct lms_run *r, int l, int b, int *G)
{
	const struct rnn_acts *a = r->acts;
	if (l < 0 || l >= a->L || b < 0 || b >= a->B)
		return NULL;
	*G = a->G;
	return layer_gates(a, l) + (size_t)b * a->T * a->G * a->H;
}

static const float *rnn_cell(const struct lms_run *r, int l, int b, int *H)
{
	const struct rnn_acts *a = r->acts;
	if (!a->c || l < 0 || l >= a->L || b < 0 || b >= a->B)
		return NULL;
	*H = a->H;
	return layer_state(a, a->c, l) + (size_t)b * a->T * a->H;
}

static int rnn_dropout_sites(const struct lms_config *c, int *width)
{
	*width = drop_width(c);
	return c->L + 1;
}

const struct lms_arch_ops lms_rnn_ops = {
	.tensors = rnn_tensors,
	.init = rnn_init,
	.acts_new = rnn_acts_new,
	.acts_free = rnn_acts_free,
	.forward = rnn_forward,
	.backward = rnn_backward,
	.attention = NULL,
	.hidden = rnn_hidden,
	.gates = rnn_gates,
	.cell = rnn_cell,
	.final_norm = NULL,
	.wout_offset = rnn_wout_offset,
	.bout_offset = rnn_bout_offset,
	.wte_offset = rnn_wte_offset,
	.dropout_sites = rnn_dropout_sites,
};
