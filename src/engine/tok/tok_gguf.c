/* Tokenizers from GGUF metadata arrays (tok_build.h), as the pipeline of
 * tok_hf.h that a tokenizer.json of the same model describes:
 *  gpt2   byte-level BPE by merge ranks; the pre-tokenizer llama.cpp names
 *         in tokenizer.ggml.pre (its llm_tokenizer_bpe regexes); ByteLevel
 *         decoding;
 *  llama  sentencepiece BPE by scores over U+2581-spaced text, with the dummy
 *         prefix, byte fallback and the decoder of Llama 2's tokenizer.json.
 * CONTROL and USER_DEFINED tokens are added tokens (matched first). */
#include <stdio.h>

#include "tok/tok_build.h"
#include "tok/tok_hf.h"
#include "tok/bpe.h"

#define LLAMA3_PATTERN                                                                             \
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "                     \
	"?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"                                                               \
	"\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
#define QWEN2_PATTERN                                                                              \
	"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "                          \
	"?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|"                                                               \
	"\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"

/* tokenizer.ggml.pre -> the pre-tokenizer: an optional digit split first
 * (llama.cpp's "\p{N}" before the main pattern), then the pattern; and
 * whether a piece that is a token as a whole skips the merges (llama.cpp's
 * tokenizer_ignore_merges, set for Llama 3 as its tokenizer.json does). */
static const struct {
	const char *name;
	int digits;
	const char *pattern;
	int ignore_merges;
} pres[] = {
	{"gpt-2", 0, BPE_GPT2_PATTERN, 0},     {"gpt2", 0, BPE_GPT2_PATTERN, 0},
	{"llama-bpe", 0, LLAMA3_PATTERN, 1},   {"llama3", 0, LLAMA3_PATTERN, 1},
	{"qwen2", 0, QWEN2_PATTERN, 0},        {"smollm", 1, BPE_GPT2_PATTERN, 0},
	{"starcoder", 1, BPE_GPT2_PATTERN, 0},
};

static size_t len_of(const char *const *s, const size_t *lens, int i)
{
	return lens ? lens[i] : strlen(s[i]);
}

static enum lms_status check_arrays(const struct lms_tok_arrays *a)
{
	if (a->n < 1 || a->n > (1 << 24) || !a->tokens)
		return lms_fail(LMS_EFORMAT, "%s: %d tokens (expected 1 to 2^24)", a->where, a->n);
	int ids[3] = {a->bos, a->eos, a->unk};
	for (int k = 0; k < 3; k++)
		if (ids[k] < -1 || ids[k] >= a->n)
			return lms_fail(LMS_EFORMAT, "%s: special token id %d is outside the vocabulary (%d)",
			                a->where, ids[k], a->n);
	if (a->n_merges < 0 || (a->n_merges && !a->merges))
		return lms_fail(LMS_EFORMAT, "%s: %d merges", a->where, a->n_merges);
	return LMS_OK;
}

/* The vocabulary and the added tokens (CONTROL and USER_DEFINED types). */
static enum lms_status fill_vocab(struct hf *h, const struct lms_tok_arrays *a)
{
	if (!(h->added = calloc((size_t)a->n, sizeof *h->added)))
		return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
	for (int i = 0; i < a->n; i++) {
		size_t len = len_of(a->tokens, a->token_lens, i);
		if (tok_vocab_add(&h->vocab, a->tokens[i], len) < 0)
			return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
		int type = a->token_types ? a->token_types[i] : LMS_TOKTYPE_NORMAL;
		if ((type != LMS_TOKTYPE_CONTROL && type != LMS_TOKTYPE_USER_DEFINED) || !len)
			continue;
		struct hf_added *ad = &h->added[h->n_added++];
		ad->id = i;
		ad->len = len;
		ad->special = type == LMS_TOKTYPE_CONTROL;
		if (!(ad->content = malloc(len + 1)))
			return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
		memcpy(ad->content, a->tokens[i], len);
		ad->content[len] = 0;
	}
	/* a string given twice looks up as its first id (llama.cpp reads such
	 * vocabularies too; tokenizer.json's loader refuses them) */
	if (tok_strmap_init(&h->vocab.map, (size_t)a->n))
		return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
	for (int i = 0; i < a->n; i++) {
		int old;
		if (tok_strmap_put(&h->vocab.map, tok_vocab_str(&h->vocab, i), h->vocab.len[i], i, &old) <
		    0)
			return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
	}
	return LMS_OK;
}

static enum lms_status fill_merges(struct hf *h, const struct lms_tok_arrays *a)
{
	h->left = malloc(((size_t)a->n_merges + 1) * sizeof *h->left);
	h->right = malloc(((size_t)a->n_merges + 1) * sizeof *h->right);
	if (!h->left || !h->right)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
	for (int r = 0; r < a->n_merges; r++) {
		const char *m = a->merges[r];
		size_t len = len_of(a->merges, a->merge_lens, r);
		const char *sp = memchr(m, ' ', len);
		if (!sp || sp == m || sp == m + len - 1 || memchr(sp + 1, ' ', len - (size_t)(sp - m) - 1))
			return lms_fail(LMS_EFORMAT, "%s: merge %d: expected two tokens separated by one space",
			                a->where, r + 1);
		h->left[r] = tok_vocab_id(&h->vocab, m, (size_t)(sp - m));
		h->right[r] = tok_vocab_id(&h->vocab, sp + 1, len - (size_t)(sp - m) - 1);
		if (h->left[r] < 0 || h->right[r] < 0)
			return lms_fail(LMS_EFORMAT, "%s: merge %d: a token is not in the vocabulary", a->where,
			                r + 1);
		h->n_merges++;
	}
	return LMS_OK;
}

