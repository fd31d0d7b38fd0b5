/* The divergence pane (in the logit lens's place, V, with two models side
 * by side): at the cursor position, each layer's KL(A||B) of the two
 * models' logit lens distributions as a bar, the head whose attention
 * differs most in that layer and by how much, and the rank correlation of
 * their saliencies - where a quantized model computes something else than
 * its original (lmscope/divergence.h, as `explain --compare`). Computed on
 * divergence.c's thread. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "front/i18n.h"
#include "divergence.h"

static int first_row(struct tui_state *s, int L, int rows)
{
	int maxr = L > rows ? L - rows : 0;
	return s->div_top < 0 || s->div_top > maxr ? maxr : s->div_top;
}

/* The head of layer l whose attention differs most, or -1 without heads. */
static int worst_head(const struct tui_div_result *r, int l)
{
	int best = -1;
	for (int h = 0; h < r->NH; h++)
		if (best < 0 || r->maxdiff[(size_t)l * r->NH + h] > r->maxdiff[(size_t)l * r->NH + best])
			best = h;
	return best;
}

static void draw_rows(struct tui_state *s, WINDOW *w, const struct tui_div_result *r)
{
	int cols = getmaxx(w), rows = getmaxy(w) - 2; /* the title, and rho at the bottom */
	double scale = 0.0;
	for (int l = 0; l < r->L; l++)
		scale = fmax(scale, r->kl[l]);
	int top = first_row(s, r->L, rows);
	int bw = cols - 8 - 11 - (r->NH ? 14 : 0);
	for (int i = 0; i < rows && top + i < r->L; i++) {
		int l = top + i, y = i + 1;
		ui_printf(w, y, 0, 8, _("layer %d"), l);
		if (bw > 0)
			ui_bar(w, y, 8, scale > 0 ? r->kl[l] / scale : 0.0, bw, UI_PROB_BAR);
		ui_printf(w, y, 8 + (bw > 0 ? bw : 0), 11, " %9.4g", r->kl[l]);
		int h = worst_head(r, l);
		if (h >= 0)
			ui_printf(w, y, cols - 14, 14, "  h%-2d %7.4f", h, r->maxdiff[(size_t)l * r->NH + h]);
	}
	char buf[32];
	const char *t = tui_token_str(s->app->side[0]->tm, r->target, buf, sizeof buf);
	char line[96];
	int y = getmaxy(w) - 1;
	if (isnan(r->rho))
		snprintf(line, sizeof line, "%s", _("saliency rho -  (one position)"));
	else
		snprintf(line, sizeof line, _("saliency rho %+.4f  target "), r->rho);
	int x = ui_text(w, y, 0, line, strlen(line), cols, 0);
	if (!isnan(r->rho) && x < cols)
		ui_text(w, y, x, t, strlen(t), cols - x, 1);
}

static void draw(struct tui_state *s, WINDOW *w)
{
	int busy, cols = getmaxx(w);
	const struct tui_div_result *r = tui_div_shown(&busy);
	const struct tui_state *a = s->app->side[0];
	char title[200], buf[32];
	werase(w);
	if (!r->valid || !tui_view_n(a) || r->pos >= tui_view_n(a)) {
		ui_title(w, _("B vs A: lens KL, worst head"), s->focus == P_LENS);
		ui_printf(w, 1, 1, cols - 2, "%s", r->err[0] ? r->err : _("computing..."));
		return;
	}
	const char *t = tui_view_token(a, r->pos, buf, sizeof buf);
	snprintf(title, sizeof title, _("B vs A at %d \"%s\": lens KL, worst head%s"), r->pos, t,
	         busy ? " ..." : "");
	ui_title(w, title, s->focus == P_LENS);
	draw_rows(s, w, r);
}

static int k_scroll(struct tui_state *s, int key)
{
	int L = s->tm->m->cfg.L, rows = getmaxy(s->lay.win[W_LENS]) - 2;
	int top = first_row(s, L, rows);
	top += key == KEY_UP ? -1 : key == KEY_DOWN ? 1 : key == KEY_HOME ? -L : L;
	s->div_top = top < 0 ? 0 : top;
	return TUI_REDRAW;
}

int tui_k_divergence(struct tui_state *s, int key)
{
	(void)key;
	if (s->pane[P_LENS] == &pane_divergence) {
		s->pane[P_LENS] = &pane_lens;
		return TUI_REDRAW;
	}
	if (!s->app || tui_div_start(s->app)) {
		snprintf(s->msg, sizeof s->msg, "%s",
		         s->app ? lms_errmsg() : _("the divergence view compares two models"));
		return TUI_REDRAW;
	}
	s->pane[P_LENS] = &pane_divergence;
	s->rq.need_dla = 0; /* in case it replaces the DLA pane */
	s->focus = P_LENS;
	return TUI_RECOMPUTE | TUI_REDRAW;
}

static const struct tui_key keys[] = {
	{KEY_UP, "Up/Down", N_("scroll the layers"), k_scroll},
	{KEY_DOWN, NULL, NULL, k_scroll},
	{KEY_HOME, "Home/End", N_("first / last layers"), k_scroll},
	{KEY_END, NULL, NULL, k_scroll},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_divergence = {
	.name = N_("Divergence"),
	.about =
		N_("Two models side by side (the left one A, the right one B), on A's tokens at the "
           "selected token (else the last): for each layer the KL divergence KL(A||B), in nats, "
           "of the two models' logit lens distributions, as a bar; the head whose attention "
           "probabilities differ most in that layer (over the query/key pairs up to the "
           "position) and the difference; at the bottom the Spearman rank correlation of the "
           "two grad_norm saliencies of A's most probable next token. As `lmscope explain A "
           "--compare B --position N`: where quantization changes what a model computes."),
	.win = W_LENS,
	.draw = draw,
	.keys = keys,
};
