/* The attention pane (Transformers), in three modes:
 *   matrix   - the selected layer and head (or the mean over the layer's
 *              heads) as a heatmap: rows are query tokens, columns key
 *              tokens, labels on both axes, a legend; scrolls both ways;
 *              presenter mode makes the cells larger and the labels whole;
 *   overview - every layer x head as a thumbnail with its mean entropy,
 *              from which a head is picked;
 *   query    - one token's attention row as bars over the context. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "front/i18n.h"
#include "teach.h"
#include "ui.h"

enum { CELL = 3, HEAD_ROWS = 4 /* title, legend, two rows of key labels */ };
enum { BIG_CELL = 5, BIG_CELL_MAX = 12 };

struct geom {
	int n, rows, cols;
	int lw;         /* row label width */
	int cw, rh;     /* a cell's width and height */
	int nr, nc;     /* visible matrix rows / columns */
	int row0, col0; /* first visible query / key */
};

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* The widest token of the context as shown, in columns. */
static int widest_token(struct tui_state *s, int n)
{
	char buf[32];
	int wmax = 0;
	for (int j = 0; j < n; j++) {
		const char *t = tui_view_token(s, j, buf, sizeof buf);
		int tw = ui_text_width(t, strlen(t), 1);
		wmax = tw > wmax ? tw : wmax;
	}
	return wmax;
}

/* Cell and label sizes. On a normal screen: cells of 3 columns, key labels
 * of 5 (two staggered rows), row labels a sixth of the pane. In presenter
 * mode, for a room: row labels as wide as the widest token (up to a third
 * of the pane), cells wide enough for the staggered key labels to show
 * whole tokens while at least 8 columns (or all) fit, and two rows high
 * when every query fits so. */
static void cell_sizes(struct tui_state *s, struct geom *g)
{
	g->lw = clamp(g->cols / 6, 6, 12);
	g->cw = CELL;
	g->rh = 1;
	if (!tui_presenting(s) || !g->n)
		return;
	int wmax = widest_token(s, g->n);
	g->lw = clamp(wmax, 6, g->cols / 3 < 6 ? 6 : g->cols / 3);
	int avail = g->cols - g->lw - 1, fit = g->n < 8 ? g->n : 8;
	int want = (wmax + 2) / 2 > BIG_CELL ? (wmax + 2) / 2 : BIG_CELL;
	int room = avail / fit > BIG_CELL ? avail / fit : BIG_CELL;
	g->cw = clamp(want, BIG_CELL, room < BIG_CELL_MAX ? room : BIG_CELL_MAX);
	g->rh = g->rows - HEAD_ROWS >= 2 * g->n ? 2 : 1;
}

static struct geom matrix_geom(struct tui_state *s, WINDOW *w)
{
	struct geom g;
	g.n = tui_view_n(s);
	g.rows = getmaxy(w);
	g.cols = getmaxx(w);
	cell_sizes(s, &g);
	g.nr = (g.rows - HEAD_ROWS) / g.rh;
	g.nc = (g.cols - g.lw - 1) / g.cw;
	if (g.nr < 1)
		g.nr = 1;
	if (g.nc < 1)
		g.nc = 1;
	int maxr = g.n > g.nr ? g.n - g.nr : 0, maxc = g.n > g.nc ? g.n - g.nc : 0;
	if (s->att_follow) {
		g.row0 = maxr;
		g.col0 = maxc;
	} else {
		g.row0 = clamp(s->att_row0, 0, maxr);
		g.col0 = clamp(s->att_col0, 0, maxc);
	}
	return g;
}

static void head_name(const struct tui_view *v, char *buf, size_t size)
{
	if (v->mean_heads)
		snprintf(buf, size, _("layer %d, mean of %d heads"), v->layer, v->NH);
	else
		snprintf(buf, size, _("layer %d head %d"), v->layer, v->head);
}

