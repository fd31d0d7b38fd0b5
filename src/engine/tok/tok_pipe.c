/* Running the Hugging Face pipeline (tok_hf.h): added tokens, normalizers,
 * pre-tokenizers, the model (tok_merge.c) and decoders.
 *
 * Offsets: a segment's working text carries, for every byte, the byte of
 * the original text it came from (orig), so each token's offset is where
 * its first byte came from. A normalizer's output maps to the start of what
 * it replaced: NFC and NFKC work one grapheme cluster at a time (no
 * composition crosses a cluster), a prepended string maps to the first byte.
 *
 * Invalid UTF-8: Hugging Face's tokenizers take Unicode strings, so they
 * never see an invalid byte. lmscope takes any bytes: normalizers pass an
 * invalid byte through unchanged, pre-tokenizers make it a piece of its own,
 * and the model gives it its byte's token (byte-level, byte_fallback), or
 * unk (counted in the stats) when the model has neither. */
#include <stdio.h>

#include <utf8proc.h>

#include "tok/tok_hf.h"
#include "base/utf8.h"
#include "tok/bpe.h"

/* The working text of one segment: bytes and, for each, its origin. */
struct seg {
	char *s;      /* (n + 1) */
	size_t *orig; /* (n + 1); orig[n] is the segment's end */
	size_t n, cap;
};

struct piece {
	size_t a, b; /* [a, b) in the segment */
};

struct pieces {
	struct piece *p;
	size_t n, cap;
};

static int seg_reserve(struct seg *g, size_t n)
{
	if (n + 1 <= g->cap)
		return 0;
	size_t cap = g->cap ? g->cap : 64;
	while (cap < n + 1)
		cap *= 2;
	char *s = realloc(g->s, cap);
	if (s)
		g->s = s;
	size_t *o = s ? realloc(g->orig, cap * sizeof *o) : NULL;
	if (o)
		g->orig = o;
	if (!o)
		return -1;
	g->cap = cap;
	return 0;
}

/* Appends len bytes, all from origin o. */
static int seg_add(struct seg *g, const char *s, size_t len, size_t o)
{
	if (seg_reserve(g, g->n + len))
		return -1;
	memcpy(g->s + g->n, s, len);
	for (size_t i = 0; i < len; i++)
		g->orig[g->n + i] = o;
	g->n += len;
	return 0;
}

static void seg_free(struct seg *g)
{
	free(g->s);
	free(g->orig);
}

static int pieces_add(struct pieces *ps, size_t a, size_t b)
{
	if (b <= a)
		return 0;
	if (ps->n == ps->cap) {
		size_t cap = ps->cap ? 2 * ps->cap : 16;
		struct piece *p = realloc(ps->p, cap * sizeof *p);
		if (!p)
			return -1;
		ps->p = p;
		ps->cap = cap;
	}
	ps->p[ps->n++] = (struct piece){a, b};
	return 0;
}

/* ---- normalizers ------------------------------------------------------------ */

