/* Tokenizers in GGUF metadata (io/gguf.h): tokenizer.ggml.* arrays handed
 * to the constructors of tok/tok_build.h.
 *
 *   tokenizer.ggml.model            "gpt2" | "llama" ("none": no tokenizer)
 *   tokenizer.ggml.tokens           string array (V)
 *   tokenizer.ggml.scores           f32 array (V), "llama"
 *   tokenizer.ggml.token_type       i32 array (V), enum lms_tok_type
 *   tokenizer.ggml.merges           string array, "gpt2": "left right"
 *   tokenizer.ggml.bos_token_id, eos_token_id, unknown_token_id   u32
 *   tokenizer.ggml.add_bos_token    bool (default: "llama" yes, "gpt2" no)
 *   tokenizer.ggml.add_space_prefix bool (default yes)
 *   tokenizer.ggml.pre              string, "gpt2": the pre-tokenizer name */
#include <stdlib.h>
#include <string.h>

#include "io/gguf.h"
#include "tok/tok_build.h"

#define TRY(x)                                                                                     \
	do {                                                                                           \
		enum lms_status st_ = (x);                                                                 \
		if (st_)                                                                                   \
			return st_;                                                                            \
	} while (0)

/* Pointers and lengths of a string array's n elements (malloc'd pair). */
static enum lms_status strings(const struct lms_gguf *g, const struct lms_gguf_kv *kv,
                               const char ***s, size_t **len)
{
	*s = malloc((size_t)(kv->count ? kv->count : 1) * sizeof **s);
	*len = malloc((size_t)(kv->count ? kv->count : 1) * sizeof **len);
	if (!*s || !*len)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", g->path);
	size_t pos = 0;
	for (uint64_t i = 0; i < kv->count; i++)
		lms_gguf_arr_next_str(kv, &pos, &(*s)[i], &(*len)[i]);
	return LMS_OK;
}

/* An optional token id in [-1, n). */
static enum lms_status token_id(const struct lms_gguf *g, const char *key, int n, int *out)
{
	int64_t v = -1;
	TRY(lms_gguf_int(g, key, 1, &v));
	if (v < -1 || v >= n)
		return lms_fail(LMS_EFORMAT, "%s: %s = %lld is not a token id (vocabulary of %d)", g->path,
		                key, (long long)v, n);
	*out = (int)v;
	return LMS_OK;
}

/* An optional per-token array of the vocabulary's length. */
static enum lms_status per_token(const struct lms_gguf *g, const char *key, enum lms_gguf_vtype t,
                                 int n, const struct lms_gguf_kv **kv)
{
	TRY(lms_gguf_array(g, key, t, 1, kv));
	if (*kv && (*kv)->count != (uint64_t)n)
		return lms_fail(LMS_EFORMAT, "%s: %s has %llu entries for %d tokens", g->path, key,
		                (unsigned long long)(*kv)->count, n);
	return LMS_OK;
}

struct held {
	const char **tok, **mer;
	size_t *tok_len, *mer_len;
	float *scores;
	int *types;
	char *pre;
};

static void release(struct held *h)
{
	free(h->tok);
	free(h->mer);
	free(h->tok_len);
	free(h->mer_len);
	free(h->scores);
	free(h->types);
	free(h->pre);
}

