/* The recurrent models' counterpart of the attention pane: RNN, LSTM and GRU
 * have no attention, so the pane shows the selected layer's hidden state
 * (or one gate's activations) per token: rows are tokens, columns units,
 * each cell the value itself to one decimal (so -0.1 and -1.0 differ) on a
 * diverging shade from -1 to +1. */
#include <stdio.h>
#include <string.h>

#include "front/i18n.h"
#include "ui.h"

enum { CELL = 5, HEAD_ROWS = 3 /* title, legend, unit numbers */ };

/* A value in CELL - 1 columns: one decimal up to 9.9, whole numbers up
 * to 999, then the sign and "big". */
static void cell_text(char *buf, size_t size, float x)
{
	float a = x < 0 ? -x : x;
	if (a < 9.95f)
		snprintf(buf, size, "%4.1f", x);
	else if (a < 999.5f)
		snprintf(buf, size, "%4.0f", x);
	else
		snprintf(buf, size, "%cbig", x < 0 ? '-' : '+');
}

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static const char *part_name(const struct tui_state *s, int part)
{
	static const char *const lstm[] = {N_("input gate i (sigmoid)"), N_("forget gate f (sigmoid)"),
	                                   N_("cell candidate g (tanh)"),
	                                   N_("output gate o (sigmoid)")};
	static const char *const gru[] = {N_("reset gate r (sigmoid)"), N_("update gate z (sigmoid)"),
	                                  N_("candidate n (tanh)")};
	enum lms_arch a = s->tm->m->cfg.arch;
	if (part == TUI_PART_HIDDEN)
		return _("hidden state h");
	if (s->v && s->v->has_cell && part == s->v->G + 1)
		return _("cell state c");
	if (a == LMS_LSTM && part <= 4)
		return _(lstm[part - 1]);
	if (a == LMS_GRU && part <= 3)
		return _(gru[part - 1]);
	return _("gate");
}

struct geom {
	int n, D, lw, nr, nc, row0, col0;
};

static struct geom geom(struct tui_state *s, WINDOW *w)
{
	struct geom g;
	g.n = tui_view_n(s);
	g.D = s->v ? s->v->D : 0;
	g.lw = clamp(getmaxx(w) / 6, 6, 12);
	g.nr = getmaxy(w) - HEAD_ROWS;
	g.nc = (getmaxx(w) - g.lw - 1) / CELL;
	if (g.nr < 1)
		g.nr = 1;
	if (g.nc < 1)
		g.nc = 1;
	int maxr = g.n > g.nr ? g.n - g.nr : 0, maxc = g.D > g.nc ? g.D - g.nc : 0;
	g.row0 = s->att_follow ? maxr : clamp(s->att_row0, 0, maxr);
	g.col0 = clamp(s->att_col0, 0, maxc);
	return g;
}

static void draw(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	werase(w);
	if (!tui_view_n(s) || !v->D) {
		ui_title(w, _("Recurrent activations (no attention in RNN/LSTM/GRU)"),
		         s->focus == P_ATTENTION);
		return;
	}
	struct geom g = geom(s, w);
	int cols = getmaxx(w);
	char title[200], buf[32];
	snprintf(title, sizeof title, _("Recurrent activations  layer %d/%d  %s  units %d-%d of %d"),
	         v->layer, v->L - 1, part_name(s, v->part), g.col0,
	         g.col0 + (g.nc < g.D ? g.nc : g.D) - 1, g.D);
	ui_title(w, title, s->focus == P_ATTENTION);
	/* legend: -1 .. +1 */
	ui_printf(w, 1, 1, 3, "-1");
	for (int i = 0; i < UI_DIV_LEVELS; i++) {
		ui_set(w, (enum ui_role)(UI_DIV_0 + i));
		mvwaddstr(w, 1, 4 + 2 * i, ui_color_mode() ? "  " : (i < 3 ? "--" : i > 3 ? "++" : "  "));
	}
	ui_set(w, UI_NORMAL);
	ui_printf(w, 1, 5 + 2 * UI_DIV_LEVELS, cols - 20, "%s",
	          _("+1  shade; numbers are the values (one decimal), per token (rows) and unit "
	            "(columns)"));
	for (int c = 0; c < g.nc && g.col0 + c < g.D; c++) {
		ui_set(w, UI_DIM);
		ui_printf(w, 2, g.lw + 1 + c * CELL, CELL - 1, "%4d", g.col0 + c);
	}
	ui_set(w, UI_NORMAL);
	for (int r = 0; r < g.nr && g.row0 + r < g.n; r++) {
		int t = g.row0 + r, y = HEAD_ROWS + r;
		const char *tok = tui_view_token(s, t, buf, sizeof buf);
		ui_set(w, UI_DIM);
		ui_text(w, y, 0, tok, strlen(tok), g.lw, 1);
		for (int c = 0; c < g.nc && g.col0 + c < g.D; c++) {
			float x = v->act[(size_t)t * g.D + g.col0 + c];
			ui_set(w, ui_div(x));
			cell_text(buf, sizeof buf, x);
			mvwaddstr(w, y, g.lw + 1 + c * CELL, buf);
		}
		ui_set(w, UI_NORMAL);
	}
}

static int click(struct tui_state *s, enum tui_win win, int y, int x)
{
	(void)win;
	(void)x;
	struct geom g = geom(s, s->lay.win[W_ATT]);
	int t = g.row0 + y - HEAD_ROWS;
	if (y >= HEAD_ROWS && t < g.n)
		s->query = t;
	return TUI_REDRAW;
}

static int k_scroll(struct tui_state *s, int key)
{
	struct geom g = geom(s, s->lay.win[W_ATT]);
	return tui_matrix_scroll(s, key, g.row0, g.col0, g.nr, g.nc);
}

static const struct tui_key keys[] = {
	{KEY_UP, "arrows", N_("scroll tokens (rows) and units (columns)"), k_scroll},
	{KEY_DOWN, NULL, NULL, k_scroll},
	{KEY_LEFT, NULL, NULL, k_scroll},
	{KEY_RIGHT, NULL, NULL, k_scroll},
	{KEY_PPAGE, "PgUp/PgDn", N_("scroll a page of tokens"), k_scroll},
	{KEY_NPAGE, NULL, NULL, k_scroll},
	{KEY_SLEFT, "Shift-Left/Right", N_("scroll a page of units"), k_scroll},
	{KEY_SRIGHT, NULL, NULL, k_scroll},
	{KEY_HOME, "Home", N_("first token, first unit"), k_scroll},
	{KEY_END, "End", N_("follow the end of the context"), k_scroll},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_hidden = {
	.name = N_("Recurrent activations"),
	.about = N_("A recurrent model reads the context one token at a time and carries a state "
                "forward instead of attending. Rows are tokens, columns units: the hidden state "
                "h after each token, the LSTM's cell state c (its long-term memory), or one "
                "gate's activations (sigmoid gates in 0..1: how much passes through)."),
	.win = W_ATT,
	.draw = draw,
	.click = click,
	.keys = keys,
};
