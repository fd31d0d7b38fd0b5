/* Recurrent models (src/engine/arch/rnn.c): the tensor table, the forward against
 * an independent double-precision reference written from PyTorch's
 * documented equations, continuation from a saved state, and finite
 * difference checks of the backward. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lmscope/model.h"
#include "lmscope/rng.h"
#include "arch/arch.h"
#include "nn/dropout.h"
#include "nn/rnn_cell.h"
#include "testutil.h"

static const enum lms_arch archs[] = {LMS_RNN, LMS_LSTM, LMS_GRU};
#define N_ARCHS 3

static int gates_per_cell(enum lms_arch a)
{
	return a == LMS_LSTM ? 4 : a == LMS_GRU ? 3 : 1;
}

/* A model with every parameter N(0, scale^2): larger than the default
 * initialisation so that every gate is away from its linear regime. */
static struct lms_model *make_model_tied(enum lms_arch a, int V, int C, int H, int L, int tied,
                                         float scale, unsigned seed)
{
	struct lms_config c = {.arch = a, .V = V, .maxT = 16, .C = C, .H = H, .L = L, .tied = tied};
	struct lms_model *m;
	ck_assert_int_eq(lms_model_create(&c, seed, &m), LMS_OK);
	struct lms_rng g;
	lms_rng_seed(&g, seed + 1000);
	tu_fill_normal(m->params, m->n_params, scale, &g);
	return m;
}

static struct lms_model *make_model(enum lms_arch a, int V, int C, int H, int L, float scale,
                                    unsigned seed)
{
	return make_model_tied(a, V, C, H, L, 0, scale, seed);
}

static const float *tensor(const struct lms_model *m, const char *fmt, int k)
{
	char name[64];
	snprintf(name, sizeof name, fmt, k);
	const struct lms_tensor *t = lms_model_tensor(m, name);
	ck_assert_msg(t != NULL, "no tensor %s", name);
	return m->params + t->offset;
}

/* ---- the reference -------------------------------------------------------- */

static double sigmoid(double x)
{
	return 1.0 / (1.0 + exp(-x));
}

/* Row j of W (rows x cols) dotted with v. */
static double dot_row(const float *W, int cols, int j, const double *v)
{
	double s = 0.0;
	for (int k = 0; k < cols; k++)
		s += (double)W[(size_t)j * cols + k] * v[k];
	return s;
}

/* One sequence through the whole model, one scalar at a time, straight from
 * the equations in PyTorch's nn.RNN / nn.LSTM / nn.GRU documentation.
 * Outputs: hs (L, T, H), gates (L, T, G*H), cs (L, T, H) for LSTM,
 * logits (T, V). */
