/* Vocabularies and their vocab.json file (Hugging Face's layout: one JSON
 * object mapping each token string to its id, ids dense from 0).
 *
 * vocab.json is read by a small parser of its own rather than a general JSON
 * library so that every error can name its line, and because GPT-2's 50257
 * entries load in a few milliseconds this way. */
#include <stdio.h>

#include "tok/tok_impl.h"
#include "base/tr.h"
#include "base/utf8.h"

void tok_vocab_free(struct tok_vocab *v)
{
	free(v->arena);
	free(v->off);
	free(v->len);
	tok_strmap_free(&v->map);
	memset(v, 0, sizeof *v);
}

int tok_vocab_add(struct tok_vocab *v, const char *s, size_t len)
{
	if (v->n == v->cap) {
		int cap = v->cap ? v->cap * 2 : 256;
		size_t *off = realloc(v->off, (size_t)cap * sizeof *off);
		if (!off)
			return -1;
		v->off = off;
		uint32_t *l = realloc(v->len, (size_t)cap * sizeof *l);
		if (!l)
			return -1;
		v->len = l;
		v->cap = cap;
	}
	if (v->arena_n + len + 1 > v->arena_cap) {
		size_t cap = v->arena_cap ? v->arena_cap : 4096;
		while (cap < v->arena_n + len + 1)
			cap *= 2;
		char *a = realloc(v->arena, cap);
		if (!a)
			return -1;
		v->arena = a;
		v->arena_cap = cap;
	}
	memcpy(v->arena + v->arena_n, s, len);
	v->arena[v->arena_n + len] = 0;
	v->off[v->n] = v->arena_n;
	v->len[v->n] = (uint32_t)len;
	v->arena_n += len + 1;
	return v->n++;
}

enum lms_status tok_vocab_index(struct tok_vocab *v, const char *path)
{
	tok_strmap_free(&v->map);
	if (tok_strmap_init(&v->map, (size_t)v->n))
		return lms_fail(LMS_ENOMEM, "%s: out of memory", path ? path : lms_tr(N_("vocabulary")));
	for (int id = 0; id < v->n; id++) {
		int old;
		int r = tok_strmap_put(&v->map, tok_vocab_str(v, id), v->len[id], id, &old);
		if (r < 0)
			return lms_fail(LMS_ENOMEM, "%s: out of memory",
			                path ? path : lms_tr(N_("vocabulary")));
		if (r == 0)
			return lms_fail(LMS_EFORMAT, "%s: ids %d and %d have the same token",
			                path ? path : lms_tr(N_("vocabulary")), old, id);
	}
	return LMS_OK;
}

/* The flat-object parser. */

struct parser {
	const char *path;
	const char *s, *end;
	int line;
	struct tok_buf str; /* the last string read, unescaped */
};

static enum lms_status perr(struct parser *p, const char *what)
{
	return lms_fail(LMS_EFORMAT, "%s: line %d: %s", p->path, p->line, lms_tr(what));
}

static void skip_space(struct parser *p)
{
	while (p->s < p->end && (*p->s == ' ' || *p->s == '\t' || *p->s == '\n' || *p->s == '\r')) {
		if (*p->s == '\n')
			p->line++;
		p->s++;
	}
}

static int hex4(const char *s, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		char c = s[i];
		int d = c >= '0' && c <= '9'   ? c - '0'
		        : c >= 'a' && c <= 'f' ? c - 'a' + 10
		        : c >= 'A' && c <= 'F' ? c - 'A' + 10
		                               : -1;
		if (d < 0)
			return -1;
		*v = *v << 4 | (uint32_t)d;
	}
	return 0;
}

