/* llama2.c's tokenizer (tokenizer.bin): sentencepiece-style BPE driven by
 * piece scores, with byte fallback (see include/lmscope/llama2c.h).
 *
 * Encoding follows llama2.c's encode() exactly:
 *  1. a space is prepended (sentencepiece's dummy prefix) when the text is
 *     not empty;
 *  2. the text is cut into UTF-8 characters — a byte that is not a
 *     continuation byte starts a new one, which takes at most 3 following
 *     continuation bytes — and each character becomes its piece, or when
 *     there is none, one byte piece <0xXX> (id byte + 3) per byte;
 *  3. while some adjacent pair of pieces concatenates to a piece, the pair
 *     whose piece has the highest score is merged (the leftmost among equal
 *     scores).
 * llama2.c rescans the whole sequence for every merge; here the candidate
 * pairs wait in a heap ordered by (score, leftmost), which picks the same
 * pair each step in O(n log n). Decoding turns <0xXX> into its byte, drops
 * <s> and </s>, and drops the leading space of the first piece and of a
 * piece after <s>, as llama2.c does. */
#include <errno.h>
#include <stdio.h>

#include "base/infile.h"
#include "lmscope/llama2c.h"
#include "tok/tok_impl.h"

#define SPM_FILE "tokenizer.bin"
#define SPM_BOS 1
#define SPM_EOS 2
#define SPM_BYTE0 3
#define SPM_MAX_PIECE (1 << 16)

struct spm {
	struct tok_vocab v;
	float *score; /* (n) */
	int max_len;  /* the header's max_token_length */
};

static void spm_free(void *impl)
{
	struct spm *s = impl;
	if (!s)
		return;
	tok_vocab_free(&s->v);
	free(s->score);
	free(s);
}

/* ---- files ------------------------------------------------------------------ */

static enum lms_status spm_read(const char *path, struct lms_tokenizer *tok)
{
	FILE *f;
	enum lms_status ost = lms_infile_fopen(path, &f);
	if (ost)
		return ost;
	struct spm *s = calloc(1, sizeof *s);
	char *buf = malloc(SPM_MAX_PIECE);
	enum lms_status st = LMS_OK;
	int32_t max_len;
	size_t cap = 0;
	if (!s || !buf)
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	else if (fread(&max_len, sizeof max_len, 1, f) != 1)
		st = lms_fail(LMS_EFORMAT, "%s: ends before its header", path);
	else if (max_len <= 0 || max_len > SPM_MAX_PIECE)
		st = lms_fail(LMS_EFORMAT, "%s: maximum token length %d out of range", path, max_len);
	while (!st) {
		float score;
		int32_t len;
		size_t got = fread(&score, 1, sizeof score, f);
		if (got == 0 && feof(f))
			break;
		if (got != sizeof score || fread(&len, sizeof len, 1, f) != 1)
			st = lms_fail(LMS_EFORMAT, "%s: ends inside the record of piece %d", path, s->v.n);
		else if (len < 0 || len > max_len)
			st = lms_fail(LMS_EFORMAT, "%s: piece %d has length %d (maximum %d)", path, s->v.n, len,
			              max_len);
		else if (fread(buf, 1, (size_t)len, f) != (size_t)len)
			st = lms_fail(LMS_EFORMAT, "%s: ends inside the bytes of piece %d", path, s->v.n);
		else if (!(score - score == 0.0f))
			st = lms_fail(LMS_EFORMAT, "%s: piece %d has a score that is not finite", path, s->v.n);
		else if (s->v.n >= 4 * (1 << 20))
			st = lms_fail(LMS_EFORMAT, "%s: more pieces than lmscope supports", path);
		if (st)
			break;
		if ((size_t)s->v.n == cap) {
			cap = cap ? 2 * cap : 1024;
			float *ns = realloc(s->score, cap * sizeof *ns);
			if (!ns) {
				st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
				break;
			}
			s->score = ns;
		}
		s->score[s->v.n] = score;
		if (tok_vocab_add(&s->v, buf, (size_t)len) < 0)
			st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	}
	if (!st && ferror(f))
		st = lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
	if (!st && s->v.n < SPM_BYTE0)
		st = lms_fail(LMS_EFORMAT, "%s: %d pieces (need at least <unk>, <s>, </s>)", path,
		              s ? s->v.n : 0);
	if (!st)
		st = tok_vocab_index(&s->v, path);
	fclose(f);
	free(buf);
	if (st) {
		spm_free(s);
		return st;
	}
	s->max_len = max_len;
	tok->impl = s;
	tok->vocab_size = s->v.n;
	tok->unk = 0;
	tok->bos = SPM_BOS;
	tok->eos = SPM_EOS;
	tok->adds_bos = 1; /* llama2.c's encode(..., bos = 1, ...) for every prompt */
	return LMS_OK;
}

