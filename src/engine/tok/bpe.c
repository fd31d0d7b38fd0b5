/* GPT-2 byte-level BPE: vocab.json + merges.txt (Hugging Face's names) or
 * encoder.json + vocab.bpe (OpenAI's names).
 *
 * Encoding follows OpenAI's encoder.py exactly: the text is split by GPT-2's
 * pattern; each piece's bytes become the tokens of their byte characters;
 * then, repeatedly, the adjacent pair with the lowest merge rank is merged
 * (leftmost first) until no pair has a rank. Here the merging keeps the
 * candidate pairs in a heap, so a piece of n bytes costs O(n log n) however
 * long it is, and each distinct piece is merged once per call (a cache).
 *
 * GPT-2 encodes a Python str, so its input is always valid Unicode. lmscope
 * encodes any bytes: the text is split into valid UTF-8 runs, each run is
 * pre-tokenized on its own, and each invalid byte is its own piece, the
 * token of that single byte. decode(encode(s)) == s for every byte string. */
#include <stdio.h>

#include "tok/bpe.h"
#include "base/utf8.h"

struct bpe {
	struct tok_vocab vocab; /* byte-encoded token strings, as in the files */
	struct tok_vocab bytes; /* each token's raw bytes (not indexed) */
	struct tok_vocab shown; /* raw bytes with invalid UTF-8 shown as U+FFFD */
	int byte_id[256];
	int *left, *right, *merged; /* (n_merges) by rank */
	int n_merges;
	struct tok_intmap rank; /* left << 32 | right -> rank */
	struct tok_regex re;
};

void bpe_byte_chars(uint32_t cp[256])
{
	int printable[256] = {0};
	for (int b = '!'; b <= '~'; b++)
		printable[b] = 1;
	for (int b = 0xA1; b <= 0xAC; b++)
		printable[b] = 1;
	for (int b = 0xAE; b <= 0xFF; b++)
		printable[b] = 1;
	uint32_t next = 256;
	for (int b = 0; b < 256; b++)
		cp[b] = printable[b] ? (uint32_t)b : next++;
}

