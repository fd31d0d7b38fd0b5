/* The BPE model of the Hugging Face pipeline (tok_hf.h), on one piece.
 *
 * A piece starts as symbols: for byte-level models one per byte (the token
 * of that byte's GPT-2 character); otherwise one per UTF-8 character, its
 * token, or with byte_fallback the <0xXX> tokens of its bytes, or unk
 * (consecutive unknown characters fused into one unk when fuse_unk). Then
 * adjacent pairs merge, best first and leftmost among equals, until none can:
 *  - ranks (tokenizer.json, GGUF gpt2): the pair (a, b) merges when the
 *    merges list holds it; the lowest rank is best;
 *  - scores (GGUF llama, as llama.cpp's sentencepiece tokenizer): the pair
 *    merges when the concatenation of their text is a token; the highest
 *    score is best. Symbols are text spans here, so a character without a
 *    token may still merge; one left alone at the end falls back to bytes.
 * With ignore_merges, a piece that is a token as a whole is that token.
 * The candidates wait in a heap, so a piece of n bytes costs O(n log n). */
#include <stdio.h>

#include "tok/tok_hf.h"
#include "base/utf8.h"

struct sym {
	int id;              /* token, or -1 for a span without one (scores mode) */
	uint32_t start, len; /* bytes of the piece */
	int prev, next;      /* live neighbours, -1 at the ends */
};

struct cand {
	uint64_t key;        /* priority << 32 | left symbol: smaller first */
	int l, r;            /* symbols */
	int id;              /* the merged token */
	uint32_t llen, rlen; /* their lengths when queued (stale check) */
	int lid, rid;
};

struct heap {
	struct cand *c;
	size_t n, cap;
};