static int spm_detect(const char *dir, const struct tok_config *config)
{
	(void)config;
	return tok_file_exists(dir, SPM_FILE);
}

static enum lms_status spm_load(const char *dir, struct lms_tokenizer *tok)
{
	char *path = tok_path(dir, SPM_FILE);
	if (!path)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	enum lms_status st = spm_read(path, tok);
	free(path);
	return st;
}

static enum lms_status spm_save(const struct lms_tokenizer *tok, const char *dir)
{
	const struct spm *s = tok->impl;
	struct tok_buf b = {0};
	int32_t max_len = s->max_len;
	int bad = tok_buf_add(&b, &max_len, sizeof max_len);
	for (int i = 0; i < s->v.n && !bad; i++) {
		int32_t len = (int32_t)s->v.len[i];
		bad = tok_buf_add(&b, &s->score[i], sizeof(float)) || tok_buf_add(&b, &len, sizeof len) ||
		      tok_buf_add(&b, tok_vocab_str(&s->v, i), (size_t)len);
	}
	enum lms_status st = bad ? lms_fail(LMS_ENOMEM, "%s: out of memory", dir)
	                         : tok_write_file(dir, SPM_FILE, b.p, b.n);
	free(b.p);
	return st;
}

/* ---- encoding --------------------------------------------------------------- */

struct sym {
	int id;
	int prev, next; /* neighbours in the live list, -1 at the ends */
	size_t off;     /* first byte in the text */
};

/* A candidate merge of the live pair (left, its next). */
struct cand {
	float score;
	int left, right; /* symbol indices */
	int id;          /* the merged piece */
};

struct heap {
	struct cand *c;
	size_t n, cap;
};

/* a goes before b: higher score, then further left (lower index: the
 * symbols keep their text order through every merge). */
static int before(const struct cand *a, const struct cand *b)
{
	return a->score > b->score || (a->score == b->score && a->left < b->left);
}

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
	while (i > 0 && before(&c, &h->c[(i - 1) / 2])) {
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
		if (k + 1 < h->n && before(&h->c[k + 1], &h->c[k]))
			k++;
		if (!before(&h->c[k], &last))
			break;
		h->c[i] = h->c[k];
		i = k;
	}
	if (h->n)
		h->c[i] = last;
	return top;
}

/* Queues the pair (left, left's next) when it concatenates to a piece. */
static int consider(const struct spm *s, struct sym *sy, int left, char *buf, struct heap *h)
{
	int right = sy[left].next;
	if (right < 0)
		return 0;
	size_t la = s->v.len[sy[left].id], lb = s->v.len[sy[right].id];
	memcpy(buf, tok_vocab_str(&s->v, sy[left].id), la);
	memcpy(buf + la, tok_vocab_str(&s->v, sy[right].id), lb);
	int id = tok_vocab_id(&s->v, buf, la + lb);
	/* llama2.c's search starts from a best score of -1e10 */
	if (id < 0 || !(s->score[id] > -1e10f))
		return 0;
	struct cand c = {s->score[id], left, right, id};
	return heap_push(h, c);
}

/* Appends a symbol for one byte that has no character piece. */
static void byte_sym(const struct lms_tokenizer *tok, struct sym *sy, int *n, unsigned char byte,
                     size_t off, struct lms_tok_stats *stats)
{
	int id = SPM_BYTE0 + byte;
	if (id >= tok->vocab_size) {
		id = tok->unk;
		stats->unk++;
	}
	sy[*n] = (struct sym){id, *n - 1, -1, off};
	(*n)++;
}

