/* The context pane: the input line, and under it the context as the model's
 * tokens, each shaded by its surprisal -log p(token | what precedes it). */
#include <math.h>
#include <string.h>
#include <wctype.h>

#include "front/i18n.h"
#include "ui.h"

void pane_context_draw_input(struct tui_state *s, WINDOW *w)
{
	struct tui_line *l = &s->line;
	int cols = getmaxx(w);
	werase(w);
	ui_set(w, s->focus == P_CONTEXT ? UI_MARKER : UI_DIM);
	mvwaddstr(w, 0, 0, "> ");
	ui_set(w, UI_NORMAL);
	int room = cols - 3;
	/* keep the cursor visible: scroll so that [scroll, cur] fits */
	if (l->scroll > l->cur)
		l->scroll = l->cur;
	for (;;) {
		int width = 0;
		for (int i = l->scroll; i < l->cur; i++) {
			int cw = wcwidth(l->buf[i]);
			width += cw > 0 ? cw : 1;
		}
		if (width < room || l->scroll >= l->cur)
			break;
		l->scroll++;
	}
	int x = 2, cx = 2;
	if (l->scroll > 0) {
		ui_set(w, UI_MARKER);
		mvwaddstr(w, 0, 1, ui_utf8 ? "\u2026" : "<");
		ui_set(w, UI_NORMAL);
	}
	for (int i = l->scroll; i < l->len; i++) {
		wchar_t c = l->buf[i];
		if (c < 32 || c == 127)
			c = ui_utf8 ? 0xfffd : L'?';
		int cw = wcwidth(c);
		if (cw < 0)
			c = L'?', cw = 1;
		if (x + cw > cols - 1)
			break;
		if (i == l->cur)
			cx = x;
		mvwaddnwstr(w, 0, x, &c, 1);
		x += cw;
	}
	if (l->cur >= l->len)
		cx = x;
	if (l->len == 0) {
		ui_set(w, UI_DIM);
		ui_printf(w, 0, 3, cols - 3, "%s",
		          _("type a context  (Tab: next pane, F1: help, Ctrl-C: quit)"));
		ui_set(w, UI_NORMAL);
	}
	wmove(w, 0, cx < cols ? cx : cols - 1);
}

const char *tui_view_token(const struct tui_state *s, int j, char *buf, size_t size)
{
	return tui_token_str(s->tm, s->v->ids[j], buf, size);
}

int tui_view_n(const struct tui_state *s)
{
	return s->v && s->v->valid ? s->v->n : 0;
}

int tui_query(const struct tui_state *s)
{
	int n = tui_view_n(s);
	if (!n)
		return -1;
	return s->query >= 0 && s->query < n ? s->query : n - 1;
}

/* Surprisal on a 0..1 scale: log V nats (a uniform guess) is the top. */
static double surprisal01(const struct tui_view *v, int j)
{
	float x = v->surprisal[j];
	if (!(x == x))
		return 0.0;
	return x / log((double)v->V);
}

/* The surprisal as numbers, for the right end of the last row: the
 * selected token's (the last when none is), the sum over the tokens that
 * have one, and the perplexity exp(sum / count). Returns its width. */
static int surprisal_numbers(struct tui_state *s, char *out, size_t size)
{
	const struct tui_view *v = s->v;
	double sum = 0.0;
	int count = 0;
	for (int j = 0; j < v->n; j++)
		if (v->surprisal[j] == v->surprisal[j])
			sum += v->surprisal[j], count++;
	int q = tui_query(s);
	char buf[32];
	const char *t = tui_view_token(s, q, buf, sizeof buf);
	float x = v->surprisal[q];
	int len =
		x == x ? snprintf(out, size, _("%s %.2f nats"), t, x) : snprintf(out, size, "%s -", t);
	if (count && len < (int)size)
		snprintf(out + len, size - (size_t)len, _(" | sum %.1f, ppl %.2f"), sum, exp(sum / count));
	return ui_text_width(out, strlen(out), 0);
}

