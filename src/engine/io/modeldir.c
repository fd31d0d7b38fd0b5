/* Model directories in the Hugging Face layout: config.json (read and
 * written with jansson) + model.safetensors (safetensors.c).
 *
 * config.json keys per model_type:
 *   gpt2              vocab_size, n_positions (or n_ctx), n_embd, n_layer,
 *                     n_head, layer_norm_epsilon (1e-5), n_inner (4 n_embd)
 *   rnn | lstm | gru  vocab_size, embedding_dim, hidden_dim, num_layers,
 *                     max_length (1024: the run buffer default),
 *                     tie_word_embeddings (false: the output layer its own)
 *   llama             vocab_size, hidden_size, intermediate_size,
 *                     num_hidden_layers, num_attention_heads,
 *                     num_key_value_heads (= heads), max_position_embeddings,
 *                     rms_norm_eps (1e-6), rope_theta (10000),
 *                     tie_word_embeddings (false), rope_scaling (null,
 *                     linear or llama3)
 *   mistral           as llama; sliding_window limits the context
 *   qwen2             as llama, with q, k, v biases; sliding_window limits
 *                     the context when use_sliding_window is true
 *   qwen3             as qwen2 without the biases (attention_bias false),
 *                     with a per-head RMSNorm on q and on k before rope;
 *                     head_dim must be hidden_size / heads
 * Other keys (architectures, torch_dtype, tokenizer ids, ...) are ignored,
 * except settings that would change the computation to something lmscope
 * does not do (a GELU other than the tanh form, an untied GPT-2 head, rope
 * scaling), which are refused rather than silently computed differently.
 *
 * Loading checks in this order, so that nothing large is allocated before
 * the file has shown it holds the data: the config and its sizes
 * (lms_config_check), the safetensors header, that every tensor of the
 * architecture's table is present with exactly its shape and that nothing
 * unexpected is (GPT-2's attention-mask buffers and a tied lm_head.weight are
 * ignored; names may carry a "transformer." or "model." prefix). Only then is
 * the parameter block allocated (the file has just proved it holds at least
 * 2 bytes per parameter) and the values converted, rejecting NaN and Inf.
 * The weights are model.safetensors or the shards named by
 * model.safetensors.index.json (shards.c). Llama-family matrices stored as
 * F16 or BF16 are not converted: the model points into the mapped files
 * (nn/wmat.h), so it takes the file's size in memory, not twice it.
 *
 * Saving writes model.safetensors and config.json to temporary files beside
 * their final names, flushes both to disk, then renames the weights and the
 * config last. The commands write into a fresh directory that replaces the
 * target whole (lmscope/stage.h, which checks it with lms_model_probe), so
 * the window between the two renames never shows in a model directory. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include <jansson.h>

#include "arch/arch.h"
#include "lmscope/atomic.h"
#include "base/infile.h"
#include "base/path.h"
#include "base/memlimit.h"
#include "io/safetensors.h"
#include "io/shards.h"
#include "nn/wmat.h"

/* 1 when dir/name exists, 0 when it does not, -1 (with errno) when that
 * cannot be told (an unreadable directory). */
static int exists(const char *dir, const char *name)
{
	char *p = lms_path_join(dir, name);
	struct stat sb;
	int r = !p ? -1 : stat(p, &sb) == 0 ? 1 : errno == ENOENT ? 0 : -1;
	int e = errno;
	free(p);
	errno = e;
	return r;
}

/* ---- config.json ------------------------------------------------------------ */

/* An integer key; def < 0 makes it required. */
static enum lms_status get_int(json_t *o, const char *key, long def, int *out, const char *path)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		if (def < 0)
			return lms_fail(LMS_EFORMAT, "%s: missing key \"%s\"", path, key);
		*out = (int)def;
		return LMS_OK;
	}
	if (!json_is_integer(v))
		return lms_fail(LMS_EFORMAT, "%s: \"%s\" is not an integer", path, key);
	json_int_t x = json_integer_value(v);
	if (x < 0 || x > INT_MAX)
		return lms_fail(LMS_EFORMAT, "%s: \"%s\" = %lld is out of range", path, key, (long long)x);
	*out = (int)x;
	return LMS_OK;
}

