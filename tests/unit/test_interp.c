/* Causal interventions (lmscope/interp.h): the DLA terms sum to the logit
 * (difference); the ablation spec; ablations and patches that must give
 * known results (every unit of an RNN's top layer ablated leaves only the
 * output bias; patching the one position where clean and corrupt differ
 * at layer 0, or the last state, restores everything); the sweep's shared
 * work equals patched forwards from scratch, and so does the batched
 * sweep, a layer's sites as the rows of one run; the neuron pass against a
 * direct sum and its cache file; two models' divergence against itself
 * (zeros), against their logits and attention read directly, and refused
 * for other sizes. PyTorch checks the numbers themselves
 * (tests/torch/interp_crosscheck.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "arch/arch.h"
#include "interp/patch_batch.h"
#include "lmscope/divergence.h"
#include "lmscope/interp.h"
#include "testutil.h"

/* A tiny model of arch with every parameter random (biases and norm gains
 * included, so every DLA term is non-trivial). */
static struct lms_model *random_model(enum lms_arch arch, unsigned seed)
{
	struct lms_config c = {
		.arch = arch,
		.V = 13,
		.maxT = 9,
		.C = 16,
		.H = 24,
		.L = 2,
		.NH = 4,
		.KV = 2,
		.eps = 1e-5f,
		.rope_theta = 10000.0f,
	};
	if (arch == LMS_GPT2)
		c.KV = 4;
	if (lms_arch_is_recurrent(arch)) {
		c.NH = c.KV = 0;
		c.H = 12;
	}
	struct lms_model *m;
	ck_assert_int_eq(lms_model_create(&c, seed, &m), LMS_OK);
	struct lms_rng g;
	lms_rng_seed(&g, seed + 7);
	for (int i = 0; i < m->n_tensors; i++) {
		const struct lms_tensor *t = &m->tensors[i];
		float *p = m->params + t->offset;
		for (size_t j = 0; j < t->numel; j++)
			p[j] = t->ndim == 1 ? 1.0f + 0.3f * lms_rng_normal(&g) : 0.4f * lms_rng_normal(&g);
	}
	return m;
}

static struct lms_run *forwarded(const struct lms_model *m, const int *ids, int n,
                                 const struct lms_intervention *iv)
{
	struct lms_run *r;
	ck_assert_int_eq(lms_run_new(m, 1, n, &r), LMS_OK);
	lms_run_intervene(r, iv);
	ck_assert_int_eq(lms_embed(r, ids, n), LMS_OK);
	lms_forward(r, 0, n);
	return r;
}

static const int IDS[] = {3, 7, 1, 9, 4, 7, 2, 12};
#define N_IDS 8

/* ---- DLA ------------------------------------------------------------------- */

static void dla_sums(enum lms_arch arch)
{
	struct lms_model *m = random_model(arch, 5);
	struct lms_run *r = forwarded(m, IDS, N_IDS, NULL);
	int contrasts[] = {-1, 4};
	for (int k = 0; k < 2; k++)
		for (int pos = 0; pos < N_IDS; pos += 3) {
			struct lms_dla d;
			ck_assert_int_eq(lms_dla_compute(r, pos, 6, contrasts[k], &d), LMS_OK);
			double total = d.embed + d.final_bias;
			for (int l = 0; l < d.L; l++) {
				total += d.attn_bias[l] + d.mlp[l];
				for (int h = 0; h < d.NH; h++)
					total += d.heads[l * d.NH + h];
			}
			ck_assert_double_eq_tol(total, d.sum, 1e-9 * (1 + fabs(total)));
			ck_assert_msg(fabs(d.sum - d.logit) <= 1e-4 * fmax(1.0, fabs(d.logit)),
			              "%s pos %d contrast %d: DLA sum %.8f, logit %.8f", lms_arch_name(arch),
			              pos, contrasts[k], d.sum, d.logit);
			ck_assert(fabs(d.logit) > 1e-3); /* not trivially zero */
			lms_dla_free(&d);
		}
	lms_run_free(r);
	lms_model_free(m);
}

START_TEST(test_dla_sum_gpt2)
{
	dla_sums(LMS_GPT2);
}
END_TEST

START_TEST(test_dla_sum_llama)
{
	dla_sums(LMS_LLAMA);
}
END_TEST

