/* Hugging Face tokenizer.json (the `tokenizers` library's format), with
 * tokenizer_config.json beside it for BOS, EOS and whether BOS is added.
 *
 * What is read (everything else in the file is refused by name):
 *   model          BPE: vocab, merges ("a b" or ["a", "b"]), unk_token,
 *                  byte_fallback, fuse_unk, ignore_merges; dropout null or
 *                  0, continuing_subword_prefix and end_of_word_suffix
 *                  null or ""
 *   normalizer     null, Sequence, NFC, NFKC, NFD, NFKD, Prepend,
 *                  Replace with a String pattern
 *   pre_tokenizer  null, Sequence, Split (Regex through PCRE2, or String;
 *                  behaviors Isolated, Removed, MergedWithPrevious,
 *                  MergedWithNext, Contiguous; invert), ByteLevel,
 *                  Metaspace, Digits
 *   decoder        null, Sequence, ByteLevel, Replace (String), ByteFallback,
 *                  Fuse, Strip, Metaspace
 *   added_tokens   matched in the raw text before anything else, longest
 *                  first; lstrip and rstrip; single_word is refused
 *   post_processor only to learn whether BOS starts every input
 *                  (TemplateProcessing whose single template begins with a
 *                  special token) when tokenizer_config.json does not say
 *                  (add_bos_token)
 * truncation and padding do not change a context's tokens and are ignored.
 * The files are kept as read, so saving writes them back unchanged. */
#include <stdio.h>

#include <jansson.h>

#include "base/tr.h"
#include "tok/tok_hf.h"
#include "tok/bpe.h"

#define HF_FILE "tokenizer.json"
#define HF_CONFIG "tokenizer_config.json"

struct ctx {
	const char *path;
	const char *cpath; /* tokenizer_config.json */
	struct hf *h;
	json_t *vocab_obj;
};

static enum lms_status unsupported(const struct ctx *c, const char *what, const char *name)
{
	return lms_fail(LMS_EUNSUPPORTED, "%s: %s \"%s\" is not supported", c->path, lms_tr(what),
	                name);
}

static enum lms_status bad(const struct ctx *c, const char *what)
{
	return lms_fail(LMS_EFORMAT, "%s: %s", c->path, lms_tr(what));
}

static enum lms_status oom(const struct ctx *c)
{
	return lms_fail(LMS_ENOMEM, "%s: out of memory", c->path);
}

/* obj[key] as a string (NULL when absent or null); *ok 0 when another type. */
static const char *get_str(json_t *obj, const char *key, int *ok)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		*ok = 0;
	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* obj[key] as a boolean, def when absent or null; *ok 0 when another type. */
static int get_bool(json_t *obj, const char *key, int def, int *ok)
{
	json_t *v = json_object_get(obj, key);
	if (!v || json_is_null(v))
		return def;
	if (!json_is_boolean(v))
		*ok = 0;
	return json_is_true(v);
}

static const char *type_of(json_t *obj)
{
	json_t *t = json_is_object(obj) ? json_object_get(obj, "type") : NULL;
	return t && json_is_string(t) ? json_string_value(t) : NULL;
}

/* A pattern {"String": s} (*regex 0) or {"Regex": r} (*regex 1). */
static const char *get_pattern(json_t *obj, int *regex)
{
	json_t *p = json_object_get(obj, "pattern");
	json_t *s = json_is_object(p) ? json_object_get(p, "String") : NULL;
	json_t *r = json_is_object(p) ? json_object_get(p, "Regex") : NULL;
	*regex = r != NULL;
	if (s && json_is_string(s))
		return json_string_value(s);
	if (r && json_is_string(r))
		return json_string_value(r);
	return NULL;
}

/* Flattens a component or a Sequence of them (key names the list). */
static enum lms_status flatten(const struct ctx *c, json_t *node, const char *key, const char *what,
                               json_t *list)
{
	if (!node || json_is_null(node))
		return LMS_OK;
	const char *t = type_of(node);
	if (!t) {
		char msg[256];
		snprintf(msg, sizeof msg, lms_tr(N_("%s has no \"type\"")), what);
		return bad(c, msg);
	}
	if (strcmp(t, "Sequence") != 0)
		return json_array_append(list, node) ? oom(c) : LMS_OK;
	json_t *items = json_object_get(node, key);
	if (!json_is_array(items)) {
		char msg[256];
		snprintf(msg, sizeof msg, lms_tr(N_("%s Sequence has no \"%s\" list")), what, key);
		return bad(c, msg);
	}
	size_t i;
	json_t *it;
	json_array_foreach(items, i, it)
	{
		enum lms_status st = flatten(c, it, key, what, list);
		if (st)
			return st;
	}
	return LMS_OK;
}