static enum lms_status get_float(json_t *o, const char *key, double def, float *out,
                                 const char *path)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		*out = (float)def;
		return LMS_OK;
	}
	if (!json_is_number(v))
		return lms_fail(LMS_EFORMAT, "%s: \"%s\" is not a number", path, key);
	double x = json_number_value(v);
	if (!isfinite(x) || fabs(x) > 1e30)
		return lms_fail(LMS_EFORMAT, "%s: \"%s\" is out of range", path, key);
	*out = (float)x;
	return LMS_OK;
}

/* A boolean key (absent: def). */
static enum lms_status get_bool(json_t *o, const char *key, int def, int *out, const char *path)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v)) {
		*out = def;
		return LMS_OK;
	}
	if (!json_is_boolean(v))
		return lms_fail(LMS_EFORMAT, "%s: \"%s\" is not true or false", path, key);
	*out = json_is_true(v);
	return LMS_OK;
}

/* A string key that, when present, must be one of the allowed values. */
static enum lms_status want_string(json_t *o, const char *key, const char *const *allowed,
                                   const char *path)
{
	json_t *v = json_object_get(o, key);
	if (!v || json_is_null(v))
		return LMS_OK;
	if (json_is_string(v))
		for (int i = 0; allowed[i]; i++)
			if (!strcmp(json_string_value(v), allowed[i]))
				return LMS_OK;
	return lms_fail(LMS_EUNSUPPORTED, "%s: \"%s\" must be \"%s\" (lmscope computes only that)",
	                path, key, allowed[0]);
}

#define TRY(x)                                                                                     \
	do {                                                                                           \
		enum lms_status st_ = (x);                                                                 \
		if (st_)                                                                                   \
			return st_;                                                                            \
	} while (0)

static enum lms_status parse_gpt2(json_t *o, struct lms_config *c, const char *path)
{
	static const char *const gelu[] = {"gelu_new", "gelu_pytorch_tanh", NULL};
	int npos = 0, tied = 1, scale = 1, by_layer = 0;
	TRY(get_int(o, "vocab_size", -1, &c->V, path));
	TRY(get_int(o, "n_ctx", 1024, &npos, path));
	TRY(get_int(o, "n_positions", json_object_get(o, "n_ctx") ? npos : -1, &c->maxT, path));
	TRY(get_int(o, "n_embd", -1, &c->C, path));
	TRY(get_int(o, "n_layer", -1, &c->L, path));
	TRY(get_int(o, "n_head", -1, &c->NH, path));
	if (c->C > INT_MAX / 4)
		return lms_fail(LMS_EFORMAT, "%s: \"n_embd\" = %d is out of range", path, c->C);
	TRY(get_int(o, "n_inner", 4L * c->C, &c->H, path));
	TRY(get_float(o, "layer_norm_epsilon", 1e-5, &c->eps, path));
	TRY(want_string(o, "activation_function", gelu, path));
	TRY(get_bool(o, "tie_word_embeddings", 1, &tied, path));
	TRY(get_bool(o, "scale_attn_weights", 1, &scale, path));
	TRY(get_bool(o, "scale_attn_by_inverse_layer_idx", 0, &by_layer, path));
	if (!tied || !scale || by_layer)
		return lms_fail(
			LMS_EUNSUPPORTED,
			"%s: GPT-2 variant not supported (untied head or changed attention scaling)", path);
	c->KV = c->NH;
	c->tied = 1;
	return LMS_OK;
}

static enum lms_status parse_recurrent(json_t *o, struct lms_config *c, const char *path)
{
	static const char *const tanh_only[] = {"tanh", NULL};
	TRY(get_int(o, "vocab_size", -1, &c->V, path));
	TRY(get_int(o, "embedding_dim", -1, &c->C, path));
	TRY(get_int(o, "hidden_dim", -1, &c->H, path));
	TRY(get_int(o, "num_layers", -1, &c->L, path));
	TRY(get_int(o, "max_length", 1024, &c->maxT, path));
	TRY(want_string(o, "nonlinearity", tanh_only, path));
	TRY(get_bool(o, "tie_word_embeddings", 0, &c->tied, path));
	return LMS_OK;
}

/* rope_scaling: null, "default", "linear" (factor) or "llama3" (factor,
 * low_freq_factor, high_freq_factor, original_max_position_embeddings);
 * any other kind is refused by name. */
