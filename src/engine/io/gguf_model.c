/* GGUF files as lmscope models (include/lmscope/gguf.h): metadata to
 * lms_config, GGUF tensor names to llama.c's Hugging Face names, and the
 * way back for `lmscope convert`.
 *
 * Loading checks in this order, so nothing large is allocated before the
 * file has shown it holds the data: the file's structure (gguf.c), the
 * configuration (lms_config_check), the tokenizer, every tensor of the
 * architecture present with its shape and nothing unexpected, the memory
 * needed (weights as stored). Then matrices in any type but F32 stay in the
 * mapping (the model is typed and owns the mapping; llama's q and k rows
 * are copied out permuted), the rest is converted into params, and NaN or
 * Inf is refused (for quantized blocks: their scales). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arch/arch.h"
#include "base/memlimit.h"
#include "io/gguf.h"
#include "lmscope/gguf.h"
#include "nn/llama_ops.h"
#include "nn/quant.h"

#define TRY(x)                                                                                     \
	do {                                                                                           \
		enum lms_status st_ = (x);                                                                 \
		if (st_)                                                                                   \
			return st_;                                                                            \
	} while (0)

int lms_gguf_is(const char *path)
{
	FILE *f = fopen(path, "rb");
	char m[4] = {0};
	int ok = f && fread(m, 1, 4, f) == 4 && !memcmp(m, "GGUF", 4);
	if (f)
		fclose(f);
	return ok;
}

/* ---- names ---------------------------------------------------------------------- */

/* Per-layer tensors: GGUF's suffix after "blk.N." and Hugging Face's after
 * "model.layers.N.". */
static const char *const layer_names[][2] = {
	{"attn_norm.weight", "input_layernorm.weight"},
	{"attn_q.weight", "self_attn.q_proj.weight"},
	{"attn_k.weight", "self_attn.k_proj.weight"},
	{"attn_v.weight", "self_attn.v_proj.weight"},
	{"attn_output.weight", "self_attn.o_proj.weight"},
	{"attn_q.bias", "self_attn.q_proj.bias"},
	{"attn_k.bias", "self_attn.k_proj.bias"},
	{"attn_v.bias", "self_attn.v_proj.bias"},
	{"ffn_norm.weight", "post_attention_layernorm.weight"},
	{"ffn_gate.weight", "mlp.gate_proj.weight"},
	{"ffn_up.weight", "mlp.up_proj.weight"},
	{"ffn_down.weight", "mlp.down_proj.weight"},
};

static const char *const global_names[][2] = {
	{"token_embd.weight", "model.embed_tokens.weight"},
	{"output_norm.weight", "model.norm.weight"},
	{"output.weight", "lm_head.weight"},
};

#define N_OF(a) (int)(sizeof(a) / sizeof(a)[0])

/* The GGUF name of a Hugging Face tensor name into buf; 0 when none. */
static int gguf_name(const char *hf, char *buf, size_t size)
{
	for (int i = 0; i < N_OF(global_names); i++)
		if (!strcmp(hf, global_names[i][1]))
			return snprintf(buf, size, "%s", global_names[i][0]) > 0;
	int l, n = 0;
	if (sscanf(hf, "model.layers.%d.%n", &l, &n) != 1 || !n)
		return 0;
	for (int i = 0; i < N_OF(layer_names); i++)
		if (!strcmp(hf + n, layer_names[i][1]))
			return snprintf(buf, size, "blk.%d.%s", l, layer_names[i][0]) > 0;
	return 0;
}

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* Rows of a q or k projection are stored in Meta's pair layout (llama and
 * mistral files, not qwen2): the heads to permute, else 0. */
static int rotary_heads(const struct lms_config *c, int pairs, const char *hf)
{
	if (!pairs)
		return 0;
	return ends_with(hf, "self_attn.q_proj.weight")   ? c->NH
	       : ends_with(hf, "self_attn.k_proj.weight") ? c->KV
	                                                  : 0;
}

/* ---- metadata -> config ----------------------------------------------------------- */

/* An <arch>.key integer in [1, INT_MAX] (optional: *out kept when absent). */
static enum lms_status arch_int(const struct lms_gguf *g, const char *arch, const char *key,
                                int optional, int *out)
{
	char k[128];
	snprintf(k, sizeof k, "%s.%s", arch, key);
	int64_t v = *out;
	TRY(lms_gguf_int(g, k, optional, &v));
	if (v < 1 || v > (1 << 30))
		return lms_fail(LMS_EFORMAT, "%s: %s = %lld is out of range", g->path, k, (long long)v);
	*out = (int)v;
	return LMS_OK;
}