/* ---- normalizers ----------------------------------------------------------- */

static enum lms_status read_norm(const struct ctx *c, json_t *n, struct hf_norm *out)
{
	const char *t = type_of(n);
	static const char *const unicode[] = {"NFC", "NFKC", "NFD", "NFKD"};
	for (int k = 0; k < 4; k++)
		if (!strcmp(t, unicode[k])) {
			out->kind = (enum hf_norm_kind)k;
			return LMS_OK;
		}
	int ok = 1;
	if (!strcmp(t, "Prepend")) {
		const char *p = get_str(n, "prepend", &ok);
		if (!p || !ok)
			return bad(c, "normalizer Prepend needs a \"prepend\" string");
		out->kind = HF_PREPEND;
		out->a = strdup(p);
		return out->a ? LMS_OK : oom(c);
	}
	if (!strcmp(t, "Replace")) {
		int regex;
		const char *pat = get_pattern(n, &regex), *to = get_str(n, "content", &ok);
		if (regex)
			return unsupported(c, "normalizer", "Replace with a Regex pattern");
		if (!pat || !*pat || !to || !ok)
			return bad(c, "normalizer Replace needs a String pattern and a \"content\" string");
		out->kind = HF_REPLACE;
		out->a = strdup(pat);
		out->b = strdup(to);
		return out->a && out->b ? LMS_OK : oom(c);
	}
	return unsupported(c, "normalizer", t);
}

/* ---- pre-tokenizers ---------------------------------------------------------- */

static enum lms_status read_behavior(const struct ctx *c, json_t *n, struct hf_pre *out)
{
	int ok = 1;
	const char *b = get_str(n, "behavior", &ok);
	static const char *const names[] = {"Isolated", "Removed", "MergedWithPrevious",
	                                    "MergedWithNext", "Contiguous"};
	if (!b || !ok)
		return bad(c, "pre_tokenizer Split needs a \"behavior\"");
	for (int k = 0; k < 5; k++)
		if (!strcmp(b, names[k])) {
			out->behavior = (enum hf_behavior)k;
			out->invert = get_bool(n, "invert", 0, &ok);
			return ok ? LMS_OK : bad(c, "pre_tokenizer Split: \"invert\" must be true or false");
		}
	return unsupported(c, "Split behavior", b);
}

/* Metaspace's prepend_scheme (or the older add_prefix_space). */
static enum lms_status read_prepend(const struct ctx *c, json_t *n, int *out)
{
	int ok = 1;
	const char *s = get_str(n, "prepend_scheme", &ok);
	if (!ok)
		return bad(c, "Metaspace: \"prepend_scheme\" must be a string");
	if (!s) {
		*out = get_bool(n, "add_prefix_space", 1, &ok) ? 2 : 0;
		return ok ? LMS_OK : bad(c, "Metaspace: \"add_prefix_space\" must be true or false");
	}
	if (!strcmp(s, "always"))
		*out = 2;
	else if (!strcmp(s, "first"))
		*out = 1;
	else if (!strcmp(s, "never"))
		*out = 0;
	else
		return unsupported(c, "Metaspace prepend_scheme", s);
	return LMS_OK;
}

