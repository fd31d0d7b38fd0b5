/* Writing an asciinema v2 file (see cast.h): events formatted into one
 * buffer and written as whole lines, the text JSON-escaped and cut only
 * between UTF-8 characters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <utf8proc.h>

#include "front/i18n.h"
#include "cast.h"
#include "lmscope/status.h"

/* Appends n bytes to the event being formatted. */
static int put(struct tui_cast *c, const void *s, size_t n)
{
	if (c->len + n > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		while (cap < c->len + n)
			cap *= 2;
		char *b = realloc(c->buf, cap);
		if (!b) {
			c->failed = 1;
			snprintf(c->err, sizeof c->err, "%s", _("out of memory"));
			return 0;
		}
		c->buf = b;
		c->cap = cap;
	}
	memcpy(c->buf + c->len, s, n);
	c->len += n;
	return 1;
}

static int puts_(struct tui_cast *c, const char *s)
{
	return put(c, s, strlen(s));
}

/* Bytes the UTF-8 sequence led by b takes (0: b cannot lead one). */
static int seq_len(unsigned char b)
{
	return b < 0x80                 ? 1
	       : b >= 0xc2 && b <= 0xdf ? 2
	       : b >= 0xe0 && b <= 0xef ? 3
	       : b >= 0xf0 && b <= 0xf4 ? 4
	                                : 0;
}