static enum lms_status arch_float(const struct lms_gguf *g, const char *arch, const char *key,
                                  float *out)
{
	char k[128];
	snprintf(k, sizeof k, "%s.%s", arch, key);
	double v = *out;
	TRY(lms_gguf_float(g, k, 1, &v));
	if (!(v > 0 && v < 1e30))
		return lms_fail(LMS_EFORMAT, "%s: %s = %g is out of range", g->path, k, v);
	*out = (float)v;
	return LMS_OK;
}

/* rope.scaling.type "linear" with its factor, or none; other scalings
 * (yarn, Llama 3's rope_freqs.weight) are refused by name. */
static enum lms_status rope_scaling(const struct lms_gguf *g, const char *arch,
                                    struct lms_config *c)
{
	char k[128];
	const char *s;
	size_t n;
	snprintf(k, sizeof k, "%s.rope.scaling.type", arch);
	TRY(lms_gguf_str(g, k, 1, &s, &n));
	if (lms_gguf_tensor(g, "rope_freqs.weight"))
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: rope_freqs.weight (Llama 3 rope scaling) is not supported", g->path);
	if (!s || (n == 4 && !memcmp(s, "none", 4)))
		return LMS_OK;
	if (!(n == 6 && !memcmp(s, "linear", 6)))
		return lms_fail(LMS_EUNSUPPORTED, "%s: %s \"%.*s\" is not supported", g->path, k,
		                (int)(n > 40 ? 40 : n), s);
	c->rope.kind = LMS_ROPE_LINEAR;
	c->rope.factor = 0;
	TRY(arch_float(g, arch, "rope.scaling.factor", &c->rope.factor));
	if (!(c->rope.factor >= 1.0f))
		return lms_fail(LMS_EFORMAT, "%s: %s.rope.scaling.factor must be at least 1", g->path,
		                arch);
	return LMS_OK;
}

/* Head sizes other than C / NH are refused; a sliding window limits the
 * context (full attention is the same function up to the window). */
static enum lms_status heads_and_window(const struct lms_gguf *g, const char *arch,
                                        struct lms_config *c)
{
	int hs = c->C / c->NH, dim = hs;
	TRY(arch_int(g, arch, "rope.dimension_count", 1, &dim));
	if (dim != hs)
		return lms_fail(LMS_EUNSUPPORTED, "%s: %s.rope.dimension_count = %d, not the head size %d",
		                g->path, arch, dim, hs);
	int kl = hs, vl = hs;
	TRY(arch_int(g, arch, "attention.key_length", 1, &kl));
	TRY(arch_int(g, arch, "attention.value_length", 1, &vl));
	if (kl != hs || vl != hs)
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: head size %d/%d other than embedding_length / head_count", g->path, kl,
		                vl);
	int window = c->maxT;
	TRY(arch_int(g, arch, "attention.sliding_window", 1, &window));
	if (window < c->maxT)
		c->maxT = window;
	return LMS_OK;
}

/* The architecture name, NUL-terminated into buf; *pairs: llama's
 * converter permuted q and k. */
static enum lms_status arch_of(const struct lms_gguf *g, char *buf, size_t size, int *pairs)
{
	const char *s;
	size_t n;
	TRY(lms_gguf_str(g, "general.architecture", 0, &s, &n));
	static const char *const known[] = {"llama", "mistral", "qwen2"};
	for (int i = 0; i < N_OF(known); i++)
		if (n == strlen(known[i]) && !memcmp(s, known[i], n)) {
			snprintf(buf, size, "%s", known[i]);
			*pairs = i < 2;
			return LMS_OK;
		}
	return lms_fail(LMS_EUNSUPPORTED,
	                "%s: architecture \"%.*s\" is not supported (llama, mistral, qwen2)", g->path,
	                (int)(n > 40 ? 40 : n), s);
}