static enum lms_status read_pre(const struct ctx *c, json_t *n, struct hf_pre *out)
{
	const char *t = type_of(n);
	int ok = 1;
	enum lms_status st;
	if (!strcmp(t, "Split")) {
		int regex;
		const char *pat = get_pattern(n, &regex);
		if (!pat || !*pat)
			return bad(c, "pre_tokenizer Split needs a String or Regex pattern");
		out->kind = HF_PRE_SPLIT;
		if ((st = read_behavior(c, n, out)))
			return st;
		if (!regex)
			return (out->literal = strdup(pat)) ? LMS_OK : oom(c);
		return tok_regex_compile(&out->re, pat, c->path);
	}
	if (!strcmp(t, "ByteLevel")) {
		out->kind = HF_PRE_BYTELEVEL;
		out->prefix_space = get_bool(n, "add_prefix_space", 1, &ok);
		int use_regex = get_bool(n, "use_regex", 1, &ok);
		if (!ok)
			return bad(c, "pre_tokenizer ByteLevel: flags must be true or false");
		c->h->byte_level = 1;
		out->behavior = HF_ISOLATED;
		return use_regex ? tok_regex_compile(&out->re, BPE_GPT2_PATTERN, c->path) : LMS_OK;
	}
	if (!strcmp(t, "Metaspace")) {
		const char *r = get_str(n, "replacement", &ok);
		out->kind = HF_PRE_METASPACE;
		out->split = get_bool(n, "split", 1, &ok);
		if (!r || !*r || !ok)
			return bad(c, "pre_tokenizer Metaspace needs a \"replacement\" string");
		if ((st = read_prepend(c, n, &out->prepend)))
			return st;
		out->behavior = HF_MERGED_NEXT;
		out->repl = strdup(r);
		out->literal = strdup(r);
		return out->repl && out->literal ? LMS_OK : oom(c);
	}
	if (!strcmp(t, "Digits")) {
		out->kind = HF_PRE_DIGITS;
		out->individual = get_bool(n, "individual_digits", 0, &ok);
		if (!ok)
			return bad(c, "pre_tokenizer Digits: \"individual_digits\" must be true or false");
		out->behavior = out->individual ? HF_ISOLATED : HF_CONTIGUOUS;
		return tok_regex_compile(&out->re, "\\p{N}", c->path);
	}
	return unsupported(c, "pre_tokenizer", t);
}

/* ---- decoders ------------------------------------------------------------------ */

static enum lms_status read_dec(const struct ctx *c, json_t *n, struct hf_dec *out)
{
	const char *t = type_of(n);
	int ok = 1;
	if (!strcmp(t, "ByteLevel")) {
		out->kind = HF_DEC_BYTELEVEL;
		return LMS_OK;
	}
	if (!strcmp(t, "ByteFallback")) {
		out->kind = HF_DEC_BYTEFALLBACK;
		return LMS_OK;
	}
	if (!strcmp(t, "Fuse")) {
		out->kind = HF_DEC_FUSE;
		return LMS_OK;
	}
	if (!strcmp(t, "Replace")) {
		int regex;
		const char *pat = get_pattern(n, &regex), *to = get_str(n, "content", &ok);
		if (regex)
			return unsupported(c, "decoder", "Replace with a Regex pattern");
		if (!pat || !*pat || !to || !ok)
			return bad(c, "decoder Replace needs a String pattern and a \"content\" string");
		out->kind = HF_DEC_REPLACE;
		out->a = strdup(pat);
		out->b = strdup(to);
		return out->a && out->b ? LMS_OK : oom(c);
	}
	if (!strcmp(t, "Strip")) {
		const char *s = get_str(n, "content", &ok);
		json_t *a = json_object_get(n, "start"), *b = json_object_get(n, "stop");
		if (!s || !*s || !ok || !json_is_integer(a) || !json_is_integer(b) ||
		    json_integer_value(a) < 0 || json_integer_value(b) < 0 ||
		    json_integer_value(a) > 1000 || json_integer_value(b) > 1000)
			return bad(c, "decoder Strip needs \"content\", \"start\" and \"stop\"");
		out->kind = HF_DEC_STRIP;
		out->start = (int)json_integer_value(a);
		out->stop = (int)json_integer_value(b);
		return (out->a = strdup(s)) ? LMS_OK : oom(c);
	}
	if (!strcmp(t, "Metaspace")) {
		const char *r = get_str(n, "replacement", &ok);
		if (!r || !*r || !ok)
			return bad(c, "decoder Metaspace needs a \"replacement\" string");
		out->kind = HF_DEC_METASPACE;
		enum lms_status st = read_prepend(c, n, &out->prepend);
		if (st)
			return st;
		return (out->a = strdup(r)) ? LMS_OK : oom(c);
	}
	return unsupported(c, "decoder", t);
}