static void legend(WINDOW *w, int y, int x, int width)
{
	ui_printf(w, y, x, width, "0%%");
	int steps = 8;
	for (int i = 0; i < steps && x + 3 + i * 2 + 2 < x + width; i++) {
		double val = (i + 0.5) / steps;
		ui_set(w, ui_heat(val));
		if (ui_color_mode())
			mvwaddstr(w, y, x + 3 + i * 2, "  ");
		else
			mvwaddstr(w, y, x + 3 + i * 2, ui_shade(val)), waddstr(w, ui_shade(val));
	}
	ui_set(w, UI_NORMAL);
	/* the axes in words, or in arrows where the words would be cut */
	int room = width - steps * 2 - 4;
	char axes[96];
	snprintf(axes, sizeof axes, _("100%%  rows: query, columns: key"));
	if (ui_text_width(axes, strlen(axes), 0) > room)
		/* TRANSLATORS: the attention legend shortened for a narrow pane:
		 * queries down the rows, keys along the columns */
		snprintf(axes, sizeof axes, _("100%%  ↓query →key"));
	ui_printf(w, y, x + 3 + steps * 2 + 1, room, "%s", axes);
}

/* One cell of cw x rh: the probability in percent on its heat shade,
 * centred on its first row. */
static void cell(WINDOW *w, int y, int x, int cw, int rh, float p)
{
	char buf[8], row[64];
	ui_set(w, ui_heat(p));
	if (p < 0.005f)
		snprintf(buf, sizeof buf, "  %s", ui_color_mode() ? " " : ui_shade(0));
	else if (!ui_color_mode() && p < 0.1f)
		snprintf(buf, sizeof buf, " %s%d", ui_shade(p), (int)(p * 100 + 0.5f));
	else
		snprintf(buf, sizeof buf, "%3d", (int)(p * 100 + 0.5f));
	int pad = (cw - 3) / 2;
	snprintf(row, sizeof row, "%*s%s%*s", pad, "", buf, cw - 3 - pad, "");
	mvwaddstr(w, y, x, row);
	for (int r = 1; r < rh; r++) {
		/* the shade again: blanks on a colour, glyphs without one */
		const char *fill = ui_color_mode() ? " " : ui_shade(p < 0.005f ? 0 : p);
		wmove(w, y + r, x);
		for (int i = 0; i < cw; i++)
			waddstr(w, fill);
	}
	ui_set(w, UI_NORMAL);
}

static void draw_matrix(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	struct geom g = matrix_geom(s, w);
	char title[200], hn[80], buf[32];
	head_name(v, hn, sizeof hn);
	snprintf(title, sizeof title, _("Attention  %s  (%d layers x %d heads)  q %d-%d k %d-%d of %d"),
	         hn, v->L, v->NH, g.row0, g.row0 + (g.nr < g.n ? g.nr : g.n) - 1, g.col0,
	         g.col0 + (g.nc < g.n ? g.nc : g.n) - 1, g.n);
	if (ui_text_width(title, strlen(title), 0) >
	    g.cols) /* narrow (two models side by side): the model's shape goes */
		snprintf(title, sizeof title, _("Attention  %s  q %d-%d k %d-%d of %d"), hn, g.row0,
		         g.row0 + (g.nr < g.n ? g.nr : g.n) - 1, g.col0,
		         g.col0 + (g.nc < g.n ? g.nc : g.n) - 1, g.n);
	ui_title(w, title, s->focus == P_ATTENTION);
	legend(w, 1, 1, g.cols - 2);
	/* key labels, staggered over two rows so each can be two cells wide */
	for (int c = 0; c < g.nc && g.col0 + c < g.n; c++) {
		int k = g.col0 + c, x = g.lw + 1 + c * g.cw;
		const char *t = tui_view_token(s, k, buf, sizeof buf);
		ui_set(w, UI_DIM);
		ui_text(w, 2 + (c & 1), x, t, strlen(t), clamp(2 * g.cw - 1, 1, g.cols - x), 1);
	}
	ui_set(w, UI_NORMAL);
	int q = tui_query(s);
	for (int r = 0; r < g.nr && g.row0 + r < g.n; r++) {
		int qi = g.row0 + r, y = HEAD_ROWS + r * g.rh;
		const char *t = tui_view_token(s, qi, buf, sizeof buf);
		ui_set(w, qi == q && s->query >= 0 ? UI_SELECT : UI_DIM);
		ui_text(w, y, 0, t, strlen(t), g.lw, 1);
		ui_set(w, UI_NORMAL);
		for (int c = 0; c < g.nc && g.col0 + c <= qi; c++)
			cell(w, y, g.lw + 1 + c * g.cw, g.cw, g.rh, v->att[(size_t)qi * g.n + g.col0 + c]);
	}
}