static void reference(const struct lms_model *m, const int *ids, int T, double *hs, double *gates,
                      double *cs, double *logits)
{
	const struct lms_config *cf = &m->cfg;
	int H = cf->H, L = cf->L, G = gates_per_cell(cf->arch);
	double x[64], h[64], c[64], ih[256], hh[256];
	const float *emb = tensor(m, "embedding.weight", 0);
	for (int l = 0; l < L; l++) {
		const float *Wih = tensor(m, "encoder.weight_ih_l%d", l);
		const float *Whh = tensor(m, "encoder.weight_hh_l%d", l);
		const float *bih = tensor(m, "encoder.bias_ih_l%d", l);
		const float *bhh = tensor(m, "encoder.bias_hh_l%d", l);
		int in = l ? H : cf->C;
		for (int j = 0; j < H; j++)
			h[j] = c[j] = 0.0;
		for (int t = 0; t < T; t++) {
			for (int k = 0; k < in; k++)
				x[k] = l ? hs[((size_t)(l - 1) * T + t) * H + k] : emb[(size_t)ids[t] * cf->C + k];
			for (int j = 0; j < G * H; j++) {
				ih[j] = dot_row(Wih, in, j, x) + bih[j];
				hh[j] = dot_row(Whh, H, j, h) + bhh[j];
			}
			double *gt = gates + ((size_t)l * T + t) * G * H;
			for (int j = 0; j < H; j++) {
				if (cf->arch == LMS_RNN) {
					gt[j] = tanh(ih[j] + hh[j]);
				} else if (cf->arch == LMS_LSTM) {
					double i = sigmoid(ih[j] + hh[j]);
					double f = sigmoid(ih[H + j] + hh[H + j]);
					double g = tanh(ih[2 * H + j] + hh[2 * H + j]);
					double o = sigmoid(ih[3 * H + j] + hh[3 * H + j]);
					gt[j] = i, gt[H + j] = f, gt[2 * H + j] = g, gt[3 * H + j] = o;
				} else {
					double r = sigmoid(ih[j] + hh[j]);
					double z = sigmoid(ih[H + j] + hh[H + j]);
					double n = tanh(ih[2 * H + j] + r * hh[2 * H + j]);
					gt[j] = r, gt[H + j] = z, gt[2 * H + j] = n;
				}
			}
			for (int j = 0; j < H; j++) {
				if (cf->arch == LMS_RNN) {
					h[j] = gt[j];
				} else if (cf->arch == LMS_LSTM) {
					c[j] = gt[H + j] * c[j] + gt[j] * gt[2 * H + j];
					h[j] = gt[3 * H + j] * tanh(c[j]);
					cs[((size_t)l * T + t) * H + j] = c[j];
				} else {
					h[j] = (1.0 - gt[H + j]) * gt[2 * H + j] + gt[H + j] * h[j];
				}
				hs[((size_t)l * T + t) * H + j] = h[j];
			}
		}
	}
	const float *Wo = tensor(m, "output.weight", 0), *bo = tensor(m, "output.bias", 0);
	for (int t = 0; t < T; t++)
		for (int v = 0; v < cf->V; v++)
			logits[(size_t)t * cf->V + v] =
				dot_row(Wo, H, v, hs + ((size_t)(L - 1) * T + t) * H) + bo[v];
}

static double max_err(const float *got, const double *want, size_t n)
{
	double worst = 0.0;
	for (size_t i = 0; i < n; i++) {
		double e = fabs(got[i] - want[i]) / fmax(1.0, fabs(want[i]));
		if (e > worst)
			worst = e;
	}
	return worst;
}

/* ---- tests ------------------------------------------------------------------ */

START_TEST(test_tensors)
{
	/* the parameter count of PyTorch's modules, written out */
	for (int a = 0; a < N_ARCHS; a++) {
		int V = 7, C = 5, H = 6, L = 3, GH = gates_per_cell(archs[a]) * H;
		struct lms_config c = {.arch = archs[a], .V = V, .maxT = 16, .C = C, .H = H, .L = L};
		size_t want = (size_t)V * C + (size_t)GH * (C + H + 2) +
		              (size_t)(L - 1) * GH * (2 * H + 2) + (size_t)V * H + V;
		ck_assert_uint_eq(lms_config_n_params(&c), want);
		struct lms_model *m;
		ck_assert_int_eq(lms_model_create(&c, 1, &m), LMS_OK);
		ck_assert_int_eq(m->n_tensors, 1 + 4 * L + 2);
		const struct lms_tensor *t = lms_model_tensor(m, "encoder.weight_ih_l1");
		ck_assert_ptr_nonnull(t);
		ck_assert_int_eq(t->ndim, 2);
		ck_assert_int_eq(t->shape[0], GH);
		ck_assert_int_eq(t->shape[1], H);
		t = lms_model_tensor(m, "encoder.weight_ih_l0");
		ck_assert_int_eq(t->shape[1], C);
		t = lms_model_tensor(m, "encoder.bias_hh_l2");
		ck_assert_int_eq(t->ndim, 1);
		ck_assert_int_eq(t->shape[0], GH);
		t = lms_model_tensor(m, "output.weight");
		ck_assert_int_eq(t->shape[0], V);
		ck_assert_int_eq(t->shape[1], H);
		ck_assert_uint_eq(lms_model_tensor(m, "output.bias")->offset + V, m->n_params);
		/* PyTorch's default bound for the recurrent weights, zero output bias */
		const float *w = m->params + lms_model_tensor(m, "encoder.weight_hh_l1")->offset;
		float bound = 1.0f / sqrtf((float)H), most = 0.0f;
		for (int i = 0; i < GH * H; i++)
			most = fmaxf(most, fabsf(w[i]));
		ck_assert(most <= bound && most > 0.5f * bound);
		ck_assert_float_eq(m->params[lms_model_tensor(m, "output.bias")->offset], 0.0f);
		lms_model_free(m);
	}
}
END_TEST

