/* Word-level tokenizer: a PCRE2 pattern splits text into words and
 * punctuation (text it does not match, such as spaces, is dropped); each
 * piece is looked up in vocab.json, <unk> when absent. Files:
 * tokenizer_config.json {"type": "word", "pattern", "lowercase", "unk_token",
 * "bos_token", "eos_token"} and vocab.json. Decoding rejoins words with
 * natural spacing. Invalid UTF-8 bytes count as replaced, each one the token
 * of U+FFFD (usually <unk>). */
#include "tok/tok_impl.h"
#include "base/utf8.h"

/* How a token joins its neighbours when decoding. */
enum spacing {
	SP_WORD,   /* a space on both sides */
	SP_CLOSE,  /* no space before: , . ; : ! ? ) ] } and closing quotes */
	SP_OPEN,   /* no space after: ( [ { and opening quotes */
	SP_QUOTE,  /* " or ': opening and closing in turn */
	SP_SPACE,  /* whitespace, written as it is with no spaces added */
	SP_SILENT, /* <bos>, <eos>: not written */
};

struct word {
	struct tok_vocab vocab;
	struct tok_config cfg;
	struct tok_regex re;
	unsigned char *spacing; /* (V) enum spacing */
	int replacement;        /* id of U+FFFD, or unk */
};

static void word_free(void *impl)
{
	struct word *w = impl;
	if (!w)
		return;
	tok_vocab_free(&w->vocab);
	tok_config_free(&w->cfg);
	if (w->re.code)
		tok_regex_free(&w->re);
	free(w->spacing);
	free(w);
}

static int is_one_of(const char *s, size_t n, const char *const *set)
{
	for (; *set; set++)
		if (strlen(*set) == n && !memcmp(*set, s, n))
			return 1;
	return 0;
}

static enum spacing classify(const char *s, size_t n)
{
	static const char *const close[] = {
		",",        ".",   ";", ":", "!", "?", ")", "]", "}", "%", "\xE2\x80\x9D", "\xE2\x80\x99",
		"\xC2\xBB", "...", NULL};
	static const char *const open[] = {"(",        "[", "{", "\xE2\x80\x9C", "\xE2\x80\x98",
	                                   "\xC2\xAB", NULL};
	static const char *const quote[] = {"\"", "'", NULL};
	if (is_one_of(s, n, close))
		return SP_CLOSE;
	if (is_one_of(s, n, open))
		return SP_OPEN;
	if (is_one_of(s, n, quote))
		return SP_QUOTE;
	int space = n > 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r')
			space = 0;
	return space ? SP_SPACE : SP_WORD;
}

/* Finishes w once vocab and cfg are set: specials, spacing, pattern. */
static enum lms_status word_finish(struct word *w, struct lms_tokenizer *tok, const char *where)
{
	const char *unk = w->cfg.unk ? w->cfg.unk : "<unk>";
	int unk_id = tok_vocab_id(&w->vocab, unk, strlen(unk));
	if (unk_id < 0)
		return lms_fail(LMS_EFORMAT, "%s: the unknown token \"%s\" is not in the vocabulary", where,
		                unk);
	int bos = w->cfg.bos ? tok_vocab_id(&w->vocab, w->cfg.bos, strlen(w->cfg.bos)) : -1;
	int eos = w->cfg.eos ? tok_vocab_id(&w->vocab, w->cfg.eos, strlen(w->cfg.eos)) : -1;
	if ((w->cfg.bos && bos < 0) || (w->cfg.eos && eos < 0))
		return lms_fail(LMS_EFORMAT, "%s: the %s token is not in the vocabulary", where,
		                w->cfg.bos && bos < 0 ? "bos" : "eos");
	w->spacing = malloc((size_t)(w->vocab.n ? w->vocab.n : 1));
	if (!w->spacing)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", where);
	for (int id = 0; id < w->vocab.n; id++)
		w->spacing[id] = (unsigned char)classify(tok_vocab_str(&w->vocab, id), w->vocab.len[id]);
	if (bos >= 0)
		w->spacing[bos] = SP_SILENT;
	if (eos >= 0)
		w->spacing[eos] = SP_SILENT;
	int rep = tok_vocab_id(&w->vocab, "\xEF\xBF\xBD", 3);
	w->replacement = rep >= 0 ? rep : unk_id;
	enum lms_status st = tok_regex_compile(&w->re, w->cfg.pattern, where);
	if (st)
		return st;
	tok->impl = w;
	tok->vocab_size = w->vocab.n;
	tok->unk = unk_id;
	tok->bos = bos;
	tok->eos = eos;
	return LMS_OK;
}

