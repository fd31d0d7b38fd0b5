/* Character-level tokenizer: one token per Unicode code point. Files:
 * tokenizer_config.json {"type": "char", "lowercase", "unk_token",
 * "bos_token", "eos_token"} and vocab.json, whose other tokens are single
 * code points. A code point missing from the vocabulary is <unk>; each
 * invalid UTF-8 byte counts as replaced and is the token of U+FFFD (or
 * <unk>). Decoding concatenates, with <unk> written as U+FFFD. */
#include "tok/tok_impl.h"
#include "base/utf8.h"

struct chars {
	struct tok_vocab vocab;
	struct tok_config cfg;
	int ascii[128];          /* code point -> id, -1 when absent */
	struct tok_intmap other; /* the other code points -> id */
	int replacement;         /* id of U+FFFD, or unk */
};

static void char_free(void *impl)
{
	struct chars *c = impl;
	if (!c)
		return;
	tok_vocab_free(&c->vocab);
	tok_config_free(&c->cfg);
	tok_intmap_free(&c->other);
	free(c);
}

static int char_id(const struct chars *c, uint32_t cp)
{
	return cp < 128 ? c->ascii[cp] : tok_intmap_get(&c->other, cp);
}

static enum lms_status char_finish(struct chars *c, struct lms_tokenizer *tok, const char *where)
{
	const char *unk = c->cfg.unk ? c->cfg.unk : "<unk>";
	int unk_id = tok_vocab_id(&c->vocab, unk, strlen(unk));
	if (unk_id < 0)
		return lms_fail(LMS_EFORMAT, "%s: the unknown token \"%s\" is not in the vocabulary", where,
		                unk);
	int bos = c->cfg.bos ? tok_vocab_id(&c->vocab, c->cfg.bos, strlen(c->cfg.bos)) : -1;
	int eos = c->cfg.eos ? tok_vocab_id(&c->vocab, c->cfg.eos, strlen(c->cfg.eos)) : -1;
	if ((c->cfg.bos && bos < 0) || (c->cfg.eos && eos < 0))
		return lms_fail(LMS_EFORMAT, "%s: the %s token is not in the vocabulary", where,
		                c->cfg.bos && bos < 0 ? "bos" : "eos");
	if (tok_intmap_init(&c->other, (size_t)c->vocab.n))
		return lms_fail(LMS_ENOMEM, "%s: out of memory", where);
	for (int i = 0; i < 128; i++)
		c->ascii[i] = -1;
	for (int id = 0; id < c->vocab.n; id++) {
		if (id == unk_id || id == bos || id == eos)
			continue;
		const unsigned char *s = (const unsigned char *)tok_vocab_str(&c->vocab, id);
		uint32_t cp;
		int k = c->vocab.len[id] ? lms_utf8_decode(s, c->vocab.len[id], &cp) : 0;
		if (!k || (uint32_t)k != c->vocab.len[id])
			return lms_fail(LMS_EFORMAT, "%s: token %d is not one character", where, id);
		if (cp < 128)
			c->ascii[cp] = id;
		else if (tok_intmap_set(&c->other, cp, id))
			return lms_fail(LMS_ENOMEM, "%s: out of memory", where);
	}
	int rep = char_id(c, LMS_UTF8_REPLACEMENT);
	c->replacement = rep >= 0 ? rep : unk_id;
	tok->impl = c;
	tok->vocab_size = c->vocab.n;
	tok->unk = unk_id;
	tok->bos = bos;
	tok->eos = eos;
	return LMS_OK;
}

static int char_detect(const char *dir, const struct tok_config *config)
{
	return config && config->kind == LMS_TOK_CHAR && tok_file_exists(dir, "vocab.json");
}

static enum lms_status char_load(const char *dir, struct lms_tokenizer *tok)
{
	struct chars *c = calloc(1, sizeof *c);
	if (!c)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	int found;
	char *vpath = tok_path(dir, "vocab.json");
	enum lms_status st = vpath ? LMS_OK : lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	if (!st)
		st = tok_config_read(dir, &c->cfg, &found);
	if (!st)
		st = tok_vocab_read(vpath, &c->vocab);
	if (!st)
		st = char_finish(c, tok, vpath);
	if (st)
		char_free(c);
	free(vpath);
	return st;
}

static enum lms_status char_save(const struct lms_tokenizer *tok, const char *dir)
{
	const struct chars *c = tok->impl;
	enum lms_status st = tok_config_write(&c->cfg, dir);
	return st ? st : tok_vocab_write(&c->vocab, dir, "vocab.json");
}