/* NFC, NFKC, NFD or NFKD through utf8proc, one grapheme cluster at a time. */
static int norm_unicode(const struct seg *in, struct seg *out, enum hf_norm_kind k)
{
	utf8proc_option_t opt = UTF8PROC_STABLE |
	                        (k == HF_NFC || k == HF_NFKC ? UTF8PROC_COMPOSE : UTF8PROC_DECOMPOSE) |
	                        (k == HF_NFKC || k == HF_NFKD ? UTF8PROC_COMPAT : 0);
	const unsigned char *s = (const unsigned char *)in->s;
	size_t i = 0;
	while (i < in->n) {
		/* ASCII followed by ASCII: nothing to compose or decompose */
		if (s[i] < 0x80 && (i + 1 == in->n || s[i + 1] < 0x80)) {
			if (seg_add(out, in->s + i, 1, in->orig[i]))
				return -1;
			i++;
			continue;
		}
		uint32_t cp;
		int k0 = lms_utf8_decode(s + i, in->n - i, &cp);
		if (!k0) { /* invalid: passed through */
			if (seg_add(out, in->s + i, 1, in->orig[i]))
				return -1;
			i++;
			continue;
		}
		/* the cluster: code points until a grapheme break */
		size_t j = i + (size_t)k0;
		utf8proc_int32_t state = 0, prev = (utf8proc_int32_t)cp;
		while (j < in->n) {
			uint32_t c2;
			int k2 = lms_utf8_decode(s + j, in->n - j, &c2);
			if (!k2 || utf8proc_grapheme_break_stateful(prev, (utf8proc_int32_t)c2, &state))
				break;
			prev = (utf8proc_int32_t)c2;
			j += (size_t)k2;
		}
		utf8proc_uint8_t *dst = NULL;
		utf8proc_ssize_t m = utf8proc_map(s + i, (utf8proc_ssize_t)(j - i), &dst, opt);
		int bad = m < 0 ? seg_add(out, in->s + i, j - i, in->orig[i])
		                : seg_add(out, (const char *)dst, (size_t)m, in->orig[i]);
		free(dst);
		if (bad)
			return -1;
		i = j;
	}
	return 0;
}

/* Every occurrence of a (left to right, not overlapping) becomes b. */
static int norm_replace(const struct seg *in, struct seg *out, const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	for (size_t i = 0; i < in->n;) {
		if (la && i + la <= in->n && !memcmp(in->s + i, a, la)) {
			if (seg_add(out, b, lb, in->orig[i]))
				return -1;
			i += la;
		} else {
			if (seg_add(out, in->s + i, 1, in->orig[i]))
				return -1;
			i++;
		}
	}
	return 0;
}

static int normalize(const struct hf *h, struct seg *g)
{
	for (int k = 0; k < h->n_norm; k++) {
		const struct hf_norm *nm = &h->norm[k];
		struct seg out = {0};
		int bad = seg_reserve(&out, g->n);
		if (!bad && nm->kind == HF_PREPEND && g->n)
			bad = seg_add(&out, nm->a, strlen(nm->a), g->orig[0]);
		if (!bad && nm->kind == HF_PREPEND)
			bad = g->n && seg_add(&out, g->s, g->n, 0);
		if (!bad && nm->kind == HF_PREPEND && g->n)
			memcpy(out.orig + out.n - g->n, g->orig, g->n * sizeof *g->orig);
		if (!bad && nm->kind == HF_REPLACE)
			bad = norm_replace(g, &out, nm->a, nm->b);
		if (!bad && nm->kind <= HF_NFKD)
			bad = norm_unicode(g, &out, nm->kind);
		if (bad) {
			seg_free(&out);
			return -1;
		}
		out.orig[out.n] = g->orig[g->n];
		seg_free(g);
		*g = out;
	}
	return 0;
}

/* ---- pre-tokenizers ----------------------------------------------------------- */

/* A piece's parts: matches of the pattern and the gaps between them. */
struct part {
	size_t a, b;
	int match;
};

struct parts {
	struct part *p;
	size_t n, cap;
	size_t base;
	const char *text;
};

static int parts_add(struct parts *pt, size_t a, size_t b, int match)
{
	if (b <= a)
		return 0;
	if (pt->n == pt->cap) {
		size_t cap = pt->cap ? 2 * pt->cap : 16;
		struct part *p = realloc(pt->p, cap * sizeof *p);
		if (!p)
			return -1;
		pt->p = p;
		pt->cap = cap;
	}
	pt->p[pt->n++] = (struct part){a, b, match};
	return 0;
}

static int on_match(void *ud, size_t off, size_t n)
{
	struct parts *pt = ud;
	return parts_add(pt, pt->base + off, pt->base + off + n, 1);
}

static int on_gap(void *ud, size_t off, size_t n)
{
	struct parts *pt = ud;
	return parts_add(pt, pt->base + off, pt->base + off + n, 0);
}