static enum lms_status parse_rope_scaling(json_t *o, struct lms_config *c, const char *path)
{
	json_t *rs = json_object_get(o, "rope_scaling");
	c->rope.kind = LMS_ROPE_NONE;
	if (!rs || json_is_null(rs))
		return LMS_OK;
	if (!json_is_object(rs))
		return lms_fail(LMS_EFORMAT, "%s: \"rope_scaling\" is not an object", path);
	json_t *kind = json_object_get(rs, "rope_type");
	if (!kind)
		kind = json_object_get(rs, "type");
	const char *k = json_is_string(kind) ? json_string_value(kind) : NULL;
	if (!k)
		return lms_fail(LMS_EFORMAT, "%s: \"rope_scaling\" has no \"rope_type\"", path);
	if (!strcmp(k, "default"))
		return LMS_OK;
	if (strcmp(k, "linear") && strcmp(k, "llama3"))
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: rope_scaling \"%.20s\" is not supported (linear, llama3)", path, k);
	TRY(get_float(rs, "factor", -1.0, &c->rope.factor, path));
	if (!(c->rope.factor >= 1.0f))
		return lms_fail(LMS_EFORMAT, "%s: rope_scaling \"factor\" must be at least 1", path);
	c->rope.kind = LMS_ROPE_LINEAR;
	if (!strcmp(k, "linear"))
		return LMS_OK;
	c->rope.kind = LMS_ROPE_LLAMA3;
	TRY(get_float(rs, "low_freq_factor", 1.0, &c->rope.low_freq, path));
	TRY(get_float(rs, "high_freq_factor", 4.0, &c->rope.high_freq, path));
	TRY(get_int(rs, "original_max_position_embeddings", 8192, &c->rope.orig_maxT, path));
	if (!(c->rope.low_freq > 0.0f && c->rope.high_freq > c->rope.low_freq && c->rope.orig_maxT > 0))
		return lms_fail(LMS_EFORMAT,
		                "%s: rope_scaling llama3 needs 0 < low_freq_factor < high_freq_factor",
		                path);
	return LMS_OK;
}

/* Sliding-window attention (Mistral; Qwen2, Qwen3 with use_sliding_window): a
 * query sees the last `sliding_window` keys. lmscope computes full causal
 * attention, which is the same function for every context up to the
 * window, so the context is limited to the window. */
static enum lms_status limit_to_window(json_t *o, struct lms_config *c, int qwen, const char *path)
{
	int window, use = 1;
	if (qwen)
		TRY(get_bool(o, "use_sliding_window", 0, &use, path));
	TRY(get_int(o, "sliding_window", 0, &window, path));
	if (use && window > 0 && window < c->maxT)
		c->maxT = window;
	return LMS_OK;
}

/* The Llama family: model_type llama, mistral (Llama with a sliding window),
 * qwen2 (Llama with q, k, v biases) and qwen3 (Llama with q_norm and
 * k_norm), same tensor names. Qwen2 and Qwen3 have the sliding window only
 * with use_sliding_window. */
static enum lms_status parse_llama(json_t *o, struct lms_config *c, const char *family,
                                   const char *path)
{
	static const char *const silu[] = {"silu", NULL};
	int qwen2 = !strcmp(family, "qwen2"), qwen3 = !strcmp(family, "qwen3");
	TRY(get_int(o, "vocab_size", -1, &c->V, path));
	TRY(get_int(o, "hidden_size", -1, &c->C, path));
	TRY(get_int(o, "intermediate_size", -1, &c->H, path));
	TRY(get_int(o, "num_hidden_layers", -1, &c->L, path));
	TRY(get_int(o, "num_attention_heads", -1, &c->NH, path));
	TRY(get_int(o, "num_key_value_heads", c->NH, &c->KV, path));
	TRY(get_int(o, "max_position_embeddings", -1, &c->maxT, path));
	TRY(get_float(o, "rms_norm_eps", 1e-6, &c->eps, path));
	TRY(get_float(o, "rope_theta", 10000.0, &c->rope_theta, path));
	TRY(get_bool(o, "tie_word_embeddings", 0, &c->tied, path));
	TRY(want_string(o, "hidden_act", silu, path));
	int abias = 0, mbias = 0;
	if (!qwen2) {
		TRY(get_bool(o, "attention_bias", 0, &abias, path));
		TRY(get_bool(o, "mlp_bias", 0, &mbias, path));
	}
	if (abias || mbias)
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: Llama with biases (attention_bias, mlp_bias) is not supported", path);
	c->qkv_bias = qwen2;
	c->qk_norm = qwen3;
	TRY(parse_rope_scaling(o, c, path));
	if (strcmp(family, "llama"))
		TRY(limit_to_window(o, c, qwen2 || qwen3, path));
	int hd;
	TRY(get_int(o, "head_dim", c->NH ? c->C / c->NH : 0, &hd, path));
	if (c->NH && hd != c->C / c->NH)
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: \"head_dim\" %d other than hidden_size / heads (%d) is not supported",
		                path, hd, c->C / c->NH);
	if (!(c->rope_theta > 0.0f))
		return lms_fail(LMS_EFORMAT, "%s: \"rope_theta\" must be positive", path);
	return LMS_OK;
}

