/* Writing a tokenizer built from GGUF metadata (tok_gguf.c) as
 * tokenizer.json and tokenizer_config.json, so that `lmscope convert` can
 * turn a .gguf file into a model directory. (A tokenizer read from
 * tokenizer.json is saved as the files it was read from.)
 *
 * The pipeline is written component by component, as tok_hf.c reads it:
 * the vocabulary with every id, the CONTROL and USER_DEFINED tokens as
 * added_tokens, normalizers, pre-tokenizers (Split with the pattern's
 * source), decoders. A byte-level model writes its merges as they are. A
 * model by scores (GGUF "llama") has no merges; it gets those of Hugging
 * Face's own sentencepiece conversion (LlamaConverter): for every token,
 * each split into two tokens is a merge, ranked by the token's score
 * (highest first, then by id). That merges the pair whose concatenation
 * scores highest, leftmost first, as the scores do, for every vocabulary
 * whose tokens are built from tokens (sentencepiece's BPE always is). */
#include <stdio.h>

#include <jansson.h>

#include "tok/tok_hf.h"

static json_t *str_n(const struct hf *h, int id)
{
	return json_stringn(tok_vocab_str(&h->vocab, id), h->vocab.len[id]);
}

static json_t *typed(const char *type)
{
	return json_pack("{s:s}", "type", type);
}

static json_t *sequence(const char *type_key, json_t *items)
{
	if (json_array_size(items) == 1) {
		json_t *one = json_incref(json_array_get(items, 0));
		json_decref(items);
		return one;
	}
	return json_pack("{s:s, s:o}", "type", "Sequence", type_key, items);
}

static json_t *normalizers(const struct hf *h)
{
	static const char *const unicode[] = {"NFC", "NFKC", "NFD", "NFKD"};
	if (!h->n_norm)
		return json_null();
	json_t *a = json_array();
	for (int k = 0; k < h->n_norm; k++) {
		const struct hf_norm *n = &h->norm[k];
		json_t *o = n->kind == HF_PREPEND
		                ? json_pack("{s:s, s:s}", "type", "Prepend", "prepend", n->a)
		            : n->kind == HF_REPLACE ? json_pack("{s:s, s:{s:s}, s:s}", "type", "Replace",
		                                                "pattern", "String", n->a, "content", n->b)
		                                    : typed(unicode[n->kind]);
		json_array_append_new(a, o);
	}
	return sequence("normalizers", a);
}

static json_t *pre_tokenizers(const struct hf *h)
{
	json_t *a = json_array();
	for (int k = 0; k < h->n_pre; k++) {
		const struct hf_pre *p = &h->pre[k];
		if (p->kind == HF_PRE_DIGITS)
			json_array_append_new(
				a, json_pack("{s:s, s:b}", "type", "Digits", "individual_digits", p->individual));
		else if (p->kind == HF_PRE_SPLIT && p->pattern)
			json_array_append_new(a, json_pack("{s:s, s:{s:s}, s:s, s:b}", "type", "Split",
			                                   "pattern", "Regex", p->pattern, "behavior",
			                                   "Isolated", "invert", 0));
	}
	if (h->byte_level)
		json_array_append_new(a,
		                      json_pack("{s:s, s:b, s:b, s:b}", "type", "ByteLevel",
		                                "add_prefix_space", 0, "trim_offsets", 0, "use_regex", 0));
	if (!json_array_size(a)) {
		json_decref(a);
		return json_null();
	}
	return sequence("pretokenizers", a);
}

static json_t *decoders(const struct hf *h)
{
	json_t *a = json_array();
	for (int k = 0; k < h->n_dec; k++) {
		const struct hf_dec *d = &h->dec[k];
		json_t *o = NULL;
		switch (d->kind) {
		case HF_DEC_BYTELEVEL: o = typed("ByteLevel"); break;
		case HF_DEC_BYTEFALLBACK: o = typed("ByteFallback"); break;
		case HF_DEC_FUSE: o = typed("Fuse"); break;
		case HF_DEC_REPLACE:
			o = json_pack("{s:s, s:{s:s}, s:s}", "type", "Replace", "pattern", "String", d->a,
			              "content", d->b);
			break;
		case HF_DEC_STRIP:
			o = json_pack("{s:s, s:s, s:i, s:i}", "type", "Strip", "content", d->a, "start",
			              d->start, "stop", d->stop);
			break;
		case HF_DEC_METASPACE:
			o = json_pack("{s:s, s:s, s:s}", "type", "Metaspace", "replacement", d->a,
			              "prepend_scheme", d->prepend ? "always" : "never");
			break;
		}
		json_array_append_new(a, o);
	}
	if (!json_array_size(a)) {
		json_decref(a);
		return json_null();
	}
	return sequence("decoders", a);
}

/* Scores mode: the merges of each token t = a + b, by t's score. */
static int by_score_desc(const void *x, const void *y, void *ctx)
{
	const float *score = ctx;
	int a = *(const int *)x, b = *(const int *)y;
	if (score[a] != score[b])
		return score[a] > score[b] ? -1 : 1;
	return a < b ? -1 : a > b;
}

static int add_pair(json_t *merges, const struct hf *h, int a, int b)
{
	return json_array_append_new(merges, json_pack("[o, o]", str_n(h, a), str_n(h, b)));
}