START_TEST(test_dla_recurrent)
{
	struct lms_model *m = random_model(LMS_LSTM, 3);
	struct lms_run *r = forwarded(m, IDS, N_IDS, NULL);
	struct lms_dla d;
	ck_assert_int_eq(lms_dla_compute(r, N_IDS - 1, 1, -1, &d), LMS_EUNSUPPORTED);
	lms_run_free(r);
	lms_model_free(m);
}
END_TEST

/* ---- the ablation spec ---------------------------------------------------------- */

START_TEST(test_parse)
{
	struct lms_model *m = random_model(LMS_GPT2, 1);
	struct lms_intervention *iv;
	ck_assert_int_eq(lms_intervention_new(m, &iv), LMS_OK);
	ck_assert_int_eq(lms_intervention_parse(iv, "0.1,1.3,1.mlp,0.1"), LMS_OK);
	ck_assert_int_eq(iv->n_ablated, 3);
	ck_assert(iv->heads[1] && iv->heads[4 + 3] && iv->mlp[1] && !iv->mlp[0]);
	const char *bad[] = {"",
	                     "2.0",
	                     "0.4",
	                     "0",
	                     "0.",
	                     ".1",
	                     "a.b",
	                     "0.1,",
	                     "0.1,,1.1",
	                     "0.-1",
	                     "0.1x",
	                     "1.mlpx",
	                     "99999999999999999999.0"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(lms_intervention_parse(iv, bad[i]) == LMS_EARG, "accepted '%s'", bad[i]);
	enum lms_ablate_mode mode;
	ck_assert(lms_ablate_mode_from_name("mean", &mode) && mode == LMS_ABLATE_MEAN);
	ck_assert(!lms_ablate_mode_from_name("half", &mode));
	lms_intervention_free(iv);
	lms_model_free(m);
}
END_TEST

/* ---- known results ------------------------------------------------------------------ */

/* Every unit of an RNN's top layer ablated: the output is the bias alone. */
START_TEST(test_rnn_units)
{
	struct lms_model *m = random_model(LMS_GRU, 2);
	struct lms_intervention *iv;
	ck_assert_int_eq(lms_intervention_new(m, &iv), LMS_OK);
	for (int u = 0; u < m->cfg.H; u++)
		iv->heads[(size_t)(m->cfg.L - 1) * m->cfg.H + u] = 1;
	iv->n_ablated = m->cfg.H;
	struct lms_run *r = forwarded(m, IDS, N_IDS, iv);
	lms_logits(r, 0, N_IDS - 1, N_IDS);
	const struct lms_tensor *b = lms_model_tensor(m, "output.bias");
	ck_assert_ptr_nonnull(b);
	for (int k = 0; k < m->cfg.V; k++)
		ck_assert_float_eq_tol(r->logits[(size_t)(N_IDS - 1) * m->cfg.V + k],
		                       m->params[b->offset + k], 1e-6);
	lms_run_free(r);
	lms_intervention_free(iv);
	lms_model_free(m);
}
END_TEST

/* Clean and corrupt differ at position 2 only: patching the layer-0
 * input there restores all (score 1), anywhere else nothing (0); the
 * recurrent top state at the last position restores all. */
static void one_difference(enum lms_arch arch)
{
	struct lms_model *m = random_model(arch, 9);
	int clean[N_IDS], corrupt[N_IDS];
	memcpy(clean, IDS, sizeof clean);
	memcpy(corrupt, IDS, sizeof corrupt);
	corrupt[2] = 11;
	struct lms_patch_result p;
	ck_assert_int_eq(lms_patch_sweep(m, clean, corrupt, N_IDS, -1, -1, &p), LMS_OK);
	ck_assert(fabs(p.ld_clean - p.ld_corrupt) > 1e-3);
	if (lms_arch_is_recurrent(arch)) {
		/* (later states carry position 2 on, partly; an LSTM's cell state is
		 * not patched, so its layer 0 at 2 does not restore all) */
		for (int t = 0; t <= 2; t++)
			if (t != 2 || arch != LMS_LSTM)
				ck_assert_double_eq_tol(p.hidden[t], t == 2 ? 1.0 : 0.0, 1e-4);
		ck_assert_double_eq_tol(p.hidden[(size_t)(p.L - 1) * N_IDS + N_IDS - 1], 1.0, 1e-4);
	} else {
		for (int t = 0; t < N_IDS; t++)
			ck_assert_double_eq_tol(p.resid_pre[t], t == 2 ? 1.0 : 0.0, 1e-4);
		/* before position 2 nothing differs: no patch there changes anything */
		for (int l = 0; l < p.L; l++)
			for (int t = 0; t < 2; t++) {
				ck_assert_double_eq_tol(p.attn_out[l * N_IDS + t], 0.0, 1e-4);
				ck_assert_double_eq_tol(p.mlp_out[l * N_IDS + t], 0.0, 1e-4);
			}
	}
	lms_patch_result_free(&p);
	lms_model_free(m);
}

START_TEST(test_patch_one_difference_gpt2)
{
	one_difference(LMS_GPT2);
}
END_TEST

START_TEST(test_patch_one_difference_llama)
{
	one_difference(LMS_LLAMA);
}
END_TEST

START_TEST(test_patch_one_difference_lstm)
{
	one_difference(LMS_LSTM);
}
END_TEST

START_TEST(test_patch_one_difference_gru)
{
	one_difference(LMS_GRU);
}
END_TEST

/* The sweep's scores equal patched runs computed from scratch, site by
 * site, each a fresh corrupt run (nothing shared) with its source taken
 * from a fresh clean run. */
static double scratch_score(const struct lms_model *m, const int *corrupt, int n,
                            struct lms_intervention *iv, const struct lms_patch_result *p)
{
	struct lms_run *x = forwarded(m, corrupt, n, iv);
	double ld = lms_logit_diff(x, p->target, p->contrast);
	lms_run_free(x);
	return (ld - p->ld_corrupt) / (p->ld_clean - p->ld_corrupt);
}

/* The sweep done one site at a time: every site's score from a fresh
 * patched forward (scratch_score), its source from a fresh clean run;
 * want (3, L, n) for resid_pre, attn_out and mlp_out, want_h (L, NH). */
static void one_site_sweep(const struct lms_model *m, const int *clean, const int *corrupt, int n,
                           const struct lms_patch_result *p, double *want, double *want_h)
{
	int C = m->cfg.C, L = m->cfg.L, NH = m->cfg.NH;
	struct lms_run *rc = forwarded(m, clean, n, NULL);
	struct lms_intervention *iv;
	ck_assert_int_eq(lms_intervention_new(m, &iv), LMS_OK);
	float *mlp = malloc((size_t)n * C * sizeof(float));
	for (int l = 0; l < L; l++) {
		struct lms_block_acts b;
		lms_arch_ops(m->cfg.arch)->block(rc, l, 0, &b);
		for (int i = 0; i < n * C; i++)
			mlp[i] = b.resid_post[i] - b.resid_mid[i];
		struct {
			enum lms_patch_site site;
			const float *src;
		} k[] = {
			{LMS_PATCH_RESID_PRE, b.resid_pre},
			{LMS_PATCH_ATTN_OUT, b.heads},
			{LMS_PATCH_MLP_OUT, mlp},
		};
		for (int i = 0; i < 3; i++)
			for (int t = 0; t < n; t++) {
				lms_intervention_clear(iv);
				iv->site = k[i].site;
				iv->layer = l;
				iv->pos = t;
				iv->src = k[i].src;
				want[((size_t)i * L + l) * n + t] = scratch_score(m, corrupt, n, iv, p);
			}
		for (int h = 0; h < NH; h++) {
			lms_intervention_clear(iv);
			iv->site = LMS_PATCH_HEAD;
			iv->layer = l;
			iv->head = h;
			iv->src = b.heads;
			want_h[l * NH + h] = scratch_score(m, corrupt, n, iv, p);
		}
	}
	free(mlp);
	lms_intervention_free(iv);
	lms_run_free(rc);
}

/* Scores of every kind and head within 1e-4 of want and want_h. */
static void same_scores(const struct lms_patch_result *p, const double *want, const double *want_h,
                        const char *what)
{
	int L = p->L, n = p->T, NH = p->NH;
	const double *got[] = {p->resid_pre, p->attn_out, p->mlp_out};
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < L * n; j++)
			ck_assert_msg(fabs(got[i][j] - want[(size_t)i * L * n + j]) < 1e-4,
			              "%s kind %d [%d][%d]: %g, one site at a time %g", what, i, j / n, j % n,
			              got[i][j], want[(size_t)i * L * n + j]);
	for (int j = 0; j < L * NH; j++)
		ck_assert_msg(fabs(p->heads[j] - want_h[j]) < 1e-4, "%s head %d.%d: %g vs %g", what, j / NH,
		              j % NH, p->heads[j], want_h[j]);
}