/* The vectorised nonlinearities against libm in double precision, over
 * [-100, 100] densely near 0 and at odd lengths (the padded tail). */
START_TEST(test_nonlinearities)
{
	enum { N = 20003 };
	static float x[N], ys[N], yt[N];
	for (int i = 0; i < N; i++) {
		double u = (i - N / 2) / (double)(N / 2); /* [-1, 1] */
		x[i] = (float)(100.0 * u * u * u);
	}
	x[0] = 1e-30f, x[1] = -1e-6f, x[2] = 0.625f, x[3] = -0.62499994f;
	for (int n = 1; n <= N; n += n < 20 ? 1 : 997) {
		lms_vsigmoid(ys, x, n);
		lms_vtanh(yt, x, n);
	}
	lms_vsigmoid(ys, x, N);
	lms_vtanh(yt, x, N);
	double es = 0.0, et = 0.0;
	for (int i = 0; i < N; i++) {
		double s = 1.0 / (1.0 + exp(-(double)x[i])), t = tanh((double)x[i]);
		/* relative, except where the value underflows float range */
		es = fmax(es, fabs(ys[i] - s) / fmax(s, 1e-30));
		et = fmax(et, fabs(yt[i] - t) / fmax(fabs(t), 1e-30));
	}
	ck_assert_msg(es < 1e-6 && et < 1e-6, "sigmoid %g tanh %g relative error", es, et);
	/* in place, and the saturated ends */
	float v[5] = {-200.0f, -20.0f, 0.0f, 20.0f, 200.0f};
	lms_vtanh(v, v, 5);
	ck_assert(v[0] == -1.0f && v[1] == -1.0f && v[2] == 0.0f && v[3] == 1.0f && v[4] == 1.0f);
	float w[3] = {-200.0f, 0.0f, 200.0f};
	lms_vsigmoid(w, w, 3);
	ck_assert(w[0] >= 0.0f && w[0] < 1e-30f && w[1] == 0.5f && w[2] == 1.0f);
}
END_TEST

/* One layer, two positions, every parameter set by hand: h, c (the LSTM's,
 * through lms_run_cell) and the gates after one and two steps against the
 * cell equations evaluated here. */