static enum lms_status read_config(const struct lms_gguf *g, struct lms_config *c, int *pairs)
{
	char arch[16];
	TRY(arch_of(g, arch, sizeof arch, pairs));
	memset(c, 0, sizeof *c);
	c->arch = LMS_LLAMA;
	c->eps = 1e-5f;
	c->rope_theta = 10000.0f;
	TRY(arch_int(g, arch, "context_length", 0, &c->maxT));
	TRY(arch_int(g, arch, "embedding_length", 0, &c->C));
	TRY(arch_int(g, arch, "block_count", 0, &c->L));
	TRY(arch_int(g, arch, "feed_forward_length", 0, &c->H));
	TRY(arch_int(g, arch, "attention.head_count", 0, &c->NH));
	c->KV = c->NH;
	TRY(arch_int(g, arch, "attention.head_count_kv", 1, &c->KV));
	TRY(arch_float(g, arch, "attention.layer_norm_rms_epsilon", &c->eps));
	TRY(arch_float(g, arch, "rope.freq_base", &c->rope_theta));
	const struct lms_gguf_tensor *emb = lms_gguf_tensor(g, "token_embd.weight");
	if (!emb)
		return lms_fail(LMS_EFORMAT, "%s: missing tensor token_embd.weight", g->path);
	c->V = emb->ne[1] > (1 << 30) ? 0 : (int)emb->ne[1];
	TRY(arch_int(g, arch, "vocab_size", 1, &c->V));
	c->tied = !lms_gguf_tensor(g, "output.weight");
	c->qkv_bias = !strcmp(arch, "qwen2");
	TRY(rope_scaling(g, arch, c));
	TRY(lms_config_check(c, g->path));
	return heads_and_window(g, arch, c);
}

/* ---- tensors --------------------------------------------------------------------- */

/* Each tensor of the model's table found in the file with its shape
 * (found[i]), and no tensor of the file left over. */
static enum lms_status match_tensors(const struct lms_gguf *g, const struct lms_tensor *tab, int n,
                                     const struct lms_gguf_tensor **found)
{
	char name[96];
	int used = 0;
	for (int i = 0; i < n; i++) {
		if (!gguf_name(tab[i].name, name, sizeof name))
			return lms_fail(LMS_EUNSUPPORTED, "%s: no GGUF name for %s", g->path, tab[i].name);
		const struct lms_gguf_tensor *t = found[i] = lms_gguf_tensor(g, name);
		if (!t)
			return lms_fail(LMS_EFORMAT, "%s: missing tensor \"%s\"", g->path, name);
		int64_t rows = tab[i].ndim == 2 ? tab[i].shape[0] : 1;
		int64_t cols = tab[i].ndim == 2 ? tab[i].shape[1] : tab[i].shape[0];
		if (t->ndim != tab[i].ndim || t->ne[0] != cols || t->ne[1] != rows)
			return lms_fail(
				LMS_EFORMAT,
				"%s: tensor \"%s\" has shape [%lld, %lld], the metadata implies [%lld, %lld]",
				g->path, name, (long long)t->ne[0], (long long)t->ne[1], (long long)cols,
				(long long)rows);
		used++;
	}
	if (used == g->n_tensors)
		return LMS_OK;
	for (int j = 0; j < g->n_tensors; j++) {
		int hit = 0;
		for (int i = 0; i < n && !hit; i++)
			hit = found[i] == &g->tensors[j];
		if (!hit)
			return lms_fail(LMS_EUNSUPPORTED, "%s: unexpected tensor \"%s\"", g->path,
			                g->tensors[j].name);
	}
	return LMS_OK;
}

/* What a typed model's matrices point into: the file's mapping, and the
 * q and k matrices permuted out of Meta's pair layout (as stored, rows of
 * whole blocks). */
struct held {
	struct lms_gguf *g;
	unsigned char *perm;
};

static void held_free(void *p)
{
	struct held *h = p;
	lms_gguf_close(h->g);
	free(h->perm);
	free(h);
}

/* Whether table entry t stays as stored: every matrix, which nn/wmat.h
 * multiplies in its type; 1-D tensors (norms, biases) are converted. */
static int keep_stored(const struct lms_tensor *t)
{
	return t->ndim == 2;
}

/* One kept matrix: wm[i] over the mapping, or over its rows permuted into
 * perm (advanced past them) for a rotary projection. */