static void draw_tokens(struct tui_state *s, WINDOW *w)
{
	werase(w);
	s->n_tok_hits = 0;
	int rows = getmaxy(w), cols = getmaxx(w);
	int n = tui_view_n(s);
	const struct tui_view *v = s->v;
	if (v && v->error[0]) {
		ui_set(w, UI_ERROR);
		ui_printf(w, 0, 0, cols, " %s ", v->error);
		ui_set(w, UI_NORMAL);
		return;
	}
	if (!n) {
		ui_set(w, UI_DIM);
		if (s->tm->tok)
			ui_printf(w, 0, 2, cols - 2, "%s",
			          _("tokens appear here, shaded by surprisal (-log p)"));
		else
			ui_printf(w, 0, 2, cols - 2, "%s",
			          _("no tokenizer: type token ids as numbers (3 17 42), "
			            "or open the model with --tokenizer FILE"));
		ui_set(w, UI_NORMAL);
		return;
	}
	char buf[32], nums[96];
	int nw = surprisal_numbers(s, nums, sizeof nums) + 2;
	if (nw > cols / 2)
		nw = 0; /* too narrow: the tokens first */
	/* fit as many tokens as the rows hold, keeping the last ones */
	int room = rows * cols - 4 - nw, first = n, used = 0;
	while (first > 0) {
		const char *t = tui_view_token(s, first - 1, buf, sizeof buf);
		int tw = ui_text_width(t, strlen(t), 1);
		if (tw < 1)
			tw = 1;
		if (used + tw + 1 > room)
			break;
		used += tw + 1;
		first--;
	}
	int y = 0, x = 0;
	int q = tui_query(s);
	if (first > 0 || (v->cut && !v->kept)) {
		ui_set(w, UI_MARKER);
		if (v->cut && first == 0)
			ui_printf(w, 0, 0, cols, ui_utf8 ? "\u2702%d\u2026 " : "<cut %d> ", v->cut);
		else
			ui_printf(w, 0, 0, cols, ui_utf8 ? "\u2026 " : "< ");
		x = getcurx(w);
		ui_set(w, UI_NORMAL);
	}
	for (int j = first; j < n; j++) {
		if (j == v->kept && j > 0 && v->cut && first == 0) {
			/* the cut is after the kept BOS */
			ui_set(w, UI_MARKER);
			ui_printf(w, y, x, cols - x, ui_utf8 ? "\u2702%d\u2026 " : "<cut %d> ", v->cut);
			x = getcurx(w);
			ui_set(w, UI_NORMAL);
		}
		const char *t = tui_view_token(s, j, buf, sizeof buf);
		int tw = ui_text_width(t, strlen(t), 1);
		if (tw > cols)
			tw = cols;
		if (x + tw > cols - (y == rows - 1 ? nw : 0)) {
			if (++y >= rows)
				break;
			x = 0;
		}
		enum ui_role role = ui_heat(surprisal01(v, j));
		if (j == q && s->att_mode == TUI_ATT_QUERY)
			role = UI_SELECT;
		ui_set(w, role);
		int drawn = ui_text(w, y, x, t, strlen(t), tw, 1);
		if (drawn == 0)
			mvwaddch(w, y, x, ' '), drawn = 1;
		ui_set(w, UI_NORMAL);
		if (s->n_tok_hits < TUI_TOKEN_HITS) {
			int h = s->n_tok_hits++;
			s->tok_hit[h].y = y;
			s->tok_hit[h].x0 = x;
			s->tok_hit[h].x1 = x + drawn;
			s->tok_hit[h].j = j;
		}
		x += drawn + 1;
	}
	if (nw) {
		ui_set(w, UI_DIM);
		ui_text(w, rows - 1, cols - nw + 2, nums, strlen(nums), nw - 2, 0);
		ui_set(w, UI_NORMAL);
	}
}

static int click(struct tui_state *s, enum tui_win win, int y, int x)
{
	if (win == W_INPUT) {
		struct tui_line *l = &s->line;
		int col = 2, i = l->scroll;
		while (i < l->len && col < x) {
			int cw = wcwidth(l->buf[i]);
			col += cw > 0 ? cw : 1;
			i++;
		}
		l->cur = i;
		return TUI_REDRAW;
	}
	for (int i = 0; i < s->n_tok_hits; i++)
		if (s->tok_hit[i].y == y && x >= s->tok_hit[i].x0 && x < s->tok_hit[i].x1) {
			s->query = s->tok_hit[i].j;
			return TUI_REDRAW;
		}
	return TUI_NONE;
}

/* ---- editing keys ---------------------------------------------------------- */

static int k_left(struct tui_state *s, int key)
{
	(void)key;
	if (s->line.cur > 0)
		s->line.cur--;
	return TUI_REDRAW;
}

static int k_right(struct tui_state *s, int key)
{
	(void)key;
	if (s->line.cur < s->line.len)
		s->line.cur++;
	return TUI_REDRAW;
}

static int k_home(struct tui_state *s, int key)
{
	(void)key;
	s->line.cur = 0;
	return TUI_REDRAW;
}

static int k_end(struct tui_state *s, int key)
{
	(void)key;
	s->line.cur = s->line.len;
	return TUI_REDRAW;
}