static uint64_t pair_key(int a, int b)
{
	return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

static void bpe_free(void *impl)
{
	struct bpe *b = impl;
	if (!b)
		return;
	tok_vocab_free(&b->vocab);
	tok_vocab_free(&b->bytes);
	tok_vocab_free(&b->shown);
	free(b->left);
	free(b->right);
	free(b->merged);
	tok_intmap_free(&b->rank);
	if (b->re.code)
		tok_regex_free(&b->re);
	free(b);
}

/* Fills bytes and shown from vocab. */
static enum lms_status derive_strings(struct bpe *b, const char *where)
{
	uint32_t chars[256];
	bpe_byte_chars(chars);
	int byte_of[512];
	for (int i = 0; i < 512; i++)
		byte_of[i] = -1;
	for (int i = 0; i < 256; i++)
		byte_of[chars[i]] = i;
	struct tok_buf raw = {0}, show = {0};
	enum lms_status st = LMS_OK;
	for (int id = 0; id < b->vocab.n && !st; id++) {
		const unsigned char *s = (const unsigned char *)tok_vocab_str(&b->vocab, id);
		size_t n = b->vocab.len[id];
		raw.n = show.n = 0;
		int special = 0;
		for (size_t i = 0; i < n;) {
			uint32_t cp;
			int k = lms_utf8_decode(s + i, n - i, &cp);
			if (!k || cp >= 512 || byte_of[cp] < 0) {
				special = 1;
				break;
			}
			unsigned char c = (unsigned char)byte_of[cp];
			if (tok_buf_add(&raw, &c, 1))
				st = LMS_ENOMEM;
			i += (size_t)k;
		}
		if (special) {
			raw.n = 0;
			if (tok_buf_add(&raw, s, n))
				st = LMS_ENOMEM;
		}
		for (size_t i = 0; i < raw.n && !st;) {
			uint32_t cp;
			int k = lms_utf8_decode((const unsigned char *)raw.p + i, raw.n - i, &cp);
			if (k) {
				st = tok_buf_add(&show, raw.p + i, (size_t)k) ? LMS_ENOMEM : LMS_OK;
				i += (size_t)k;
			} else {
				st = tok_buf_add(&show, "\xEF\xBF\xBD", 3) ? LMS_ENOMEM : LMS_OK;
				i++;
			}
		}
		if (!st && (tok_vocab_add(&b->bytes, raw.n ? raw.p : "", raw.n) < 0 ||
		            tok_vocab_add(&b->shown, show.n ? show.p : "", show.n) < 0))
			st = LMS_ENOMEM;
	}
	free(raw.p);
	free(show.p);
	if (st)
		return lms_fail(st, "%s: out of memory", where);
	for (int c = 0; c < 256; c++) {
		char u[4];
		int k = lms_utf8_encode(chars[c], u);
		b->byte_id[c] = tok_vocab_id(&b->vocab, u, (size_t)k);
		if (b->byte_id[c] < 0)
			return lms_fail(LMS_EFORMAT, "%s: no token for the byte 0x%02x", where, c);
	}
	return LMS_OK;
}

/* The id of the concatenation of tokens a and b, or -1. */
static int concat_id(const struct tok_vocab *v, int a, int b, struct tok_buf *tmp)
{
	tmp->n = 0;
	if (tok_buf_add(tmp, tok_vocab_str(v, a), v->len[a]) ||
	    tok_buf_add(tmp, tok_vocab_str(v, b), v->len[b]))
		return -2;
	return tok_vocab_id(v, tmp->p, tmp->n);
}

enum lms_status bpe_build(struct lms_tokenizer *tok, struct tok_vocab *vocab, int *left, int *right,
                          int n_merges, const char *where)
{
	struct bpe *b = calloc(1, sizeof *b);
	if (!b) {
		tok_vocab_free(vocab);
		free(left);
		free(right);
		return lms_fail(LMS_ENOMEM, "%s: out of memory", where);
	}
	b->vocab = *vocab;
	memset(vocab, 0, sizeof *vocab);
	b->left = left;
	b->right = right;
	b->n_merges = n_merges;
	enum lms_status st = LMS_OK;
	if (!b->vocab.map.slots)
		st = tok_vocab_index(&b->vocab, where);
	if (!st)
		st = derive_strings(b, where);
	if (!st && (!(b->merged = malloc((size_t)(n_merges + 1) * sizeof *b->merged)) ||
	            tok_intmap_init(&b->rank, (size_t)n_merges)))
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", where);
	struct tok_buf tmp = {0};
	for (int r = 0; r < n_merges && !st; r++) {
		int m = concat_id(&b->vocab, left[r], right[r], &tmp);
		if (m == -2)
			st = lms_fail(LMS_ENOMEM, "%s: out of memory", where);
		else if (m < 0)
			st = lms_fail(LMS_EFORMAT, "%s: merge %d makes a token missing from the vocabulary",
			              where, r + 1);
		else if (tok_intmap_get(&b->rank, pair_key(left[r], right[r])) < 0 &&
		         tok_intmap_set(&b->rank, pair_key(left[r], right[r]), r))
			st = lms_fail(LMS_ENOMEM, "%s: out of memory", where);
		if (!st)
			b->merged[r] = m;
	}
	free(tmp.p);
	if (!st)
		st = tok_regex_compile(&b->re, BPE_GPT2_PATTERN, where);
	if (st) {
		bpe_free(b);
		return st;
	}
	tok->impl = b;
	tok->vocab_size = b->vocab.n;
	tok->unk = -1;
	int eot = tok_vocab_id(&b->vocab, "<|endoftext|>", 13);
	tok->bos = tok->eos = eot;
	return LMS_OK;
}

/* Loading. */

static int bpe_detect(const char *dir, const struct tok_config *config)
{
	if (config)
		return 0;
	return (tok_file_exists(dir, "vocab.json") && tok_file_exists(dir, "merges.txt")) ||
	       (tok_file_exists(dir, "encoder.json") && tok_file_exists(dir, "vocab.bpe"));
}

static enum lms_status read_merges(const char *path, const struct tok_vocab *v, int **left,
                                   int **right, int *n_merges)
{
	char *data;
	size_t len;
	enum lms_status st = tok_read_file(path, &data, &len);
	if (st)
		return st;
	size_t cap = 1024;
	int n = 0;
	int *l = malloc(cap * sizeof *l), *r = malloc(cap * sizeof *r);
	struct tok_buf tmp = {0};
	if (!l || !r)
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	int line = 0;
	for (char *s = data, *end = data + len; s < end && !st;) {
		char *eol = memchr(s, '\n', (size_t)(end - s));
		if (!eol)
			eol = end;
		line++;
		size_t n_line = (size_t)(eol - s);
		if (n_line && s[n_line - 1] == '\r')
			n_line--;
		char *next = eol < end ? eol + 1 : end;
		if (n_line == 0 || (line == 1 && s[0] == '#')) {
			s = next;
			continue;
		}
		char *sp = memchr(s, ' ', n_line);
		if (!sp || sp == s || sp == s + n_line - 1 ||
		    memchr(sp + 1, ' ', n_line - (size_t)(sp - s) - 1)) {
			st = lms_fail(LMS_EFORMAT, "%s: line %d: expected two tokens separated by one space",
			              path, line);
			break;
		}
		int a = tok_vocab_id(v, s, (size_t)(sp - s));
		int b = tok_vocab_id(v, sp + 1, n_line - (size_t)(sp - s) - 1);
		if (a < 0 || b < 0) {
			st = lms_fail(LMS_EFORMAT, "%s: line %d: token \"%.*s\" is not in the vocabulary", path,
			              line, a < 0 ? (int)(sp - s) : (int)(n_line - (size_t)(sp - s) - 1),
			              a < 0 ? s : sp + 1);
			break;
		}
		int m = concat_id(v, a, b, &tmp);
		if (m == -2) {
			st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
			break;
		}
		if (m < 0) {
			st = lms_fail(LMS_EFORMAT, "%s: line %d: the merged token is not in the vocabulary",
			              path, line);
			break;
		}
		if ((size_t)n == cap) {
			cap *= 2;
			int *nl = realloc(l, cap * sizeof *nl);
			if (nl)
				l = nl;
			int *nr = nl ? realloc(r, cap * sizeof *nr) : NULL;
			if (nr)
				r = nr;
			if (!nl || !nr) {
				st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
				break;
			}
		}
		l[n] = a;
		r[n] = b;
		n++;
		s = next;
	}
	free(tmp.p);
	free(data);
	if (st) {
		free(l);
		free(r);
		return st;
	}
	*left = l;
	*right = r;
	*n_merges = n;
	return LMS_OK;
}

static enum lms_status bpe_load(const char *dir, struct lms_tokenizer *tok)
{
	int hf = tok_file_exists(dir, "vocab.json") && tok_file_exists(dir, "merges.txt");
	char *vpath = tok_path(dir, hf ? "vocab.json" : "encoder.json");
	char *mpath = tok_path(dir, hf ? "merges.txt" : "vocab.bpe");
	enum lms_status st = LMS_OK;
	struct tok_vocab v = {0};
	int *left = NULL, *right = NULL, n = 0;
	if (!vpath || !mpath)
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	if (!st)
		st = tok_vocab_read(vpath, &v);
	if (!st)
		st = read_merges(mpath, &v, &left, &right, &n);
	if (!st)
		st = bpe_build(tok, &v, left, right, n, vpath);
	else
		tok_vocab_free(&v);
	free(vpath);
	free(mpath);
	return st;
}

static enum lms_status bpe_save(const struct lms_tokenizer *tok, const char *dir)
{
	const struct bpe *b = tok->impl;
	enum lms_status st = tok_vocab_write(&b->vocab, dir, "vocab.json");
	if (st)
		return st;
	struct tok_buf m = {0};
	int bad = tok_buf_str(&m, "#version: 0.2\n");
	for (int r = 0; r < b->n_merges && !bad; r++)
		bad = tok_buf_add(&m, tok_vocab_str(&b->vocab, b->left[r]), b->vocab.len[b->left[r]]) ||
		      tok_buf_add(&m, " ", 1) ||
		      tok_buf_add(&m, tok_vocab_str(&b->vocab, b->right[r]), b->vocab.len[b->right[r]]) ||
		      tok_buf_add(&m, "\n", 1);
	if (bad) {
		free(m.p);
		return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	}
	st = tok_write_file(dir, "merges.txt", m.p, m.n);
	free(m.p);
	return st;
}

/* Encoding. */

struct cache_entry {
	uint32_t start, count; /* in pool */
};

struct encode_call {
	const struct bpe *b;
	const char *text;
	struct tok_out *out;
	struct tok_strmap cache; /* piece bytes (in text) -> entry */
	struct cache_entry *ent;
	size_t n_ent, cap_ent;
	int *pool; /* ids of cached pieces */
	size_t n_pool, cap_pool;
	int *sym, *nxt, *prv; /* merge scratch (cap_scratch) */
	uint64_t *heap;
	size_t cap_scratch;
};

/* Pieces longer than this are merged every time rather than cached; the
 * cache is emptied when it holds this many entries. */
#define CACHE_PIECE_MAX 64
#define CACHE_ENTRIES_MAX (1u << 18)

static void heap_push(uint64_t *h, size_t *n, uint64_t x)
{
	size_t i = (*n)++;
	while (i > 0 && h[(i - 1) / 2] > x) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = x;
}

static uint64_t heap_pop(uint64_t *h, size_t *n)
{
	uint64_t top = h[0], x = h[--*n];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && h[c + 1] < h[c])
			c++;
		if (h[c] >= x)
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = x;
	return top;
}