/* Reads the components of one stage (normalizer, pre_tokenizer, decoder). */
static enum lms_status read_stage(const struct ctx *c, json_t *root, const char *key,
                                  const char *list_key, void **arr, int *n, size_t size,
                                  enum lms_status (*one)(const struct ctx *, json_t *, void *))
{
	json_t *list = json_array();
	if (!list)
		return oom(c);
	enum lms_status st = flatten(c, json_object_get(root, key), list_key, key, list);
	size_t cnt = json_array_size(list);
	if (!st && cnt > 64)
		st = bad(c, "too many components");
	if (!st && cnt && !(*arr = calloc(cnt, size)))
		st = oom(c);
	for (size_t i = 0; i < cnt && !st; i++) {
		st = one(c, json_array_get(list, i), (char *)*arr + i * size);
		(*n)++; /* counted even when it failed, so that hf_free frees its strings */
	}
	json_decref(list);
	return st;
}

static enum lms_status one_norm(const struct ctx *c, json_t *n, void *out)
{
	return read_norm(c, n, out);
}

static enum lms_status one_pre(const struct ctx *c, json_t *n, void *out)
{
	return read_pre(c, n, out);
}

static enum lms_status one_dec(const struct ctx *c, json_t *n, void *out)
{
	return read_dec(c, n, out);
}

/* ---- the model, its vocabulary and the added tokens ----------------------------- */

/* Fills h->vocab with every id's string: the model's vocab, then the added
 * tokens' ids; ids must be dense from 0. */
static enum lms_status read_vocab(const struct ctx *c, json_t *vocab, json_t *added)
{
	long long n = 0;
	const char *key;
	json_t *v;
	json_object_foreach(vocab, key, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) >= (1 << 24))
			return bad(c, "model vocab: every id must be an integer from 0 to 2^24");
		if (json_integer_value(v) + 1 > n)
			n = json_integer_value(v) + 1;
	}
	size_t i;
	json_t *a;
	json_array_foreach(added, i, a)
	{
		json_t *id = json_object_get(a, "id");
		if (!json_is_integer(id) || json_integer_value(id) < 0 ||
		    json_integer_value(id) >= (1 << 24))
			return bad(c, "added_tokens: every \"id\" must be an integer from 0 to 2^24");
		if (json_integer_value(id) + 1 > n)
			n = json_integer_value(id) + 1;
	}
	if (n == 0)
		return bad(c, "the vocabulary is empty");
	const char **str = calloc((size_t)n, sizeof *str);
	size_t *len = calloc((size_t)n, sizeof *len);
	enum lms_status st = str && len ? LMS_OK : oom(c);
	json_object_foreach(vocab, key, v)
	{
		if (st)
			break;
		long long id = json_integer_value(v);
		if (str[id]) {
			char msg[256];
			snprintf(msg, sizeof msg, lms_tr(N_("model vocab: id %lld is given twice")), id);
			st = bad(c, msg);
		}
		str[id] = key;
		len[id] = strlen(key);
	}
	json_array_foreach(added, i, a)
	{
		if (st)
			break;
		json_t *ct = json_object_get(a, "content");
		long long id = json_integer_value(json_object_get(a, "id"));
		if (!json_is_string(ct) || !json_string_length(ct)) {
			st = bad(c, "added_tokens: every token needs a \"content\" string");
			break;
		}
		const char *s = json_string_value(ct);
		if (str[id] && (len[id] != json_string_length(ct) || memcmp(str[id], s, len[id]))) {
			char msg[256];
			snprintf(msg, sizeof msg,
			         lms_tr(N_("added_tokens: id %lld is another token in the vocab")), id);
			st = bad(c, msg);
		}
		str[id] = s;
		len[id] = json_string_length(ct);
	}
	for (long long id = 0; id < n && !st; id++) {
		if (!str[id]) {
			char msg[256];
			snprintf(msg, sizeof msg, lms_tr(N_("id %lld has no token (ids must be dense from 0)")),
			         id);
			st = bad(c, msg);
		} else if (tok_vocab_add(&c->h->vocab, str[id], len[id]) < 0) {
			st = oom(c);
		}
	}
	free(str);
	free(len);
	return st;
}

