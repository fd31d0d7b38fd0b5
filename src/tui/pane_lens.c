/* The layer view (logit lens): each layer's hidden state at one position
 * of the context (the last by default; Left/Right move it), read through
 * the final norm and the unembedding - how the prediction forms layer by
 * layer. A row per layer: the selected target's rank and probability, then
 * the layer's most probable tokens with theirs. */
#include <stdio.h>
#include <string.h>

#include "front/i18n.h"
#include "ui.h"

#define LAYER_W 9 /* "layer 12 " */
#define RANK_W 15 /* "#12345  99.99% " */

static int first_row(struct tui_state *s, int L, int rows)
{
	int maxr = L > rows ? L - rows : 0;
	return s->lens_top < 0 || s->lens_top > maxr ? maxr : s->lens_top;
}

/* The title: where the lens looks and at which target, the fullest form
 * that fits the pane (an 80-column terminal's lens is about 45 wide); the
 * shortest is cut where the pane ends. */
static void title(struct tui_state *s, WINDOW *w, int focused)
{
	const struct tui_view *v = s->v;
	char t[200], b1[32], b2[32];
	if (!tui_view_n(s) || !v->have_lens) {
		ui_title(w, _("Logit lens: each layer's next tokens and the target's rank"), focused);
		return;
	}
	int p = v->lens_pos, width = getmaxx(w) - 2;
	const char *tok = tui_view_token(s, p, b1, sizeof b1),
			   *last = p == v->n - 1 ? _(" (last)") : "";
	const char *target = tui_token_str(s->tm, v->target, b2, sizeof b2);
	snprintf(t, sizeof t, _("Logit lens at %d '%s'%s: target '%s' rank, top %d"), p, tok, last,
	         target, TUI_LENS_K);
	if (ui_text_width(t, strlen(t), 0) > width)
		/* TRANSLATORS: the logit lens's title shortened for a narrow pane */
		snprintf(t, sizeof t, _("Logit lens at %d '%s'%s: target '%s'"), p, tok, last, target);
	if (ui_text_width(t, strlen(t), 0) > width)
		/* TRANSLATORS: the logit lens's title shortened further: the position alone */
		snprintf(t, sizeof t, _("Logit lens at %d '%s'%s"), p, tok, last);
	ui_title(w, t, focused);
}

/* One layer's row: its target column, then its top tokens as fit. */
static void layer_row(struct tui_state *s, WINDOW *w, int y, int l, int cols)
{
	const struct tui_view *v = s->v;
	char buf[32];
	ui_printf(w, y, 0, LAYER_W, _("layer %d"), l);
	const int *id = v->lens_id + (size_t)l * TUI_LENS_K;
	const float *p = v->lens_p + (size_t)l * TUI_LENS_K;
	if (id[0] < 0) {
		ui_printf(w, y, LAYER_W, cols - LAYER_W, "%s", _("(state not of the unembedding's width)"));
		return;
	}
	ui_set(w, v->lens_rank[l] == 1 ? UI_TARGET : UI_NORMAL);
	ui_printf(w, y, LAYER_W, RANK_W, "#%-5d %6.2f%%", v->lens_rank[l], 100.0 * v->lens_tp[l]);
	ui_set(w, UI_NORMAL);
	int x = LAYER_W + RANK_W;
	for (int i = 0; i < TUI_LENS_K && id[i] >= 0 && x + 8 < cols; i++) {
		const char *t = tui_token_str(s->tm, id[i], buf, sizeof buf);
		int tw = ui_text_width(t, strlen(t), 1), room = cols - x - 7;
		if (tw > room && i > 0)
			break; /* whole tokens only, after the first */
		tw = tw > 14 ? 14 : tw > room ? room : tw;
		ui_set(w, id[i] == v->target ? UI_TARGET : UI_NORMAL);
		x += ui_text(w, y, x, t, strlen(t), tw, 1);
		ui_set(w, UI_NORMAL);
		ui_printf(w, y, x, 7, " %4.1f%%", 100.0 * p[i]);
		x += 8;
	}
}

static void draw(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	int cols = getmaxx(w), rows = getmaxy(w) - 1;
	werase(w);
	title(s, w, s->focus == P_LENS);
	if (!tui_view_n(s))
		return;
	if (!v->have_lens) {
		ui_printf(w, 1, 1, cols - 2, "%s", _("computing..."));
		return;
	}
	int top = first_row(s, v->L, rows);
	for (int r = 0; r < rows && top + r < v->L; r++)
		layer_row(s, w, r + 1, top + r, cols);
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

/* Left/Right: the lens one position earlier / later; at the last position
 * it follows the end of the context as it is typed. */
static int k_position(struct tui_state *s, int key)
{
	int n = tui_view_n(s);
	if (!n)
		return TUI_NONE;
	int p = s->rq.lens_pos >= 0 && s->rq.lens_pos < n ? s->rq.lens_pos : n - 1;
	p += key == KEY_LEFT ? -1 : 1;
	if (p < 0 || p >= n)
		return TUI_NONE;
	s->rq.lens_pos = p == n - 1 ? -1 : p;
	return TUI_RECOMPUTE | TUI_REDRAW;
}

static const struct tui_key keys[] = {
	{KEY_UP, "Up/Down", N_("scroll the layers"), k_scroll},
	{KEY_DOWN, NULL, NULL, k_scroll},
	{KEY_HOME, "Home/End", N_("first / last layers"), k_scroll},
	{KEY_END, NULL, NULL, k_scroll},
	{KEY_LEFT, "Left/Right",
     N_("the lens one position earlier / later in the context (the last "
        "follows the typing)"),
     k_position},
	{KEY_RIGHT, NULL, NULL, k_position},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_lens = {
	.name = N_("Logit lens"),
	.about = N_("Each layer's hidden state at one position (the last unless Left/Right moved it) "
                "read through the model's final norm and unembedding, as if the model stopped "
                "there: the selected target's rank (#1: the top) and probability, then the "
                "layer's most probable next tokens. Watch the prediction form layer by layer."),
	.win = W_LENS,
	.draw = draw,
	.click = click,
	.keys = keys,
};
