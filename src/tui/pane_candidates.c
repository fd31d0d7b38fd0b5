/* The next-token pane: the top candidates after the context with bars,
 * probabilities, log-probs and ranks. The selected candidate is the
 * saliency target; another can be marked as the contrast (why the target
 * rather than it); a candidate can be appended to the context. */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "front/i18n.h"
#include "teach.h"
#include "ui.h"

static int rows_of(WINDOW *w)
{
	return getmaxy(w) - 1;
}

/* Index of id in the view's top list, or -1. */
static int top_index(const struct tui_view *v, int id)
{
	for (int i = 0; i < v->k; i++)
		if (v->top_id[i] == id)
			return i;
	return -1;
}

/* The log-normaliser of the view's distribution at the temperature, kept
 * while the view and the temperature stay (one pass over the vocabulary). */
static double temp_lse(struct tui_state *s)
{
	const struct tui_view *v = s->v;
	if (s->temp_v != v || s->temp_seq != v->seq || s->temp_T != s->temperature) {
		double inv = 1.0 / s->temperature, mx = v->top_lp[0] * inv, sum = 0.0;
		for (int i = 0; i < v->V; i++)
			sum += exp(v->logprob[i] * inv - mx);
		s->temp_lse = mx + log(sum);
		s->temp_v = v;
		s->temp_seq = v->seq;
		s->temp_T = s->temperature;
	}
	return s->temp_lse;
}

double tui_cand_prob(struct tui_state *s, int i)
{
	if (s->temperature == 1.0f)
		return exp(s->v->top_lp[i]);
	return exp(s->v->top_lp[i] / s->temperature - temp_lse(s));
}

double tui_cand_bar(struct tui_state *s, int i)
{
	double p = tui_cand_prob(s, i), top = tui_cand_prob(s, 0);
	return s->bars_relative ? (top > 0 ? p / top : 0.0) : p;
}

/* The short title with the first keep of its parts, most telling first:
 * a temperature other than 1 (the probabilities shown are at it), the
 * contrast (as its row's mark), relative bars. */
static void short_title(struct tui_state *s, char *title, size_t size, const char *contrast,
                        int keep)
{
	/* TRANSLATORS: between the parts of a title shortened for a narrow pane */
	const char *sep = _(", ");
	char items[96] = "";
	size_t k = 0;
	if (s->temperature != 1.0f && keep-- > 0)
		k += snprintf(items, sizeof items, "T=%.2f", s->temperature);
	if (contrast[0] && keep-- > 0 && k < sizeof items)
		k += snprintf(items + k, sizeof items - k, "%s%s%s", k ? sep : "", ui_utf8 ? "\u2717" : "x",
		              contrast);
	if (s->bars_relative && keep-- > 0 && k < sizeof items)
		snprintf(items + k, sizeof items - k, "%s%s", k ? sep : "", _("relative bars"));
	if (items[0])
		snprintf(title, size, _("Next token (%s)"), items);
	else
		snprintf(title, size, "%s", _("Next token"));
}

/* The title in width columns: in full when it fits; else the short one
 * with as many of its parts as leave room for the pin (at least its Δ),
 * whose label takes the columns left (pin.c). */
static const char *title_of(struct tui_state *s, char *title, size_t size, int width)
{
	const struct tui_view *v = s->v;
	char buf[32];
	const char *c = v->contrast >= 0 ? tui_token_str(s->tm, v->contrast, buf, sizeof buf) : "";
	snprintf(title, size, _("Next token  (T=%.2f%s%s%s)"), s->temperature,
	         s->bars_relative ? _(", bars relative to the top") : "",
	         v->contrast >= 0 ? _(", contrast ") : "", c);
	tui_pin_append(s, title, size, INT_MAX);
	if (ui_text_width(title, strlen(title), 0) <= width)
		return title;
	for (int keep = 3; keep >= 0; keep--) {
		short_title(s, title, size, c, keep);
		size_t n = strlen(title);
		tui_pin_append(s, title, size, width);
		if (ui_text_width(title, n, 0) <= width && (!s->pinned || strlen(title) > n))
			return title;
	}
	return title; /* too narrow for the shortest: cut where it ends */
}