START_TEST(test_cell_by_hand)
{
	for (int a = 0; a < N_ARCHS; a++) {
		enum lms_arch arch = archs[a];
		int V = 3, C = 2, H = 2, G = gates_per_cell(arch), GH = G * H;
		struct lms_config c = {.arch = arch, .V = V, .maxT = 4, .C = C, .H = H, .L = 1};
		struct lms_model *m;
		ck_assert_int_eq(lms_model_create(&c, 1, &m), LMS_OK);
		/* parameter p gets the value 0.1 * ((p * 7) % 11 - 5): a fixed pattern
		 * of positive and negative numbers */
		for (size_t p = 0; p < m->n_params; p++)
			m->params[p] = 0.1f * (float)((long)(p * 7 % 11) - 5);
		const float *E = tensor(m, "embedding.weight", 0);
		const float *Wi = tensor(m, "encoder.weight_ih_l%d", 0);
		const float *Wh = tensor(m, "encoder.weight_hh_l%d", 0);
		const float *bi = tensor(m, "encoder.bias_ih_l%d", 0);
		const float *bh = tensor(m, "encoder.bias_hh_l%d", 0);
		int ids[2] = {2, 1};
		struct lms_run *r;
		ck_assert_int_eq(lms_run_new(m, 1, 2, &r), LMS_OK);
		ck_assert_int_eq(lms_embed(r, ids, 2), LMS_OK);
		lms_forward(r, 0, 2);
		int D, Gs;
		const float *hv = lms_run_hidden(r, 0, 0, &D), *gv = lms_run_gates(r, 0, 0, &Gs);
		ck_assert_int_eq(D, H);
		ck_assert_int_eq(Gs, G);
		/* the LSTM's cell states, which only it has; nothing past the layers */
		int Hs = 0;
		const float *cv = lms_run_cell(r, 0, 0, &Hs);
		ck_assert(arch == LMS_LSTM ? cv && Hs == H : !cv);
		ck_assert_ptr_null(lms_run_cell(r, 1, 0, &Hs));
		ck_assert_ptr_null(lms_run_cell(r, 0, 1, &Hs));
		double h[2] = {0, 0}, cell[2] = {0, 0};
		for (int t = 0; t < 2; t++) {
			const float *x = E + ids[t] * C;
			/* a_q = W_i[q] . x + b_i[q], u_q = W_h[q] . h + b_h[q] for gate row q */
			double A[8], U[8];
			for (int q = 0; q < GH; q++) {
				A[q] = Wi[q * C] * x[0] + Wi[q * C + 1] * x[1] + bi[q];
				U[q] = Wh[q * H] * h[0] + Wh[q * H + 1] * h[1] + bh[q];
			}
			double gate[8], hn[2];
			for (int j = 0; j < H; j++) {
				if (arch == LMS_RNN) {
					gate[j] = tanh(A[j] + U[j]);
					hn[j] = gate[j];
				} else if (arch == LMS_LSTM) {
					double i = 1 / (1 + exp(-(A[j] + U[j])));
					double f = 1 / (1 + exp(-(A[2 + j] + U[2 + j])));
					double g = tanh(A[4 + j] + U[4 + j]);
					double o = 1 / (1 + exp(-(A[6 + j] + U[6 + j])));
					gate[j] = i, gate[2 + j] = f, gate[4 + j] = g, gate[6 + j] = o;
					cell[j] = f * cell[j] + i * g;
					hn[j] = o * tanh(cell[j]);
				} else {
					double rg = 1 / (1 + exp(-(A[j] + U[j])));
					double z = 1 / (1 + exp(-(A[2 + j] + U[2 + j])));
					double n = tanh(A[4 + j] + rg * U[4 + j]);
					gate[j] = rg, gate[2 + j] = z, gate[4 + j] = n;
					hn[j] = (1 - z) * n + z * h[j];
				}
			}
			for (int j = 0; j < H; j++)
				h[j] = hn[j];
			for (int q = 0; q < GH; q++)
				ck_assert_msg(fabs(gv[t * GH + q] - gate[q]) < 1e-6, "%s gate %d at %d: %g vs %g",
				              lms_arch_name(arch), q, t, gv[t * GH + q], gate[q]);
			for (int j = 0; j < H; j++)
				ck_assert_msg(fabs(hv[t * H + j] - h[j]) < 1e-6, "%s h%d at %d: %g vs %g",
				              lms_arch_name(arch), j, t, hv[t * H + j], h[j]);
			for (int j = 0; cv && j < H; j++)
				ck_assert_msg(fabs(cv[t * H + j] - cell[j]) < 1e-6, "c%d at %d: %g vs %g", j, t,
				              cv[t * H + j], cell[j]);
		}
		lms_run_free(r);
		lms_model_free(m);
	}
}
END_TEST

