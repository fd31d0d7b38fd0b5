/* The change strip (K, in the saliency's place): for each context token,
 * how much appending it moved the model's next-token distribution - the KL
 * divergence KL(after || before) of p(. | tokens up to it) from p(. |
 * tokens before it), in nats - and whether it changed the top-1 guess, so
 * the words that changed the model's mind stand out. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "front/i18n.h"
#include "ui.h"

static int first_row(const struct tui_state *s, int n, int rows)
{
	if (s->change_top < 0 || s->change_top > n - rows)
		return n > rows ? n - rows : 0; /* follow the end of the context */
	return s->change_top;
}

static void draw(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	int focused = s->focus == P_SALIENCY;
	int cols = getmaxx(w), rows = getmaxy(w) - 1;
	char buf[32], after[40];
	werase(w);
	ui_title(w, _("Change per token: KL(after||before) in nats, * new top-1"), focused);
	int n = tui_view_n(s);
	if (!n)
		return;
	if (!v->have_change) {
		ui_printf(w, 1, 1, cols - 2, "%s", _("computing..."));
		return;
	}
	double mx = 0.0;
	for (int t = 0; t < n; t++)
		if (!isnan(v->change_kl[t]) && v->change_kl[t] > mx)
			mx = v->change_kl[t];
	int tw = cols / 4 < 8 ? 8 : cols / 4 > 16 ? 16 : cols / 4;
	int aw = tw + 3, bw = cols - tw - 1 - 9 - aw;
	int top = first_row(s, n, rows);
	for (int r = 0; r < rows && top + r < n; r++) {
		int t = top + r, y = r + 1;
		const char *tok = tui_view_token(s, t, buf, sizeof buf);
		ui_text(w, y, 0, tok, strlen(tok), tw, 1);
		float kl = v->change_kl[t];
		if (isnan(kl)) {
			ui_printf(w, y, tw + 1, 9, "%8s", "-");
			continue;
		}
		int flip = t > 0 && v->change_top[t] >= 0 && v->change_top[t - 1] >= 0 &&
		           v->change_top[t] != v->change_top[t - 1];
		if (bw > 0 && mx > 0)
			ui_bar(w, y, tw + 1, kl / mx, bw, flip ? UI_TARGET : UI_PROB_BAR);
		ui_printf(w, y, tw + 1 + (bw > 0 ? bw : 0), 9, "%8.3f", kl);
		if (flip) {
			snprintf(after, sizeof after, "* %s",
			         tui_token_str(s->tm, v->change_top[t], buf, sizeof buf));
			ui_set(w, UI_TARGET);
			ui_text(w, y, cols - aw, after, strlen(after), aw, 0);
			ui_set(w, UI_NORMAL);
		}
	}
}

static int k_scroll(struct tui_state *s, int key)
{
	int n = tui_view_n(s), rows = getmaxy(s->lay.win[W_SAL]) - 1;
	int top = first_row(s, n, rows);
	top += key == KEY_UP ? -1 : key == KEY_DOWN ? 1 : key == KEY_PPAGE ? -rows : rows;
	s->change_top = top < 0 ? 0 : top;
	if (key == KEY_END)
		s->change_top = -1;
	return TUI_REDRAW;
}

static const struct tui_key keys[] = {
	{KEY_UP, "Up/Down", N_("scroll the tokens"), k_scroll},
	{KEY_DOWN, NULL, NULL, k_scroll},
	{KEY_PPAGE, "PgUp/PgDn", N_("scroll a page"), k_scroll},
	{KEY_NPAGE, NULL, NULL, k_scroll},
	{KEY_END, "End", N_("follow the end of the context"), k_scroll},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_change = {
	.name = N_("Change strip"),
	.about = N_("For each token of the context, how far appending it moved the model's "
                "next-token distribution: KL(after || before), in nats, between the prediction "
                "after the token and the one before it. A star and the new guess mark a token "
                "that changed the most probable next token: the words that changed the model's "
                "mind stand out."),
	.win = W_SAL,
	.draw = draw,
	.keys = keys,
};

int tui_k_change(struct tui_state *s, int key)
{
	(void)key;
	int on = s->pane[P_SALIENCY] != &pane_change;
	s->pane[P_SALIENCY] = on ? &pane_change : &pane_saliency;
	s->rq.need_change = on;
	s->focus = P_SALIENCY;
	return TUI_RECOMPUTE | TUI_REDRAW;
}