/* ---- overview ---------------------------------------------------------------- */

/* Each layer is a block of rows: the heads' thumbnails (th rows), their
 * entropies on the layer's own label row, and a blank row before the next
 * layer. Thumbnails grow with the pane up to the engine's resolution. */
struct ogeom {
	int cw, ch; /* cell width (thumbnail + gap) and block height */
	int tw, th; /* thumbnail size */
	int l0, nl; /* first visible layer, visible layers */
};

static struct ogeom over_geom(struct tui_state *s, WINDOW *w)
{
	const struct lms_config *c = &s->tm->m->cfg;
	struct ogeom o;
	int rows = getmaxy(w) - 2, cols = getmaxx(w) - 4; /* title, head numbers; layer labels */
	o.cw = clamp(cols / c->NH, 5, 2 * TUI_THUMB + 2);
	o.tw = o.cw - 1;
	/* a cell is about twice as tall as wide: th rows look square at 2 th columns */
	o.th = clamp(rows / c->L - 2, 1, TUI_THUMB);
	if (o.th > (o.tw + 1) / 2 && o.tw >= 8)
		o.th = (o.tw + 1) / 2;
	o.ch = o.th + (rows >= c->L * (o.th + 2) || o.th > 1 ? 2 : 1);
	o.nl = rows / o.ch;
	if (o.nl < 1)
		o.nl = 1;
	int sel = s->rq.layer;
	o.l0 = sel >= o.nl ? sel - o.nl + 1 : 0;
	return o;
}

static void draw_overview(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	struct ogeom o = over_geom(s, w);
	char title[160];
	static const char *what[] = {N_("mean entropy in nats"), N_("previous-token score"),
	                             N_("duplicate-token score"), N_("induction score")};
	snprintf(title, sizeof title, _("Overview: %d layers x %d heads, %s (Enter picks)"), v->L,
	         v->NH, _(what[s->over_score]));
	ui_title(w, title, s->focus == P_ATTENTION);
	if (!v->have_overview) {
		ui_printf(w, 1, 1, getmaxx(w) - 2, "%s", _("computing..."));
		return;
	}
	int th = o.th, tw = o.tw, TH = TUI_THUMB;
	for (int h = 0; h < v->NH; h++)
		ui_printf(w, 1, 4 + h * o.cw, tw, "H%d", h);
	for (int li = 0; li < o.nl && o.l0 + li < v->L; li++) {
		int l = o.l0 + li, y0 = 2 + li * o.ch;
		/* the label on the entropy row: both belong to this layer */
		ui_printf(w, y0 + th, 0, 4, "L%d", l);
		for (int h = 0; h < v->NH; h++) {
			int x0 = 4 + h * o.cw;
			const float *t = v->thumb + (size_t)(l * v->NH + h) * TH * TH;
			float mx = 0.0f;
			for (int i = 0; i < TH * TH; i++)
				mx = t[i] > mx ? t[i] : mx;
			for (int i = 0; i < th; i++)
				for (int j = 0; j < tw; j++) {
					float val = t[(i * TH / th) * TH + j * TH / tw];
					double f = mx > 0 ? val / mx : 0;
					ui_set(w, ui_heat(f));
					mvwaddstr(w, y0 + i, x0 + j, ui_color_mode() ? " " : ui_shade(f));
				}
			int picked = l == s->rq.layer && h == s->rq.head;
			int i = l * v->NH + h;
			/* a detector's score, in [0, 1], colours the label as a heat */
			float x = s->over_score ? v->detect[(size_t)(s->over_score - 1) * v->L * v->NH + i]
			                        : v->entropy[i];
			ui_set(w, picked                    ? UI_SELECT
			          : s->over_score && x == x ? ui_heat(x < 0   ? 0
			                                              : x > 1 ? 1
			                                                      : x)
			                                    : UI_NORMAL);
			/* the head's number again when there is room, and its entropy
			 * or score ("-": no position to average over, as in heads) */
			const char *off = tui_head_ablated(s, l, h) ? _(" ablated") : "";
			char num[16] = "-";
			if (x == x)
				snprintf(num, sizeof num, "%.2f", x);
			if (tw >= 8)
				ui_printf(w, y0 + th, x0, tw, "H%d %s%s", h, num, off);
			else
				ui_printf(w, y0 + th, x0, tw, "%s%s", num, off[0] ? "x" : "");
			ui_set(w, UI_NORMAL);
		}
	}
}

