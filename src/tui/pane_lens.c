/* The layer view (logit lens): the top prediction that each layer's hidden
 * state would give at the last position, read through the final norm and
 * the unembedding - how the prediction forms layer by layer. */
#include <stdio.h>
#include <string.h>

#include "ui.h"

static int first_row(struct tui_state *s, int L, int rows)
{
	int maxr = L > rows ? L - rows : 0;
	return s->lens_top < 0 || s->lens_top > maxr ? maxr : s->lens_top;
}

static void draw(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	int focused = s->focus == P_LENS;
	int cols = getmaxx(w), rows = getmaxy(w) - 1;
	char buf[32];
	werase(w);
	ui_title(w, "Logit lens: each layer's top next token at the last position", focused);
	if (!tui_view_n(s))
		return;
	if (!v->have_lens) {
		ui_printf(w, 1, 1, cols - 2, "computing...");
		return;
	}
	int top = first_row(s, v->L, rows);
	int tw = cols / 4 < 8 ? 8 : cols / 4 > 18 ? 18 : cols / 4;
	int bw = cols - 10 - tw - 9;
	for (int r = 0; r < rows && top + r < v->L; r++) {
		int l = top + r, y = r + 1;
		ui_printf(w, y, 0, 9, "layer %d", l);
		int id = v->lens_id[l];
		if (id < 0)
			continue;
		const char *t = tui_token_str(s->tm, id, buf, sizeof buf);
		ui_set(w, id == v->top_id[0] ? UI_TARGET : UI_NORMAL);
		ui_text(w, y, 10, t, strlen(t), tw, 1);
		ui_set(w, UI_NORMAL);
		if (bw > 0)
			ui_bar(w, y, 11 + tw, v->lens_p[l], bw, UI_PROB_BAR);
		ui_printf(w, y, cols - 8, 8, "%6.2f%%", 100.0 * v->lens_p[l]);
	}
}

static int click(struct tui_state *s, enum tui_win win, int y, int x)
{
	(void)win;
	(void)y;
	(void)x;
	(void)s;
	return TUI_REDRAW;
}

static int k_scroll(struct tui_state *s, int key)
{
	int L = s->tm->m->cfg.L, rows = getmaxy(s->lay.win[W_LENS]) - 1;
	int top = first_row(s, L, rows);
	top += key == KEY_UP ? -1 : key == KEY_DOWN ? 1 : key == KEY_HOME ? -L : L;
	s->lens_top = top < 0 ? 0 : top;
	return TUI_REDRAW;
}

static const struct tui_key keys[] = {
	{KEY_UP, "Up/Down", "scroll the layers", k_scroll},
	{KEY_DOWN, NULL, NULL, k_scroll},
	{KEY_HOME, "Home/End", "first / last layers", k_scroll},
	{KEY_END, NULL, NULL, k_scroll},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_lens = {
	.name = "Logit lens",
	.about = "Each layer's hidden state at the last position read through the model's final "
	         "norm and unembedding, as if the model stopped there: the token it would predict "
	         "and its probability. Watch the prediction form layer by layer.",
	.win = W_LENS,
	.draw = draw,
	.click = click,
	.keys = keys,
};
