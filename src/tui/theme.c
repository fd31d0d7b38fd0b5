/* The color theme and presenter mode. Projectors wash out dark screens, so
 * a class gets a high-contrast light theme (ui_colors.c holds both
 * schemes); presenter mode gives the focused pane the whole pane area and
 * lets the candidates and saliency panes draw larger bars and labels. */
#include <math.h>
#include <string.h>

#include "front/i18n.h"
#include "teach.h"

void tui_theme_set(struct tui_app *app, int theme)
{
	app->theme = theme == LESSON_LIGHT ? LESSON_LIGHT : LESSON_DARK;
	ui_colors_light(app->theme == LESSON_LIGHT);
	/* the background of every window follows the theme */
	bkgd(ui_attr(UI_NORMAL));
	for (int i = 0; i < app->n_sides; i++)
		app->flags[i] |= TUI_RELAYOUT | TUI_REDRAW;
}

int tui_presenting(const struct tui_state *s)
{
	return s->app && s->app->present;
}

int tui_present_win(const struct tui_state *s)
{
	if (!tui_presenting(s))
		return -1;
	if (s->focus == P_CONTEXT)
		return W_CAND; /* typing: the predictions are the point */
	return s->pane[s->focus]->win;
}

/* One entry: label (bold) and value on a row, then a bar two rows high. */
static void big_entry(WINDOW *w, int y, const char *rank, const char *label, const char *value,
                      double frac, enum ui_role bar, int selected)
{
	int cols = getmaxx(w);
	if (selected) {
		ui_set(w, UI_SELECT);
		mvwhline(w, y, 0, ' ', cols);
	}
	wattron(w, A_BOLD);
	int x = 2 + ui_text(w, y, 2, rank, strlen(rank), cols / 4, 0);
	ui_text(w, y, x, label, strlen(label), cols / 2, 1);
	int vw = ui_text_width(value, strlen(value), 0);
	ui_text(w, y, cols - vw - 1 > 0 ? cols - vw - 1 : 0, value, strlen(value), cols, 0);
	wattroff(w, A_BOLD);
	ui_set(w, UI_NORMAL);
	for (int r = 1; r <= 2 && y + r < getmaxy(w); r++)
		ui_bar(w, y + r, 2, frac, cols - 4, bar);
}

#define BIG_ROWS 4 /* label, two bar rows, a gap */

void tui_present_candidates(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	char title[160], buf[32], value[64];
	snprintf(title, sizeof title, "%s", _("Next token"));
	ui_title(w, tui_pin_append(s, title, sizeof title, getmaxx(w) - 2), 1);
	int rows = (getmaxy(w) - 1) / BIG_ROWS;
	int top = s->cand_sel >= rows ? s->cand_sel - rows + 1 : 0;
	for (int r = 0; r < rows && top + r < v->k; r++) {
		int i = top + r, id = v->top_id[i];
		double p = tui_cand_prob(s, i), d;
		char rank[16];
		snprintf(rank, sizeof rank, "%2d  ", i + 1);
		const char *label = tui_token_str(s->tm, id, buf, sizeof buf);
		if (tui_pin_dprob(s, id, &d))
			snprintf(value, sizeof value, "%.1f%%  (\u0394 %+.1f)", 100.0 * p, 100.0 * d);
		else
			snprintf(value, sizeof value, "%.1f%%", 100.0 * p);
		big_entry(w, 1 + r * BIG_ROWS, rank, label, value, tui_cand_bar(s, i),
		          id == v->target ? UI_TARGET : UI_PROB_BAR, i == s->cand_sel);
	}
}

void tui_present_saliency(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	const struct tui_method_info *mi = &tui_methods[v->method];
	char title[160], buf[32], value[64];
	snprintf(title, sizeof title, _("Saliency (%s) for %s"), mi->label,
	         tui_token_str(s->tm, v->target, buf, sizeof buf));
	ui_title(w, tui_pin_append(s, title, sizeof title, getmaxx(w) - 2), 1);
	if (!v->have_saliency) {
		ui_printf(w, 1, 2, getmaxx(w) - 2, "%s", _("computing..."));
		return;
	}
	pane_saliency_faith(s, w, getmaxy(w) - 2);
	int n = v->n, rows = (getmaxy(w) - 3) / BIG_ROWS;
	float mx = 0.0f;
	for (int j = 0; j < n; j++)
		if (fabsf(v->saliency[j]) > mx)
			mx = fabsf(v->saliency[j]);
	int first = n > rows ? n - rows : 0; /* the last tokens */
	for (int j = first; j < n; j++) {
		float x = v->saliency[j];
		double d;
		if (tui_pin_dsal(s, j, &d))
			snprintf(value, sizeof value, "%+.3g  (\u0394 %+.3g)", x, d);
		else
			snprintf(value, sizeof value, "%+.3g", x);
		const char *t = tui_token_str(s->tm, v->ids[j], buf, sizeof buf);
		big_entry(w, 1 + (j - first) * BIG_ROWS, "", t, value, mx > 0 ? fabsf(x) / mx : 0,
		          mi->is_signed && x < 0 ? UI_SAL_NEG : UI_SAL_POS, 0);
	}
}