static void draw(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	int focused = s->focus == P_CANDIDATES;
	int cols = getmaxx(w), rows = rows_of(w);
	char title[192], buf[32];
	werase(w);
	if (!tui_view_n(s) || !v->k) {
		ui_title(w, _("Next token"), focused);
		return;
	}
	if (tui_presenting(s)) {
		tui_present_candidates(s, w);
		return;
	}
	ui_title(w, title_of(s, title, sizeof title, cols - 2), focused);
	if (s->cand_sel < s->cand_top)
		s->cand_top = s->cand_sel;
	if (s->cand_sel >= s->cand_top + rows)
		s->cand_top = s->cand_sel - rows + 1;
	int tw = cols / 3 < 8 ? 8 : cols / 3 > 18 ? 18 : cols / 3;
	/* Δ probability against the unablated model, or else the pin */
	int dw = s->pinned || v->have_base ? 9 : 0;
	if (tw > cols - 19 - dw) /* a narrow pane: the token gives way to the numbers */
		tw = cols - 19 - dw > 3 ? cols - 19 - dw : 3;
	int bx = 4 + tw + 1, bw = cols - bx - 15 - dw;
	for (int r = 0; r < rows && s->cand_top + r < v->k; r++) {
		int i = s->cand_top + r, y = r + 1;
		int id = v->top_id[i];
		double p = tui_cand_prob(s, i);
		if (i == s->cand_sel) {
			ui_set(w, focused ? UI_SELECT : UI_TARGET);
			mvwhline(w, y, 0, ' ', cols);
		}
		ui_printf(w, y, 0, 4, "%3d", i + 1);
		const char *t = tui_token_str(s->tm, id, buf, sizeof buf);
		ui_text(w, y, 4, t, strlen(t), tw, 1);
		ui_set(w, UI_NORMAL);
		if (id == v->target)
			ui_set(w, UI_TARGET), mvwaddstr(w, y, 3, ui_utf8 ? "\u25b6" : ">");
		if (id == v->contrast)
			ui_set(w, UI_CONTRAST), mvwaddstr(w, y, 3, ui_utf8 ? "\u2717" : "x");
		ui_set(w, UI_NORMAL);
		if (bw > 0)
			ui_bar(w, y, bx, tui_cand_bar(s, i), bw, UI_PROB_BAR);
		ui_printf(w, y, cols - 14, 14, "%6.2f%% %6.2f", 100.0 * p, log(p));
		double d;
		if (v->have_base)
			d = p - exp(v->base_lp[i]);
		if (v->have_base || (dw && tui_pin_dprob(s, id, &d))) {
			ui_set(w, d < 0 ? UI_SAL_NEG : UI_SAL_POS);
			ui_printf(w, y, cols - 14 - dw, dw, "\u0394%+6.2f", 100.0 * d);
			ui_set(w, UI_NORMAL);
		}
	}
}

void pane_candidates_sync(struct tui_state *s)
{
	const struct tui_view *v = s->v;
	if (!tui_view_n(s))
		return;
	/* following the top candidate, the selection follows the view; after
	 * the user picked one it stays where the user put it */
	if (s->rq.target < 0) {
		int sel = top_index(v, v->target);
		s->cand_sel = sel > 0 ? sel : 0;
	}
	if (s->cand_sel >= v->k)
		s->cand_sel = v->k - 1;
	if (s->cand_sel < 0)
		s->cand_sel = 0;
}

static int click(struct tui_state *s, enum tui_win win, int y, int x)
{
	(void)win;
	(void)x;
	int i = s->cand_top + y - 1;
	if (y < 1 || !tui_view_n(s) || i >= s->v->k)
		return TUI_REDRAW;
	s->cand_sel = i;
	s->rq.target = s->v->top_id[i];
	return TUI_RECOMPUTE | TUI_REDRAW;
}

static int select_index(struct tui_state *s, int i)
{
	if (!tui_view_n(s))
		return TUI_NONE;
	if (i < 0)
		i = 0;
	if (i >= s->v->k)
		i = s->v->k - 1;
	s->cand_sel = i;
	s->rq.target = s->v->top_id[i];
	if (s->rq.contrast == s->rq.target)
		s->rq.contrast = -1;
	return TUI_RECOMPUTE | TUI_REDRAW;
}

static int k_move(struct tui_state *s, int key)
{
	int page = rows_of(s->lay.win[W_CAND]);
	int d = key == KEY_UP      ? -1
	        : key == KEY_DOWN  ? 1
	        : key == KEY_PPAGE ? -page
	        : key == KEY_NPAGE ? page
	                           : 0;
	if (key == KEY_HOME)
		return select_index(s, 0);
	if (key == KEY_END)
		return select_index(s, s->v ? s->v->k - 1 : 0);
	return select_index(s, s->cand_sel + d);
}