/* Two layers, a batch of two rows of different lengths' worth of run
 * capacity: hidden states, gates and logits against the reference. */
START_TEST(test_forward_reference)
{
	for (int a = 0; a < N_ARCHS; a++) {
		enum lms_arch arch = archs[a];
		int V = 7, C = 5, H = 6, L = 2, T = 5, B = 2, Tcap = 7, G = gates_per_cell(arch);
		struct lms_model *m = make_model(arch, V, C, H, L, 0.5f, 11 + a);
		int ids[10] = {3, 1, 4, 1, 5, 6, 2, 0, 2, 3};
		struct lms_run *r;
		ck_assert_int_eq(lms_run_new(m, B, Tcap, &r), LMS_OK);
		ck_assert_int_eq(lms_embed(r, ids, T), LMS_OK);
		lms_forward(r, 0, T);
		double hs[2 * 5 * 6], gates[2 * 5 * 24], cs[2 * 5 * 6], logits[5 * 7];
		for (int b = 0; b < B; b++) {
			reference(m, ids + b * T, T, hs, gates, cs, logits);
			lms_logits(r, b, 0, T);
			for (int l = 0; l < L; l++) {
				int D, Gs;
				const float *h = lms_run_hidden(r, l, b, &D), *g = lms_run_gates(r, l, b, &Gs);
				ck_assert_int_eq(D, H);
				ck_assert_int_eq(Gs, G);
				double eh = max_err(h, hs + (size_t)l * T * H, (size_t)T * H);
				double eg = max_err(g, gates + (size_t)l * T * G * H, (size_t)T * G * H);
				ck_assert_msg(eh < 1e-5 && eg < 1e-5, "%s layer %d row %d: h %g gates %g",
				              lms_arch_name(arch), l, b, eh, eg);
			}
			double el = max_err(r->logits + (size_t)b * Tcap * V, logits, (size_t)T * V);
			ck_assert_msg(el < 1e-5, "%s row %d logits %g", lms_arch_name(arch), b, el);
			double eo = max_err(r->hfin + (size_t)b * Tcap * H, hs + (size_t)(L - 1) * T * H,
			                    (size_t)T * H);
			ck_assert_msg(eo < 1e-5, "%s row %d hfin %g", lms_arch_name(arch), b, eo);
		}
		lms_run_free(r);
		lms_model_free(m);
	}
}
END_TEST

/* A forward continued from a saved state (from > 0), in one or several
 * pieces, equals a full forward: hidden states, gates, and the input
 * gradient of a log-prob taken afterwards. */