static enum lms_status arrays(const struct lms_gguf *g, int gpt2, struct lms_tok_arrays *a,
                              struct held *h)
{
	const struct lms_gguf_kv *tokens, *scores, *types, *merges;
	TRY(lms_gguf_array(g, "tokenizer.ggml.tokens", LMS_GV_STRING, 0, &tokens));
	if (tokens->count < 1 || tokens->count > (1 << 24))
		return lms_fail(LMS_EFORMAT, "%s: tokenizer.ggml.tokens has %llu entries", g->path,
		                (unsigned long long)tokens->count);
	int n = a->n = (int)tokens->count;
	TRY(strings(g, tokens, &h->tok, &h->tok_len));
	a->tokens = h->tok;
	a->token_lens = h->tok_len;
	TRY(per_token(g, "tokenizer.ggml.scores", LMS_GV_F32, n, &scores));
	TRY(per_token(g, "tokenizer.ggml.token_type", LMS_GV_I32, n, &types));
	if (scores) {
		if (!(h->scores = malloc((size_t)n * sizeof *h->scores)))
			return lms_fail(LMS_ENOMEM, "%s: out of memory", g->path);
		for (int i = 0; i < n; i++)
			h->scores[i] = (float)lms_gguf_arr_f(scores, (uint64_t)i);
		a->scores = h->scores;
	}
	if (types) {
		if (!(h->types = malloc((size_t)n * sizeof *h->types)))
			return lms_fail(LMS_ENOMEM, "%s: out of memory", g->path);
		for (int i = 0; i < n; i++) {
			int64_t v = lms_gguf_arr_i(types, (uint64_t)i);
			h->types[i] = v < 0 || v > LMS_TOKTYPE_BYTE ? LMS_TOKTYPE_UNDEFINED : (int)v;
		}
		a->token_types = h->types;
	}
	TRY(lms_gguf_array(g, "tokenizer.ggml.merges", LMS_GV_STRING, 1, &merges));
	if (merges) {
		if (merges->count > (1 << 24))
			return lms_fail(LMS_EFORMAT, "%s: tokenizer.ggml.merges has %llu entries", g->path,
			                (unsigned long long)merges->count);
		a->n_merges = (int)merges->count;
		TRY(strings(g, merges, &h->mer, &h->mer_len));
		a->merges = h->mer;
		a->merge_lens = h->mer_len;
	}
	TRY(token_id(g, "tokenizer.ggml.bos_token_id", n, &a->bos));
	TRY(token_id(g, "tokenizer.ggml.eos_token_id", n, &a->eos));
	TRY(token_id(g, "tokenizer.ggml.unknown_token_id", n, &a->unk));
	a->add_bos = !gpt2;
	a->add_space_prefix = 1;
	TRY(lms_gguf_bool(g, "tokenizer.ggml.add_bos_token", 1, &a->add_bos));
	TRY(lms_gguf_bool(g, "tokenizer.ggml.add_space_prefix", 1, &a->add_space_prefix));
	const char *pre;
	size_t plen;
	TRY(lms_gguf_str(g, "tokenizer.ggml.pre", 1, &pre, &plen));
	if (pre) {
		if (!(h->pre = strndup(pre, plen > 256 ? 256 : plen)))
			return lms_fail(LMS_ENOMEM, "%s: out of memory", g->path);
		a->pre = h->pre;
	}
	return LMS_OK;
}

enum lms_status lms_gguf_tokenizer(const struct lms_gguf *g, struct lms_tokenizer **out)
{
	*out = NULL;
	const char *model;
	size_t n;
	TRY(lms_gguf_str(g, "tokenizer.ggml.model", 1, &model, &n));
	if (!model || (n == 4 && !memcmp(model, "none", 4)) || (n == 2 && !memcmp(model, "no", 2)))
		return LMS_OK;
	int gpt2 = n == 4 && !memcmp(model, "gpt2", 4);
	int llama = n == 5 && !memcmp(model, "llama", 5);
	if (!gpt2 && !llama)
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: tokenizer.ggml.model \"%.*s\" is not supported (gpt2, llama)", g->path,
		                (int)(n > 40 ? 40 : n), model);
	struct lms_tok_arrays a = {.where = g->path};
	struct held h = {0};
	enum lms_status st = arrays(g, gpt2, &a, &h);
	if (!st)
		st = gpt2 ? lms_tokenizer_from_gpt2(&a, out) : lms_tokenizer_from_llama(&a, out);
	release(&h);
	return st;
}
