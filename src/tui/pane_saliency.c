/* The saliency pane: for every context token, how much it drives the
 * selected target (log p of the target, or target minus contrast), by the
 * selected method. Signed methods show the sign in two colors. */
#include <math.h>
#include <string.h>

#include "front/i18n.h"
#include "teach.h"
#include "ui.h"

/* Short names of the methods the footer compares against. */
static const char *const short_name[TUI_N_METHODS] = {
	[TUI_GRAD_NORM] = "grad", [TUI_GRAD_X_INPUT] = "grad\u00d7x",
	[TUI_IG] = "ig",          [TUI_OCCLUSION] = "occl",
	[TUI_LIME] = "lime",      [TUI_ROLLOUT] = "roll",
};

/* The footer, rows y and y + 1: how far the scores can be trusted (see
 * tui_view.faith_*), the numbers `lmscope explain` prints. */
void pane_saliency_faith(struct tui_state *s, WINDOW *w, int y)
{
	const struct tui_view *v = s->v;
	int cols = getmaxx(w);
	char line[160];
	ui_set(w, UI_DIM);
	if (!v->have_saliency || !v->have_faith) {
		ui_printf(w, y, 0, cols, "%s", _("deletion area: computing..."));
		ui_set(w, UI_NORMAL);
		return;
	}
	char area[120];
	snprintf(area, sizeof area, _("deletion area %.3f, lower = more faithful"), v->faith_area);
	if (ui_text_width(area, strlen(area), 0) > cols)
		/* TRANSLATORS: the faithfulness line shortened for a narrow pane */
		snprintf(area, sizeof area, _("deletion area %.3f"), v->faith_area);
	ui_printf(w, y, 0, cols, "%s", area);
	/* whole methods only, as many as the pane has room for */
	int len = snprintf(line, sizeof line, "rank \u03c1:");
	for (int k = 0; k < TUI_N_METHODS; k++) {
		if (isnan(v->faith_rho[k]))
			continue;
		char one[40];
		int n = snprintf(one, sizeof one, " %s %+.2f", short_name[k], v->faith_rho[k]);
		if (len + n >= (int)sizeof line || ui_text_width(line, len, 0) + n > cols)
			break;
		memcpy(line + len, one, (size_t)n + 1);
		len += n;
	}
	ui_printf(w, y + 1, 0, cols, "%s", line);
	ui_set(w, UI_NORMAL);
}

static int first_row(struct tui_state *s, int n, int rows)
{
	if (s->sal_top < 0 || s->sal_top > n - rows)
		return n > rows ? n - rows : 0; /* follow the end of the context */
	return s->sal_top;
}

/* Titles from the fullest to the shortest: the method, the target and the
 * contrast; then without the method's name, which the status line also
 * shows; then the target alone. */
static void title_at(const struct tui_state *s, char *title, size_t size, int level)
{
	const struct tui_view *v = s->v;
	const char *method = tui_methods[v->method].name;
	char b1[32], b2[32];
	const char *target = tui_token_str(s->tm, v->target, b1, sizeof b1);
	const char *contrast =
		v->contrast >= 0 ? tui_token_str(s->tm, v->contrast, b2, sizeof b2) : NULL;
	if (level == 0 && contrast)
		snprintf(title, size, _("Saliency: %s  for %s vs %s"), method, target, contrast);
	else if (level == 0)
		snprintf(title, size, _("Saliency: %s  for %s"), method, target);
	else if (level == 1 && contrast)
		/* TRANSLATORS: a saliency title shortened for a narrow pane: target vs contrast */
		snprintf(title, size, _("Saliency: %s vs %s"), target, contrast);
	else
		/* TRANSLATORS: a saliency title shortened for a narrow pane: the target alone */
		snprintf(title, size, _("Saliency: %s"), target);
}

/* The title in width columns: the fullest that leaves room for the pin (at
 * least its Δ), whose label takes the columns left (pin.c). */