static enum lms_status char_encode(const struct lms_tokenizer *tok, const char *text, size_t len,
                                   struct tok_out *out, struct lms_tok_stats *stats)
{
	const struct chars *c = tok->impl;
	const unsigned char *s = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		int k = s[i] < 0x80 ? (cp = s[i], 1) : lms_utf8_decode(s + i, len - i, &cp);
		int id;
		if (!k) {
			stats->replaced++;
			id = c->replacement;
			k = 1;
		} else {
			if (c->cfg.lowercase)
				cp = lms_utf8_lower(cp);
			id = char_id(c, cp);
			if (id < 0)
				id = tok->unk;
		}
		if (id == tok->unk)
			stats->unk++;
		if (tok_out_push(out, id, i))
			return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
		i += (size_t)k;
	}
	return LMS_OK;
}

static const char *char_piece(const struct lms_tokenizer *tok, int id, size_t *len)
{
	const struct chars *c = tok->impl;
	*len = c->vocab.len[id];
	return tok_vocab_str(&c->vocab, id);
}

static enum lms_status char_decode(const struct lms_tokenizer *tok, const int *ids, size_t n,
                                   struct tok_buf *out)
{
	const struct chars *c = tok->impl;
	for (size_t i = 0; i < n; i++) {
		int id = ids[i];
		int bad;
		if (id == tok->bos || id == tok->eos)
			continue;
		if (id == tok->unk)
			bad = tok_buf_add(out, "\xEF\xBF\xBD", 3);
		else
			bad = tok_buf_add(out, tok_vocab_str(&c->vocab, id), c->vocab.len[id]);
		if (bad)
			return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	}
	return LMS_OK;
}

static enum lms_status char_train(const struct lms_tok_train_opts *o, const char *const *texts,
                                  const size_t *lens, int n, struct lms_tokenizer *tok)
{
	struct chars *c = calloc(1, sizeof *c);
	if (!c)
		return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	c->cfg.kind = LMS_TOK_CHAR;
	c->cfg.lowercase = o->lowercase;
	c->cfg.unk = strdup("<unk>");
	if (o->bos_eos) {
		c->cfg.bos = strdup("<bos>");
		c->cfg.eos = strdup("<eos>");
	}
	enum lms_status st = LMS_OK;
	if (!c->cfg.unk || (o->bos_eos && (!c->cfg.bos || !c->cfg.eos)))
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	/* Count code points; keys are their UTF-8 in one table of strings. */
	struct tok_intmap idx = {0};
	struct tok_vocab seen = {0};
	int *count = NULL;
	size_t cap = 0;
	if (!st && tok_intmap_init(&idx, 1024))
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	for (int t = 0; t < n && !st; t++) {
		const unsigned char *s = (const unsigned char *)texts[t];
		for (size_t i = 0; i < lens[t] && !st;) {
			uint32_t cp;
			int k = lms_utf8_decode(s + i, lens[t] - i, &cp);
			if (!k) {
				i++;
				continue;
			}
			i += (size_t)k;
			if (o->lowercase)
				cp = lms_utf8_lower(cp);
			int *slot = tok_intmap_ref(&idx, cp);
			if (!slot) {
				st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
				break;
			}
			if (*slot == 0) {
				char enc[4];
				int id = tok_vocab_add(&seen, enc, (size_t)lms_utf8_encode(cp, enc));
				if ((size_t)seen.n > cap) {
					size_t ncap = cap ? cap * 2 : 256;
					int *nc = realloc(count, ncap * sizeof *nc);
					if (!nc) {
						st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
						break;
					}
					memset(nc + cap, 0, (ncap - cap) * sizeof *nc);
					count = nc;
					cap = ncap;
				}
				if (id < 0) {
					st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
					break;
				}
				*slot = id + 1;
			}
			if (count[*slot - 1] < INT32_MAX)
				count[*slot - 1]++;
		}
	}
	if (!st)
		st = tok_vocab_index(&seen, NULL);
	if (!st)
		st = tok_vocab_from_counts(&c->vocab, &c->cfg, &seen.map, count, o->vocab_size,
		                           o->min_count > 0 ? o->min_count : 1);
	tok_intmap_free(&idx);
	tok_vocab_free(&seen);
	free(count);
	if (!st)
		st = char_finish(c, tok, "tokenizer");
	if (st)
		char_free(c);
	return st;
}

const struct tok_ops tok_char_ops = {
	.kind = LMS_TOK_CHAR,
	.name = "char",
	.detect = char_detect,
	.load = char_load,
	.train = char_train,
	.save = char_save,
	.free = char_free,
	.encode = char_encode,
	.piece = char_piece,
	.decode = char_decode,
};