/* model_type names of the Llama family besides "llama" itself */
static int llama_family(const char *name)
{
	return !strcmp(name, "mistral") || !strcmp(name, "qwen2") || !strcmp(name, "qwen3");
}

/* Reads and checks dir/config.json (path is its name, for messages). */
static enum lms_status read_config(const char *path, struct lms_config *c)
{
	memset(c, 0, sizeof *c);
	json_error_t err;
	FILE *fp;
	TRY(lms_infile_fopen(path, &fp));
	json_t *o = json_loadf(fp, JSON_REJECT_DUPLICATES, &err);
	fclose(fp);
	if (!o) {
		char text[160];
		size_t j = 0;
		for (const char *s = err.text; *s && j + 1 < sizeof text; s++)
			text[j++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
		text[j] = '\0';
		return lms_fail(LMS_EFORMAT, "%s: invalid JSON: %s (line %d)", path, text, err.line);
	}
	enum lms_status st = LMS_OK;
	json_t *mt = json_object_get(o, "model_type");
	if (!json_is_object(o))
		st = lms_fail(LMS_EFORMAT, "%s: not a JSON object", path);
	else if (!json_is_string(mt))
		st = lms_fail(LMS_EFORMAT, "%s: missing key \"model_type\"", path);
	else if (llama_family(json_string_value(mt))) {
		c->arch = LMS_LLAMA;
		st = parse_llama(o, c, json_string_value(mt), path);
	} else if (!lms_arch_from_name(json_string_value(mt), &c->arch)) {
		char name[40];
		snprintf(name, sizeof name, "%s", json_string_value(mt));
		for (char *s = name; *s; s++)
			if (*s < 0x20 || *s >= 0x7f)
				*s = '?';
		st = lms_fail(LMS_EUNSUPPORTED,
		              "%s: model_type \"%s\" is not supported (gpt2, llama, mistral, qwen2, qwen3, "
		              "rnn, lstm, gru)",
		              path, name);
	} else if (c->arch == LMS_GPT2)
		st = parse_gpt2(o, c, path);
	else if (c->arch == LMS_LLAMA)
		st = parse_llama(o, c, "llama", path);
	else
		st = parse_recurrent(o, c, path);
	json_decref(o);
	if (st)
		return st;
	TRY(lms_config_check(c, path));
	if (!lms_arch_ops(c->arch))
		return lms_fail(LMS_EUNSUPPORTED, "%s: model_type \"%s\" is not available in this build",
		                path, lms_arch_name(c->arch));
	return LMS_OK;
}

/* ---- model.safetensors ------------------------------------------------------ */

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* Tensors a checkpoint may carry that lmscope does not need. */
static int ignorable(const char *name, const struct lms_config *c)
{
	if (c->arch == LMS_GPT2 &&
	    (ends_with(name, ".attn.bias") || ends_with(name, ".attn.masked_bias")))
		return 1;
	if (c->tied && (!strcmp(name, "lm_head.weight") || !strcmp(name, "transformer.lm_head.weight")))
		return 1;
	if (c->tied && lms_arch_is_recurrent(c->arch) && !strcmp(name, "output.weight"))
		return 1; /* PyTorch's state_dict names the shared tensor twice */
	return ends_with(name, "rotary_emb.inv_freq");
}

static const char *const prefixes[] = {"", "transformer.", "model."};

static const struct lms_st_tensor *find_tensor(const struct lms_shards *f, const char *name,
                                               const struct lms_st_file **file)
{
	char buf[96];
	for (size_t i = 0; i < sizeof prefixes / sizeof *prefixes; i++) {
		snprintf(buf, sizeof buf, "%s%s", prefixes[i], name);
		const struct lms_st_tensor *t = lms_shards_find(f, buf, file);
		if (t)
			return t;
	}
	return NULL;
}

static void shape_str(char *buf, size_t size, int ndim, const int64_t *shape)
{
	size_t j = (size_t)snprintf(buf, size, "[");
	for (int d = 0; d < ndim && j < size; d++)
		j += (size_t)snprintf(buf + j, size - j, "%s%lld", d ? ", " : "", (long long)shape[d]);
	if (j < size)
		snprintf(buf + j, size - j, "]");
}

/* Every tensor of the table present with its exact shape, nothing else.
 * found[i] is set to the file's tensor for table entry i, in file[i]. */
static enum lms_status match_tensors(const struct lms_shards *f, const struct lms_config *c,
                                     const struct lms_tensor *tab, int n,
                                     const struct lms_st_tensor **found,
                                     const struct lms_st_file **file)
{
	for (int i = 0; i < n; i++) {
		const struct lms_st_tensor *t = find_tensor(f, tab[i].name, &file[i]);
		if (!t)
			return lms_fail(LMS_EFORMAT, "%s: missing tensor \"%s\"", f->what, tab[i].name);
		int same = t->ndim == tab[i].ndim;
		for (int d = 0; same && d < t->ndim; d++)
			same = t->shape[d] == tab[i].shape[d];
		if (!same) {
			char have[80], want[80];
			shape_str(have, sizeof have, t->ndim, t->shape);
			shape_str(want, sizeof want, tab[i].ndim, tab[i].shape);
			return lms_fail(LMS_EFORMAT, "%s: tensor \"%s\" has shape %s, config.json implies %s",
			                file[i]->path, tab[i].name, have, want);
		}
		found[i] = t;
	}
	for (int s = 0; s < f->n; s++)
		for (int k = 0; k < f->files[s]->n; k++) {
			const struct lms_st_tensor *t = &f->files[s]->tensors[k];
			int used = 0;
			for (int i = 0; i < n && !used; i++)
				used = found[i] == t;
			if (!used && !ignorable(t->name, c)) {
				char name[80];
				snprintf(name, sizeof name, "%s", t->name);
				for (char *p = name; *p; p++)
					if (*p < 0x20 || *p >= 0x7f)
						*p = '?';
				return lms_fail(
					LMS_EFORMAT,
					"%s: unexpected tensor \"%s\" (not part of the model config.json describes)",
					f->files[s]->path, name);
			}
		}
	return LMS_OK;
}

/* Whether table entry t, stored as dtype, stays as stored: the matrices of
 * the Llama family (nn.Linear layout, which nn/wmat.h multiplies) in half
 * or bfloat16. Everything else is converted to float32. */
static int keep_stored(const struct lms_config *c, const struct lms_tensor *t, enum lms_st_dtype d)
{
	return c->arch == LMS_LLAMA && t->ndim == 2 && (d == LMS_ST_F16 || d == LMS_ST_BF16);
}

static enum lms_wtype wtype_of(enum lms_st_dtype d)
{
	return d == LMS_ST_F16 ? LMS_W_F16 : LMS_W_BF16;
}

/* No NaN or Inf among n half or bfloat16 values: an exponent of all ones.
 * (Reads every page of the tensor once, which the first forward would do
 * anyway.) */
static int finite16(const unsigned char *p, size_t n, enum lms_st_dtype d)
{
	uint16_t mask = d == LMS_ST_F16 ? 0x7c00 : 0x7f80;
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
		bad |= (h & mask) == mask;
	}
	return !bad;
}