static int on_invalid(void *ud, size_t off)
{
	struct parts *pt = ud;
	return parts_add(pt, pt->base + off, pt->base + off + 1, 2);
}

/* The parts of [a, b) for a Split (regex or literal). */
static enum lms_status split_parts(const struct hf_pre *pr, const struct seg *g, size_t a, size_t b,
                                   struct parts *pt)
{
	pt->n = 0;
	pt->base = a;
	if (pr->literal) {
		size_t ll = strlen(pr->literal), at = a;
		for (size_t i = a; ll && i + ll <= b;) {
			if (memcmp(g->s + i, pr->literal, ll)) {
				i++;
				continue;
			}
			if (parts_add(pt, at, i, 0) || parts_add(pt, i, i + ll, 1))
				return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
			i += ll;
			at = i;
		}
		return parts_add(pt, at, b, 0) ? lms_fail(LMS_ENOMEM, "tokenizer: out of memory") : LMS_OK;
	}
	struct tok_split_cb cb = {on_match, on_invalid, pt, 1, on_gap};
	return tok_regex_split(&pr->re, g->s + a, b - a, &cb);
}

/* Groups one piece's parts into pieces, as behavior says, folding as the
 * tokenizers library does (NormalizedString::split): Isolated keeps every
 * part; Removed drops the matches; Contiguous joins a part to the piece
 * before when both match or both do not; MergedWithPrevious joins a match
 * to the non-match before it; MergedWithNext joins a match to the
 * non-match after it. An invalid byte (match 2) is always a piece alone. */
static int group_parts(const struct parts *pt, enum hf_behavior beh, int invert, struct pieces *out)
{
	size_t first = out->n;
	int prev = 0, bad = 0;
	if (beh == HF_MERGED_NEXT) { /* folded from the end, then reversed */
		for (size_t i = pt->n; i-- > 0 && !bad;) {
			const struct part *q = &pt->p[i];
			int m = q->match == 2 ? 0 : q->match != invert;
			if (q->match != 2 && m && !prev && out->n > first && out->p[out->n - 1].a == q->b)
				out->p[out->n - 1].a = q->a;
			else
				bad = pieces_add(out, q->a, q->b);
			prev = q->match == 2 ? 0 : m;
		}
		for (size_t i = first, j = out->n; !bad && i + 1 < j; i++, j--) {
			struct piece t = out->p[i];
			out->p[i] = out->p[j - 1];
			out->p[j - 1] = t;
		}
		return bad ? -1 : 0;
	}
	for (size_t i = 0; i < pt->n && !bad; i++) {
		const struct part *q = &pt->p[i];
		int m = q->match == 2 ? 0 : q->match != invert;
		int join = q->match != 2 && out->n > first && out->p[out->n - 1].b == q->a && i > 0 &&
		           pt->p[i - 1].match != 2 &&
		           ((beh == HF_CONTIGUOUS && m == prev) || (beh == HF_MERGED_PREV && m && !prev));
		if (join)
			out->p[out->n - 1].b = q->b;
		else if (beh != HF_REMOVED || !m)
			bad = pieces_add(out, q->a, q->b);
		prev = m;
	}
	return bad ? -1 : 0;
}

/* Rewrites each piece: prefix (when the piece does not start with it and
 * want_prefix says so) and every ' ' as repl (when repl is not NULL). */