/* ---- query mode ------------------------------------------------------------- */

static int query_first(struct tui_state *s, int q, int rows)
{
	if (s->att_follow)
		return q + 1 > rows ? q + 1 - rows : 0;
	return clamp(s->att_row0, 0, q + 1 > rows ? q + 1 - rows : 0);
}

static void draw_query(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	int q = tui_query(s), n = v->n;
	int rows = getmaxy(w) - 1, cols = getmaxx(w);
	char title[200], hn[80], buf[32];
	head_name(v, hn, sizeof hn);
	const char *qt = tui_view_token(s, q, buf, sizeof buf);
	snprintf(title, sizeof title, _("Query %d \"%s\": its attention over the context  (%s)"), q, qt,
	         hn);
	ui_title(w, title, s->focus == P_ATTENTION);
	int first = query_first(s, q, rows);
	int lw = clamp(cols / 4, 8, 16), bw = cols - lw - 9;
	for (int r = 0; r < rows && first + r <= q; r++) {
		int k = first + r;
		float p = v->att[(size_t)q * n + k];
		const char *t = tui_view_token(s, k, buf, sizeof buf);
		ui_text(w, r + 1, 0, t, strlen(t), lw, 1);
		ui_bar(w, r + 1, lw + 1, p, bw, UI_PROB_BAR);
		ui_printf(w, r + 1, cols - 7, 7, "%5.1f%%", 100.0 * p);
	}
}

static void draw(struct tui_state *s, WINDOW *w)
{
	werase(w);
	if (!tui_view_n(s)) {
		ui_title(w, _("Attention"), s->focus == P_ATTENTION);
		return;
	}
	switch (s->att_mode) {
	case TUI_ATT_OVERVIEW: draw_overview(s, w); break;
	case TUI_ATT_QUERY: draw_query(s, w); break;
	default: draw_matrix(s, w); break;
	}
}

static int click(struct tui_state *s, enum tui_win win, int y, int x)
{
	(void)win;
	WINDOW *w = s->lay.win[W_ATT];
	if (!tui_view_n(s))
		return TUI_REDRAW;
	if (s->att_mode == TUI_ATT_OVERVIEW) {
		struct ogeom o = over_geom(s, w);
		int l = o.l0 + (y - 2) / o.ch, h = (x - 4) / o.cw;
		if (y < 2 || x < 4 || l >= s->v->L || h >= s->v->NH)
			return TUI_REDRAW;
		s->rq.layer = l;
		s->rq.head = h;
		s->rq.mean_heads = 0;
		s->att_mode = TUI_ATT_MATRIX;
		s->rq.need_overview = 0;
		return TUI_RECOMPUTE | TUI_REDRAW;
	}
	if (s->att_mode == TUI_ATT_MATRIX) {
		struct geom g = matrix_geom(s, w);
		int q = g.row0 + (y - HEAD_ROWS) / g.rh;
		if (y >= HEAD_ROWS && q < g.n)
			s->query = q;
	}
	return TUI_REDRAW;
}