static void sweep_vs_scratch(enum lms_arch arch)
{
	struct lms_model *m = random_model(arch, 4);
	int clean[] = {1, 5, 2, 8, 3, 9}, corrupt[] = {4, 5, 2, 0, 3, 9}, n = 6;
	struct lms_patch_result p;
	ck_assert_int_eq(lms_patch_sweep(m, clean, corrupt, n, 7, 2, &p), LMS_OK);
	double *want = malloc((size_t)3 * p.L * n * sizeof *want);
	double *want_h = malloc((size_t)p.L * p.NH * sizeof *want_h);
	one_site_sweep(m, clean, corrupt, n, &p, want, want_h);
	same_scores(&p, want, want_h, lms_arch_name(arch));
	free(want);
	free(want_h);
	lms_patch_result_free(&p);
	lms_model_free(m);
}

START_TEST(test_sweep_vs_scratch_gpt2)
{
	sweep_vs_scratch(LMS_GPT2);
}
END_TEST

START_TEST(test_sweep_vs_scratch_llama)
{
	sweep_vs_scratch(LMS_LLAMA);
}
END_TEST

/* The batched sweep (a layer's sites as the rows of one run, in chunks of
 * 1, 4 or all of them) equals the sweep done one site at a time, each a
 * fresh patched forward of the whole corrupt context, for every kind and
 * head; the contexts differ from position 2 on, so rows start late, and
 * with and without a contrast (the logit difference from two unembedding
 * rows, or log p from every logit). */
