/* The context input line: a buffer of wide characters with a cursor and a
 * history. Editing never touches the engine; the text is converted to
 * UTF-8 into the request, which is all the input thread does per key. */
#include <stdlib.h>
#include <string.h>

#include "ui.h"

int tui_line_init(struct tui_line *l)
{
	memset(l, 0, sizeof *l);
	l->cap = 256;
	l->buf = malloc((size_t)l->cap * sizeof *l->buf);
	return l->buf != NULL;
}

void tui_line_free(struct tui_line *l)
{
	free(l->buf);
	for (int i = 0; i < l->n_hist; i++)
		free(l->hist[i]);
	memset(l, 0, sizeof *l);
}

static int reserve(struct tui_line *l, int n)
{
	if (n <= l->cap)
		return 1;
	int cap = l->cap;
	while (cap < n)
		cap *= 2;
	wchar_t *nb = realloc(l->buf, (size_t)cap * sizeof *nb);
	if (!nb)
		return 0;
	l->buf = nb;
	l->cap = cap;
	return 1;
}

int tui_line_insert(struct tui_line *l, const wchar_t *s, int n)
{
	if (!reserve(l, l->len + n))
		return 0;
	memmove(l->buf + l->cur + n, l->buf + l->cur, (size_t)(l->len - l->cur) * sizeof *l->buf);
	memcpy(l->buf + l->cur, s, (size_t)n * sizeof *s);
	l->len += n;
	l->cur += n;
	return 1;
}

int tui_line_set_utf8(struct tui_line *l, const char *s, size_t len)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	l->len = l->cur = 0;
	for (size_t i = 0; i < len;) {
		wchar_t c;
		size_t k = mbrtowc(&c, s + i, len - i, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof st);
			c = 0xfffd;
			k = 1;
		}
		if (!tui_line_insert(l, &c, 1))
			return 0;
		i += k;
	}
	return 1;
}

/* UTF-8 bytes of one character (wcrtomb without locale surprises). */
static int utf8_encode(wchar_t c, char *out)
{
	unsigned u = (unsigned)c;
	if (u > 0x10ffff || (u >= 0xd800 && u < 0xe000))
		u = 0xfffd;
	if (u < 0x80) {
		out[0] = (char)u;
		return 1;
	}
	if (u < 0x800) {
		out[0] = (char)(0xc0 | u >> 6);
		out[1] = (char)(0x80 | (u & 0x3f));
		return 2;
	}
	if (u < 0x10000) {
		out[0] = (char)(0xe0 | u >> 12);
		out[1] = (char)(0x80 | ((u >> 6) & 0x3f));
		out[2] = (char)(0x80 | (u & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | u >> 18);
	out[1] = (char)(0x80 | ((u >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((u >> 6) & 0x3f));
	out[3] = (char)(0x80 | (u & 0x3f));
	return 4;
}

int tui_line_to_request(const struct tui_line *l, struct tui_request *rq)
{
	size_t need = (size_t)l->len * 4 + 1;
	if (need > rq->cap) {
		size_t cap = rq->cap ? rq->cap : 1024;
		while (cap < need)
			cap *= 2;
		char *nt = realloc(rq->text, cap);
		if (!nt)
			return 0;
		rq->text = nt;
		rq->cap = cap;
	}
	size_t k = 0;
	for (int i = 0; i < l->len; i++)
		k += (size_t)utf8_encode(l->buf[i], rq->text + k);
	rq->text[k] = '\0';
	rq->len = k;
	return 1;
}

size_t tui_line_byte_of(const struct tui_line *l, int i)
{
	char tmp[4];
	size_t k = 0;
	for (int j = 0; j < i && j < l->len; j++)
		k += (size_t)utf8_encode(l->buf[j], tmp);
	return k;
}

int tui_line_char_of_byte(const struct tui_line *l, size_t byte)
{
	char tmp[4];
	size_t k = 0;
	int j = 0;
	while (j < l->len && k < byte)
		k += (size_t)utf8_encode(l->buf[j++], tmp);
	return j;
}

static int same_as(const struct tui_line *l, const wchar_t *h);

void tui_line_commit(struct tui_line *l)
{
	if (!l->len)
		return;
	if (l->n_hist && same_as(l, l->hist[l->n_hist - 1])) {
		l->hist_pos = l->n_hist;
		return;
	}
	wchar_t *h = malloc(((size_t)l->len + 1) * sizeof *h);
	if (!h)
		return;
	wmemcpy(h, l->buf, (size_t)l->len);
	h[l->len] = 0;
	if (l->n_hist == TUI_HISTORY) {
		free(l->hist[0]);
		memmove(l->hist, l->hist + 1, (TUI_HISTORY - 1) * sizeof *l->hist);
		l->n_hist--;
	}
	l->hist[l->n_hist++] = h;
	l->hist_pos = l->n_hist;
}

static int same_as(const struct tui_line *l, const wchar_t *h)
{
	return wcslen(h) == (size_t)l->len && !wmemcmp(h, l->buf, (size_t)l->len);
}

static void load(struct tui_line *l, int p)
{
	l->hist_pos = p;
	l->len = l->cur = 0;
	if (p < l->n_hist)
		tui_line_insert(l, l->hist[p], (int)wcslen(l->hist[p]));
}

void tui_line_history(struct tui_line *l, int dir)
{
	if (dir < 0 && l->hist_pos >= l->n_hist) {
		/* leaving the line being typed: keep it as the newest entry */
		tui_line_commit(l);
		int p = l->n_hist - 1;
		if (p >= 0 && same_as(l, l->hist[p]))
			p--;
		if (p >= 0)
			load(l, p);
		return;
	}
	int p = l->hist_pos + dir;
	if (p >= 0 && p <= l->n_hist)
		load(l, p);
}