static int ensure_scratch(struct encode_call *c, size_t n)
{
	if (n <= c->cap_scratch)
		return 0;
	size_t cap = c->cap_scratch ? c->cap_scratch : 64;
	while (cap < n)
		cap *= 2;
	int *sym = realloc(c->sym, cap * sizeof *sym);
	if (sym)
		c->sym = sym;
	int *nxt = sym ? realloc(c->nxt, cap * sizeof *nxt) : NULL;
	if (nxt)
		c->nxt = nxt;
	int *prv = nxt ? realloc(c->prv, cap * sizeof *prv) : NULL;
	if (prv)
		c->prv = prv;
	/* Each merge pushes at most two pairs: n - 1 + 2 (n - 1) entries. */
	uint64_t *heap = prv ? realloc(c->heap, 3 * cap * sizeof *heap) : NULL;
	if (heap)
		c->heap = heap;
	if (!heap)
		return -1;
	c->cap_scratch = cap;
	return 0;
}

static void push_pair(const struct bpe *b, uint64_t *heap, size_t *nh, const int *sym, int i, int j)
{
	int r = tok_intmap_get(&b->rank, pair_key(sym[i], sym[j]));
	if (r >= 0)
		heap_push(heap, nh, (uint64_t)r << 32 | (uint32_t)i);
}