static int k_scroll(struct tui_state *s, int key)
{
	WINDOW *w = s->lay.win[W_ATT];
	if (!tui_view_n(s))
		return TUI_NONE;
	if (s->att_mode == TUI_ATT_OVERVIEW) {
		int NH = s->v->NH, L = s->v->L;
		int l = s->rq.layer, h = s->rq.head;
		switch (key) {
		case KEY_UP: l--; break;
		case KEY_DOWN: l++; break;
		case KEY_LEFT: h--; break;
		case KEY_RIGHT: h++; break;
		default: return TUI_NONE;
		}
		s->rq.layer = clamp(l, 0, L - 1);
		s->rq.head = clamp(h, 0, NH - 1);
		s->rq.mean_heads = 0;
		return TUI_RECOMPUTE | TUI_REDRAW;
	}
	if (s->att_mode == TUI_ATT_QUERY) {
		int q = tui_query(s), rows = getmaxy(w) - 1;
		if (key == KEY_UP || key == KEY_DOWN) {
			s->query = clamp(q + (key == KEY_UP ? -1 : 1), 0, s->v->n - 1);
			s->att_follow = 1;
		} else if (key == KEY_PPAGE || key == KEY_NPAGE) {
			s->att_row0 = query_first(s, q, rows) + (key == KEY_PPAGE ? -rows : rows);
			s->att_follow = 0;
		} else if (key == KEY_END) {
			s->query = -1;
			s->att_follow = 1;
		}
		return TUI_REDRAW;
	}
	struct geom g = matrix_geom(s, w);
	return tui_matrix_scroll(s, key, g.row0, g.col0, g.nr, g.nc);
}

static int k_pick(struct tui_state *s, int key)
{
	(void)key;
	if (s->att_mode != TUI_ATT_OVERVIEW)
		return TUI_NONE;
	s->att_mode = TUI_ATT_MATRIX;
	s->rq.need_overview = 0;
	return TUI_RECOMPUTE | TUI_REDRAW;
}

/* The overview's numbers: entropy, then each head detector in turn. */
static int k_score(struct tui_state *s, int key)
{
	(void)key;
	if (s->att_mode != TUI_ATT_OVERVIEW)
		return TUI_NONE;
	s->over_score = (s->over_score + 1) % 4;
	return TUI_REDRAW;
}

static const struct tui_key keys[] = {
	{KEY_UP, "arrows", N_("scroll the matrix (overview: pick a head; query: pick the query)"),
     k_scroll},
	{KEY_DOWN, NULL, NULL, k_scroll},
	{KEY_LEFT, NULL, NULL, k_scroll},
	{KEY_RIGHT, NULL, NULL, k_scroll},
	{KEY_PPAGE, "PgUp/PgDn", N_("scroll a page"), k_scroll},
	{KEY_NPAGE, NULL, NULL, k_scroll},
	{KEY_HOME, "Home", N_("top left of the matrix"), k_scroll},
	{KEY_END, "End", N_("follow the end of the context"), k_scroll},
	{'\n', "Enter", N_("overview: show the picked head"), k_pick},
	{'\r', NULL, NULL, k_pick},
	{KEY_ENTER, NULL, NULL, k_pick},
	{'x', "x",
     N_("ablate the selected head (zero its output; again: restore it): every pane "
        "then shows the ablated model, the candidates their change"),
     tui_k_ablate},
	{'X', "X", N_("restore every ablated head"), tui_k_restore},
	{'c', "c",
     N_("overview: label and colour the heads by mean entropy, previous-token, "
        "duplicate-token or induction score (over the context) in turn"),
     k_score},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_attention = {
	.name = N_("Attention"),
	.about = N_("Where each position (row, the query) looks in the context (column, the key): "
                "one head's softmax weights, each row summing to 100%. The overview shows every "
                "layer x head with its mean entropy in nats: low entropy is a head that looks at "
                "one place, high a head that spreads out. An induction head shows as a stripe "
                "one step right of the diagonal on repeated text: it looks at the token after "
                "the previous occurrence of the current one."),
	.win = W_ATT,
	.draw = draw,
	.click = click,
	.keys = keys,
};