/* Reads the mapped files in now, in large requests, rather than a page
 * fault at a time in the NaN scan below (only a speed-up: without
 * MADV_POPULATE_READ, or when it fails, the pages come in on first use). */
static void populate(const struct lms_shards *f)
{
#ifdef MADV_POPULATE_READ
	for (int i = 0; i < f->n; i++)
		madvise((void *)f->files[i]->map, f->files[i]->size, MADV_POPULATE_READ);
#else
	(void)f;
#endif
}

/* The model over the open shards: float32 tensors read into params, kept
 * ones pointed into the mappings (the shards become the model's storage). */
static enum lms_status fill_model(struct lms_shards *f, const struct lms_config *c,
                                  const struct lms_st_tensor **found,
                                  const struct lms_st_file **file, struct lms_model **out)
{
	struct lms_model *m = NULL;
	enum lms_status st = lms_model_alloc_table(c, &m);
	if (st)
		return st;
	size_t floats = 0, stored = 0;
	for (int i = 0; i < m->n_tensors; i++) {
		int keep = keep_stored(c, &m->tensors[i], found[i]->dtype);
		m->typed |= keep;
		floats += keep ? 0 : m->tensors[i].numel;
		stored += keep ? found[i]->end - found[i]->begin : m->tensors[i].numel * sizeof(float);
	}
	m->stored_bytes = stored;
	st = lms_memory_check_stored(c, stored, f->what);
	if (!st && m->typed)
		populate(f);
	if (!st && !(m->params = calloc(floats ? floats : 1, sizeof(float))))
		st = lms_fail(LMS_ENOMEM, "cannot allocate %zu parameters", floats);
	size_t off = 0;
	for (int i = 0; i < m->n_tensors && !st; i++) {
		const struct lms_tensor *t = &m->tensors[i];
		const struct lms_st_tensor *ft = found[i];
		if (keep_stored(c, t, ft->dtype)) {
			const unsigned char *data = file[i]->data + ft->begin;
			m->wm[i] = lms_tensor_wmat(t, wtype_of(ft->dtype), data);
			if (!finite16(data, t->numel, ft->dtype))
				st = lms_fail(LMS_ENUMERIC, "%s: tensor \"%s\" holds NaN or Inf values",
				              file[i]->path, t->name);
			continue;
		}
		/* a float32 model keeps the packed layout of tensors[] */
		float *p = m->params + (m->typed ? off : t->offset);
		off += t->numel;
		m->wm[i] = lms_tensor_wmat(t, LMS_W_F32, p);
		st = lms_st_read_f32(file[i], ft, p);
		for (size_t k = 0; k < t->numel && !st; k++)
			if (!isfinite(p[k]))
				st = lms_fail(LMS_ENUMERIC, "%s: tensor \"%s\" holds NaN or Inf values",
				              file[i]->path, t->name);
	}
	if (st) {
		lms_model_free(m);
		return st;
	}
	if (m->typed) {
		m->storage = f;
		m->storage_free = (void (*)(void *))lms_shards_close;
	}
	*out = m;
	return LMS_OK;
}