/* Merges the n bytes of p; the resulting ids go to out (room for n). */
static size_t merge_piece(struct encode_call *c, const unsigned char *p, size_t n, int *out)
{
	const struct bpe *b = c->b;
	int *sym = c->sym, *nxt = c->nxt, *prv = c->prv;
	uint64_t *heap = c->heap;
	size_t nh = 0;
	int end = (int)n;
	for (int i = 0; i < end; i++) {
		sym[i] = b->byte_id[p[i]];
		nxt[i] = i + 1;
		prv[i] = i - 1;
	}
	for (int i = 0; i + 1 < end; i++)
		push_pair(b, heap, &nh, sym, i, i + 1);
	while (nh) {
		uint64_t e = heap_pop(heap, &nh);
		int r = (int)(e >> 32), i = (int)(uint32_t)e;
		int j = nxt[i];
		if (sym[i] != b->left[r] || j >= end || sym[j] != b->right[r])
			continue; /* stale: this pair was changed by an earlier merge */
		sym[i] = b->merged[r];
		sym[j] = -1;
		nxt[i] = nxt[j];
		if (nxt[j] < end)
			prv[nxt[j]] = i;
		if (prv[i] >= 0)
			push_pair(b, heap, &nh, sym, prv[i], i);
		if (nxt[i] < end)
			push_pair(b, heap, &nh, sym, i, nxt[i]);
	}
	size_t k = 0;
	for (int i = 0; i < end; i = nxt[i])
		out[k++] = sym[i];
	return k;
}