static int heap_push(struct heap *h, struct cand c)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? 2 * h->cap : 64;
		struct cand *nc = realloc(h->c, cap * sizeof *nc);
		if (!nc)
			return -1;
		h->c = nc;
		h->cap = cap;
	}
	size_t i = h->n++;
	while (i > 0 && h->c[(i - 1) / 2].key > c.key) {
		h->c[i] = h->c[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h->c[i] = c;
	return 0;
}

static struct cand heap_pop(struct heap *h)
{
	struct cand top = h->c[0], last = h->c[--h->n];
	size_t i = 0;
	for (;;) {
		size_t k = 2 * i + 1;
		if (k >= h->n)
			break;
		if (k + 1 < h->n && h->c[k + 1].key < h->c[k].key)
			k++;
		if (h->c[k].key >= last.key)
			break;
		h->c[i] = h->c[k];
		i = k;
	}
	if (h->n)
		h->c[i] = last;
	return top;
}

static uint64_t pair_key(int a, int b)
{
	return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

/* A float as an unsigned int of the same order. */
static uint32_t float_order(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u & 0x80000000u ? ~u : u | 0x80000000u;
}

/* Queues the pair (l, l's next) when it can merge. */
static int consider(const struct hf *h, const char *p, const struct sym *sy, int l, struct heap *hp)
{
	int r = sy[l].next;
	if (r < 0)
		return 0;
	struct cand c = {0, l, r, -1, sy[l].len, sy[r].len, sy[l].id, sy[r].id};
	if (h->score) {
		c.id = tok_vocab_id(&h->vocab, p + sy[l].start, sy[l].len + sy[r].len);
		if (c.id < 0)
			return 0;
		c.key = (uint64_t)float_order(-h->score[c.id]) << 32 | (uint32_t)l;
	} else {
		if (sy[l].id < 0 || sy[r].id < 0)
			return 0;
		int rank = tok_intmap_get(&h->rank, pair_key(sy[l].id, sy[r].id));
		if (rank < 0)
			return 0;
		c.id = h->merged[rank];
		c.key = (uint64_t)rank << 32 | (uint32_t)l;
	}
	return heap_push(hp, c);
}

/* Byte-level: the piece's bytes as GPT-2 byte characters, for ignore_merges. */
static int whole_token(const struct hf *h, const char *p, size_t n, struct tok_buf *tmp)
{
	if (!h->byte_level)
		return tok_vocab_id(&h->vocab, p, n);
	tmp->n = 0;
	for (size_t i = 0; i < n; i++) {
		int id = h->byte_id[(unsigned char)p[i]];
		if (id < 0 || tok_buf_add(tmp, tok_vocab_str(&h->vocab, id), h->vocab.len[id]))
			return -1;
	}
	return tok_vocab_id(&h->vocab, tmp->p ? tmp->p : "", tmp->n);
}

/* Appends the first symbols of the character at p[i] (k bytes). */
static void char_syms(const struct hf *h, const char *p, size_t i, size_t k, struct sym *sy, int *n,
                      struct lms_tok_stats *stats)
{
	int id = h->byte_level ? h->byte_id[(unsigned char)p[i]] : tok_vocab_id(&h->vocab, p + i, k);
	if (id >= 0 || h->score) {
		sy[(*n)++] = (struct sym){id, (uint32_t)i, (uint32_t)k, 0, 0};
		return;
	}
	int bytes_ok = h->byte_fallback;
	for (size_t j = 0; j < k && bytes_ok; j++)
		bytes_ok = h->byte_id[(unsigned char)p[i + j]] >= 0;
	if (bytes_ok) {
		for (size_t j = 0; j < k; j++)
			sy[(*n)++] =
				(struct sym){h->byte_id[(unsigned char)p[i + j]], (uint32_t)(i + j), 1, 0, 0};
		return;
	}
	stats->unk++;
	if (h->unk < 0)
		return; /* no unk token: the character is dropped, and counted */
	if (h->fuse_unk && *n && sy[*n - 1].id == h->unk &&
	    sy[*n - 1].start + sy[*n - 1].len == (uint32_t)i) {
		sy[*n - 1].len += (uint32_t)k;
		return;
	}
	sy[(*n)++] = (struct sym){h->unk, (uint32_t)i, (uint32_t)k, 0, 0};
}

/* A symbol left without a token at the end (scores mode): the <0xXX>
 * tokens of its bytes, or one unk (counted) when there are none. */
static int emit_bytes(const struct hf *h, const char *p, const struct sym *s, const size_t *orig,
                      struct tok_out *out, struct lms_tok_stats *stats)
{
	int ok = h->byte_fallback;
	for (uint32_t j = 0; j < s->len && ok; j++)
		ok = h->byte_id[(unsigned char)p[s->start + j]] >= 0;
	if (ok) {
		for (uint32_t j = 0; j < s->len; j++)
			if (tok_out_push(out, h->byte_id[(unsigned char)p[s->start + j]], orig[s->start + j]))
				return -1;
		return 0;
	}
	stats->unk++;
	return h->unk < 0 ? 0 : tok_out_push(out, h->unk, orig[s->start]);
}

enum lms_status hf_model_encode(const struct hf *h, const char *p, size_t n, size_t *orig,
                                struct tok_out *out, struct lms_tok_stats *stats)
{
	if (!n)
		return LMS_OK;
	struct tok_buf tmp = {0};
	if (h->ignore_merges) {
		int id = whole_token(h, p, n, &tmp);
		free(tmp.p);
		if (id >= 0)
			return tok_out_push(out, id, orig[0]) ? lms_fail(LMS_ENOMEM, "tokenizer: out of memory")
			                                      : LMS_OK;
	}
	struct sym *sy = malloc(n * sizeof *sy);
	struct heap hp = {0};
	if (!sy)
		return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	int ns = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t k =
			h->byte_level ? 1 : (size_t)lms_utf8_decode((const unsigned char *)p + i, n - i, &cp);
		if (!k)
			k = 1; /* an invalid byte is a character of its own */
		char_syms(h, p, i, k, sy, &ns, stats);
		i += k;
	}
	for (int i = 0; i < ns; i++) {
		sy[i].prev = i - 1;
		sy[i].next = i + 1 < ns ? i + 1 : -1;
	}
	int bad = 0;
	for (int i = 0; i + 1 < ns && !bad; i++)
		bad = consider(h, p, sy, i, &hp);
	while (hp.n && !bad) {
		struct cand c = heap_pop(&hp);
		struct sym *l = &sy[c.l], *r = &sy[c.r];
		if (l->len == 0 || r->len == 0 || l->next != c.r || l->len != c.llen || r->len != c.rlen ||
		    l->id != c.lid || r->id != c.rid)
			continue; /* stale: a side changed since it was queued */
		l->id = c.id;
		l->len += r->len;
		r->len = 0;
		l->next = r->next;
		if (r->next >= 0)
			sy[r->next].prev = c.l;
		bad = consider(h, p, sy, c.l, &hp) || (l->prev >= 0 && consider(h, p, sy, l->prev, &hp));
	}
	for (int i = 0; i >= 0 && ns && !bad; i = sy[i].next) {
		if (sy[i].id >= 0) {
			bad = tok_out_push(out, sy[i].id, orig[sy[i].start]);
			continue;
		}
		bad = emit_bytes(h, p, &sy[i], orig, out, stats);
	}
	free(sy);
	free(hp.c);
	return bad ? lms_fail(LMS_ENOMEM, "tokenizer: out of memory") : LMS_OK;
}

enum lms_status hf_model_index(struct hf *h, const char *where)
{
	if (tok_intmap_init(&h->rank, (size_t)h->n_merges) ||
	    !(h->merged = malloc((size_t)(h->n_merges + 1) * sizeof *h->merged)))
		return lms_fail(LMS_ENOMEM, "%s: out of memory", where);
	struct tok_buf tmp = {0};
	enum lms_status st = LMS_OK;
	for (int r = 0; r < h->n_merges && !st; r++) {
		int a = h->left[r], b = h->right[r];
		tmp.n = 0;
		if (tok_buf_add(&tmp, tok_vocab_str(&h->vocab, a), h->vocab.len[a]) ||
		    tok_buf_add(&tmp, tok_vocab_str(&h->vocab, b), h->vocab.len[b])) {
			st = lms_fail(LMS_ENOMEM, "%s: out of memory", where);
			break;
		}
		int m = tok_vocab_id(&h->vocab, tmp.p, tmp.n);
		if (m < 0) {
			st = lms_fail(LMS_EFORMAT, "%s: merge %d makes a token missing from the vocabulary",
			              where, r + 1);
			break;
		}
		h->merged[r] = m;
		/* a pair listed twice keeps its first (best) rank */
		if (tok_intmap_get(&h->rank, pair_key(a, b)) < 0 &&
		    tok_intmap_set(&h->rank, pair_key(a, b), r))
			st = lms_fail(LMS_ENOMEM, "%s: out of memory", where);
	}
	free(tmp.p);
	return st;
}