static enum lms_status load_weights(const char *dir, const struct lms_config *c,
                                    struct lms_model **out)
{
	const struct lms_arch_ops *ops = lms_arch_ops(c->arch);
	int n = ops->tensors(c, NULL);
	struct lms_tensor *tab = calloc((size_t)n, sizeof *tab);
	const struct lms_st_tensor **found = calloc((size_t)n, sizeof *found);
	const struct lms_st_file **file = calloc((size_t)n, sizeof *file);
	struct lms_shards *f = NULL;
	struct lms_model *m = NULL;
	enum lms_status st = LMS_OK;
	if (!tab || !found || !file) {
		st = lms_fail(LMS_ENOMEM, "out of memory");
		goto done;
	}
	ops->tensors(c, tab);
	st = lms_shards_open(dir, &f);
	if (!st)
		st = match_tensors(f, c, tab, n, found, file);
	if (!st)
		st = fill_model(f, c, found, file, &m);
done:
	if (!m || !m->typed)
		lms_shards_close(f);
	free(file);
	free(found);
	free(tab);
	*out = m;
	return st;
}

/* The checks lms_model_load makes before it reads weights: the directory,
 * its config.json (into *c) and that it has weights, single or sharded. */
static enum lms_status open_dir(const char *dir, struct lms_config *c)
{
	struct stat sb;
	if (stat(dir, &sb) != 0)
		return lms_fail(LMS_EIO, "%s: %s", dir, strerror(errno));
	if (!S_ISDIR(sb.st_mode))
		return lms_fail(LMS_EFORMAT,
		                "%s: not a model directory (config.json and model.safetensors)", dir);
	int has_config = exists(dir, "config.json");
	if (has_config < 0)
		return lms_fail(errno == ENOMEM ? LMS_ENOMEM : LMS_EIO, "%s: %s", dir, strerror(errno));
	if (!has_config)
		return lms_fail(LMS_EFORMAT, "%s: not a model directory (no config.json)", dir);
	if (exists(dir, "model.safetensors") <= 0 && exists(dir, "model.safetensors.index.json") <= 0) {
		if (exists(dir, "pytorch_model.bin") > 0)
			return lms_fail(LMS_EUNSUPPORTED,
			                "%s: pytorch_model.bin is not read (convert it to model.safetensors)",
			                dir);
		return lms_fail(LMS_EFORMAT, "%s: no model.safetensors", dir);
	}
	char *cpath = lms_path_join(dir, "config.json");
	if (!cpath)
		return lms_fail(LMS_ENOMEM, "out of memory");
	enum lms_status st = read_config(cpath, c);
	free(cpath);
	return st;
}