static enum lms_status parse_string(struct parser *p)
{
	p->str.n = 0;
	if (p->s >= p->end || *p->s != '"')
		return perr(p, "expected a string");
	p->s++;
	for (;;) {
		const char *run = p->s;
		while (p->s < p->end && *p->s != '"' && *p->s != '\\' && (unsigned char)*p->s >= 0x20)
			p->s++;
		if (tok_buf_add(&p->str, run, (size_t)(p->s - run)))
			return lms_fail(LMS_ENOMEM, "%s: out of memory", p->path);
		if (p->s >= p->end)
			return perr(p, "unterminated string");
		char c = *p->s++;
		if (c == '"')
			break;
		if (c != '\\')
			return perr(p, "control character in a string");
		if (p->s >= p->end)
			return perr(p, "unterminated string");
		char e = *p->s++;
		char out[4];
		int k = 1;
		switch (e) {
		case '"':
		case '\\':
		case '/': out[0] = e; break;
		case 'b': out[0] = '\b'; break;
		case 'f': out[0] = '\f'; break;
		case 'n': out[0] = '\n'; break;
		case 'r': out[0] = '\r'; break;
		case 't': out[0] = '\t'; break;
		case 'u': {
			uint32_t cp, lo;
			if (p->end - p->s < 4 || hex4(p->s, &cp))
				return perr(p, "bad \\u escape");
			p->s += 4;
			if (cp >= 0xD800 && cp <= 0xDBFF) {
				if (p->end - p->s < 6 || p->s[0] != '\\' || p->s[1] != 'u' || hex4(p->s + 2, &lo) ||
				    lo < 0xDC00 || lo > 0xDFFF)
					return perr(p, "unpaired surrogate in a \\u escape");
				p->s += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
				return perr(p, "unpaired surrogate in a \\u escape");
			}
			k = lms_utf8_encode(cp, out);
			break;
		}
		default: return perr(p, "bad escape in a string");
		}
		if (tok_buf_add(&p->str, out, (size_t)k))
			return lms_fail(LMS_ENOMEM, "%s: out of memory", p->path);
	}
	if (lms_utf8_valid_prefix((const unsigned char *)p->str.p, p->str.n) != p->str.n)
		return perr(p, "invalid UTF-8 in a string");
	return LMS_OK;
}

enum lms_status tok_vocab_read(const char *path, struct tok_vocab *v)
{
	memset(v, 0, sizeof *v);
	char *data;
	size_t len;
	enum lms_status st = tok_read_file(path, &data, &len);
	if (st)
		return st;
	struct parser p = {path, data, data + len, 1, {0}};
	/* Entries in file order, placed by id once all are read. */
	struct tok_vocab raw = {0};
	int *ids = NULL, *lines = NULL;
	size_t cap = 0;
	int max_id = -1;
	skip_space(&p);
	if (p.s >= p.end || *p.s != '{') {
		st = perr(&p, "expected a JSON object");
		goto done;
	}
	p.s++;
	skip_space(&p);
	if (p.s < p.end && *p.s == '}') {
		p.s++;
	} else {
		for (;;) {
			skip_space(&p);
			if ((st = parse_string(&p)))
				goto done;
			skip_space(&p);
			if (p.s >= p.end || *p.s != ':') {
				st = perr(&p, "expected ':'");
				goto done;
			}
			p.s++;
			skip_space(&p);
			long id = 0;
			const char *digits = p.s;
			while (p.s < p.end && *p.s >= '0' && *p.s <= '9' && id <= 100000000)
				id = id * 10 + (*p.s++ - '0');
			if (p.s == digits || (p.s < p.end && (*p.s == '.' || *p.s == 'e' || *p.s == 'E'))) {
				st = perr(&p, "expected a non-negative integer id");
				goto done;
			}
			if (id > 100000000) {
				st = perr(&p, "id too large");
				goto done;
			}
			if ((size_t)raw.n == cap) {
				cap = cap ? cap * 2 : 1024;
				int *ni = realloc(ids, cap * sizeof *ni);
				if (ni)
					ids = ni;
				int *nl = ni ? realloc(lines, cap * sizeof *nl) : NULL;
				if (nl)
					lines = nl;
				if (!ni || !nl) {
					st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
					goto done;
				}
			}
			ids[raw.n] = (int)id;
			lines[raw.n] = p.line;
			if (tok_vocab_add(&raw, p.str.n ? p.str.p : "", p.str.n) < 0) {
				st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
				goto done;
			}
			if (id > max_id)
				max_id = (int)id;
			skip_space(&p);
			if (p.s < p.end && *p.s == ',') {
				p.s++;
				continue;
			}
			if (p.s < p.end && *p.s == '}') {
				p.s++;
				break;
			}
			st = perr(&p, "expected ',' or '}'");
			goto done;
		}
	}
	skip_space(&p);
	if (p.s != p.end) {
		st = perr(&p, "text after the JSON object");
		goto done;
	}
	/* Place strings by id: every id once, and ids dense from 0 (an id past
	 * the count is refused before anything is allocated for it). */
	if (max_id >= raw.n) {
		st =
			lms_fail(LMS_EFORMAT, "%s: ids are not 0..%d (largest is %d)", path, raw.n - 1, max_id);
		goto done;
	}
	int *where = malloc((size_t)(raw.n ? raw.n : 1) * sizeof *where);
	if (!where) {
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
		goto done;
	}
	for (int i = 0; i < raw.n; i++)
		where[i] = -1;
	for (int i = 0; i < raw.n; i++) {
		if (where[ids[i]] >= 0) {
			st = lms_fail(LMS_EFORMAT, "%s: line %d: id %d already given on line %d", path,
			              lines[i], ids[i], lines[where[ids[i]]]);
			free(where);
			goto done;
		}
		where[ids[i]] = i;
	}
	for (int id = 0; id < raw.n && !st; id++)
		if (tok_vocab_add(v, tok_vocab_str(&raw, where[id]), raw.len[where[id]]) < 0)
			st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	if (!st && (st = tok_vocab_index(v, path)) == LMS_EFORMAT) {
		/* Name the line of the second occurrence. */
		struct tok_strmap seen;
		if (!tok_strmap_init(&seen, (size_t)raw.n)) {
			for (int i = 0; i < raw.n; i++) {
				int old;
				if (tok_strmap_put(&seen, tok_vocab_str(&raw, i), raw.len[i], i, &old) == 0) {
					st = lms_fail(LMS_EFORMAT, "%s: line %d: token already given on line %d", path,
					              lines[i], lines[old]);
					break;
				}
			}
			tok_strmap_free(&seen);
		}
	}
	free(where);
done:
	if (st)
		tok_vocab_free(v);
	tok_vocab_free(&raw);
	free(ids);
	free(lines);
	free(p.str.p);
	free(data);
	return st;
}