START_TEST(test_continuation)
{
	for (int a = 0; a < N_ARCHS; a++) {
		enum lms_arch arch = archs[a];
		int V = 7, C = 5, H = 6, L = 2, T = 8, G = gates_per_cell(arch);
		struct lms_model *m = make_model(arch, V, C, H, L, 0.5f, 21 + a);
		int ids[8] = {3, 1, 4, 1, 5, 6, 2, 0}, other[8] = {0, 0, 6, 6, 2, 2, 1, 1};
		struct lms_run *full, *part;
		ck_assert_int_eq(lms_run_new(m, 1, T, &full), LMS_OK);
		ck_assert_int_eq(lms_run_new(m, 1, T, &part), LMS_OK);
		lms_embed(full, ids, T);
		lms_forward(full, 0, T);
		lms_objective_logprob(full, 0, T - 1, 2, -1, LMS_GRAD_INPUT);
		lms_backward(full, LMS_GRAD_INPUT);
		/* stale positions past the prefix must not matter */
		lms_embed(part, other, T);
		lms_forward(part, 0, T);
		lms_embed(part, ids, 3);
		lms_forward(part, 0, 3);
		lms_embed(part, ids, 5);
		lms_forward(part, 3, 5);
		lms_embed(part, ids, 6);
		lms_forward(part, 5, 6);
		lms_embed(part, ids, T);
		lms_forward(part, 6, T);
		lms_objective_logprob(part, 0, T - 1, 2, -1, LMS_GRAD_INPUT);
		lms_backward(part, LMS_GRAD_INPUT);
		for (int l = 0; l < L; l++) {
			int D, Gs;
			double eh = tu_max_rel_err(lms_run_hidden(full, l, 0, &D),
			                           lms_run_hidden(part, l, 0, &D), (size_t)T * H, 1e-3);
			double eg = tu_max_rel_err(lms_run_gates(full, l, 0, &Gs),
			                           lms_run_gates(part, l, 0, &Gs), (size_t)T * G * H, 1e-3);
			ck_assert_msg(eh < 1e-5 && eg < 1e-5, "%s layer %d: h %g gates %g", lms_arch_name(arch),
			              l, eh, eg);
		}
		double ed = tu_max_rel_err(full->demb, part->demb, (size_t)T * C, 1e-3);
		ck_assert_msg(ed < 1e-5, "%s demb after continuation %g", lms_arch_name(arch), ed);
		lms_run_free(full);
		lms_run_free(part);
		lms_model_free(m);
	}
}
END_TEST

/* Float32 central differences: rounding and truncation leave ~1e-3 relative
 * noise that depends on the BLAS kernel; wrong gradients are off by O(1). */
#define GC_TOL 2e-2

/* Central differences of the mean cross-entropy over a batch of two rows,
 * in every tensor and in the input embeddings. */
START_TEST(test_gradcheck_xent)
{
	for (int a = 0; a < N_ARCHS; a++) {
		struct lms_model *m = make_model(archs[a], 7, 5, 6, 2, 0.5f, 31 + a);
		double e = tu_gradcheck_xent(m, 2, 5, 120, 5 + a, 1e-2, 2e-5);
		ck_assert_msg(e < GC_TOL, "%s: worst relative error %g", lms_arch_name(archs[a]), e);
		lms_model_free(m);
	}
}
END_TEST

/* The explorer's objectives: log p(target) and log p(a) - log p(b) at the
 * last position, by input embedding. */
START_TEST(test_gradcheck_logprob)
{
	for (int a = 0; a < N_ARCHS; a++) {
		struct lms_model *m = make_model(archs[a], 7, 5, 6, 2, 0.5f, 41 + a);
		double e1 = tu_gradcheck_logprob(m, 5, 3, -1, 7 + a, 1e-2, 2e-5);
		double e2 = tu_gradcheck_logprob(m, 5, 3, 6, 9 + a, 1e-2, 2e-5);
		ck_assert_msg(e1 < GC_TOL && e2 < GC_TOL, "%s: logprob %g contrastive %g",
		              lms_arch_name(archs[a]), e1, e2);
		lms_model_free(m);
	}
}
END_TEST

/* The output layer tied to the embedding (C = H): one tensor fewer, the
 * embedding is the unembedding, and its gradient sums both uses (central
 * differences move both at once). An untied width is refused. */
START_TEST(test_tied)
{
	for (int a = 0; a < N_ARCHS; a++) {
		struct lms_model *m = make_model_tied(archs[a], 7, 6, 6, 2, 1, 0.5f, 81 + a);
		struct lms_model *u = make_model(archs[a], 7, 6, 6, 2, 0.5f, 81 + a);
		ck_assert_ptr_null(lms_model_tensor(m, "output.weight"));
		ck_assert_ptr_nonnull(lms_model_tensor(m, "output.bias"));
		ck_assert_uint_eq(m->n_params + 7 * 6, u->n_params);
		double e = tu_gradcheck_xent(m, 2, 5, 120, 25 + a, 1e-2, 2e-5);
		ck_assert_msg(e < GC_TOL, "%s: worst relative error %g", lms_arch_name(archs[a]), e);
		lms_model_free(u);
		lms_model_free(m);
	}
	struct lms_config c = {.arch = LMS_LSTM, .V = 7, .maxT = 16, .C = 5, .H = 6, .L = 1, .tied = 1};
	struct lms_model *m = NULL;
	ck_assert_int_ne(lms_model_create(&c, 1, &m), LMS_OK);
	ck_assert_ptr_null(m);
}
END_TEST