static enum lms_status read_added(const struct ctx *c, json_t *added)
{
	size_t n = json_array_size(added), i;
	json_t *a;
	if (n && !(c->h->added = calloc(n, sizeof *c->h->added)))
		return oom(c);
	json_array_foreach(added, i, a)
	{
		int ok = 1;
		struct hf_added *ad = &c->h->added[c->h->n_added];
		json_t *ct = json_object_get(a, "content");
		if (get_bool(a, "single_word", 0, &ok))
			return unsupported(c, "added token", json_string_value(ct));
		ad->special = get_bool(a, "special", 0, &ok);
		ad->lstrip = get_bool(a, "lstrip", 0, &ok);
		ad->rstrip = get_bool(a, "rstrip", 0, &ok);
		get_bool(a, "normalized", 0, &ok);
		if (!ok)
			return bad(c, "added_tokens: flags must be true or false");
		ad->id = (int)json_integer_value(json_object_get(a, "id"));
		ad->len = json_string_length(ct);
		if (!(ad->content = malloc(ad->len + 1)))
			return oom(c);
		memcpy(ad->content, json_string_value(ct), ad->len + 1);
		c->h->n_added++;
	}
	return LMS_OK;
}

/* A merge "a b" or ["a", "b"] as ids. */
static enum lms_status read_merge(const struct ctx *c, json_t *m, size_t r, int *a, int *b)
{
	const char *s1, *s2;
	size_t l1, l2;
	if (json_is_string(m)) {
		const char *s = json_string_value(m);
		const char *sp = strchr(s, ' ');
		if (!sp || sp == s || !sp[1] || strchr(sp + 1, ' ')) {
			char msg[256];
			snprintf(msg, sizeof msg,
			         lms_tr(N_("merge %zu: expected two tokens separated by one space")), r + 1);
			return bad(c, msg);
		}
		s1 = s;
		l1 = (size_t)(sp - s);
		s2 = sp + 1;
		l2 = strlen(s2);
	} else if (json_is_array(m) && json_array_size(m) == 2 &&
	           json_is_string(json_array_get(m, 0)) && json_is_string(json_array_get(m, 1))) {
		s1 = json_string_value(json_array_get(m, 0));
		l1 = json_string_length(json_array_get(m, 0));
		s2 = json_string_value(json_array_get(m, 1));
		l2 = json_string_length(json_array_get(m, 1));
	} else {
		char msg[256];
		snprintf(msg, sizeof msg, lms_tr(N_("merge %zu: expected \"a b\" or [\"a\", \"b\"]")),
		         r + 1);
		return bad(c, msg);
	}
	*a = tok_vocab_id(&c->h->vocab, s1, l1);
	*b = tok_vocab_id(&c->h->vocab, s2, l2);
	if (*a < 0 || *b < 0) {
		char msg[256];
		snprintf(msg, sizeof msg, lms_tr(N_("merge %zu: a token is not in the vocabulary")), r + 1);
		return bad(c, msg);
	}
	return LMS_OK;
}

static enum lms_status read_model(const struct ctx *c, json_t *model)
{
	struct hf *h = c->h;
	const char *t = type_of(model);
	if (!json_is_object(model))
		return bad(c, "no \"model\" object");
	if (t && strcmp(t, "BPE"))
		return unsupported(c, "model", t);
	int ok = 1;
	json_t *dropout = json_object_get(model, "dropout");
	if (dropout && !json_is_null(dropout) &&
	    !(json_is_number(dropout) && json_number_value(dropout) == 0))
		return unsupported(c, "BPE option", "dropout");
	const char *pre = get_str(model, "continuing_subword_prefix", &ok);
	const char *suf = get_str(model, "end_of_word_suffix", &ok);
	if ((pre && *pre) || (suf && *suf))
		return unsupported(c, "BPE option",
		                   pre && *pre ? "continuing_subword_prefix" : "end_of_word_suffix");
	h->byte_fallback = get_bool(model, "byte_fallback", 0, &ok);
	h->fuse_unk = get_bool(model, "fuse_unk", 0, &ok);
	h->ignore_merges = get_bool(model, "ignore_merges", 0, &ok);
	const char *unk = get_str(model, "unk_token", &ok);
	if (!ok)
		return bad(c, "model: a flag or a token has the wrong type");
	h->unk = -1;
	if (unk && (h->unk = tok_vocab_id(&h->vocab, unk, strlen(unk))) < 0)
		return bad(c, "model: unk_token is not in the vocabulary");
	json_t *merges = json_object_get(model, "merges");
	if (merges && !json_is_array(merges))
		return bad(c, "model: \"merges\" must be a list");
	size_t n = json_array_size(merges);
	if (n > (1u << 24))
		return bad(c, "model: more merges than lmscope supports");
	h->left = malloc((n + 1) * sizeof *h->left);
	h->right = malloc((n + 1) * sizeof *h->right);
	if (!h->left || !h->right)
		return oom(c);
	for (size_t r = 0; r < n; r++) {
		enum lms_status st = read_merge(c, json_array_get(merges, r), r, &h->left[r], &h->right[r]);
		if (st)
			return st;
		h->n_merges++;
	}
	return LMS_OK;
}