static void delete_range(struct tui_line *l, int a, int b)
{
	memmove(l->buf + a, l->buf + b, (size_t)(l->len - b) * sizeof *l->buf);
	l->len -= b - a;
	l->cur = a;
}

static int k_backspace(struct tui_state *s, int key)
{
	(void)key;
	if (s->line.cur == 0)
		return TUI_NONE;
	delete_range(&s->line, s->line.cur - 1, s->line.cur);
	return TUI_EDIT;
}

static int k_delete(struct tui_state *s, int key)
{
	(void)key;
	if (s->line.cur >= s->line.len)
		return TUI_NONE;
	delete_range(&s->line, s->line.cur, s->line.cur + 1);
	return TUI_EDIT;
}

static int word_start(const struct tui_line *l)
{
	int i = l->cur;
	while (i > 0 && iswspace((wint_t)l->buf[i - 1]))
		i--;
	while (i > 0 && !iswspace((wint_t)l->buf[i - 1]))
		i--;
	return i;
}

static int k_word_back(struct tui_state *s, int key)
{
	(void)key;
	int a = word_start(&s->line);
	if (a == s->line.cur)
		return TUI_NONE;
	delete_range(&s->line, a, s->line.cur);
	return TUI_EDIT;
}

static int k_word_left(struct tui_state *s, int key)
{
	(void)key;
	s->line.cur = word_start(&s->line);
	return TUI_REDRAW;
}

static int k_word_right(struct tui_state *s, int key)
{
	(void)key;
	struct tui_line *l = &s->line;
	while (l->cur < l->len && iswspace((wint_t)l->buf[l->cur]))
		l->cur++;
	while (l->cur < l->len && !iswspace((wint_t)l->buf[l->cur]))
		l->cur++;
	return TUI_REDRAW;
}

static int k_kill_start(struct tui_state *s, int key)
{
	(void)key;
	if (!s->line.cur)
		return TUI_NONE;
	delete_range(&s->line, 0, s->line.cur);
	return TUI_EDIT;
}

static int k_kill_end(struct tui_state *s, int key)
{
	(void)key;
	if (s->line.cur == s->line.len)
		return TUI_NONE;
	s->line.len = s->line.cur;
	return TUI_EDIT;
}

static int k_history(struct tui_state *s, int key)
{
	tui_line_history(&s->line, key == KEY_UP ? -1 : 1);
	return TUI_EDIT;
}

static int k_enter(struct tui_state *s, int key)
{
	(void)key;
	tui_line_commit(&s->line);
	snprintf(s->msg, sizeof s->msg, "%s", _("context kept in history (Up/Down recall it)"));
	return TUI_REDRAW;
}

static const struct tui_key keys[] = {
	{KEY_LEFT, "Left/Right", N_("move the cursor"), k_left},
	{KEY_RIGHT, NULL, NULL, k_right},
	{KEY_HOME, "Home / Ctrl-A", N_("start of the line"), k_home},
	{TUI_CTRL('a'), NULL, NULL, k_home},
	{KEY_END, "End / Ctrl-E", N_("end of the line"), k_end},
	{TUI_CTRL('e'), NULL, NULL, k_end},
	{KEY_BACKSPACE, "Backspace", N_("delete the character before the cursor"), k_backspace},
	{127, NULL, NULL, k_backspace},
	{TUI_CTRL('h'), NULL, NULL, k_backspace},
	{KEY_DC, "Delete", N_("delete the character under the cursor"), k_delete},
	{TUI_CTRL('w'), "Ctrl-W", N_("delete the word before the cursor"), k_word_back},
	{TUI_CTRL('b'), "Ctrl-B / Ctrl-F", N_("move a word left / right"), k_word_left},
	{TUI_CTRL('f'), NULL, NULL, k_word_right},
	{TUI_CTRL('u'), "Ctrl-U", N_("delete to the start of the line"), k_kill_start},
	{TUI_CTRL('k'), "Ctrl-K", N_("delete to the end of the line"), k_kill_end},
	{KEY_UP, "Up/Down", N_("previous / next context from the history"), k_history},
	{KEY_DOWN, NULL, NULL, k_history},
	{'\n', "Enter", N_("keep the context in the history"), k_enter},
	{'\r', NULL, NULL, k_enter},
	{KEY_ENTER, NULL, NULL, k_enter},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_context = {
	.name = N_("Context line"),
	.about = N_("The text the model reads, typed on the top line, and below it as the model's "
                "tokens. Each token is shaded by its surprisal, -log p(token | the tokens before "
                "it) in nats: how unexpected the model found it. 0 nats is certain; each "
                "further 0.69 nats halves the probability."),
	.win = W_TOKENS,
	.draw = draw_tokens,
	.click = click,
	.keys = keys,
};