static enum lms_status spm_encode(const struct lms_tokenizer *tok, const char *text, size_t len,
                                  struct tok_out *out, struct lms_tok_stats *stats)
{
	const struct spm *s = tok->impl;
	/* at most one symbol per byte, plus the dummy prefix */
	struct sym *sy = malloc((len + 1) * sizeof *sy);
	char *buf = malloc(2 * (size_t)s->max_len + 8);
	struct heap h = {0};
	enum lms_status st = LMS_OK;
	if (!sy || !buf) {
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
		goto done;
	}
	int n = 0;
	int space = tok_vocab_id(&s->v, " ", 1);
	if (space >= 0)
		sy[n++] = (struct sym){space, -1, -1, 0};
	else
		byte_sym(tok, sy, &n, ' ', 0, stats);
	const unsigned char *u = (const unsigned char *)text;
	for (size_t i = 0; i < len;) {
		size_t j = i + 1;
		while (j < len && (u[j] & 0xC0) == 0x80 && j - i < 4)
			j++;
		int id = tok_vocab_id(&s->v, text + i, j - i);
		if (id >= 0 && u[i] != 0) {
			sy[n] = (struct sym){id, n - 1, -1, i};
			n++;
		} else {
			for (size_t k = i; k < j; k++)
				byte_sym(tok, sy, &n, u[k], k, stats);
		}
		i = j;
	}
	for (int i = 0; i < n; i++)
		sy[i].next = i + 1 < n ? i + 1 : -1;
	for (int i = 0; i + 1 < n; i++)
		if (consider(s, sy, i, buf, &h)) {
			st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
			goto done;
		}
	while (h.n) {
		struct cand c = heap_pop(&h);
		/* stale: a side was merged away or changed since it was queued */
		if (sy[c.left].id < 0 || sy[c.right].id < 0 || sy[c.left].next != c.right)
			continue;
		size_t la = s->v.len[sy[c.left].id], lb = s->v.len[sy[c.right].id];
		if (la + lb != s->v.len[c.id])
			continue;
		sy[c.left].id = c.id;
		sy[c.right].id = -1;
		sy[c.left].next = sy[c.right].next;
		if (sy[c.right].next >= 0)
			sy[sy[c.right].next].prev = c.left;
		int bad = consider(s, sy, c.left, buf, &h);
		if (sy[c.left].prev >= 0)
			bad |= consider(s, sy, sy[c.left].prev, buf, &h);
		if (bad) {
			st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
			goto done;
		}
	}
	for (int i = 0; i >= 0 && n; i = sy[i].next)
		if (tok_out_push(out, sy[i].id, sy[i].off)) {
			st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
			goto done;
		}
done:
	free(sy);
	free(buf);
	free(h.c);
	return st;
}

/* ---- pieces and decoding ------------------------------------------------------ */

/* Pieces as stored, except that llama2.c's tokenizer.bin spells BOS and
 * EOS "\n<s>\n" and "\n</s>\n", shown here without the newlines. */
static const char *spm_piece(const struct lms_tokenizer *tok, int id, size_t *len)
{
	const struct spm *s = tok->impl;
	const char *p = tok_vocab_str(&s->v, id);
	*len = s->v.len[id];
	if (id == SPM_BOS && !strcmp(p, "\n<s>\n"))
		return *len = 3, "<s>";
	if (id == SPM_EOS && !strcmp(p, "\n</s>\n"))
		return *len = 4, "</s>";
	return p;
}

static enum lms_status spm_decode(const struct lms_tokenizer *tok, const int *ids, size_t n,
                                  struct tok_buf *out)
{
	const struct spm *s = tok->impl;
	int prev = SPM_BOS;
	for (size_t i = 0; i < n; i++) {
		int id = ids[i];
		if (id == SPM_BOS || id == SPM_EOS) {
			prev = id;
			continue;
		}
		const char *p = tok_vocab_str(&s->v, id);
		size_t len = s->v.len[id];
		int byte = tok_byte_piece(p, len);
		char ch;
		if (byte >= 0) {
			ch = (char)byte;
			p = &ch;
			len = 1;
		}
		if (prev == SPM_BOS && len && p[0] == ' ') {
			p++;
			len--;
		}
		if (tok_buf_add(out, p, len))
			return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
		prev = id;
	}
	return LMS_OK;
}

const struct tok_ops tok_spm_ops = {
	.kind = LMS_TOK_SPM,
	.name = "llama2.c",
	.detect = spm_detect,
	.load = spm_load,
	.train = NULL,
	.save = spm_save,
	.free = spm_free,
	.encode = spm_encode,
	.piece = spm_piece,
	.decode = spm_decode,
};

enum lms_status lms_llama2c_tokenizer_load(const char *path, struct lms_tokenizer **out)
{
	*out = NULL;
	struct lms_tokenizer *tok = calloc(1, sizeof *tok);
	if (!tok)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	tok->ops = &tok_spm_ops;
	enum lms_status st = spm_read(path, tok);
	if (st) {
		free(tok);
		return st;
	}
	*out = tok;
	return LMS_OK;
}