static int word_detect(const char *dir, const struct tok_config *config)
{
	return config && config->kind == LMS_TOK_WORD && tok_file_exists(dir, "vocab.json");
}

static enum lms_status word_load(const char *dir, struct lms_tokenizer *tok)
{
	struct word *w = calloc(1, sizeof *w);
	if (!w)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	int found;
	char *vpath = tok_path(dir, "vocab.json");
	char *cpath = tok_path(dir, "tokenizer_config.json");
	enum lms_status st = vpath && cpath ? LMS_OK : lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	if (!st)
		st = tok_config_read(dir, &w->cfg, &found);
	if (!st)
		st = tok_vocab_read(vpath, &w->vocab);
	if (!st)
		st = word_finish(w, tok, cpath);
	if (st)
		word_free(w);
	free(vpath);
	free(cpath);
	return st;
}

static enum lms_status word_save(const struct lms_tokenizer *tok, const char *dir)
{
	const struct word *w = tok->impl;
	enum lms_status st = tok_config_write(&w->cfg, dir);
	return st ? st : tok_vocab_write(&w->vocab, dir, "vocab.json");
}

/* A lower-cased copy of text with the same byte offsets (see utf8.h). */
static char *lowered(const char *text, size_t len)
{
	char *out = malloc(len ? len : 1);
	if (!out)
		return NULL;
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		if (s[i] < 0x80) {
			out[i] = (char)(s[i] >= 'A' && s[i] <= 'Z' ? s[i] + 32 : s[i]);
			i++;
			continue;
		}
		uint32_t cp;
		int k = lms_utf8_decode(s + i, len - i, &cp);
		if (!k) {
			out[i] = text[i];
			i++;
			continue;
		}
		char enc[4];
		int k2 = lms_utf8_encode(lms_utf8_lower(cp), enc);
		memcpy(out + i, k2 == k ? enc : text + i, (size_t)k);
		i += (size_t)k;
	}
	return out;
}

struct word_call {
	const struct word *w;
	const char *text;
	struct tok_out *out;
	struct lms_tok_stats *stats;
	int unk;
};

static int word_piece(void *ud, size_t off, size_t n)
{
	struct word_call *c = ud;
	int id = tok_vocab_id(&c->w->vocab, c->text + off, n);
	if (id < 0) {
		id = c->unk;
		c->stats->unk++;
	}
	return tok_out_push(c->out, id, off);
}

static int word_invalid(void *ud, size_t off)
{
	struct word_call *c = ud;
	c->stats->replaced++;
	if (c->w->replacement == c->unk)
		c->stats->unk++;
	return tok_out_push(c->out, c->w->replacement, off);
}

static enum lms_status word_encode(const struct lms_tokenizer *tok, const char *text, size_t len,
                                   struct tok_out *out, struct lms_tok_stats *stats)
{
	const struct word *w = tok->impl;
	char *low = NULL;
	if (w->cfg.lowercase && !(low = lowered(text, len)))
		return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	struct word_call c = {w, low ? low : text, out, stats, tok->unk};
	struct tok_split_cb cb = {word_piece, word_invalid, &c, 0, NULL};
	enum lms_status st = tok_regex_split(&w->re, c.text, len, &cb);
	free(low);
	return st;
}

static const char *word_piece_str(const struct lms_tokenizer *tok, int id, size_t *len)
{
	const struct word *w = tok->impl;
	*len = w->vocab.len[id];
	return tok_vocab_str(&w->vocab, id);
}

