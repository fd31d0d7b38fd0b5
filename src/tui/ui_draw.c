/* Drawing helpers shared by the panes: clipped UTF-8 text with visible
 * control characters, eighth-block bars, pane titles. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "ui.h"

int ui_utf8;

/* What a character looks like on screen: control characters and (in
 * tokens) spaces get visible stand-ins so token boundaries can be seen. */
static wchar_t visible(wchar_t c, int token)
{
	if (c == L'\n')
		return ui_utf8 ? 0x21b5 : L'$';
	if (c == L'\t')
		return ui_utf8 ? 0x2192 : L'>';
	if (c < 32 || c == 127 || (c >= 0x80 && c < 0xa0))
		return ui_utf8 ? 0xfffd : L'?';
	if (token && c == L' ')
		return ui_utf8 ? 0x00b7 : L'_';
	return c;
}

/* Decodes the next character of s (len bytes left); returns bytes used. */
static size_t next_char(const char *s, size_t len, wchar_t *c, mbstate_t *st)
{
	size_t k = mbrtowc(c, s, len, st);
	if (k == (size_t)-1 || k == (size_t)-2) {
		memset(st, 0, sizeof *st);
		*c = ui_utf8 ? 0xfffd : L'?';
		return 1;
	}
	if (k == 0) {
		*c = L'?';
		return 1;
	}
	return k;
}

static int char_width(wchar_t *c)
{
	int cw = wcwidth(*c);
	if (cw < 0) {
		*c = L'?';
		cw = 1;
	}
	return cw;
}

int ui_text(WINDOW *w, int y, int x, const char *s, size_t len, int maxw, int token)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	int used = 0;
	if (maxw <= 0)
		return 0;
	wmove(w, y, x);
	for (size_t i = 0; i < len;) {
		wchar_t c;
		i += next_char(s + i, len - i, &c, &st);
		c = visible(c, token);
		int cw = char_width(&c);
		if (used + cw > maxw)
			break;
		if (cw == 0 && used == 0)
			continue; /* a combining mark with nothing to combine with */
		waddnwstr(w, &c, 1);
		used += cw;
	}
	return used;
}

int ui_text_width(const char *s, size_t len, int token)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	int used = 0;
	for (size_t i = 0; i < len;) {
		wchar_t c;
		i += next_char(s + i, len - i, &c, &st);
		c = visible(c, token);
		used += char_width(&c);
	}
	return used;
}

/* Whether a line may break before the character at s (n bytes): before a
 * wide (CJK) character, as Chinese text breaks between any two characters,
 * unless it is punctuation that must not start a line. */
static int break_before(const char *s, size_t n)
{
	static const wchar_t no_start[] =
		L"\uff0c\u3002\u3001\uff1b\uff1a\uff1f\uff01\uff09\u300d\u300f"
		L"\u201d\u2019\u2026\u300b";
	wchar_t c;
	mbstate_t st;
	memset(&st, 0, sizeof st);
	size_t k = mbrtowc(&c, s, n, &st);
	if (k == (size_t)-1 || k == (size_t)-2 || k == 0)
		return 0;
	return wcwidth(c) == 2 && !wcschr(no_start, c);
}

size_t ui_wrap_at(const char *s, size_t len, int maxw)
{
	size_t fit = 0, brk = 0;
	while (fit < len) {
		size_t next = fit + 1;
		while (next < len && ((unsigned char)s[next] & 0xc0) == 0x80)
			next++;
		if (ui_text_width(s, next, 0) > maxw)
			break;
		if (fit > 0 && break_before(s + fit, next - fit))
			brk = fit;
		fit = next;
		if (s[fit - 1] == ' ')
			brk = fit;
	}
	if (fit == len || (fit > 0 && s[fit] == ' '))
		return fit; /* all of it, or words up to a space */
	return brk ? brk : fit ? fit : 1;
}

void ui_bar(WINDOW *w, int y, int x, double frac, int width, enum ui_role role)
{
	static const wchar_t part[8] = {0, 0x258f, 0x258e, 0x258d, 0x258c, 0x258b, 0x258a, 0x2589};
	if (!(frac > 0.0) || width <= 0)
		return;
	if (frac > 1.0)
		frac = 1.0;
	ui_set(w, role);
	wmove(w, y, x);
	if (!ui_utf8) {
		int k = (int)(frac * width + 0.5);
		if (k < 1)
			k = 1;
		for (int i = 0; i < k; i++)
			waddch(w, role == UI_SAL_NEG ? '-' : '#');
	} else {
		int eighths = (int)(frac * width * 8 + 0.5);
		if (eighths < 1)
			eighths = 1;
		wchar_t full = 0x2588;
		for (int i = 0; i < eighths / 8; i++)
			waddnwstr(w, &full, 1);
		if (eighths % 8)
			waddnwstr(w, &part[eighths % 8], 1);
	}
	ui_set(w, UI_NORMAL);
}

void ui_title(WINDOW *w, const char *title, int focused)
{
	int cols = getmaxx(w);
	ui_set(w, focused ? UI_TITLE_FOCUS : UI_TITLE);
	wmove(w, 0, 0);
	for (int i = 0; i < cols; i++)
		waddch(w, ' ');
	ui_text(w, 0, 1, title, strlen(title), cols - 2, 0);
	ui_set(w, UI_NORMAL);
}

void ui_printf(WINDOW *w, int y, int x, int maxw, const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	ui_text(w, y, x, buf, strlen(buf), maxw, 0);
}

int tui_matrix_scroll(struct tui_state *s, int key, int row0, int col0, int nr, int nc)
{
	switch (key) {
	case KEY_UP: row0--; break;
	case KEY_DOWN: row0++; break;
	case KEY_LEFT: col0--; break;
	case KEY_RIGHT: col0++; break;
	case KEY_PPAGE: row0 -= nr; break;
	case KEY_NPAGE: row0 += nr; break;
	case KEY_SLEFT: col0 -= nc; break;
	case KEY_SRIGHT: col0 += nc; break;
	case KEY_HOME: row0 = col0 = 0; break;
	case KEY_END: s->att_follow = 1; return TUI_REDRAW;
	default: return TUI_NONE;
	}
	s->att_row0 = row0 < 0 ? 0 : row0;
	s->att_col0 = col0 < 0 ? 0 : col0;
	s->att_follow = 0;
	return TUI_REDRAW;
}