static int k_contrast(struct tui_state *s, int key)
{
	(void)key;
	if (!tui_view_n(s))
		return TUI_NONE;
	int id = s->v->top_id[s->cand_sel];
	if (s->rq.contrast == id || key == 'x') {
		s->rq.contrast = -1;
		return TUI_RECOMPUTE;
	}
	/* the contrast is the selected candidate; the target stays what it
	 * was, or becomes the best other candidate */
	const struct tui_view *v = s->v;
	int target = s->rq.target >= 0 ? s->rq.target : v->target;
	if (target == id)
		target = v->k > 1 && id == v->top_id[0] ? v->top_id[1] : v->top_id[0];
	s->rq.contrast = id;
	s->rq.target = target;
	return TUI_RECOMPUTE | TUI_REDRAW;
}

static int k_bars(struct tui_state *s, int key)
{
	(void)key;
	s->bars_relative = !s->bars_relative;
	snprintf(s->msg, sizeof s->msg, "%s",
	         s->bars_relative ? _("probability bars relative to the top candidate")
	                          /* xgettext:no-c-format */
	                          : _("probability bars on an absolute 0-100% scale"));
	return TUI_REDRAW;
}

static int k_append_sel(struct tui_state *s, int key)
{
	(void)key;
	if (!tui_view_n(s))
		return TUI_NONE;
	return tui_append_token(s, s->v->top_id[s->cand_sel]);
}

int tui_append_token(struct tui_state *s, int id)
{
	const struct tui_view *v = s->v;
	char buf[32];
	if (v->len != s->rq.len || memcmp(v->text, s->rq.text, v->len) != 0) {
		/* the candidates are those of an older text: typing is ahead */
		snprintf(s->msg, sizeof s->msg, "%s", _("still computing the typed context; press again"));
		return TUI_REDRAW;
	}
	s->line.cur = s->line.len;
	if (!s->tm->tok) {
		snprintf(buf, sizeof buf, "%s%d", s->line.len ? " " : "", id);
		tui_line_set_utf8(&s->line, v->text, v->len);
		wchar_t wb[32];
		int k = 0;
		for (const char *p = buf; *p; p++)
			wb[k++] = (wchar_t)*p;
		s->line.cur = s->line.len;
		tui_line_insert(&s->line, wb, k);
		return TUI_EDIT;
	}
	/* the text that the token adds after the last one: decode(last, id)
	 * minus decode(last), so word-level tokenizers get their spacing */
	char *with = NULL, *without = NULL;
	size_t lw = 0, lo = 0;
	int pair[2] = {v->n ? v->ids[v->n - 1] : id, id};
	int np = v->n ? 2 : 1;
	const int *ids = v->n ? pair : pair + 1;
	if (lms_tokenizer_decode(s->tm->tok, ids, (size_t)np, &with, &lw) != LMS_OK)
		return TUI_NONE;
	const char *add = with;
	size_t alen = lw;
	if (np == 2 && lms_tokenizer_decode(s->tm->tok, ids, 1, &without, &lo) == LMS_OK && lo <= lw &&
	    !memcmp(with, without, lo)) {
		add += lo;
		alen -= lo;
	}
	/* append to the text the view was computed from */
	size_t base = v->len;
	char *t = malloc(base + alen + 1);
	if (t) {
		memcpy(t, v->text, base);
		memcpy(t + base, add, alen);
		tui_line_set_utf8(&s->line, t, base + alen);
		free(t);
	}
	free(with);
	free(without);
	s->line.cur = s->line.len;
	return TUI_EDIT;
}

static const struct tui_key keys[] = {
	{KEY_UP, "Up/Down", N_("select a candidate: it becomes the saliency target"), k_move},
	{KEY_DOWN, NULL, NULL, k_move},
	{KEY_PPAGE, "PgUp/PgDn", N_("scroll a page"), k_move},
	{KEY_NPAGE, NULL, NULL, k_move},
	{KEY_HOME, "Home/End", N_("first / last candidate"), k_move},
	{KEY_END, NULL, NULL, k_move},
	{'\n', "Enter", N_("append the selected candidate to the context"), k_append_sel},
	{'\r', NULL, NULL, k_append_sel},
	{KEY_ENTER, NULL, NULL, k_append_sel},
	{'c', "c", N_("contrast: why the target rather than the selected candidate"), k_contrast},
	{'x', "x", N_("clear the contrast"), k_contrast},
	/* xgettext:no-c-format */
	{'b', "b", N_("bars on an absolute 0-100% scale / relative to the top candidate"), k_bars},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_candidates = {
	.name = N_("Next-token candidates"),
	.about = N_("The model's probability for each possible next token after the whole context, "
                "best first: the softmax of the last position's logits. The selected candidate "
                "is the target the saliency explains; a contrast asks why the target rather than "
                "another candidate."),
	.win = W_CAND,
	.draw = draw,
	.click = click,
	.keys = keys,
};