/* 1 when s[0..n) is the start of a sequence that more bytes may complete. */
static int cut_short(const unsigned char *s, size_t n)
{
	int want = seq_len(s[0]);
	if (want <= 1 || (size_t)want <= n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return 1;
}

/* Appends s[0..n) as JSON string content; invalid bytes become U+FFFD.
 * With keep, a character cut by the end is held in c->tail instead.
 * Returns 0 when out of memory. */
static int put_escaped(struct tui_cast *c, const unsigned char *s, size_t n, int keep)
{
	size_t i = 0;
	while (i < n) {
		/* strict: no overlong forms, no surrogates, nothing past U+10FFFF */
		utf8proc_int32_t cp;
		utf8proc_ssize_t r = utf8proc_iterate(s + i, (utf8proc_ssize_t)(n - i), &cp);
		int k = r > 0 ? (int)r : 0;
		if (k == 0 && keep && n - i < 4 && cut_short(s + i, n - i)) {
			memcpy(c->tail, s + i, n - i);
			c->ntail = (int)(n - i);
			return 1;
		}
		if (k == 0) {
			if (!puts_(c, "\xef\xbf\xbd")) /* U+FFFD */
				return 0;
			i++;
			continue;
		}
		char esc[8];
		const char *out = esc;
		size_t len = (size_t)k;
		if (cp == '"' || cp == '\\')
			snprintf(esc, sizeof esc, "\\%c", (char)cp);
		else if (cp == '\n')
			out = "\\n";
		else if (cp == '\r')
			out = "\\r";
		else if (cp == '\t')
			out = "\\t";
		else if (cp < 0x20 || cp == 0x7f)
			snprintf(esc, sizeof esc, "\\u%04x", (unsigned)cp);
		else
			out = (const char *)s + i;
		if (out != (const char *)s + i)
			len = strlen(out);
		if (!put(c, out, len))
			return 0;
		i += (size_t)k;
	}
	return 1;
}

/* Writes the formatted event and empties the buffer. */
static void flush(struct tui_cast *c)
{
	if (!c->failed && c->len && lms_atomic_put(&c->file, c->buf, c->len)) {
		c->failed = 1;
		snprintf(c->err, sizeof c->err, "%s", lms_errmsg());
	}
	c->len = 0;
}

/* Advances the cast's clock to now, shortening a long pause. */
static void tick(struct tui_cast *c, double now)
{
	double d = now - c->last;
	if (d < 0)
		d = 0;
	if (c->max_pause > 0 && d > c->max_pause)
		d = c->max_pause;
	c->t += d;
	c->last = now;
}

/* The event's start: `[t, "code", "`. */
static int begin_event(struct tui_cast *c, double now, const char *code)
{
	char head[64];
	tick(c, now);
	snprintf(head, sizeof head, "[%.6f, \"%s\", \"", c->t, code);
	return puts_(c, head);
}

int tui_cast_open(struct tui_cast *c, const char *path, double max_pause)
{
	memset(c, 0, sizeof *c);
	c->max_pause = max_pause;
	if (lms_atomic_open(&c->file, path)) {
		snprintf(c->err, sizeof c->err, "%s", lms_errmsg());
		return 0;
	}
	c->open = 1;
	return 1;
}

/* "NAME": "value" (or null when unset), JSON-escaped. */
static int put_field(struct tui_cast *c, const char *name, const char *value)
{
	if (!puts_(c, "\"") || !puts_(c, name) || !puts_(c, "\": "))
		return 0;
	if (!value)
		return puts_(c, "null");
	return puts_(c, "\"") && put_escaped(c, (const unsigned char *)value, strlen(value), 0) &&
	       puts_(c, "\"");
}

int tui_cast_start(struct tui_cast *c, int width, int height, const char *title, double now)
{
	char head[160];
	snprintf(head, sizeof head,
	         "{\"version\": 2, \"width\": %d, \"height\": %d, \"timestamp\": %lld, ", width, height,
	         (long long)time(NULL));
	c->last = now;
	c->t = 0.0;
	if (!puts_(c, head) || !puts_(c, "\"env\": {") || !put_field(c, "TERM", getenv("TERM")) ||
	    !puts_(c, ", ") || !put_field(c, "SHELL", getenv("SHELL")) || !puts_(c, "}, ") ||
	    !put_field(c, "title", title ? title : "lmscope") || !puts_(c, "}\n"))
		return 0;
	flush(c);
	return !c->failed;
}

void tui_cast_output(struct tui_cast *c, const void *data, size_t len, double now)
{
	if (c->failed || !c->open || !len)
		return;
	/* the character the last chunk cut, completed by this one's start */
	unsigned char joined[8];
	const unsigned char *s = data;
	size_t skip = 0;
	if (!begin_event(c, now, "o"))
		return;
	size_t head = c->len;
	if (c->ntail) {
		size_t k = (size_t)c->ntail;
		memcpy(joined, c->tail, k);
		while (k < sizeof joined && skip < len && skip < 3 && (s[skip] & 0xc0) == 0x80)
			joined[k++] = s[skip++];
		c->ntail = 0;
		if (!put_escaped(c, joined, k, skip == len))
			return;
	}
	if (!put_escaped(c, s + skip, len - skip, 1))
		return;
	if (c->len == head) {
		c->len = 0; /* nothing but a held character: it comes with the next chunk */
		return;
	}
	if (puts_(c, "\"]\n"))
		flush(c);
}

void tui_cast_resize(struct tui_cast *c, int width, int height, double now)
{
	char size[32];
	if (c->failed || !c->open)
		return;
	snprintf(size, sizeof size, "%dx%d", width, height);
	if (begin_event(c, now, "r") && puts_(c, size) && puts_(c, "\"]\n"))
		flush(c);
}

static void release(struct tui_cast *c)
{
	free(c->buf);
	c->buf = NULL;
	c->cap = c->len = 0;
	c->open = 0;
}

int tui_cast_finish(struct tui_cast *c)
{
	if (!c->open)
		return 0;
	if (c->ntail && !c->failed) {
		/* a character never completed */
		if (begin_event(c, c->last, "o") && puts_(c, "\xef\xbf\xbd\"]\n"))
			flush(c);
		c->ntail = 0;
	}
	if (c->failed) {
		lms_atomic_abort(&c->file);
		release(c);
		return 0;
	}
	if (lms_atomic_commit(&c->file)) {
		snprintf(c->err, sizeof c->err, "%s", lms_errmsg());
		c->failed = 1;
		release(c);
		return 0;
	}
	release(c);
	return 1;
}

void tui_cast_abort(struct tui_cast *c)
{
	if (c->open)
		lms_atomic_abort(&c->file);
	release(c);
}

const char *tui_cast_temp(const struct tui_cast *c)
{
	return c->open ? c->file.tmp : NULL;
}