static void batched_vs_one_site(enum lms_arch arch, int contrast)
{
	struct lms_model *m = random_model(arch, 8);
	int clean[] = {1, 5, 2, 8, 3, 9, 6, 4}, corrupt[] = {1, 5, 11, 0, 3, 10, 6, 4}, n = 8;
	struct lms_patch_result ref;
	ck_assert_int_eq(lms_patch_sweep_rows(m, clean, corrupt, n, 7, contrast, 1, &ref), LMS_OK);
	ck_assert(fabs(ref.ld_clean - ref.ld_corrupt) > 1e-3);
	double *want = malloc((size_t)3 * ref.L * n * sizeof *want);
	double *want_h = malloc((size_t)ref.L * ref.NH * sizeof *want_h);
	one_site_sweep(m, clean, corrupt, n, &ref, want, want_h);
	int rows[] = {1, 4, 0};
	for (int k = 0; k < 3; k++) {
		struct lms_patch_result p;
		ck_assert_int_eq(lms_patch_sweep_rows(m, clean, corrupt, n, 7, contrast, rows[k], &p),
		                 LMS_OK);
		char what[64];
		snprintf(what, sizeof what, "%s contrast %d rows %d", lms_arch_name(arch), contrast,
		         rows[k]);
		same_scores(&p, want, want_h, what);
		/* not all trivially zero */
		ck_assert(fabs(p.resid_pre[n - 1]) > 1e-3 || fabs(p.resid_pre[2]) > 1e-3);
		lms_patch_result_free(&p);
	}
	free(want);
	free(want_h);
	lms_patch_result_free(&ref);
	lms_model_free(m);
}

START_TEST(test_batched_gpt2)
{
	batched_vs_one_site(LMS_GPT2, 2);
}
END_TEST

START_TEST(test_batched_gpt2_logprob)
{
	batched_vs_one_site(LMS_GPT2, -1);
}
END_TEST

START_TEST(test_batched_llama)
{
	batched_vs_one_site(LMS_LLAMA, 2);
}
END_TEST

START_TEST(test_batched_llama_logprob)
{
	batched_vs_one_site(LMS_LLAMA, -1);
}
END_TEST

START_TEST(test_patch_counts)
{
	struct lms_model *m = random_model(LMS_GPT2, 1);
	struct lms_patch_result p;
	int ids[20] = {0};
	ck_assert_int_eq(lms_patch_sweep(m, ids, ids, 0, -1, -1, &p), LMS_EARG);
	ck_assert_int_eq(lms_patch_sweep(m, ids, ids, 20, -1, -1, &p), LMS_EARG); /* > context */
	ck_assert_int_eq(lms_patch_sweep(m, ids, ids, 3, 99, -1, &p), LMS_EARG);
	ck_assert_int_eq(lms_patch_sweep(m, ids, ids, 3, 2, 2, &p), LMS_EARG);
	lms_model_free(m);
}
END_TEST