static int rewrite(struct seg *g, struct pieces *ps, const char *prefix, int prefix_scheme,
                   const char *repl, int seg_first)
{
	struct seg out = {0};
	struct pieces np = {0};
	size_t lp = prefix ? strlen(prefix) : 0, lr = repl ? strlen(repl) : 0;
	int bad = seg_reserve(&out, g->n + 16);
	for (size_t k = 0; k < ps->n && !bad; k++) {
		size_t a = ps->p[k].a, b = ps->p[k].b, start = out.n;
		/* 2: every piece; 1: the first piece of the text */
		int want = prefix && (prefix_scheme == 2 || (prefix_scheme == 1 && k == 0 && seg_first));
		int has =
			repl ? (b - a >= 1 && g->s[a] == ' ') || (b - a >= lp && !memcmp(g->s + a, prefix, lp))
				 : b - a >= lp && !memcmp(g->s + a, prefix, lp);
		if (want && !has)
			bad = seg_add(&out, prefix, lp, g->orig[a]);
		for (size_t i = a; i < b && !bad; i++)
			bad = repl && g->s[i] == ' ' ? seg_add(&out, repl, lr, g->orig[i])
			                             : seg_add(&out, g->s + i, 1, g->orig[i]);
		if (!bad)
			bad = pieces_add(&np, start, out.n);
	}
	if (!bad)
		out.orig[out.n] = g->orig[g->n];
	if (bad) {
		seg_free(&out);
		free(np.p);
		return -1;
	}
	seg_free(g);
	*g = out;
	free(ps->p);
	*ps = np;
	return 0;
}

static enum lms_status pre_split(const struct hf_pre *pr, const struct seg *g, struct pieces *ps)
{
	struct pieces np = {0};
	struct parts pt = {0};
	enum lms_status st = LMS_OK;
	for (size_t k = 0; k < ps->n && !st; k++) {
		st = split_parts(pr, g, ps->p[k].a, ps->p[k].b, &pt);
		if (!st && group_parts(&pt, pr->behavior, pr->invert, &np))
			st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	}
	free(pt.p);
	if (st) {
		free(np.p);
		return st;
	}
	free(ps->p);
	*ps = np;
	return LMS_OK;
}

static enum lms_status pre_tokenize(const struct hf *h, struct seg *g, struct pieces *ps,
                                    int seg_first)
{
	for (int k = 0; k < h->n_pre; k++) {
		const struct hf_pre *pr = &h->pre[k];
		enum lms_status st = LMS_OK;
		switch (pr->kind) {
		case HF_PRE_SPLIT:
		case HF_PRE_DIGITS: st = pre_split(pr, g, ps); break;
		case HF_PRE_BYTELEVEL:
			if (pr->prefix_space && rewrite(g, ps, " ", 2, NULL, seg_first))
				return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
			if (pr->re.code)
				st = pre_split(pr, g, ps);
			break;
		case HF_PRE_METASPACE:
			if (rewrite(g, ps, pr->repl, pr->prepend, pr->repl, seg_first))
				return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
			if (pr->split)
				st = pre_split(pr, g, ps);
			break;
		}
		if (st)
			return st;
	}
	return LMS_OK;
}

/* ---- encoding ------------------------------------------------------------------- */

/* Normalizes, pre-tokenizes and encodes text[a, b) (no added tokens in it). */
static enum lms_status encode_segment(const struct hf *h, const char *text, size_t a, size_t b,
                                      struct tok_out *out, struct lms_tok_stats *stats)
{
	struct seg g = {0};
	struct pieces ps = {0};
	enum lms_status st = LMS_OK;
	if (seg_add(&g, text + a, b - a, 0))
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	for (size_t i = 0; !st && i <= b - a; i++)
		g.orig[i] = a + i;
	if (!st && normalize(h, &g))
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	if (!st && pieces_add(&ps, 0, g.n))
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	if (!st)
		st = pre_tokenize(h, &g, &ps, a == 0);
	for (size_t k = 0; k < ps.n && !st; k++)
		st = hf_model_encode(h, g.s + ps.p[k].a, ps.p[k].b - ps.p[k].a, g.orig + ps.p[k].a, out,
		                     stats);
	seg_free(&g);
	free(ps.p);
	return st;
}

static int is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* The longest added token at text[i], or -1 (its length in *len). */
static int added_at(const struct hf *h, const char *text, size_t len, size_t i, size_t *mlen)
{
	int best = -1, node = 0;
	for (size_t j = i; j < len; j++) {
		node = tok_intmap_get(&h->trie, (uint64_t)node << 8 | (unsigned char)text[j]);
		if (node < 0)
			break;
		if (h->trie_id[node] >= 0) {
			best = h->trie_id[node];
			*mlen = j + 1 - i;
		}
	}
	return best;
}

