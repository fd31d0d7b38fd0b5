/* Pinned results: a key keeps a copy of the current view; while the
 * context is edited, the candidates pane shows each candidate's change of
 * probability against the pin and the saliency pane each position's change
 * of saliency, so "what if this word were different" is one keystroke. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "front/i18n.h"
#include "teach.h"
#include "ui.h"

int tui_pin_toggle(struct tui_state *s, int on)
{
	if (!on) {
		if (!s->pinned)
			return TUI_NONE;
		s->pinned = 0;
		snprintf(s->msg, sizeof s->msg, "%s", _("unpinned"));
		return TUI_REDRAW;
	}
	if (!tui_view_n(s) || s->v->seq != s->rq.seq || !s->v->complete) {
		/* the pin is of the context as typed, not of an older one */
		snprintf(s->msg, sizeof s->msg, "%s", _("still computing the typed context; pin again"));
		return TUI_REDRAW;
	}
	if (!tui_view_copy(&s->pin, s->v)) {
		snprintf(s->msg, sizeof s->msg, "%s", _("out of memory: not pinned"));
		return TUI_REDRAW;
	}
	s->pinned = 1;
	snprintf(s->msg, sizeof s->msg, "%s", _("pinned: panes show the change against this context"));
	return TUI_REDRAW;
}

int tui_pin_dprob(const struct tui_state *s, int id, double *d)
{
	if (!s->pinned || !tui_view_n(s) || s->pin.V != s->v->V || id < 0 || id >= s->v->V)
		return 0;
	*d = exp(s->v->logprob[id]) - exp(s->pin.logprob[id]);
	return 1;
}

int tui_pin_dsal(const struct tui_state *s, int j, double *d)
{
	const struct tui_view *v = s->v;
	if (!s->pinned || !tui_view_n(s) || !v->have_saliency || !s->pin.have_saliency)
		return 0;
	/* positions are compared from the start of the context: a word
	 * replaced keeps the positions of the others */
	int pj = j < v->kept ? j : j + v->cut - s->pin.cut; /* a kept BOS stays at 0 */
	if (pj < 0 || pj >= s->pin.n || v->method != s->pin.method)
		return 0;
	*d = v->saliency[j] - s->pin.saliency[pj];
	return 1;
}

/* The pin's label in at most maxw columns into buf, or "". */
static const char *label(const struct tui_state *s, char *buf, size_t size, int maxw)
{
	if (!s->pinned)
		return "";
	/* the pinned context's last 16 bytes, from a character boundary; a
	 * character fewer at a time while the label is wider than maxw */
	size_t n = s->pin.len > 16 ? 16 : s->pin.len;
	for (;;) {
		const char *t = s->pin.text + s->pin.len - n;
		while (n && ((unsigned char)*t & 0xc0) == 0x80)
			t++, n--;
		snprintf(buf, size, _("  \u0394 vs '%s%.*s'"), n < s->pin.len ? "\u2026" : "", (int)n, t);
		if (ui_text_width(buf, strlen(buf), 0) <= maxw)
			return buf;
		if (!n)
			break;
		n--;
	}
	snprintf(buf, size, "  \u0394");
	return ui_text_width(buf, strlen(buf), 0) <= maxw ? buf : "";
}

char *tui_pin_append(const struct tui_state *s, char *title, size_t size, int width)
{
	char buf[96];
	size_t n = strlen(title);
	snprintf(title + n, size - n, "%s",
	         label(s, buf, sizeof buf, width - ui_text_width(title, n, 0)));
	return title;
}

void tui_pin_free(struct tui_state *s)
{
	tui_view_free(&s->pin);
	s->pinned = 0;
}
