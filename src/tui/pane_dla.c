/* The direct logit attribution pane (in the logit lens's place, D): how
 * much each component's direct path to the output pushes the target's
 * logit (minus the contrast's) at the last position - the embeddings, each
 * layer's attention (expandable to its heads and output bias) and each
 * MLP - with the terms' sum beside the logit it decomposes
 * (lmscope/interp.h, as `explain --dla`). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "front/i18n.h"
#include "ui.h"

/* One row: its label and value. */
struct dla_row {
	char label[48];
	double value;
	int layer; /* the layer it belongs to (Enter opens it), -1 none */
};

/* The rows for the view, into rows (capacity cap); returns how many. */
static int dla_rows(const struct tui_state *s, struct dla_row *rows, int cap)
{
	const struct lms_dla *d = &s->v->dla;
	int n = 0;
#define ROW(val, lay, ...)                                                                         \
	do {                                                                                           \
		if (n < cap) {                                                                             \
			snprintf(rows[n].label, sizeof rows[n].label, __VA_ARGS__);                            \
			rows[n].value = (val);                                                                 \
			rows[n++].layer = (lay);                                                               \
		}                                                                                          \
	} while (0)
	ROW(d->embed, -1, "embed");
	for (int l = 0; l < d->L; l++) {
		double attn = d->attn_bias[l];
		for (int h = 0; h < d->NH; h++)
			attn += d->heads[l * d->NH + h];
		int open = s->dla_open == l + 1;
		ROW(attn, l, "%s L%d attn", open ? "-" : "+", l);
		if (open) {
			for (int h = 0; h < d->NH; h++)
				ROW(d->heads[l * d->NH + h], l, "   L%d.H%d", l, h);
			ROW(d->attn_bias[l], l, "   L%d bias", l);
		}
		ROW(d->mlp[l], l, "  L%d mlp", l);
	}
	ROW(d->final_bias, -1, "final bias");
#undef ROW
	return n;
}

#define MAX_ROWS 4096

static void draw(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	int focused = s->focus == P_LENS;
	int cols = getmaxx(w), rows = getmaxy(w) - 1;
	char title[200], a[32], b[32];
	werase(w);
	if (!tui_view_n(s) || !v->have_dla) {
		ui_title(w, _("Direct logit attribution"), focused);
		if (tui_view_n(s))
			ui_printf(w, 1, 1, cols - 2, "%s", _("computing..."));
		return;
	}
	const struct lms_dla *d = &v->dla;
	const char *ta = tui_token_str(s->tm, v->target, a, sizeof a);
	char tgt[40];
	snprintf(tgt, sizeof tgt, "%s", ta);
	snprintf(title, sizeof title, _("Direct logit attribution: %s%s%s  sum %.3f, logit%s %.3f"),
	         tgt, v->contrast >= 0 ? " - " : "",
	         v->contrast >= 0 ? tui_token_str(s->tm, v->contrast, b, sizeof b) : "", d->sum,
	         v->contrast >= 0 ? _(" diff") : "", d->logit);
	ui_title(w, title, focused);
	static struct dla_row row[MAX_ROWS];
	int n = dla_rows(s, row, MAX_ROWS);
	if (s->dla_sel >= n)
		s->dla_sel = n - 1;
	if (s->dla_sel < 0)
		s->dla_sel = 0;
	if (s->dla_sel < s->dla_top)
		s->dla_top = s->dla_sel;
	if (s->dla_sel >= s->dla_top + rows)
		s->dla_top = s->dla_sel - rows + 1;
	double mx = 0.0;
	for (int i = 0; i < n; i++)
		mx = fabs(row[i].value) > mx ? fabs(row[i].value) : mx;
	int bw = cols - 14 - 11;
	for (int r = 0; r < rows && s->dla_top + r < n; r++) {
		int i = s->dla_top + r, y = r + 1;
		ui_set(w, i == s->dla_sel && focused ? UI_SELECT : UI_NORMAL);
		ui_printf(w, y, 0, 14, "%-13s", row[i].label);
		ui_printf(w, y, 14, 10, "%+9.3f", row[i].value);
		ui_set(w, UI_NORMAL);
		if (bw > 0 && mx > 0)
			ui_bar(w, y, 25, fabs(row[i].value) / mx, bw,
			       row[i].value < 0 ? UI_SAL_NEG : UI_SAL_POS);
	}
}

static int click(struct tui_state *s, enum tui_win win, int y, int x)
{
	(void)win;
	(void)x;
	if (y >= 1)
		s->dla_sel = s->dla_top + y - 1;
	return TUI_REDRAW;
}

static int k_move(struct tui_state *s, int key)
{
	int page = getmaxy(s->lay.win[W_LENS]) - 1;
	s->dla_sel += key == KEY_UP      ? -1
	              : key == KEY_DOWN  ? 1
	              : key == KEY_PPAGE ? -page
	              : key == KEY_NPAGE ? page
	              : key == KEY_HOME  ? -MAX_ROWS
	                                 : MAX_ROWS;
	if (s->dla_sel < 0)
		s->dla_sel = 0;
	return TUI_REDRAW; /* draw clamps to the last row */
}

/* Enter opens the selected row's layer into its heads (again: closes it). */
static int k_open(struct tui_state *s, int key)
{
	(void)key;
	if (!tui_view_n(s) || !s->v->have_dla)
		return TUI_NONE;
	static struct dla_row row[MAX_ROWS];
	int n = dla_rows(s, row, MAX_ROWS);
	if (s->dla_sel >= n || row[s->dla_sel].layer < 0)
		return TUI_NONE;
	int l = row[s->dla_sel].layer;
	s->dla_open = s->dla_open == l + 1 ? 0 : l + 1;
	/* the selection stays on the layer's attention row */
	for (int i = 0; i < n; i++)
		if (row[i].layer == l) {
			s->dla_sel = i;
			break;
		}
	return TUI_REDRAW;
}

static const struct tui_key keys[] = {
	{KEY_UP, "Up/Down", N_("select a row"), k_move},
	{KEY_DOWN, NULL, NULL, k_move},
	{KEY_PPAGE, "PgUp/PgDn", N_("a page up / down"), k_move},
	{KEY_NPAGE, NULL, NULL, k_move},
	{KEY_HOME, "Home/End", N_("first / last row"), k_move},
	{KEY_END, NULL, NULL, k_move},
	{'\n', "Enter", N_("open the selected layer's attention into its heads (again: close it)"),
     k_open},
	{'\r', NULL, NULL, k_open},
	{KEY_ENTER, NULL, NULL, k_open},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_dla = {
	.name = N_("Direct logit attribution"),
	.about = N_("The final residual stream at the last position is a sum: the embeddings, every "
                "head's output, every attention output bias and every MLP's output. Each term, "
                "through the final norm (its scale frozen from the whole stream) and the "
                "unembedding, is how much that component directly pushes the target's logit "
                "(minus the contrast's): green up, red down. The terms and the final norm's bias "
                "sum to the logit, shown beside it. A direct path only: a component can matter "
                "through later layers too (ablate it with x in the attention pane)."),
	.win = W_LENS,
	.draw = draw,
	.click = click,
	.keys = keys,
};

int tui_k_dla(struct tui_state *s, int key)
{
	(void)key;
	if (s->recurrent)
		return TUI_NONE;
	int on = s->pane[P_LENS] != &pane_dla;
	s->pane[P_LENS] = on ? &pane_dla : &pane_lens;
	s->rq.need_dla = on;
	s->rq.need_neurons = 0;
	s->focus = P_LENS;
	return TUI_RECOMPUTE | TUI_REDRAW;
}