/* ---- neurons ------------------------------------------------------------------ */

START_TEST(test_neurons)
{
	struct lms_model *m = random_model(LMS_GPT2, 6);
	int toks[23];
	for (int i = 0; i < 23; i++)
		toks[i] = (i * 7 + 3) % m->cfg.V;
	struct lms_neuron_stats s;
	ck_assert_int_eq(lms_neuron_pass(m, toks, 23, 1, 3, NULL, NULL, &s), LMS_OK);
	ck_assert_int_eq(s.count, 23);
	/* the direct sum over the same windows (9, 9, 5 tokens) */
	int H = m->cfg.H, nh;
	double *sum = calloc((size_t)H, sizeof *sum);
	float best = -INFINITY;
	long best_at = -1;
	for (int off = 0; off < 23; off += 9) {
		int len = 23 - off < 9 ? 23 - off : 9;
		struct lms_run *r = forwarded(m, toks + off, len, NULL);
		const float *a = lms_run_neurons(r, 1, &nh);
		ck_assert_int_eq(nh, H);
		for (int t = 0; t < len; t++) {
			for (int i = 0; i < H; i++)
				sum[i] += a[(size_t)t * H + i];
			if (a[(size_t)t * H + 5] > best) {
				best = a[(size_t)t * H + 5];
				best_at = off + t;
			}
		}
		lms_run_free(r);
	}
	for (int i = 0; i < H; i++)
		ck_assert_double_eq_tol(s.mean[i], sum[i] / 23, 1e-6);
	ck_assert_float_eq_tol(s.top[5 * 3].value, best, 1e-6);
	ck_assert_int_eq(s.top[5 * 3].offset, best_at);
	ck_assert(s.top[5 * 3].value >= s.top[5 * 3 + 1].value &&
	          s.top[5 * 3 + 1].value >= s.top[5 * 3 + 2].value);
	const char *path = tu_path("cache");
	ck_assert_int_eq(lms_neuron_stats_save(&s, 42, path), LMS_OK);
	struct lms_neuron_stats t;
	ck_assert_int_eq(lms_neuron_stats_load(&t, 42, 1, H, 3, path), LMS_OK);
	ck_assert_int_eq(t.count, 23);
	ck_assert(!memcmp(t.mean, s.mean, (size_t)H * sizeof(double)));
	ck_assert_int_eq(t.top[7].offset, s.top[7].offset);
	lms_neuron_stats_free(&t);
	ck_assert_int_eq(lms_neuron_stats_load(&t, 43, 1, H, 3, path), LMS_EFORMAT);
	ck_assert_int_eq(lms_neuron_stats_load(&t, 42, 0, H, 3, path), LMS_EFORMAT);
	tu_write(path, "LMSNEUR1", 8);
	ck_assert_int_eq(lms_neuron_stats_load(&t, 42, 1, H, 3, path), LMS_EFORMAT);
	free(sum);
	lms_neuron_stats_free(&s);
	lms_model_free(m);
}
END_TEST

/* ---- detectors ---------------------------------------------------------------- */

/* The corpus key is FNV-1a 64's loop over the ids' little-endian bytes
 * from the basis 1469598103934665603 (values by a Python loop over
 * struct.pack('<3i', 1, 300, -1)); the cache is named beside the model
 * directory, its trailing slashes dropped. */
START_TEST(test_neuron_cache_name)
{
	ck_assert_uint_eq(lms_neuron_corpus_key(NULL, 0), 0x14650fb0739d0383ull);
	int ids[] = {1, 300, -1};
	unsigned long long key = lms_neuron_corpus_key(ids, 3);
	ck_assert_uint_eq(key, 0xae59649e25c53685ull);
	char *path = NULL;
	ck_assert_int_eq(lms_neuron_cache_path("models/m//", 2, 10, key, &path), LMS_OK);
	ck_assert_str_eq(path, "models/m.neurons-l2-k10-ae59649e25c53685");
	free(path);
	ck_assert_int_eq(lms_neuron_cache_path("m", 0, 3, 0x1f, &path), LMS_OK);
	ck_assert_str_eq(path, "m.neurons-l0-k3-000000000000001f");
	free(path);
}
END_TEST