/* ---- BOS, EOS and whether BOS is added ------------------------------------------- */

/* A token named by a config entry: "<s>" or {"content": "<s>", ...}. */
static enum lms_status config_token(const struct ctx *c, json_t *cfg, const char *key, int *id)
{
	json_t *v = json_object_get(cfg, key);
	if (json_is_object(v))
		v = json_object_get(v, "content");
	if (!v || json_is_null(v))
		return LMS_OK;
	if (!json_is_string(v))
		return lms_fail(LMS_EFORMAT, "%s: \"%s\" must be a string", c->path, key);
	*id = tok_vocab_id(&c->h->vocab, json_string_value(v), json_string_length(v));
	if (*id < 0)
		return lms_fail(LMS_EFORMAT, "%s: %s \"%s\" is not in the vocabulary", c->path, key,
		                json_string_value(v));
	return LMS_OK;
}

/* The special token a TemplateProcessing's single template starts with, or -1. */
static int template_bos(const struct hf *h, json_t *root)
{
	json_t *pp = json_object_get(root, "post_processor");
	const char *t = type_of(pp);
	if (!t || strcmp(t, "TemplateProcessing"))
		return -1;
	json_t *first = json_array_get(json_object_get(pp, "single"), 0);
	json_t *sp = json_object_get(first, "SpecialToken");
	json_t *name = json_object_get(sp, "id");
	if (!json_is_string(name))
		return -1;
	json_t *entry = json_object_get(json_object_get(pp, "special_tokens"), json_string_value(name));
	json_t *ids = json_object_get(entry, "ids");
	if (json_is_array(ids) && json_array_size(ids) == 1 &&
	    json_is_integer(json_array_get(ids, 0))) {
		json_int_t id = json_integer_value(json_array_get(ids, 0));
		return id >= 0 && id < h->vocab.n ? (int)id : -1;
	}
	return tok_vocab_id(&h->vocab, json_string_value(name), json_string_length(name));
}

static enum lms_status read_specials(struct ctx *c, json_t *root, json_t *cfg,
                                     struct lms_tokenizer *tok)
{
	int tbos = template_bos(c->h, root);
	tok->unk = c->h->unk;
	tok->bos = tbos;
	tok->eos = -1;
	tok->adds_bos = tbos >= 0;
	if (!cfg)
		return LMS_OK;
	struct ctx cc = *c;
	cc.path = c->cpath; /* errors name the config file */
	enum lms_status st;
	if ((st = config_token(&cc, cfg, "bos_token", &tok->bos)) ||
	    (st = config_token(&cc, cfg, "eos_token", &tok->eos)) ||
	    (st = config_token(&cc, cfg, "unk_token", &tok->unk)))
		return st;
	json_t *add = json_object_get(cfg, "add_bos_token");
	if (add && !json_is_null(add) && !json_is_boolean(add))
		return lms_fail(LMS_EFORMAT, "%s: \"add_bos_token\" must be true or false", c->cpath);
	if (json_is_boolean(add))
		tok->adds_bos = json_is_true(add);
	return LMS_OK;
}

/* ---- loading and saving ----------------------------------------------------------- */

int tok_hf_detect(const char *dir, const struct tok_config *config)
{
	return !config && tok_file_exists(dir, HF_FILE);
}