enum lms_status lms_model_load(const char *dir, struct lms_model **out)
{
	*out = NULL;
	struct lms_config c;
	enum lms_status st = open_dir(dir, &c);
	if (!st)
		st = load_weights(dir, &c, out);
	return st;
}

enum lms_status lms_model_probe(const char *dir, struct lms_config *c)
{
	enum lms_status st = open_dir(dir, c);
	if (st)
		return st;
	const struct lms_arch_ops *ops = lms_arch_ops(c->arch);
	int n = ops->tensors(c, NULL);
	struct lms_tensor *tab = calloc((size_t)n, sizeof *tab);
	const struct lms_st_tensor **found = calloc((size_t)n, sizeof *found);
	const struct lms_st_file **file = calloc((size_t)n, sizeof *file);
	struct lms_shards *f = NULL;
	if (!tab || !found || !file)
		st = lms_fail(LMS_ENOMEM, "out of memory");
	if (!st) {
		ops->tensors(c, tab);
		st = lms_shards_open(dir, &f);
	}
	if (!st)
		st = match_tensors(f, c, tab, n, found, file);
	lms_shards_close(f);
	free(file);
	free(found);
	free(tab);
	return st;
}

/* ---- saving ----------------------------------------------------------------- */

/* A float as the shortest decimal that reads back as the same float. */
static json_t *real_of(float x)
{
	char buf[32];
	for (int p = 1; p <= 9; p++) {
		snprintf(buf, sizeof buf, "%.*g", p, (double)x);
		if (strtof(buf, NULL) == x)
			break;
	}
	return json_real(strtod(buf, NULL));
}

static json_t *rope_scaling_json(const struct lms_rope_scaling *r)
{
	if (r->kind == LMS_ROPE_LINEAR)
		return json_pack("{s:s,s:o}", "rope_type", "linear", "factor", real_of(r->factor));
	if (r->kind == LMS_ROPE_LLAMA3)
		return json_pack("{s:s,s:o,s:o,s:o,s:i}", "rope_type", "llama3", "factor",
		                 real_of(r->factor), "low_freq_factor", real_of(r->low_freq),
		                 "high_freq_factor", real_of(r->high_freq),
		                 "original_max_position_embeddings", r->orig_maxT);
	return json_null();
}

/* The class name a Llama-family config is saved as. */
static const char *llama_class(const struct lms_config *c)
{
	return c->qk_norm ? "Qwen3ForCausalLM" : c->qkv_bias ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
}

static json_t *config_json(const struct lms_config *c, int f16)
{
	json_t *o = json_object();
	const char *dtype = f16 ? "float16" : "float32";
	switch (c->arch) {
	case LMS_GPT2:
		json_object_set_new(o, "architectures", json_pack("[s]", "GPT2LMHeadModel"));
		json_object_set_new(o, "model_type", json_string("gpt2"));
		json_object_set_new(o, "vocab_size", json_integer(c->V));
		json_object_set_new(o, "n_positions", json_integer(c->maxT));
		json_object_set_new(o, "n_ctx", json_integer(c->maxT));
		json_object_set_new(o, "n_embd", json_integer(c->C));
		json_object_set_new(o, "n_layer", json_integer(c->L));
		json_object_set_new(o, "n_head", json_integer(c->NH));
		json_object_set_new(o, "n_inner", json_integer(c->H));
		json_object_set_new(o, "layer_norm_epsilon", real_of(c->eps));
		json_object_set_new(o, "activation_function", json_string("gelu_new"));
		json_object_set_new(o, "tie_word_embeddings", json_true());
		break;
	case LMS_LLAMA:
		/* q, k, v biases are Qwen2's (Llama's attention_bias adds o_proj's
		 * too), q_norm and k_norm Qwen3's */
		json_object_set_new(o, "architectures", json_pack("[s]", llama_class(c)));
		json_object_set_new(o, "model_type", json_string(lms_model_type(c)));
		json_object_set_new(o, "rope_scaling", rope_scaling_json(&c->rope));
		json_object_set_new(o, "vocab_size", json_integer(c->V));
		json_object_set_new(o, "hidden_size", json_integer(c->C));
		json_object_set_new(o, "intermediate_size", json_integer(c->H));
		json_object_set_new(o, "num_hidden_layers", json_integer(c->L));
		json_object_set_new(o, "num_attention_heads", json_integer(c->NH));
		json_object_set_new(o, "num_key_value_heads", json_integer(c->KV));
		json_object_set_new(o, "max_position_embeddings", json_integer(c->maxT));
		json_object_set_new(o, "rms_norm_eps", real_of(c->eps));
		json_object_set_new(o, "rope_theta", real_of(c->rope_theta));
		json_object_set_new(o, "tie_word_embeddings", json_boolean(c->tied));
		json_object_set_new(o, "hidden_act", json_string("silu"));
		break;
	case LMS_RNN:
	case LMS_LSTM:
	case LMS_GRU:
		json_object_set_new(o, "model_type", json_string(lms_arch_name(c->arch)));
		json_object_set_new(o, "vocab_size", json_integer(c->V));
		json_object_set_new(o, "embedding_dim", json_integer(c->C));
		json_object_set_new(o, "hidden_dim", json_integer(c->H));
		json_object_set_new(o, "num_layers", json_integer(c->L));
		json_object_set_new(o, "max_length", json_integer(c->maxT));
		if (c->tied)
			json_object_set_new(o, "tie_word_embeddings", json_true());
		break;
	}
	json_object_set_new(o, "torch_dtype", json_string(dtype));
	return o;
}