START_TEST(test_repeated_tokens)
{
	int ids[40];
	lms_repeated_tokens(ids, 20, 13, 1);
	for (int i = 0; i < 20; i++)
		ck_assert(ids[i] == ids[20 + i] && ids[i] >= 0 && ids[i] < 13);
	int again[40];
	lms_repeated_tokens(again, 20, 13, 1);
	ck_assert(!memcmp(ids, again, sizeof ids));
}
END_TEST

/* ---- two models' divergence ---------------------------------------------------- */

/* A model against itself: nothing differs, the saliencies rank alike. */
static void divergence_self(enum lms_arch arch)
{
	struct lms_model *m = random_model(arch, 3);
	struct lms_divergence d;
	ck_assert_int_eq(lms_divergence_new(m, m, "self", &d), LMS_OK);
	ck_assert(lms_arch_is_recurrent(arch) == !d.attn_maxdiff);
	for (int pos = 0; pos < N_IDS; pos += 3) {
		ck_assert_int_eq(lms_divergence_compute(&d, NULL, NULL, IDS, pos), LMS_OK);
		for (int l = 0; l < d.L; l++) {
			ck_assert(d.kl[l] == 0.0);
			for (int h = 0; h < d.NH; h++)
				ck_assert(d.attn_maxdiff[l * d.NH + h] == 0.0);
		}
		ck_assert(pos ? d.rho == 1.0 : isnan(d.rho));
	}
	lms_divergence_free(&d);
	lms_model_free(m);
}

START_TEST(test_divergence_self_gpt2)
{
	divergence_self(LMS_GPT2);
}
END_TEST

START_TEST(test_divergence_self_llama)
{
	divergence_self(LMS_LLAMA);
}
END_TEST

START_TEST(test_divergence_self_lstm)
{
	divergence_self(LMS_LSTM);
}
END_TEST

/* Two models: the last layer's KL is that of their own logits (lms_logits,
 * summed in long double here), each head's difference a direct maximum
 * over the two attention matrices, and caller runs (reused, longer than
 * needed) give what runs of the call's own give. */
static void divergence_direct(enum lms_arch arch)
{
	struct lms_model *a = random_model(arch, 3), *b = random_model(arch, 4);
	struct lms_divergence d, e;
	ck_assert_int_eq(lms_divergence_new(a, b, "b", &d), LMS_OK);
	ck_assert_int_eq(lms_divergence_new(a, b, "b", &e), LMS_OK);
	struct lms_run *ra, *rb, *wa, *wb;
	ck_assert_int_eq(lms_run_new(a, 1, N_IDS, &wa), LMS_OK);
	ck_assert_int_eq(lms_run_new(b, 1, N_IDS, &wb), LMS_OK);
	int V = a->cfg.V;
	for (int pos = 1; pos < N_IDS; pos += 3) {
		ck_assert_int_eq(lms_divergence_compute(&d, NULL, NULL, IDS, pos), LMS_OK);
		ck_assert_int_eq(lms_divergence_compute(&e, wa, wb, IDS, pos), LMS_OK);
		ra = forwarded(a, IDS, pos + 1, NULL);
		rb = forwarded(b, IDS, pos + 1, NULL);
		lms_logits(ra, 0, pos, pos + 1);
		lms_logits(rb, 0, pos, pos + 1);
		const float *x = ra->logits + (size_t)pos * V, *y = rb->logits + (size_t)pos * V;
		long double zx = 0, zy = 0, kl = 0;
		for (int k = 0; k < V; k++) {
			zx += expl(x[k]);
			zy += expl(y[k]);
		}
		for (int k = 0; k < V; k++)
			kl += expl(x[k]) / zx * ((x[k] - logl(zx)) - (y[k] - logl(zy)));
		ck_assert_msg(fabs(d.kl[d.L - 1] - (double)kl) <= 1e-5 * (1 + (double)kl),
		              "%s pos %d: KL %.8g, direct %.8Lg", lms_arch_name(arch), pos, d.kl[d.L - 1],
		              kl);
		ck_assert(kl > 1e-3); /* the two models do differ */
		for (int l = 0; l < d.L; l++)
			for (int h = 0; h < d.NH; h++) {
				const float *p = lms_run_attention(ra, l, h, 0),
							*q = lms_run_attention(rb, l, h, 0);
				double worst = 0.0;
				for (int i = 0; i <= pos; i++)
					for (int j = 0; j <= i; j++)
						worst = fmax(worst, fabs((double)p[i * ra->T + j] - q[i * rb->T + j]));
				ck_assert(d.attn_maxdiff[l * d.NH + h] == worst);
				ck_assert(e.attn_maxdiff[l * d.NH + h] == worst);
			}
		for (int l = 0; l < d.L; l++)
			ck_assert_double_eq_tol(e.kl[l], d.kl[l], 1e-12);
		ck_assert(d.target == e.target && (d.rho == e.rho || (isnan(d.rho) && isnan(e.rho))));
		ck_assert(d.rho >= -1.0 && d.rho <= 1.0);
		lms_run_free(ra);
		lms_run_free(rb);
	}
	lms_run_free(wa);
	lms_run_free(wb);
	lms_divergence_free(&d);
	lms_divergence_free(&e);
	lms_model_free(a);
	lms_model_free(b);
}