/* flags: tokenizer_config.json reads its integers as reals, since it may
 * hold a model_max_length of 1e30 (which lmscope does not use). */
static enum lms_status load_json(const char *path, size_t flags, char **text, size_t *n,
                                 json_t **root)
{
	enum lms_status st = tok_read_file(path, text, n);
	if (st)
		return st;
	json_error_t err;
	*root = json_loadb(*text, *n, JSON_REJECT_DUPLICATES | flags, &err);
	if (!*root)
		return lms_fail(LMS_EFORMAT, "%s: line %d: %s", path, err.line, err.text);
	if (!json_is_object(*root))
		return lms_fail(LMS_EFORMAT, "%s: line 1: not a JSON object", path);
	return LMS_OK;
}

static enum lms_status read_all(struct ctx *c, json_t *root, json_t *cfg, struct lms_tokenizer *tok)
{
	struct hf *h = c->h;
	json_t *model = json_object_get(root, "model");
	json_t *added = json_object_get(root, "added_tokens");
	json_t *vocab = json_is_object(model) ? json_object_get(model, "vocab") : NULL;
	if (!json_is_object(model))
		return bad(c, "no \"model\" object");
	if (type_of(model) && strcmp(type_of(model), "BPE"))
		return unsupported(c, "model", type_of(model));
	if (!json_is_object(vocab))
		return bad(c, "model: no \"vocab\" object");
	if (added && !json_is_null(added) && !json_is_array(added))
		return bad(c, "\"added_tokens\" must be a list");
	size_t i;
	json_t *a;
	json_array_foreach(added, i, a) if (!json_is_object(a)) return bad(
		c, "added_tokens: every entry must be an object");
	enum lms_status st;
	if ((st = read_vocab(c, vocab, added)) || (st = tok_vocab_index(&h->vocab, c->path)) ||
	    (st = read_added(c, added)) || (st = read_model(c, model)))
		return st;
	if ((st = read_stage(c, root, "normalizer", "normalizers", (void **)&h->norm, &h->n_norm,
	                     sizeof *h->norm, one_norm)) ||
	    (st = read_stage(c, root, "pre_tokenizer", "pretokenizers", (void **)&h->pre, &h->n_pre,
	                     sizeof *h->pre, one_pre)) ||
	    (st = read_stage(c, root, "decoder", "decoders", (void **)&h->dec, &h->n_dec,
	                     sizeof *h->dec, one_dec)))
		return st;
	for (int k = 0; k < h->n_pre; k++)
		if (h->pre[k].kind == HF_PRE_METASPACE && k > 0)
			return unsupported(c, "pre_tokenizer", "Metaspace after another pre-tokenizer");
	if ((st = hf_finish(h, c->path)))
		return st;
	return read_specials(c, root, cfg, tok);
}

enum lms_status tok_hf_load(const char *dir, struct lms_tokenizer *tok)
{
	char *path = tok_path(dir, HF_FILE), *cpath = tok_path(dir, HF_CONFIG);
	struct hf *h = calloc(1, sizeof *h);
	json_t *root = NULL, *cfg = NULL;
	enum lms_status st =
		path && cpath && h ? LMS_OK : lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	if (!st)
		st = load_json(path, 0, &h->json, &h->json_n, &root);
	if (!st && tok_file_exists(dir, HF_CONFIG))
		st = load_json(cpath, JSON_DECODE_INT_AS_REAL, &h->config, &h->config_n, &cfg);
	struct ctx c = {path, cpath, h, NULL};
	if (!st)
		st = read_all(&c, root, cfg, tok);
	json_decref(root);
	json_decref(cfg);
	free(path);
	free(cpath);
	if (st) {
		hf_free(h);
		return st;
	}
	hf_adopt(tok, h);
	return LMS_OK;
}

enum lms_status tok_hf_save(const struct lms_tokenizer *tok, const char *dir)
{
	const struct hf *h = tok->impl;
	if (!h->json)
		return hf_write(tok, dir);
	enum lms_status st = tok_write_file(dir, HF_FILE, h->json, h->json_n);
	if (!st && h->config)
		st = tok_write_file(dir, HF_CONFIG, h->config, h->config_n);
	return st;
}