static enum lms_status keep_tensor(const struct lms_gguf *g, struct lms_model *m, int i,
                                   const struct lms_gguf_tensor *t, int heads, unsigned char **perm)
{
	const void *data = t->data;
	if (!lms_quant_finite(t->data, t->type, (size_t)t->ne[0] * (size_t)t->ne[1]))
		return lms_fail(LMS_ENUMERIC, "%s: tensor \"%s\" holds NaN or Inf values", g->path,
		                t->name);
	if (heads) {
		size_t rb = lms_wtype_row_bytes(t->type, (int)t->ne[0]);
		lms_rope_rows_permute(*perm, t->data, heads, m->cfg.C / m->cfg.NH, rb, 0);
		data = *perm;
		*perm += t->bytes;
	}
	m->wm[i] = lms_tensor_wmat(&m->tensors[i], t->type, data);
	return LMS_OK;
}

/* One converted tensor: dequantized into dst (float32 rows un-permuted). */
static enum lms_status read_tensor(const struct lms_gguf *g, const struct lms_gguf_tensor *t,
                                   float *dst, int heads, int hs)
{
	size_t n = (size_t)t->ne[0] * (size_t)t->ne[1];
	if (!lms_quant_finite(t->data, t->type, n))
		return lms_fail(LMS_ENUMERIC, "%s: tensor \"%s\" holds NaN or Inf values", g->path,
		                t->name);
	if (heads) {
		float *tmp = malloc(n * sizeof(float));
		if (!tmp)
			return lms_fail(LMS_ENOMEM, "%s: out of memory", g->path);
		lms_wtype_to_f32(tmp, t->data, t->type, n);
		lms_rope_rows_permute(dst, tmp, heads, hs, (size_t)t->ne[0] * sizeof(float), 0);
		free(tmp);
	} else {
		lms_wtype_to_f32(dst, t->data, t->type, n);
	}
	for (size_t k = 0; k < n; k++)
		if (!isfinite(dst[k]))
			return lms_fail(LMS_ENUMERIC, "%s: tensor \"%s\" holds NaN or Inf values", g->path,
			                t->name);
	return LMS_OK;
}

/* Float32 files are read into params like any float32 model; any other
 * type makes a typed model whose matrices stay in the mapping. */
static enum lms_status fill_model(struct lms_gguf *g, const struct lms_config *c, int pairs,
                                  const struct lms_gguf_tensor **found, struct lms_model *m)
{
	int typed = 0;
	size_t floats = 0, stored = 0, permuted = 0;
	for (int i = 0; i < m->n_tensors; i++) {
		int keep = keep_stored(&m->tensors[i]) && found[i]->type != LMS_W_F32;
		typed |= keep;
		floats += keep ? 0 : m->tensors[i].numel;
		stored += keep ? found[i]->bytes : m->tensors[i].numel * sizeof(float);
		if (keep && rotary_heads(c, pairs, m->tensors[i].name))
			permuted += found[i]->bytes;
	}
	m->typed = typed;
	m->stored_bytes = stored;
	enum lms_status st = lms_memory_check_stored(c, stored, g->path);
	struct held *h = typed ? calloc(1, sizeof *h) : NULL;
	if (!st && typed && (!h || !(h->perm = malloc(permuted ? permuted : 1))))
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", g->path);
	if (!st && !(m->params = calloc(floats ? floats : 1, sizeof(float))))
		st = lms_fail(LMS_ENOMEM, "%s: cannot allocate %zu parameters", g->path, floats);
	unsigned char *perm = h ? h->perm : NULL;
	size_t off = 0;
	for (int i = 0; i < m->n_tensors && !st; i++) {
		const struct lms_tensor *t = &m->tensors[i];
		int heads = rotary_heads(c, pairs, t->name);
		if (typed && keep_stored(t) && found[i]->type != LMS_W_F32) {
			st = keep_tensor(g, m, i, found[i], heads, &perm);
			continue;
		}
		float *p = m->params + (typed ? off : t->offset); /* float32: the packed layout */
		off += t->numel;
		m->wm[i] = lms_tensor_wmat(t, LMS_W_F32, p);
		st = read_tensor(g, found[i], p, heads, c->C / c->NH);
	}
	if (h) { /* the model owns the mapping from here, even on failure */
		h->g = g;
		m->storage = h;
		m->storage_free = held_free;
	} else {
		lms_gguf_close(g);
	}
	return st;
}