static enum lms_status hf_encode(const struct lms_tokenizer *tok, const char *text, size_t len,
                                 struct tok_out *out, struct lms_tok_stats *stats)
{
	const struct hf *h = tok->impl;
	size_t seg = 0;
	for (size_t i = 0; i < len;) {
		size_t m = 0;
		int k = h->n_added ? added_at(h, text, len, i, &m) : -1;
		if (k < 0) {
			i++;
			continue;
		}
		const struct hf_added *ad = &h->added[k];
		size_t end = i;
		if (ad->lstrip)
			while (end > seg && is_space((unsigned char)text[end - 1]))
				end--;
		enum lms_status st = end > seg ? encode_segment(h, text, seg, end, out, stats) : LMS_OK;
		if (st)
			return st;
		if (tok_out_push(out, ad->id, i))
			return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
		i += m;
		if (ad->rstrip)
			while (i < len && is_space((unsigned char)text[i]))
				i++;
		seg = i;
	}
	return seg < len ? encode_segment(h, text, seg, len, out, stats) : LMS_OK;
}

/* ---- decoding ----------------------------------------------------------------------- */

/* GPT-2's byte characters back to bytes; other characters stay. */
static int unbyte(const struct hf *h, const char *s, size_t n, struct tok_buf *out)
{
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		int k = lms_utf8_decode((const unsigned char *)s + i, n - i, &cp);
		if (k && cp < 512 && h->byte_of[cp] >= 0) {
			char c = (char)h->byte_of[cp];
			if (tok_buf_add(out, &c, 1))
				return -1;
		} else if (tok_buf_add(out, s + i, k ? (size_t)k : 1)) {
			return -1;
		}
		i += k ? (size_t)k : 1;
	}
	return 0;
}

/* One decoder step on one token's string t (in place through tmp). first
 * says whether it is the first token; display skips the steps that only
 * make sense for whole texts (Strip, Metaspace's first space). */
static int dec_step(const struct hf *h, const struct hf_dec *d, struct tok_buf *t,
                    struct tok_buf *tmp, int first, int display)
{
	tmp->n = 0;
	int bad = tok_buf_add(tmp, "", 0);
	switch (d->kind) {
	case HF_DEC_BYTELEVEL: bad = bad || unbyte(h, t->p, t->n, tmp); break;
	case HF_DEC_METASPACE:
	case HF_DEC_REPLACE: {
		const char *a = d->a, *b = d->kind == HF_DEC_REPLACE ? d->b : " ";
		size_t la = strlen(a), lb = strlen(b), i = 0;
		if (d->kind == HF_DEC_METASPACE && first && !display && d->prepend && t->n >= la &&
		    !memcmp(t->p, a, la))
			i = la;
		while (i < t->n && !bad) {
			if (la && i + la <= t->n && !memcmp(t->p + i, a, la)) {
				bad = tok_buf_add(tmp, b, lb);
				i += la;
			} else {
				bad = tok_buf_add(tmp, t->p + i, 1);
				i++;
			}
		}
		break;
	}
	case HF_DEC_BYTEFALLBACK: {
		int byte = tok_byte_piece(t->p, t->n);
		char c = (char)byte;
		bad = bad || (byte >= 0 ? tok_buf_add(tmp, &c, 1) : tok_buf_add(tmp, t->p, t->n));
		break;
	}
	case HF_DEC_STRIP: {
		size_t la = strlen(d->a), a = 0, b = t->n;
		for (int k = 0;
		     k < d->start && !display && la && a + la <= b && !memcmp(t->p + a, d->a, la); k++)
			a += la;
		for (int k = 0;
		     k < d->stop && !display && la && b >= a + la && !memcmp(t->p + b - la, d->a, la); k++)
			b -= la;
		bad = bad || tok_buf_add(tmp, t->p + a, b - a);
		break;
	}
	case HF_DEC_FUSE: bad = bad || tok_buf_add(tmp, t->p, t->n); break;
	}
	if (bad)
		return -1;
	struct tok_buf sw = *t;
	*t = *tmp;
	*tmp = sw;
	return 0;
}

