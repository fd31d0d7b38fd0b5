/* The activation patching pane (H, in the attention pane's place): the
 * corrupted context on its first row (C edits it, prefilled with the
 * context), then the patching heatmap - for each layer (row) and position
 * (column) how much of the clean run's logit difference comes back when
 * that site of the corrupt run takes its clean value, as `lmscope patch`
 * computes it: 100 = all of it, 0 = none. v cycles the site: the residual
 * stream entering the layer, the attention output, the MLP output, or each
 * head (columns are heads). */
#include <stdio.h>
#include <string.h>

#include "front/i18n.h"
#include "ui.h"

static const char *site_name[] = {"resid_pre", "attn_out", "mlp_out", "heads"};
#define N_SITES 4

/* The selected site's (rows, cols) array, or NULL. */
static const double *site(const struct tui_state *s, int *cols)
{
	const struct lms_patch_result *p = &s->v->patch;
	*cols = s->patch_site == 3 ? p->NH : p->T;
	const double *a[N_SITES] = {p->resid_pre, p->attn_out, p->mlp_out, p->heads};
	return a[s->patch_site];
}

#define CW 6 /* cell width */

static void draw(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	int focused = s->focus == P_ATTENTION;
	int cols = getmaxx(w), rows = getmaxy(w);
	char title[200], buf[32], tb[32], cb[32];
	werase(w);
	snprintf(title, sizeof title,
	         _("Patching %s: clean context -> corrupted, %% of the logit "
	           "difference restored (v site, C edit)"),
	         site_name[s->patch_site]);
	ui_title(w, title, focused);
	ui_set(w, s->patch_edit ? UI_SELECT : UI_DIM);
	ui_printf(w, 1, 0, cols, _("corrupted> %s%s"), s->rq.corrupt, s->patch_edit ? "_" : "");
	ui_set(w, UI_NORMAL);
	if (!tui_view_n(s))
		return;
	if (!v->have_patch) {
		ui_printf(w, 2, 0, cols, "%s", v->patch_note[0] ? v->patch_note : _("computing..."));
		return;
	}
	const struct lms_patch_result *p = &v->patch;
	ui_printf(w, 2, 0, cols, _("target %s vs %s: LD clean %.3f, corrupted %.3f"),
	          tui_token_str(s->tm, p->target, tb, sizeof tb),
	          p->contrast >= 0 ? tui_token_str(s->tm, p->contrast, cb, sizeof cb) : _("(none)"),
	          p->ld_clean, p->ld_corrupt);
	int nc;
	const double *a = site(s, &nc);
	if (!a) {
		ui_printf(w, 3, 0, cols, "%s", _("no such site in this model"));
		return;
	}
	int vis_c = (cols - 5) / CW, vis_r = rows - 4;
	if (vis_c < 1 || vis_r < 1)
		return;
	if (s->patch_col0 > nc - vis_c)
		s->patch_col0 = nc - vis_c;
	if (s->patch_col0 < 0)
		s->patch_col0 = 0;
	if (s->patch_row0 > p->L - vis_r)
		s->patch_row0 = p->L - vis_r;
	if (s->patch_row0 < 0)
		s->patch_row0 = 0;
	for (int c = 0; c < vis_c && s->patch_col0 + c < nc; c++) {
		int j = s->patch_col0 + c;
		if (s->patch_site == 3)
			snprintf(buf, sizeof buf, "H%d", j);
		const char *t = s->patch_site == 3 ? buf : tui_view_token(s, j, buf, sizeof buf);
		ui_text(w, 3, 5 + c * CW, t, strlen(t), CW - 1, 1);
	}
	for (int r = 0; r < vis_r && s->patch_row0 + r < p->L; r++) {
		int l = s->patch_row0 + r, y = 4 + r;
		ui_printf(w, y, 0, 5, "L%d", l);
		for (int c = 0; c < vis_c && s->patch_col0 + c < nc; c++) {
			double x = a[(size_t)l * nc + s->patch_col0 + c];
			ui_set(w, ui_div(x));
			if (x == x)
				ui_printf(w, y, 5 + c * CW, CW - 1, "%5.0f", 100 * x);
			else
				ui_printf(w, y, 5 + c * CW, CW - 1, "%5s", "nan");
			ui_set(w, UI_NORMAL);
		}
	}
}

static int k_scroll(struct tui_state *s, int key)
{
	switch (key) {
	case KEY_LEFT: s->patch_col0--; break;
	case KEY_RIGHT: s->patch_col0++; break;
	case KEY_UP: s->patch_row0--; break;
	case KEY_DOWN: s->patch_row0++; break;
	case KEY_HOME: s->patch_col0 = s->patch_row0 = 0; break;
	default: break;
	}
	return TUI_REDRAW; /* draw clamps */
}