/* Consumes g: a typed model keeps it, anything else closes it. */
static enum lms_status load_weights(struct lms_gguf *g, const struct lms_config *c, int pairs,
                                    struct lms_model **out)
{
	struct lms_model *m = NULL;
	enum lms_status st = lms_model_alloc_table(c, &m);
	const struct lms_gguf_tensor **found = NULL;
	if (!st && !(found = calloc((size_t)m->n_tensors, sizeof *found)))
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", g->path);
	if (!st)
		st = match_tensors(g, m->tensors, m->n_tensors, found);
	if (!st)
		st = fill_model(g, c, pairs, found, m);
	else
		lms_gguf_close(g);
	free(found);
	if (st) {
		lms_model_free(m);
		return st;
	}
	*out = m;
	return LMS_OK;
}

enum lms_status lms_gguf_load(const char *path, struct lms_model **out, struct lms_tokenizer **tok)
{
	*out = NULL;
	if (tok)
		*tok = NULL;
	struct lms_gguf *g;
	TRY(lms_gguf_open(path, &g));
	struct lms_config c;
	int pairs = 0;
	enum lms_status st = read_config(g, &c, &pairs);
	if (!st && tok)
		st = lms_gguf_tokenizer(g, tok); /* before the weights, which may take g */
	if (st) {
		lms_gguf_close(g);
		return st;
	}
	st = load_weights(g, &c, pairs, out);
	if (st && tok) {
		lms_tokenizer_free(*tok);
		*tok = NULL;
	}
	return st;
}

enum lms_status lms_gguf_load_tokenizer(const char *path, struct lms_tokenizer **tok)
{
	*tok = NULL;
	struct lms_gguf *g;
	TRY(lms_gguf_open(path, &g));
	enum lms_status st = lms_gguf_tokenizer(g, tok);
	lms_gguf_close(g);
	return st;
}

/* ---- saving ----------------------------------------------------------------------- */

int lms_gguf_type_known(const char *name)
{
	if (!strcmp(name, "Q4_K_M"))
		return 1;
	for (int t = 0; t < LMS_W_NTYPES; t++)
		if (!strcmp(name, lms_wtype_name((enum lms_wtype)t)))
			return 1;
	return 0;
}

/* The storage type of one matrix under the recipe `type` (see gguf.h). */
static enum lms_wtype type_for(const char *type, const char *gname, int cols)
{
	enum lms_wtype t = LMS_W_F32;
	if (!strcmp(type, "Q4_K_M"))
		t = ends_with(gname, "attn_v.weight") || ends_with(gname, "ffn_down.weight") ||
		            !strcmp(gname, "output.weight")
		        ? LMS_W_Q6_K
		        : LMS_W_Q4_K;
	else
		for (int k = 0; k < LMS_W_NTYPES; k++)
			if (!strcmp(type, lms_wtype_name((enum lms_wtype)k)))
				t = (enum lms_wtype)k;
	if (!lms_wtype_row_bytes(t, cols))
		t = lms_wtype_row_bytes(LMS_W_Q8_0, cols) && t != LMS_W_F32 && t != LMS_W_F16 &&
		            t != LMS_W_BF16
		        ? LMS_W_Q8_0
		        : LMS_W_F16;
	return t;
}

#define KV_U32(k, v)                                                                               \
	(struct lms_gguf_out_kv)                                                                       \
	{                                                                                              \
		.key = (k), .type = LMS_GV_U32, .u = (uint64_t)(v)                                         \
	}
#define KV_F32(k, v)                                                                               \
	(struct lms_gguf_out_kv)                                                                       \
	{                                                                                              \
		.key = (k), .type = LMS_GV_F32, .f = (v)                                                   \
	}
#define KV_STR(k, v)                                                                               \
	(struct lms_gguf_out_kv)                                                                       \
	{                                                                                              \
		.key = (k), .type = LMS_GV_STRING, .s = (v)                                                \
	}