START_TEST(test_divergence_direct_gpt2)
{
	divergence_direct(LMS_GPT2);
}
END_TEST

START_TEST(test_divergence_direct_llama)
{
	divergence_direct(LMS_LLAMA);
}
END_TEST

/* Models of other sizes are refused, naming the size; so are positions
 * outside the context and runs of the wrong model. */
START_TEST(test_divergence_refused)
{
	struct lms_model *a = random_model(LMS_GPT2, 3), *r = random_model(LMS_LSTM, 3);
	struct lms_config c = a->cfg;
	struct lms_divergence d;
	ck_assert_int_eq(lms_divergence_new(a, r, "B", &d), LMS_EARG); /* NH 4 against 0 */
	ck_assert_str_eq(lms_errmsg(), "B: head count 0 differs from the first model's 4");
	const char *want[] = {"B: vocabulary size 14 differs from the first model's 13",
	                      "B: layer count 3 differs from the first model's 2"};
	for (int k = 0; k < 2; k++) {
		struct lms_config o = c;
		*(k ? &o.L : &o.V) += 1;
		struct lms_model *b;
		ck_assert_int_eq(lms_model_create(&o, 1, &b), LMS_OK);
		ck_assert_int_eq(lms_divergence_new(a, b, "B", &d), LMS_EARG);
		ck_assert_str_eq(lms_errmsg(), want[k]);
		lms_model_free(b);
	}
	ck_assert_int_eq(lms_divergence_new(a, a, "B", &d), LMS_OK);
	ck_assert_int_eq(lms_divergence_compute(&d, NULL, NULL, IDS, c.maxT), LMS_EARG);
	struct lms_run *rr;
	ck_assert_int_eq(lms_run_new(r, 1, 4, &rr), LMS_OK);
	ck_assert_int_eq(lms_divergence_compute(&d, rr, NULL, IDS, 2), LMS_EARG);
	lms_run_free(rr);
	lms_divergence_free(&d);
	lms_model_free(a);
	lms_model_free(r);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("interp");
	TCase *tc = tcase_create("interp");
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
	tcase_add_test(tc, test_dla_sum_gpt2);
	tcase_add_test(tc, test_dla_sum_llama);
	tcase_add_test(tc, test_dla_recurrent);
	tcase_add_test(tc, test_parse);
	tcase_add_test(tc, test_rnn_units);
	tcase_add_test(tc, test_patch_one_difference_gpt2);
	tcase_add_test(tc, test_patch_one_difference_llama);
	tcase_add_test(tc, test_patch_one_difference_lstm);
	tcase_add_test(tc, test_patch_one_difference_gru);
	tcase_add_test(tc, test_sweep_vs_scratch_gpt2);
	tcase_add_test(tc, test_sweep_vs_scratch_llama);
	tcase_add_test(tc, test_batched_gpt2);
	tcase_add_test(tc, test_batched_gpt2_logprob);
	tcase_add_test(tc, test_batched_llama);
	tcase_add_test(tc, test_batched_llama_logprob);
	tcase_add_test(tc, test_patch_counts);
	tcase_add_test(tc, test_neurons);
	tcase_add_test(tc, test_neuron_cache_name);
	tcase_add_test(tc, test_repeated_tokens);
	tcase_add_test(tc, test_divergence_self_gpt2);
	tcase_add_test(tc, test_divergence_self_llama);
	tcase_add_test(tc, test_divergence_self_lstm);
	tcase_add_test(tc, test_divergence_direct_gpt2);
	tcase_add_test(tc, test_divergence_direct_llama);
	tcase_add_test(tc, test_divergence_refused);
	suite_add_tcase(s, tc);
	return s;
}