enum lms_status lms_model_save(const struct lms_model *m, const char *dir, int f16)
{
	if (m->typed) { /* written from a float32 copy */
		struct lms_model *f32 = NULL;
		enum lms_status st = lms_model_to_f32(m, &f32);
		if (!st)
			st = lms_model_save(f32, dir, f16);
		lms_model_free(f32);
		return st;
	}
	for (int i = 0; i < m->n_tensors; i++) {
		const struct lms_tensor *t = &m->tensors[i];
		for (size_t k = 0; k < t->numel; k++)
			if (!isfinite(m->params[t->offset + k]))
				return lms_fail(LMS_ENUMERIC,
				                "%s: cannot save: tensor \"%s\" holds NaN or Inf values", dir,
				                t->name);
	}
	if (mkdir(dir, 0777) != 0 && errno != EEXIST)
		return lms_fail(LMS_EIO, "%s: %s", dir, strerror(errno));
	struct stat sb;
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return lms_fail(LMS_EIO, "%s: not a directory", dir);

	struct lms_st_out *outs = calloc((size_t)m->n_tensors, sizeof *outs);
	json_t *cj = config_json(&m->cfg, f16);
	char *text = cj ? json_dumps(cj, JSON_INDENT(2) | JSON_REAL_PRECISION(9)) : NULL;
	json_decref(cj);
	char *cpath = lms_path_join(dir, "config.json"),
		 *wpath = lms_path_join(dir, "model.safetensors");
	enum lms_status st = LMS_OK;
	struct lms_atomic wa = {.fd = -1}, ca = {.fd = -1};
	int wopen = 0, copen = 0;
	if (!outs || !text || !cpath || !wpath) {
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
		goto done;
	}
	for (int i = 0; i < m->n_tensors; i++) {
		const struct lms_tensor *t = &m->tensors[i];
		outs[i] = (struct lms_st_out){t->name, t->ndim, t->shape, m->params + t->offset};
	}
	static const char *const meta[] = {"format", "pt", NULL};
	st = lms_atomic_open(&wa, wpath);
	wopen = !st;
	if (!st)
		st = lms_st_write_to(&wa, outs, m->n_tensors, f16 ? LMS_ST_F16 : LMS_ST_F32, meta);
	if (!st)
		st = lms_atomic_finish(&wa);
	if (!st) {
		st = lms_atomic_open(&ca, cpath);
		copen = !st;
	}
	if (!st)
		st = lms_atomic_put(&ca, text, strlen(text));
	if (!st)
		st = lms_atomic_put(&ca, "\n", 1);
	if (!st)
		st = lms_atomic_finish(&ca);
	/* both files are on disk under temporary names: weights first, the
	 * config last (see the comment at the top) */
	if (!st) {
		wopen = 0;
		st = lms_atomic_commit(&wa);
	}
	if (!st) {
		copen = 0;
		st = lms_atomic_commit(&ca);
	}
done:
	if (wopen)
		lms_atomic_abort(&wa);
	if (copen)
		lms_atomic_abort(&ca);
	free(outs);
	free(text);
	free(cpath);
	free(wpath);
	return st;
}