static int k_site(struct tui_state *s, int key)
{
	(void)key;
	s->patch_site = (s->patch_site + 1) % N_SITES;
	s->patch_col0 = 0;
	return TUI_REDRAW;
}

/* C: edit the corrupted context (prefilled with the context when empty);
 * every key goes to it until Enter or Esc (tui_patch_edit_key). */
static int k_edit(struct tui_state *s, int key)
{
	(void)key;
	if (!s->rq.corrupt[0]) {
		size_t len = s->rq.len < sizeof s->rq.corrupt - 1 ? s->rq.len : sizeof s->rq.corrupt - 1;
		memcpy(s->rq.corrupt, s->rq.text ? s->rq.text : "", len);
		s->rq.corrupt[len] = '\0';
	}
	s->patch_edit = 1;
	snprintf(s->msg, sizeof s->msg, "%s", _("editing the corrupted context: Enter or Esc ends"));
	return TUI_RECOMPUTE | TUI_REDRAW;
}

int tui_patch_edit_key(struct tui_state *s, int key, int is_func)
{
	size_t len = strlen(s->rq.corrupt);
	if (!is_func && (key == '\n' || key == '\r' || key == TUI_KEY_ESC)) {
		s->patch_edit = 0;
		return TUI_REDRAW;
	}
	if ((is_func && key == KEY_BACKSPACE) || (!is_func && (key == 127 || key == 8))) {
		while (len > 0 && ((unsigned char)s->rq.corrupt[len - 1] & 0xc0) == 0x80)
			len--; /* a UTF-8 continuation byte: the whole character goes */
		if (len > 0)
			len--;
		s->rq.corrupt[len] = '\0';
		return TUI_RECOMPUTE | TUI_REDRAW;
	}
	if (is_func || key < 32)
		return TUI_NONE;
	char u[8];
	int k = (int)wcrtomb(u, (wchar_t)key, &(mbstate_t){0});
	if (k <= 0 || len + (size_t)k >= sizeof s->rq.corrupt)
		return TUI_NONE;
	memcpy(s->rq.corrupt + len, u, (size_t)k);
	s->rq.corrupt[len + (size_t)k] = '\0';
	return TUI_RECOMPUTE | TUI_REDRAW;
}

static const struct tui_key keys[] = {
	{KEY_LEFT, "arrows", N_("scroll the heatmap (positions or heads / layers)"), k_scroll},
	{KEY_RIGHT, NULL, NULL, k_scroll},
	{KEY_UP, NULL, NULL, k_scroll},
	{KEY_DOWN, NULL, NULL, k_scroll},
	{KEY_HOME, "Home", N_("back to the first position and layer"), k_scroll},
	{'v', "v", N_("the patched site: residual stream, attention out, MLP out, heads"), k_site},
	{'C', "C", N_("edit the corrupted context (prefilled with the context; Enter or Esc ends)"),
     k_edit},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_patch = {
	.name = N_("Activation patching"),
	.about = N_("Run the corrupted context; at one layer and position put back the clean run's "
                "value (the residual stream entering the layer, the attention or MLP output, or "
                "one head's output at every position) and see how much of the logit difference "
                "LD = logit[target] - logit[contrast] comes back: (LD patched - LD corrupted) / "
                "(LD clean - LD corrupted), in percent. The target is the clean context's top "
                "token, the contrast the corrupted one's. Both contexts need the same number of "
                "tokens. Where 100 shows, that site carries what the corruption changed."),
	.win = W_ATT,
	.draw = draw,
	.keys = keys,
};

int tui_k_patch(struct tui_state *s, int key)
{
	(void)key;
	if (s->recurrent)
		return TUI_NONE;
	int on = s->pane[P_ATTENTION] != &pane_patch;
	s->pane[P_ATTENTION] = on ? &pane_patch : &pane_attention;
	s->rq.need_patch = on;
	s->focus = P_ATTENTION;
	return TUI_RECOMPUTE | TUI_REDRAW;
}

int tui_interp_settings(struct tui_state *s, const char *ablate, const char *corrupt, int score)
{
	int patch = corrupt[0] && !s->recurrent;
	int changed =
		strcmp(s->rq.ablate, ablate) || strcmp(s->rq.corrupt, corrupt) || patch != s->rq.need_patch;
	snprintf(s->rq.ablate, sizeof s->rq.ablate, "%s", ablate);
	snprintf(s->rq.corrupt, sizeof s->rq.corrupt, "%s", corrupt);
	s->over_score = score;
	s->pane[P_ATTENTION] = patch ? &pane_patch : s->recurrent ? &pane_hidden : &pane_attention;
	s->rq.need_patch = patch;
	return changed;
}