static enum lms_status word_decode(const struct lms_tokenizer *tok, const int *ids, size_t n,
                                   struct tok_buf *out)
{
	const struct word *w = tok->impl;
	int quotes_open = 0;
	int prev = -1; /* spacing of the previous written token; -1 at the start */
	for (size_t i = 0; i < n; i++) {
		int sp = w->spacing[ids[i]];
		if (sp == SP_SILENT)
			continue;
		int opening = 0;
		if (sp == SP_QUOTE) {
			opening = !quotes_open;
			quotes_open = !quotes_open;
		}
		int space = prev >= 0 && prev != SP_SPACE && prev != SP_OPEN && sp != SP_SPACE &&
		            sp != SP_CLOSE && !(sp == SP_QUOTE && !opening);
		if (space && tok_buf_add(out, " ", 1))
			return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
		if (tok_buf_add(out, tok_vocab_str(&w->vocab, ids[i]), w->vocab.len[ids[i]]))
			return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
		prev = sp == SP_QUOTE ? (opening ? SP_OPEN : SP_CLOSE) : sp;
	}
	return LMS_OK;
}

/* Training: count the pieces of every text, keep the most frequent. */

struct count_call {
	const char *text;
	struct tok_strmap *map;
	int **count;
	size_t *cap;
};

static int count_piece(void *ud, size_t off, size_t n)
{
	struct count_call *c = ud;
	struct tok_strmap *m = c->map;
	size_t before = m->n;
	struct tok_strmap_slot *s = tok_strmap_upsert(m, c->text + off, n, (int)m->n);
	if (!s)
		return -1;
	if (m->n > before && m->n > *c->cap) {
		size_t cap = *c->cap * 2;
		int *nc = realloc(*c->count, cap * sizeof *nc);
		if (!nc)
			return -1;
		memset(nc + *c->cap, 0, (cap - *c->cap) * sizeof *nc);
		*c->count = nc;
		*c->cap = cap;
	}
	if ((*c->count)[s->val] < INT32_MAX)
		(*c->count)[s->val]++;
	return 0;
}

static int count_invalid(void *ud, size_t off)
{
	(void)ud;
	(void)off;
	return 0;
}

static enum lms_status word_train(const struct lms_tok_train_opts *o, const char *const *texts,
                                  const size_t *lens, int n, struct lms_tokenizer *tok)
{
	struct word *w = calloc(1, sizeof *w);
	if (!w)
		return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	w->cfg.kind = LMS_TOK_WORD;
	w->cfg.lowercase = o->lowercase;
	w->cfg.pattern = strdup(o->pattern ? o->pattern : LMS_TOK_WORD_PATTERN);
	w->cfg.unk = strdup("<unk>");
	if (o->bos_eos) {
		w->cfg.bos = strdup("<bos>");
		w->cfg.eos = strdup("<eos>");
	}
	enum lms_status st = LMS_OK;
	if (!w->cfg.pattern || !w->cfg.unk || (o->bos_eos && (!w->cfg.bos || !w->cfg.eos)))
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	if (!st)
		st = tok_regex_compile(&w->re, w->cfg.pattern, "--pattern");
	char **low = calloc((size_t)(n ? n : 1), sizeof *low);
	struct tok_strmap map = {0};
	size_t cap = 1024;
	int *count = calloc(cap, sizeof *count);
	if (!st && (!low || !count || tok_strmap_init(&map, cap)))
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	for (int t = 0; t < n && !st; t++) {
		const char *text = texts[t];
		if (o->lowercase && !(text = low[t] = lowered(texts[t], lens[t]))) {
			st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
			break;
		}
		struct count_call c = {text, &map, &count, &cap};
		struct tok_split_cb cb = {count_piece, count_invalid, &c, 0, NULL};
		st = tok_regex_split(&w->re, text, lens[t], &cb);
	}
	if (!st)
		st = tok_vocab_from_counts(&w->vocab, &w->cfg, &map, count, o->vocab_size,
		                           o->min_count > 0 ? o->min_count : 1);
	/* The vocabulary's strings are copies: the texts may go now. */
	for (int t = 0; low && t < n; t++)
		free(low[t]);
	free(low);
	free(count);
	tok_strmap_free(&map);
	if (!st) {
		tok_regex_free(&w->re);
		st = word_finish(w, tok, "tokenizer");
	}
	if (st)
		word_free(w);
	return st;
}

const struct tok_ops tok_word_ops = {
	.kind = LMS_TOK_WORD,
	.name = "word",
	.detect = word_detect,
	.load = word_load,
	.train = word_train,
	.save = word_save,
	.free = word_free,
	.encode = word_encode,
	.piece = word_piece_str,
	.decode = word_decode,
};