/* Decodes ids (all in range) through the decoders into out. */
static int decode_ids(const struct hf *h, const int *ids, size_t n, struct tok_buf *out,
                      int display)
{
	struct tok_buf *t = calloc(n ? n : 1, sizeof *t);
	struct tok_buf tmp = {0};
	int bad = !t;
	size_t nt = n;
	for (size_t i = 0; i < n && !bad; i++)
		bad = tok_buf_add(&t[i], tok_vocab_str(&h->vocab, ids[i]), h->vocab.len[ids[i]]);
	for (int k = 0; k < h->n_dec && !bad; k++) {
		if (h->dec[k].kind == HF_DEC_FUSE) { /* all tokens become one */
			for (size_t i = 1; i < nt && !bad; i++) {
				bad = tok_buf_add(&t[0], t[i].p, t[i].n);
				free(t[i].p);
				t[i] = (struct tok_buf){0};
			}
			if (nt > 1)
				nt = 1;
			continue;
		}
		for (size_t i = 0; i < nt && !bad; i++)
			bad = dec_step(h, &h->dec[k], &t[i], &tmp, i == 0, display);
	}
	for (size_t i = 0; i < nt && !bad; i++)
		bad = tok_buf_add(out, t[i].p ? t[i].p : "", t[i].n);
	for (size_t i = 0; t && i < n; i++)
		free(t[i].p);
	free(t);
	free(tmp.p);
	return bad ? -1 : 0;
}

static enum lms_status hf_decode(const struct lms_tokenizer *tok, const int *ids, size_t n,
                                 struct tok_buf *out)
{
	return decode_ids(tok->impl, ids, n, out, 0) ? lms_fail(LMS_ENOMEM, "tokenizer: out of memory")
	                                             : LMS_OK;
}

static const char *hf_piece(const struct lms_tokenizer *tok, int id, size_t *len)
{
	const struct hf *h = tok->impl;
	*len = h->shown.len[id];
	return tok_vocab_str(&h->shown, id);
}

/* ---- building ----------------------------------------------------------------------- */

void hf_free(struct hf *h)
{
	if (!h)
		return;
	tok_vocab_free(&h->vocab);
	tok_vocab_free(&h->shown);
	for (int k = 0; k < h->n_norm; k++) {
		free(h->norm[k].a);
		free(h->norm[k].b);
	}
	free(h->norm);
	for (int k = 0; k < h->n_pre; k++) {
		if (h->pre[k].re.code)
			tok_regex_free(&h->pre[k].re);
		free(h->pre[k].literal);
		free(h->pre[k].repl);
	}
	free(h->pre);
	for (int k = 0; k < h->n_dec; k++) {
		free(h->dec[k].a);
		free(h->dec[k].b);
	}
	free(h->dec);
	for (int k = 0; k < h->n_added; k++)
		free(h->added[k].content);
	free(h->added);
	tok_intmap_free(&h->trie);
	free(h->trie_id);
	free(h->left);
	free(h->right);
	free(h->merged);
	tok_intmap_free(&h->rank);
	free(h->score);
	free(h->json);
	free(h->config);
	free(h);
}

static void hf_free_impl(void *impl)
{
	hf_free(impl);
}