static int emit(struct encode_call *c, const int *ids, size_t k, size_t off)
{
	const struct tok_vocab *bytes = &c->b->bytes;
	for (size_t t = 0; t < k; t++) {
		if (tok_out_push(c->out, ids[t], off))
			return -1;
		off += bytes->len[ids[t]];
	}
	return 0;
}

static int on_piece(void *ud, size_t off, size_t n)
{
	struct encode_call *c = ud;
	const char *p = c->text + off;
	if (n <= CACHE_PIECE_MAX) {
		int e = tok_strmap_get(&c->cache, p, n);
		if (e >= 0)
			return emit(c, c->pool + c->ent[e].start, c->ent[e].count, off);
	}
	if (ensure_scratch(c, n))
		return -1;
	if (n > CACHE_PIECE_MAX) {
		/* merge_piece may write its result over sym: out[k] with k <= i. */
		size_t k = merge_piece(c, (const unsigned char *)p, n, c->sym);
		return emit(c, c->sym, k, off);
	}
	if (c->cache.n >= CACHE_ENTRIES_MAX) {
		tok_strmap_free(&c->cache);
		if (tok_strmap_init(&c->cache, 1024))
			return -1;
		c->n_ent = c->n_pool = 0;
	}
	if (c->n_pool + n > c->cap_pool) {
		size_t cap = c->cap_pool ? c->cap_pool : 4096;
		while (cap < c->n_pool + n)
			cap *= 2;
		int *pool = realloc(c->pool, cap * sizeof *pool);
		if (!pool)
			return -1;
		c->pool = pool;
		c->cap_pool = cap;
	}
	if (c->n_ent == c->cap_ent) {
		size_t cap = c->cap_ent ? c->cap_ent * 2 : 1024;
		struct cache_entry *ent = realloc(c->ent, cap * sizeof *ent);
		if (!ent)
			return -1;
		c->ent = ent;
		c->cap_ent = cap;
	}
	size_t k = merge_piece(c, (const unsigned char *)p, n, c->pool + c->n_pool);
	c->ent[c->n_ent] = (struct cache_entry){(uint32_t)c->n_pool, (uint32_t)k};
	if (tok_strmap_put(&c->cache, p, n, (int)c->n_ent, NULL) < 0)
		return -1;
	c->n_ent++;
	c->n_pool += k;
	return emit(c, c->pool + c->n_pool - k, k, off);
}

static int on_invalid(void *ud, size_t off)
{
	struct encode_call *c = ud;
	return tok_out_push(c->out, c->b->byte_id[(unsigned char)c->text[off]], off);
}

static enum lms_status bpe_encode(const struct lms_tokenizer *tok, const char *text, size_t len,
                                  struct tok_out *out, struct lms_tok_stats *stats)
{
	(void)stats; /* byte-level BPE represents every byte */
	struct encode_call c = {0};
	c.b = tok->impl;
	c.text = text;
	c.out = out;
	if (tok_strmap_init(&c.cache, 1024))
		return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	struct tok_split_cb cb = {on_piece, on_invalid, &c, 1, NULL};
	enum lms_status st = tok_regex_split(&c.b->re, text, len, &cb);
	tok_strmap_free(&c.cache);
	free(c.ent);
	free(c.pool);
	free(c.sym);
	free(c.nxt);
	free(c.prv);
	free(c.heap);
	return st;
}

static const char *bpe_piece(const struct lms_tokenizer *tok, int id, size_t *len)
{
	const struct bpe *b = tok->impl;
	*len = b->shown.len[id];
	return tok_vocab_str(&b->shown, id);
}

static enum lms_status bpe_decode(const struct lms_tokenizer *tok, const int *ids, size_t n,
                                  struct tok_buf *out)
{
	const struct bpe *b = tok->impl;
	for (size_t i = 0; i < n; i++)
		if (tok_buf_add(out, tok_vocab_str(&b->bytes, ids[i]), b->bytes.len[ids[i]]))
			return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	return LMS_OK;
}

const struct tok_ops tok_bpe_ops = {
	.kind = LMS_TOK_BPE,
	.name = "bpe",
	.detect = bpe_detect,
	.load = bpe_load,
	.train = bpe_train,
	.save = bpe_save,
	.free = bpe_free,
	.encode = bpe_encode,
	.piece = bpe_piece,
	.decode = bpe_decode,
};