/* Training dropout between layers (arch/rnn.c: each layer's input and the
 * top layer's output) with fixed masks, with an embedding narrower than the
 * state so the sites differ in width: the gradients match central
 * differences, and every site's mask changes the loss. */
START_TEST(test_gradcheck_dropout)
{
	for (int a = 0; a < N_ARCHS; a++) {
		struct lms_model *m = make_model(archs[a], 7, 5, 6, 2, 0.5f, 51 + a);
		int B = 2, T = 5, width, sites = lms_rnn_ops.dropout_sites(&m->cfg, &width);
		ck_assert_int_eq(sites, m->cfg.L + 1);
		ck_assert_int_eq(width, 6);
		struct lms_dropout d;
		tu_dropout_drawn(&d, 0.3f, sites, (size_t)B * T * width, 61 + a);
		double e = tu_gradcheck_xent_drop(m, B, T, 120, 15 + a, 1e-2, 2e-5, &d);
		ck_assert_msg(e < GC_TOL, "%s: worst relative error %g", lms_arch_name(archs[a]), e);
		tu_dropout_sites_matter(m, B, T, &d);
		lms_dropout_free(&d);
		lms_model_free(m);
	}
}
END_TEST

/* Dropout at p = 0 is bitwise no dropout, state wider than the embedding
 * and narrower. */
START_TEST(test_dropout_zero_bitwise)
{
	for (int a = 0; a < N_ARCHS; a++)
		for (int wide = 0; wide < 2; wide++) {
			struct lms_model *m = make_model(archs[a], 7, wide ? 5 : 8, 6, 2, 0.5f, 71 + a);
			tu_dropout_zero_bitwise(m, &lms_rnn_ops, 2, 5);
			lms_model_free(m);
		}
}
END_TEST

/* Gradients of a batch whose rows use only part of the run's capacity (row
 * stride T > n: the products run row by row) equal those of a run of exactly
 * n positions (the products run over the whole batch at once, the case the
 * finite-difference checks cover). */