/* The trie of added tokens: node 0 is the root. */
static enum lms_status build_trie(struct hf *h, const char *where)
{
	size_t nodes = 1;
	for (int k = 0; k < h->n_added; k++)
		nodes += h->added[k].len;
	h->trie_id = malloc(nodes * sizeof *h->trie_id);
	if (!h->trie_id || tok_intmap_init(&h->trie, nodes))
		return lms_fail(LMS_ENOMEM, "%s: out of memory", where);
	h->trie_id[0] = -1;
	h->n_trie = 1;
	for (int k = 0; k < h->n_added; k++) {
		int node = 0;
		for (size_t i = 0; i < h->added[k].len; i++) {
			uint64_t key = (uint64_t)node << 8 | (unsigned char)h->added[k].content[i];
			int next = tok_intmap_get(&h->trie, key);
			if (next < 0) {
				next = h->n_trie++;
				h->trie_id[next] = -1;
				if (tok_intmap_set(&h->trie, key, next))
					return lms_fail(LMS_ENOMEM, "%s: out of memory", where);
			}
			node = next;
		}
		if (node && h->trie_id[node] < 0)
			h->trie_id[node] = k;
	}
	return LMS_OK;
}

/* Display strings: each token through the decoders, invalid UTF-8 as U+FFFD. */
static enum lms_status build_shown(struct hf *h, const char *where)
{
	struct tok_buf raw = {0}, show = {0};
	int bad = 0;
	for (int id = 0; id < h->vocab.n && !bad; id++) {
		raw.n = show.n = 0;
		bad = decode_ids(h, &id, 1, &raw, 1);
		for (size_t i = 0; i < raw.n && !bad;) {
			uint32_t cp;
			int k = lms_utf8_decode((const unsigned char *)raw.p + i, raw.n - i, &cp);
			bad = k ? tok_buf_add(&show, raw.p + i, (size_t)k)
			        : tok_buf_add(&show, "\xEF\xBF\xBD", 3);
			i += k ? (size_t)k : 1;
		}
		bad = bad || tok_vocab_add(&h->shown, show.n ? show.p : "", show.n) < 0;
	}
	free(raw.p);
	free(show.p);
	return bad ? lms_fail(LMS_ENOMEM, "%s: out of memory", where) : LMS_OK;
}

enum lms_status hf_finish(struct hf *h, const char *where)
{
	enum lms_status st = h->vocab.map.slots ? LMS_OK : tok_vocab_index(&h->vocab, where);
	if (st)
		return st;
	uint32_t chars[256];
	bpe_byte_chars(chars);
	for (int i = 0; i < 512; i++)
		h->byte_of[i] = -1;
	for (int i = 0; i < 256; i++)
		h->byte_of[chars[i]] = i;
	for (int c = 0; c < 256; c++) {
		char u[8];
		int k = h->byte_level ? lms_utf8_encode(chars[c], u) : snprintf(u, sizeof u, "<0x%02X>", c);
		h->byte_id[c] = tok_vocab_id(&h->vocab, u, (size_t)k);
		if (h->byte_level && h->byte_id[c] < 0)
			return lms_fail(LMS_EFORMAT, "%s: no token for the byte 0x%02x", where, c);
	}
	if (!h->score && (st = hf_model_index(h, where)))
		return st;
	if ((st = build_trie(h, where)))
		return st;
	return build_shown(h, where);
}

void hf_adopt(struct lms_tokenizer *tok, struct hf *h)
{
	tok->impl = h;
	tok->vocab_size = h->vocab.n;
	tok->ops = h->byte_level ? &tok_hf_ops : &tok_hf_spm_ops;
}

/* The same table twice but for the kind: byte-level (GPT-2, Llama 3, Qwen)
 * or sentencepiece-style (Llama 2, Gemma), as lms_tokenizer_kind reports. */
#define HF_OPS(k)                                                                                  \
	{                                                                                              \
		.kind = k, .name = "tokenizer.json", .detect = tok_hf_detect, .load = tok_hf_load,         \
		.train = NULL, .save = tok_hf_save, .free = hf_free_impl, .encode = hf_encode,             \
		.piece = hf_piece, .decode = hf_decode,                                                    \
	}

const struct tok_ops tok_hf_ops = HF_OPS(LMS_TOK_BPE);
const struct tok_ops tok_hf_spm_ops = HF_OPS(LMS_TOK_SPM);