static json_t *score_merges(const struct hf *h)
{
	json_t *m = json_array();
	int *order = malloc((size_t)h->vocab.n * sizeof *order);
	if (!order || !m) {
		free(order);
		json_decref(m);
		return NULL;
	}
	for (int i = 0; i < h->vocab.n; i++)
		order[i] = i;
	qsort_r(order, (size_t)h->vocab.n, sizeof *order, by_score_desc, h->score);
	int bad = 0;
	for (int k = 0; k < h->vocab.n && !bad; k++) {
		int t = order[k];
		const char *s = tok_vocab_str(&h->vocab, t);
		size_t n = h->vocab.len[t];
		/* every cut, left to right (a cut inside a character finds no token) */
		for (size_t cut = 1; cut < n && !bad; cut++) {
			int a = tok_vocab_id(&h->vocab, s, cut), b = tok_vocab_id(&h->vocab, s + cut, n - cut);
			if (a >= 0 && b >= 0)
				bad = add_pair(m, h, a, b);
		}
	}
	free(order);
	if (bad) {
		json_decref(m);
		return NULL;
	}
	return m;
}

static json_t *model(const struct hf *h)
{
	json_t *vocab = json_object();
	for (int i = 0; vocab && i < h->vocab.n; i++) {
		json_t *k = str_n(h, i);
		if (!k || json_object_setn_new(vocab, json_string_value(k), json_string_length(k),
		                               json_integer(i))) {
			json_decref(k);
			json_decref(vocab);
			return NULL;
		}
		json_decref(k);
	}
	json_t *merges = h->score ? score_merges(h) : json_array();
	for (int r = 0; !h->score && merges && r < h->n_merges; r++)
		if (add_pair(merges, h, h->left[r], h->right[r])) {
			json_decref(merges);
			merges = NULL;
		}
	if (!vocab || !merges) {
		json_decref(vocab);
		json_decref(merges);
		return NULL;
	}
	return json_pack("{s:s, s:n, s:o, s:n, s:n, s:b, s:b, s:b, s:o, s:o}", "type", "BPE", "dropout",
	                 "unk_token", h->unk >= 0 ? str_n(h, h->unk) : json_null(),
	                 "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", h->fuse_unk,
	                 "byte_fallback", h->byte_fallback, "ignore_merges", h->ignore_merges, "vocab",
	                 vocab, "merges", merges);
}

static json_t *added(const struct hf *h)
{
	json_t *a = json_array();
	for (int k = 0; a && k < h->n_added; k++) {
		const struct hf_added *ad = &h->added[k];
		json_array_append_new(a, json_pack("{s:i, s:s%, s:b, s:b, s:b, s:b, s:b}", "id", ad->id,
		                                   "content", ad->content, ad->len, "single_word", 0,
		                                   "lstrip", ad->lstrip, "rstrip", ad->rstrip, "normalized",
		                                   0, "special", ad->special));
	}
	return a;
}

/* Writes root as dir/name, pretty-printed, with a final newline. */
static enum lms_status write_json(json_t *root, const char *dir, const char *name)
{
	char *s = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(root);
	if (!s)
		return lms_fail(LMS_EFORMAT,
		                "%s/%s: the tokenizer cannot be written as JSON (a token that "
		                "is not UTF-8?)",
		                dir, name);
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);
	if (!t) {
		free(s);
		return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	}
	t[n] = '\n';
	enum lms_status st = tok_write_file(dir, name, t, n + 1);
	free(t);
	return st;
}

enum lms_status hf_write(const struct lms_tokenizer *tok, const char *dir)
{
	const struct hf *h = tok->impl;
	if (h->vocab.map.n != (size_t)h->vocab.n) /* GGUF allows it, a JSON object does not */
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: the vocabulary holds a token string twice, which "
		                "tokenizer.json cannot",
		                dir);
	json_t *parts[5] = {added(h), normalizers(h), pre_tokenizers(h), decoders(h), model(h)};
	json_t *root = NULL;
	if (parts[0] && parts[1] && parts[2] && parts[3] && parts[4])
		root = json_pack("{s:s, s:n, s:n, s:O, s:O, s:O, s:n, s:O, s:O}", "version", "1.0",
		                 "truncation", "padding", "added_tokens", parts[0], "normalizer", parts[1],
		                 "pre_tokenizer", parts[2], "post_processor", "decoder", parts[3], "model",
		                 parts[4]);
	for (int k = 0; k < 5; k++)
		json_decref(parts[k]);
	enum lms_status st = write_json(root, dir, "tokenizer.json");
	if (st)
		return st;
	json_t *cfg = json_pack("{s:s, s:b}", "tokenizer_class", "PreTrainedTokenizerFast",
	                        "add_bos_token", tok->adds_bos);
	if (cfg && tok->bos >= 0)
		json_object_set_new(cfg, "bos_token", str_n(h, tok->bos));
	if (cfg && tok->eos >= 0)
		json_object_set_new(cfg, "eos_token", str_n(h, tok->eos));
	if (cfg && tok->unk >= 0)
		json_object_set_new(cfg, "unk_token", str_n(h, tok->unk));
	return write_json(cfg, dir, "tokenizer_config.json");
}