/* The architecture's metadata (keys named after it, kept in keys). */
static int config_kvs(const struct lms_config *c, const char *arch, struct lms_gguf_out_kv *kv,
                      char (*keys)[64])
{
	static const char *const names[] = {
		"context_length",       "embedding_length",     "block_count",
		"feed_forward_length",  "attention.head_count", "attention.head_count_kv",
		"rope.dimension_count", "vocab_size",           "attention.layer_norm_rms_epsilon",
		"rope.freq_base",       "rope.scaling.factor",
	};
	const int vals[] = {c->maxT, c->C, c->L, c->H, c->NH, c->KV, c->C / c->NH, c->V};
	int nk = 0;
	kv[nk++] = KV_STR("general.architecture", arch);
	kv[nk++] = KV_STR("general.name", "lmscope");
	for (int i = 0; i < N_OF(names); i++)
		snprintf(keys[i], 64, "%s.%s", arch, names[i]);
	for (int i = 0; i < N_OF(vals); i++)
		kv[nk++] = KV_U32(keys[i], vals[i]);
	kv[nk++] = KV_F32(keys[8], c->eps);
	kv[nk++] = KV_F32(keys[9], c->rope_theta);
	if (c->rope.kind == LMS_ROPE_LINEAR) {
		snprintf(keys[11], 64, "%s.rope.scaling.type", arch);
		kv[nk++] = KV_STR(keys[11], "linear");
		kv[nk++] = KV_F32(keys[10], c->rope.factor);
	}
	return nk;
}

/* The file's tensors over m's float32 parameters; q and k rows of a llama
 * are permuted into Meta's pair layout in perm. */
static void out_tensors(const struct lms_model *m, const char *type, int pairs,
                        struct lms_gguf_out_tensor *t, char (*names)[96], float *perm)
{
	const struct lms_config *c = &m->cfg;
	for (int i = 0; i < m->n_tensors; i++) {
		const struct lms_tensor *mt = &m->tensors[i];
		gguf_name(mt->name, names[i], sizeof names[i]);
		t[i].name = names[i];
		t[i].ndim = mt->ndim;
		t[i].rows = mt->ndim == 2 ? mt->shape[0] : 1;
		t[i].cols = mt->ndim == 2 ? mt->shape[1] : mt->shape[0];
		t[i].type = mt->ndim == 2 ? type_for(type, names[i], (int)t[i].cols) : LMS_W_F32;
		t[i].data = m->params + mt->offset;
		int heads = rotary_heads(c, pairs, mt->name);
		if (heads) {
			lms_rope_rows_permute(perm, t[i].data, heads, c->C / c->NH,
			                      (size_t)t[i].cols * sizeof(float), 1);
			t[i].data = perm;
			perm += mt->numel;
		}
	}
}

static enum lms_status save_f32(const struct lms_model *m, const char *path, const char *type)
{
	const struct lms_config *c = &m->cfg;
	int pairs = !c->qkv_bias; /* llama: Meta's layout; qwen2: as Hugging Face stores it */
	struct lms_gguf_out_kv kv[16];
	char keys[12][64];
	int nk = config_kvs(c, c->qkv_bias ? "qwen2" : "llama", kv, keys);
	enum lms_status st = LMS_OK;
	struct lms_gguf_out_tensor *t = calloc((size_t)m->n_tensors, sizeof *t);
	char(*names)[96] = calloc((size_t)m->n_tensors, sizeof *names);
	size_t permuted = 0; /* floats of q and k rows kept permuted in perm */
	for (int i = 0; i < m->n_tensors; i++)
		if (rotary_heads(c, pairs, m->tensors[i].name))
			permuted += m->tensors[i].numel;
	float *perm = malloc(permuted * sizeof(float) + 1);
	if (!st && (!t || !names || !perm))
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	if (!st) {
		out_tensors(m, type, pairs, t, names, perm);
		st = lms_gguf_write(path, kv, nk, t, m->n_tensors);
	}
	free(t);
	free(names);
	free(perm);
	return st;
}

enum lms_status lms_gguf_save(const struct lms_model *m, const char *path, const char *type)
{
	const struct lms_config *c = &m->cfg;
	if (c->arch != LMS_LLAMA)
		return lms_fail(LMS_EUNSUPPORTED, "%s: GGUF output is for Llama-family models (this is %s)",
		                path, lms_arch_name(c->arch));
	if (c->qk_norm)
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: GGUF output of Qwen3 (q_norm, k_norm) is not supported", path);
	if (c->rope.kind != LMS_ROPE_NONE && c->rope.kind != LMS_ROPE_LINEAR)
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: GGUF output of Llama 3 rope scaling is not supported", path);
	if (!lms_gguf_type_known(type))
		return lms_fail(LMS_EARG, "%s: unknown GGUF type %s", path, type);
	if (!m->typed)
		return save_f32(m, path, type);
	struct lms_model *f; /* the stored weights as float32, then stored again */
	enum lms_status st = lms_model_to_f32(m, &f);
	if (!st)
		st = save_f32(f, path, type);
	lms_model_free(f);
	return st;
}