START_TEST(test_batch_stride)
{
	for (int a = 0; a < N_ARCHS; a++) {
		int B = 3, n = 4, C = 5;
		struct lms_model *m = make_model(archs[a], 7, C, 6, 2, 0.5f, 61 + a);
		ck_assert_int_eq(lms_model_grads(m), LMS_OK);
		int ids[12] = {1, 2, 3, 4, 6, 5, 4, 3, 0, 0, 1, 1};
		int tg[12] = {2, 3, 4, 5, 5, 4, 3, 2, 0, 1, 1, -1};
		float *want = malloc(m->n_params * sizeof(float)), demb[3 * 4 * 5];
		for (int pass = 0; pass < 2; pass++) {
			int cap = pass ? n + 3 : n;
			struct lms_run *r;
			ck_assert_int_eq(lms_run_new(m, B, cap, &r), LMS_OK);
			lms_model_zero_grads(m);
			lms_embed(r, ids, n);
			lms_forward(r, 0, n);
			lms_objective_xent(r, tg, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
			lms_backward(r, LMS_GRAD_PARAMS | LMS_GRAD_INPUT);
			for (int b = 0; b < B; b++)
				for (int i = 0; i < n * C; i++) {
					float d = r->demb[(size_t)b * cap * C + i];
					if (!pass)
						demb[b * n * C + i] = d;
					else
						ck_assert_msg(fabsf(d - demb[b * n * C + i]) <= 1e-6f * (1 + fabsf(d)),
						              "%s demb row %d entry %d: %g vs %g", lms_arch_name(archs[a]),
						              b, i, d, demb[b * n * C + i]);
				}
			if (!pass)
				memcpy(want, m->grads, m->n_params * sizeof(float));
			else {
				double e = tu_max_rel_err(m->grads, want, m->n_params, 1e-3);
				ck_assert_msg(e < 1e-5, "%s parameter gradients differ by %g",
				              lms_arch_name(archs[a]), e);
			}
			lms_run_free(r);
		}
		free(want);
		lms_model_free(m);
	}
}
END_TEST

/* A model that forgets quickly: small recurrent weights, and the gate that
 * carries the old state (LSTM forget, GRU update; block 1 of both) mostly
 * shut. Gradients then decay by orders of magnitude per step. */
static void make_forgetful(struct lms_model *m)
{
	int H = m->cfg.H;
	for (int l = 0; l < m->cfg.L; l++) {
		char name[64];
		snprintf(name, sizeof name, "encoder.weight_hh_l%d", l);
		const struct lms_tensor *t = lms_model_tensor(m, name);
		for (size_t i = 0; i < t->numel; i++)
			m->params[t->offset + i] *= 0.1f;
		snprintf(name, sizeof name, "encoder.bias_hh_l%d", l);
		t = lms_model_tensor(m, name);
		if (m->cfg.arch != LMS_RNN)
			for (int j = H; j < 2 * H; j++)
				m->params[t->offset + j] -= 3.0f;
	}
}

/* A context long enough for the gradient of early positions to vanish below
 * float range (the backward flushes such values to zero and skips the steps
 * they would flow through): what remains agrees with central differences,
 * and nothing is NaN. */
START_TEST(test_long_context)
{
	for (int a = 0; a < N_ARCHS; a++) {
		int T = 120, C = 5;
		struct lms_model *m = make_model(archs[a], 7, C, 6, 2, 0.5f, 51 + a);
		make_forgetful(m);
		double e = tu_gradcheck_logprob(m, T, 4, -1, 13 + a, 1e-2, 2e-5);
		ck_assert_msg(e < GC_TOL, "%s: worst relative error %g", lms_arch_name(archs[a]), e);
		int ids[120];
		for (int t = 0; t < T; t++)
			ids[t] = (t * 5 + 3) % 7;
		struct lms_run *r;
		ck_assert_int_eq(lms_run_new(m, 1, T, &r), LMS_OK);
		lms_embed(r, ids, T);
		lms_forward(r, 0, T);
		lms_objective_logprob(r, 0, T - 1, 4, -1, LMS_GRAD_INPUT);
		lms_backward(r, LMS_GRAD_INPUT);
		for (int i = 0; i < T * C; i++)
			ck_assert(isfinite(r->demb[i]));
		ck_assert(r->demb[(size_t)(T - 1) * C] != 0.0f);
		ck_assert_msg(r->demb[0] == 0.0f, "%s: gradient at position 0 is %g",
		              lms_arch_name(archs[a]), r->demb[0]);
		lms_run_free(r);
		lms_model_free(m);
	}
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"tensors", test_tensors},
		{"nonlinearities", test_nonlinearities},
		{"cell_by_hand", test_cell_by_hand},
		{"forward_reference", test_forward_reference},
		{"continuation", test_continuation},
		{"gradcheck_xent", test_gradcheck_xent},
		{"gradcheck_logprob", test_gradcheck_logprob},
		{"tied", test_tied},
		{"gradcheck_dropout", test_gradcheck_dropout},
		{"dropout_zero_bitwise", test_dropout_zero_bitwise},
		{"batch_stride", test_batch_stride},
		{"long_context", test_long_context},
	};
	return TU_SUITE("rnn", cases, 0);
}