enum lms_status tok_vocab_write(const struct tok_vocab *v, const char *dir, const char *name)
{
	struct tok_buf b = {0};
	int bad = tok_buf_str(&b, "{");
	for (int id = 0; id < v->n && !bad; id++) {
		char num[32];
		snprintf(num, sizeof num, ": %d", id);
		bad = tok_buf_str(&b, id ? ",\n  " : "\n  ") ||
		      tok_buf_json_string(&b, tok_vocab_str(v, id), v->len[id]) || tok_buf_str(&b, num);
	}
	bad = bad || tok_buf_str(&b, "\n}\n");
	if (bad) {
		free(b.p);
		return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	}
	enum lms_status st = tok_write_file(dir, name, b.p, b.n);
	free(b.p);
	return st;
}

/* Vocabularies from counts. */

struct ranked {
	const char *s;
	uint32_t len;
	int count;
};

static int by_count(const void *pa, const void *pb)
{
	const struct ranked *a = pa, *b = pb;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->s, b->s, n);
	if (c)
		return c;
	return (a->len > b->len) - (a->len < b->len);
}

enum lms_status tok_vocab_from_counts(struct tok_vocab *v, const struct tok_config *c,
                                      const struct tok_strmap *counts, const int *count,
                                      int vocab_size, int min_count)
{
	const char *special[3] = {c->unk, c->bos, c->eos};
	for (int i = 0; i < 3; i++)
		if (special[i] && tok_vocab_add(v, special[i], strlen(special[i])) < 0)
			return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	struct ranked *r = malloc((counts->n ? counts->n : 1) * sizeof *r);
	if (!r)
		return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	size_t n = 0;
	for (size_t i = 0; i < counts->cap; i++) {
		const struct tok_strmap_slot *s = &counts->slots[i];
		if (s->key && count[s->val] >= min_count)
			r[n++] = (struct ranked){s->key, s->len, count[s->val]};
	}
	qsort(r, n, sizeof *r, by_count);
	enum lms_status st = LMS_OK;
	for (size_t i = 0; i < n && v->n < vocab_size && !st; i++) {
		int is_special = 0;
		for (int k = 0; k < 3; k++)
			if (special[k] && strlen(special[k]) == r[i].len &&
			    !memcmp(special[k], r[i].s, r[i].len))
				is_special = 1;
		if (!is_special && tok_vocab_add(v, r[i].s, r[i].len) < 0)
			st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	}
	free(r);
	return st ? st : tok_vocab_index(v, NULL);
}