static void set_specials(struct lms_tokenizer *tok, const struct lms_tok_arrays *a, int unk)
{
	tok->bos = a->bos;
	tok->eos = a->eos;
	tok->unk = unk;
	tok->adds_bos = a->add_bos && a->bos >= 0;
}

static enum lms_status finish(struct hf *h, const struct lms_tok_arrays *a, int unk,
                              struct lms_tokenizer **out)
{
	enum lms_status st = hf_finish(h, a->where);
	struct lms_tokenizer *tok = st ? NULL : calloc(1, sizeof *tok);
	if (!st && !tok)
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
	if (st) {
		hf_free(h);
		return st;
	}
	hf_adopt(tok, h);
	set_specials(tok, a, unk);
	*out = tok;
	return LMS_OK;
}

enum lms_status lms_tokenizer_from_gpt2(const struct lms_tok_arrays *a, struct lms_tokenizer **out)
{
	*out = NULL;
	enum lms_status st = check_arrays(a);
	if (st)
		return st;
	const char *pre = a->pre ? a->pre : "gpt-2";
	int p = -1;
	for (size_t k = 0; k < sizeof pres / sizeof *pres && p < 0; k++)
		if (!strcmp(pres[k].name, pre))
			p = (int)k;
	if (p < 0)
		return lms_fail(LMS_EUNSUPPORTED, "%s: tokenizer.ggml.pre \"%s\" is not supported",
		                a->where, pre);
	struct hf *h = calloc(1, sizeof *h);
	if (!h || !(h->pre = calloc(2, sizeof *h->pre)) || !(h->dec = calloc(1, sizeof *h->dec))) {
		hf_free(h);
		return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
	}
	h->byte_level = 1;
	h->ignore_merges = pres[p].ignore_merges;
	h->unk = a->unk;
	h->n_dec = 1;
	h->dec[0].kind = HF_DEC_BYTELEVEL;
	if (pres[p].digits) {
		h->pre[h->n_pre].kind = HF_PRE_DIGITS;
		h->pre[h->n_pre].individual = 1;
		h->pre[h->n_pre].behavior = HF_ISOLATED;
		st = tok_regex_compile(&h->pre[h->n_pre++].re, "\\p{N}", a->where);
	}
	if (!st) {
		h->pre[h->n_pre].kind = HF_PRE_SPLIT;
		h->pre[h->n_pre].behavior = HF_ISOLATED;
		h->pre[h->n_pre].pattern = pres[p].pattern;
		st = tok_regex_compile(&h->pre[h->n_pre++].re, pres[p].pattern, a->where);
	}
	if (!st)
		st = fill_vocab(h, a);
	if (!st)
		st = fill_merges(h, a);
	if (st) {
		hf_free(h);
		return st;
	}
	return finish(h, a, a->unk, out);
}

static enum lms_status llama_pipeline(struct hf *h, const struct lms_tok_arrays *a)
{
	static const char space[] = "\xE2\x96\x81"; /* U+2581 */
	h->norm = calloc(2, sizeof *h->norm);
	h->dec = calloc(4, sizeof *h->dec);
	h->score = malloc((size_t)a->n * sizeof *h->score);
	if (!h->norm || !h->dec || !h->score)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
	for (int i = 0; i < a->n; i++) {
		if (!(a->scores[i] - a->scores[i] == 0.0f))
			return lms_fail(LMS_EFORMAT, "%s: token %d has a score that is not finite", a->where,
			                i);
		h->score[i] = a->scores[i];
	}
	if (a->add_space_prefix) {
		h->norm[h->n_norm].kind = HF_PREPEND;
		h->norm[h->n_norm++].a = strdup(space);
	}
	h->norm[h->n_norm].kind = HF_REPLACE; /* every " " becomes U+2581 */
	h->norm[h->n_norm].a = strdup(" ");
	h->norm[h->n_norm++].b = strdup(space);
	struct hf_dec *d = h->dec;
	d[0] = (struct hf_dec){HF_DEC_REPLACE, strdup(space), strdup(" "), 0, 0, 0};
	d[1].kind = HF_DEC_BYTEFALLBACK;
	d[2].kind = HF_DEC_FUSE;
	h->n_dec = 3;
	if (a->add_space_prefix) {
		d[3] = (struct hf_dec){HF_DEC_STRIP, strdup(" "), NULL, 1, 0, 0};
		h->n_dec = 4;
	}
	for (int k = 0; k < h->n_norm; k++)
		if (!h->norm[k].a || (h->norm[k].kind == HF_REPLACE && !h->norm[k].b))
			return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
	for (int k = 0; k < h->n_dec; k++)
		if ((d[k].kind == HF_DEC_REPLACE || d[k].kind == HF_DEC_STRIP) && !d[k].a)
			return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
	if (!d[0].b)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
	return LMS_OK;
}

enum lms_status lms_tokenizer_from_llama(const struct lms_tok_arrays *a, struct lms_tokenizer **out)
{
	*out = NULL;
	enum lms_status st = check_arrays(a);
	if (st)
		return st;
	if (!a->scores)
		return lms_fail(LMS_EFORMAT, "%s: a llama tokenizer needs token scores", a->where);
	struct hf *h = calloc(1, sizeof *h);
	if (!h)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", a->where);
	int unk = a->unk;
	for (int i = 0; i < a->n && unk < 0 && a->token_types; i++)
		if (a->token_types[i] == LMS_TOKTYPE_UNKNOWN)
			unk = i;
	h->unk = unk;
	h->byte_fallback = 1;
	st = llama_pipeline(h, a);
	if (!st)
		st = fill_vocab(h, a);
	if (st) {
		hf_free(h);
		return st;
	}
	return finish(h, a, unk, out);
}