static const char *title_of(struct tui_state *s, char *title, size_t size, int width)
{
	for (int level = 0; level < 3; level++) {
		title_at(s, title, size, level);
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
	int focused = s->focus == P_SALIENCY;
	int cols = getmaxx(w), rows = getmaxy(w) - 3; /* title, two rows of faithfulness */
	char title[200], b1[32];
	werase(w);
	int n = tui_view_n(s);
	if (!n) {
		ui_title(w, _("Saliency"), focused);
		return;
	}
	if (tui_presenting(s)) {
		tui_present_saliency(s, w);
		return;
	}
	const struct tui_method_info *mi = &tui_methods[v->method];
	ui_title(w, title_of(s, title, sizeof title, cols - 2), focused);
	int y0 = 1;
	if (v->have_saliency && v->sal_note[0]) {
		/* what the method says about its own reliability */
		ui_set(w, UI_DIM);
		ui_printf(w, 1, 0, cols, "(%s)", v->sal_note);
		ui_set(w, UI_NORMAL);
		y0 = 2;
		rows--;
	}
	pane_saliency_faith(s, w, getmaxy(w) - 2);
	if (!v->have_saliency) {
		ui_printf(w, 1, 1, cols - 2, "%s", _("computing..."));
		return;
	}
	float mx = 0.0f;
	for (int j = 0; j < n; j++)
		if (fabsf(v->saliency[j]) > mx)
			mx = fabsf(v->saliency[j]);
	int top = first_row(s, n, rows);
	int tw = cols / 3 < 8 ? 8 : cols / 3 > 16 ? 16 : cols / 3;
	int dw = s->pinned ? 10 : 0; /* Δ saliency against the pin */
	int bw = cols - tw - 12 - dw;
	int q = tui_query(s);
	for (int r = 0; r < rows && top + r < n; r++) {
		int j = top + r, y = r + y0;
		float x = v->saliency[j];
		if (j == q && s->att_mode == TUI_ATT_QUERY)
			ui_set(w, UI_SELECT);
		const char *t = tui_view_token(s, j, b1, sizeof b1);
		ui_text(w, y, 0, t, strlen(t), tw, 1);
		ui_set(w, UI_NORMAL);
		enum ui_role role = mi->is_signed && x < 0 ? UI_SAL_NEG : UI_SAL_POS;
		if (bw > 0)
			ui_bar(w, y, tw + 1, mx > 0 ? fabsf(x) / mx : 0, bw, role);
		ui_set(w, mi->is_signed ? role : UI_NORMAL);
		ui_printf(w, y, cols - 10, 10, mi->is_signed ? "%+9.3g" : "%9.3g", x);
		ui_set(w, UI_NORMAL);
		double d;
		if (dw && tui_pin_dsal(s, j, &d)) {
			ui_set(w, d < 0 ? UI_SAL_NEG : UI_SAL_POS);
			ui_printf(w, y, cols - 10 - dw, dw, "\u0394%+8.2g", d);
			ui_set(w, UI_NORMAL);
		} else if (dw) {
			ui_set(w, UI_DIM);
			ui_printf(w, y, cols - 10 - dw, dw, "%s", _("   new"));
			ui_set(w, UI_NORMAL);
		}
	}
}

static int click(struct tui_state *s, enum tui_win win, int y, int x)
{
	(void)win;
	(void)x;
	int n = tui_view_n(s), rows = getmaxy(s->lay.win[W_SAL]) - 3;
	int y0 = n && s->v->have_saliency && s->v->sal_note[0] ? 2 : 1;
	rows -= y0 - 1;
	int j = first_row(s, n, rows) + y - y0;
	if (y >= y0 && j < n)
		s->query = j;
	return TUI_REDRAW;
}

static int k_scroll(struct tui_state *s, int key)
{
	int n = tui_view_n(s), rows = getmaxy(s->lay.win[W_SAL]) - 3;
	int top = first_row(s, n, rows);
	switch (key) {
	case KEY_UP: top--; break;
	case KEY_DOWN: top++; break;
	case KEY_PPAGE: top -= rows; break;
	case KEY_NPAGE: top += rows; break;
	case KEY_HOME: top = 0; break;
	default: top = n; break;
	}
	s->sal_top = top < 0 ? 0 : top;
	return TUI_REDRAW;
}

static const struct tui_key keys[] = {
	{KEY_UP, "Up/Down", N_("scroll the tokens"), k_scroll},
	{KEY_DOWN, NULL, NULL, k_scroll},
	{KEY_PPAGE, "PgUp/PgDn", N_("scroll a page"), k_scroll},
	{KEY_NPAGE, NULL, NULL, k_scroll},
	{KEY_HOME, "Home/End", N_("first tokens / follow the end"), k_scroll},
	{KEY_END, NULL, NULL, k_scroll},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_saliency = {
	.name = N_("Saliency"),
	.about = N_("How much each context token drives the target's log-probability, by the "
                "selected method: grad_norm (size of the gradient at the token's embedding), "
                "grad_x_input (gradient times embedding, signed), integrated_gradients (the "
                "gradient averaged along a path from a blank input), occlusion (the change when "
                "the token is hidden), lime (a sparse linear fit to random hidings), "
                "attention_rollout (attention multiplied through the layers). The deletion area "
                "hides tokens from most to least salient and measures the area under p(target): "
                "lower means the scores found what the prediction rests on. rank rho is the "
                "Spearman rank agreement with the other methods (1: same order)."),
	.win = W_SAL,
	.draw = draw,
	.click = click,
	.keys = keys,
};
