/* llama2.c's legacy checkpoint format (see include/lmscope/llama2c.h).
 *
 * The file is validated before anything is allocated: the header's sizes
 * must pass lms_config_check and the file must be exactly as long as the
 * header implies, so no allocation is larger than the file justifies. The
 * tensors are then read section by section into the layer-major Hugging
 * Face layout of llama.c. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arch/arch.h"
#include "lmscope/llama2c.h"
#include "base/infile.h"
#include "base/memlimit.h"
#include "base/tr.h"
#include "nn/llama_ops.h"

/* llama2.c's newer export formats start with this magic ("ak42"). */
#define LLAMA2C_MAGIC 0x616b3432

static enum lms_status read_floats(FILE *f, float *dst, size_t n, const char *path)
{
	if (fread(dst, sizeof(float), n, f) != n)
		return lms_fail(LMS_EIO, "%s: read failed: %s", path,
		                ferror(f) ? strerror(errno) : lms_tr(N_("unexpected end of file")));
	return LMS_OK;
}

static float *tensor_of(struct lms_model *m, int l, const char *suffix)
{
	char name[64];
	if (l < 0)
		snprintf(name, sizeof name, "%s", suffix);
	else
		snprintf(name, sizeof name, "model.layers.%d.%s", l, suffix);
	const struct lms_tensor *t = lms_model_tensor(m, name);
	return t ? m->params + t->offset : NULL;
}

/* Reads one section of L stacked tensors of n floats each into the layer
 * tensors named by suffix, permuting rows for the rotary ones. */
static enum lms_status read_layers(FILE *f, struct lms_model *m, const char *suffix, size_t n,
                                   int rotary_heads, float *tmp, const char *path)
{
	const struct lms_config *c = &m->cfg;
	for (int l = 0; l < c->L; l++) {
		float *dst = tensor_of(m, l, suffix);
		enum lms_status st = read_floats(f, rotary_heads ? tmp : dst, n, path);
		if (st)
			return st;
		if (rotary_heads)
			lms_rope_rows_permute(dst, tmp, rotary_heads, c->C / c->NH,
			                      (size_t)c->C * sizeof(float), 0);
	}
	return LMS_OK;
}

/* The configuration a header describes, checked. */
static enum lms_status parse_header(const int32_t h[7], const char *path, struct lms_config *c)
{
	if ((uint32_t)h[0] == LLAMA2C_MAGIC)
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: llama2.c's versioned export format; export with --version 0 (legacy)",
		                path);
	for (int i = 0; i < 7; i++)
		if (h[i] == 0 || (h[i] < 0 && i != 5) || h[i] == INT32_MIN)
			return lms_fail(LMS_EFORMAT, "%s: not a llama2.c checkpoint (header entry %d is %d)",
			                path, i, h[i]);
	memset(c, 0, sizeof *c);
	c->arch = LMS_LLAMA;
	c->C = h[0];
	c->H = h[1];
	c->L = h[2];
	c->NH = h[3];
	c->KV = h[4];
	c->V = h[5] < 0 ? -h[5] : h[5];
	c->tied = h[5] > 0;
	c->maxT = h[6];
	c->eps = LMS_LLAMA2C_EPS;
	c->rope_theta = LMS_LLAMA2C_THETA;
	return lms_config_check(c, path);
}

enum lms_status lms_llama2c_load(const char *path, struct lms_model **out)
{
	*out = NULL;
	FILE *f;
	enum lms_status st = lms_infile_fopen(path, &f);
	if (st)
		return st;
	struct stat sb;
	int32_t h[7];
	struct lms_config c;
	if (fstat(fileno(f), &sb) != 0)
		st = lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
	else if (fread(h, sizeof h, 1, f) != 1)
		st = lms_fail(LMS_EFORMAT, "%s: shorter than a llama2.c header (28 bytes)", path);
	else
		st = parse_header(h, path, &c);
	if (st) {
		fclose(f);
		return st;
	}
	size_t hs = (size_t)c.C / c.NH;
	size_t rope_floats = (size_t)c.maxT * hs; /* two tables of (seq_len, hs/2) */
	size_t want = sizeof h + (lms_config_n_params(&c) + rope_floats) * sizeof(float);
	if ((uint64_t)sb.st_size != want) {
		fclose(f);
		return lms_fail(LMS_EFORMAT, "%s: file is %lld bytes but its header implies %zu", path,
		                (long long)sb.st_size, want);
	}
	struct lms_model *m;
	st = lms_memory_check(&c, path);
	if (!st)
		st = lms_model_alloc(&c, &m);
	if (st) {
		fclose(f);
		return st;
	}
	size_t C = (size_t)c.C, KC = (size_t)c.KV * hs, H = (size_t)c.H;
	float *tmp = malloc(C * C * sizeof(float));
	if (!tmp)
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	if (!st)
		st = read_floats(f, tensor_of(m, -1, "model.embed_tokens.weight"), (size_t)c.V * C, path);
	if (!st)
		st = read_layers(f, m, "input_layernorm.weight", C, 0, tmp, path);
	if (!st)
		st = read_layers(f, m, "self_attn.q_proj.weight", C * C, c.NH, tmp, path);
	if (!st)
		st = read_layers(f, m, "self_attn.k_proj.weight", KC * C, c.KV, tmp, path);
	if (!st)
		st = read_layers(f, m, "self_attn.v_proj.weight", KC * C, 0, tmp, path);
	if (!st)
		st = read_layers(f, m, "self_attn.o_proj.weight", C * C, 0, tmp, path);
	if (!st)
		st = read_layers(f, m, "post_attention_layernorm.weight", C, 0, tmp, path);
	if (!st)
		st = read_layers(f, m, "mlp.gate_proj.weight", H * C, 0, tmp, path);
	if (!st)
		st = read_layers(f, m, "mlp.down_proj.weight", C * H, 0, tmp, path);
	if (!st)
		st = read_layers(f, m, "mlp.up_proj.weight", H * C, 0, tmp, path);
	if (!st)
		st = read_floats(f, tensor_of(m, -1, "model.norm.weight"), C, path);
	if (!st && !c.tied) {
		if (fseek(f, (long)(rope_floats * sizeof(float)), SEEK_CUR) != 0)
			st = lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
		else
			st = read_floats(f, tensor_of(m, -1, "lm_head.weight"), (size_t)c.V * C, path);
	}
	free(tmp);
	fclose(f);
	for (size_t i = 0; !st && i < m->n_params; i++)
		if (!(m->params[i] - m->params[i] == 0.0f))
			st = lms_fail(LMS_ENUMERIC, "%s: parameter %zu is not a finite number", path, i);
	if (st) {
		lms_model_free(m);
		return st;
	}
	*out = m;
	return LMS_OK;
}
