/* The key bindings: tables of (key, label, help, handler), looked up from
 * the focused pane outwards, and the help overlay generated from them.
 * Handlers change the state's selections and return reaction flags; the
 * main loop (explorer.c) acts on the flags. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "front/i18n.h"
#include "export.h"
#include "teach.h"
#include "ui.h"

/* ---- handlers shared by every pane ---------------------------------------- */

static int k_quit(struct tui_state *s, int key)
{
	(void)s;
	(void)key;
	return TUI_QUIT;
}

/* F1 opens the help at its start; ? in a pane at that pane's section
 * (what the pane shows, then its keys). */
static int k_help(struct tui_state *s, int key)
{
	s->help = 1;
	s->help_top = key == '?' && s->focus != P_CONTEXT ? -1 : 0;
	return TUI_REDRAW;
}

static int k_next_pane(struct tui_state *s, int key)
{
	int d = key == KEY_BTAB ? P_N - 1 : 1;
	s->focus = (enum tui_pane)((s->focus + d) % P_N);
	return TUI_REDRAW;
}

static int k_typing(struct tui_state *s, int key)
{
	(void)key;
	s->focus = P_CONTEXT;
	return TUI_REDRAW;
}

static int k_method(struct tui_state *s, int key)
{
	(void)key;
	s->rq.method = tui_method_next(s->rq.method, s->tm->m->cfg.arch);
	snprintf(s->msg, sizeof s->msg, _("saliency: %s"), tui_methods[s->rq.method].label);
	return TUI_RECOMPUTE;
}

static int k_export(struct tui_state *s, int key)
{
	(void)key;
	char path[64];
	s->export_n = tui_export_next(s->export_n);
	snprintf(path, sizeof path, "lmscope-export-%d.txt", s->export_n);
	char msg[200];
	if (!tui_export_text(path, msg, sizeof msg)) {
		snprintf(s->msg, sizeof s->msg, "%s", msg);
		return TUI_REDRAW;
	}
	/* the same figure twice: SVG for print, PNG for slides (in presenter
	 * mode the enlarged pane's part only) */
	static const char *const fig[] = {"lmscope-export-%d.svg", "lmscope-export-%d.png"};
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, fig[i], s->export_n);
		if (!tui_export_figure(s->tm, s->v, tui_export_parts(s), path, msg, sizeof msg)) {
			snprintf(s->msg, sizeof s->msg, "%s", msg);
			return TUI_REDRAW;
		}
	}
	snprintf(s->rq.export_path, sizeof s->rq.export_path, "lmscope-export-%d.json", s->export_n);
	s->rq.export_json = s->export_n;
	snprintf(s->msg, sizeof s->msg, _("wrote lmscope-export-%d.txt, .svg and .png; .json follows"),
	         s->export_n);
	return TUI_RECOMPUTE;
}

static int n_layers(const struct tui_state *s)
{
	return s->tm->m->cfg.L;
}

static int k_layer(struct tui_state *s, int key)
{
	int l = s->rq.layer + (key == ']' ? 1 : -1);
	if (l < 0 || l >= n_layers(s))
		return TUI_NONE;
	s->rq.layer = l;
	return TUI_RECOMPUTE;
}

/* Heads are walked layer by layer: past the last head comes the next
 * layer's first. Recurrent models step through hidden state and gates. */
static int k_head(struct tui_state *s, int key)
{
	int d = key == '.' || key == '>' ? 1 : -1;
	if (s->recurrent) {
		int parts = 1 + (s->v && s->v->valid ? s->v->G + s->v->has_cell : 0);
		s->rq.part = (s->rq.part + d + parts) % parts;
		return TUI_RECOMPUTE;
	}
	int NH = s->tm->m->cfg.NH;
	int i = s->rq.layer * NH + s->rq.head + d;
	if (i < 0 || i >= n_layers(s) * NH)
		return TUI_NONE;
	s->rq.layer = i / NH;
	s->rq.head = i % NH;
	s->rq.mean_heads = 0;
	return TUI_RECOMPUTE;
}

static int k_mean(struct tui_state *s, int key)
{
	(void)key;
	if (s->recurrent)
		return TUI_NONE;
	s->rq.mean_heads = !s->rq.mean_heads;
	return TUI_RECOMPUTE;
}

static int set_mode(struct tui_state *s, int mode)
{
	s->att_mode = s->att_mode == mode ? TUI_ATT_MATRIX : mode;
	s->rq.need_overview = s->att_mode == TUI_ATT_OVERVIEW;
	return TUI_RECOMPUTE | TUI_REDRAW;
}

static int k_overview(struct tui_state *s, int key)
{
	(void)key;
	if (s->recurrent)
		return TUI_NONE;
	s->focus = P_ATTENTION;
	return set_mode(s, TUI_ATT_OVERVIEW);
}

static int k_query(struct tui_state *s, int key)
{
	(void)key;
	if (s->recurrent)
		return TUI_NONE;
	return set_mode(s, TUI_ATT_QUERY);
}

static int k_append(struct tui_state *s, int key)
{
	(void)key;
	if (!tui_view_n(s))
		return TUI_NONE;
	return tui_append_token(s, s->v->target);
}

static int k_sample(struct tui_state *s, int key)
{
	(void)key;
	const struct tui_view *v = s->v;
	if (!tui_view_n(s))
		return TUI_NONE;
	/* p_i proportional to exp(log p_i / temperature), over the whole vocabulary */
	double inv = 1.0 / s->temperature, mx = v->top_lp[0] * inv, sum = 0.0;
	for (int i = 0; i < v->V; i++)
		sum += exp(v->logprob[i] * inv - mx);
	double u = lms_rng_uniform(&s->rng) * sum;
	int pick = v->V - 1;
	for (int i = 0; i < v->V; i++) {
		u -= exp(v->logprob[i] * inv - mx);
		if (u <= 0.0) {
			pick = i;
			break;
		}
	}
	return tui_append_token(s, pick);
}

static int k_temperature(struct tui_state *s, int key)
{
	float t = s->temperature * (key == 'T' ? 1.25f : 0.8f);
	s->temperature = t < 0.05f ? 0.05f : t > 5.0f ? 5.0f : t;
	snprintf(s->msg, sizeof s->msg, _("temperature %.2f: the candidates and sampling"),
	         s->temperature);
	return TUI_REDRAW;
}

static const struct tui_key global_keys[] = {
	{KEY_F(1), "F1", N_("this help"), k_help},
	{TUI_CTRL('c'), "Ctrl-C", N_("quit"), k_quit},
	{'\t', "Tab / Shift-Tab", N_("next / previous pane"), k_next_pane},
	{KEY_BTAB, NULL, NULL, k_next_pane},
	{TUI_KEY_ESC, "Esc", N_("back to typing the context"), k_typing},
	{KEY_F(2), "F2", N_("switch the saliency method"), k_method},
	{KEY_F(3), "F3", N_("overview of all layers x heads"), k_overview},
	{KEY_F(4), "F4", N_("append the target token to the context"), k_append},
	{KEY_F(5), "F5", N_("export the views (text as seen, SVG and PNG figure, JSON)"), k_export},
	{0, NULL, NULL, NULL},
};

static const struct tui_key command_keys[] = {
	{'q', "q", N_("quit"), k_quit},
	{'?', "?", N_("this help, at the focused pane's explanation"), k_help},
	{'i', "i", N_("back to typing the context"), k_typing},
	{'a', "a", N_("append the target token to the context"), k_append},
	{'s', "s", N_("sample a token (with the temperature) and append it"), k_sample},
	{'t', "t / T", N_("lower / raise the temperature (the candidates shown and sampling)"),
     k_temperature},
	{'T', NULL, NULL, k_temperature},
	{'m', "m", N_("switch the saliency method"), k_method},
	{'[', "[ / ]", N_("previous / next layer"), k_layer},
	{']', NULL, NULL, k_layer},
	{',', ", / .", N_("previous / next head (recurrent: hidden state / gates)"), k_head},
	{'.', NULL, NULL, k_head},
	{'<', NULL, NULL, k_head},
	{'>', NULL, NULL, k_head},
	{'M', "M", N_("mean over the layer's heads"), k_mean},
	{'o', "o", N_("overview of all layers x heads"), k_overview},
	{'w', "w", N_("query mode: one token's attention as bars"), k_query},
	{'D', "D", N_("direct logit attribution in the lens's place (again: the lens)"), tui_k_dla},
	{'N', "N",
     N_("the MLP neurons most active at the selected token in the lens's place "
        "(again: the lens)"),
     tui_k_neurons},
	{'K', "K",
     N_("the change strip in the saliency's place: how far each token moved the "
        "prediction (again: the saliency)"),
     tui_k_change},
	{'H', "H",
     N_("activation patching in the attention's place: the corrupted context and "
        "the heatmap (again: the attention)"),
     tui_k_patch},
	{'V', "V",
     N_("two models: where B computes something else than A (KL per layer, attention, "
        "saliency) in the lens's place (again: the lens)"),
     tui_k_divergence},
	{'e', "e", N_("export the views (text as seen, SVG and PNG figure, JSON)"), k_export},
	{'{', "{ / }", N_("previous / next training snapshot: its model, same context"),
     tui_k_timeline},
	{'}', NULL, NULL, tui_k_timeline},
	{0, NULL, NULL, NULL},
};

int tui_keys_dispatch(struct tui_state *s, int key, int is_func)
{
	int f = tui_pane_key(s, s->pane[s->focus], key, is_func);
	if (!(f & TUI_UNHANDLED))
		return f;
	const struct tui_key *k = NULL;
	if (s->focus != P_CONTEXT)
		k = tui_key_lookup(command_keys, key, is_func);
	if (!k)
		k = tui_key_lookup(global_keys, key, is_func);
	return k ? k->fn(s, key) : TUI_UNHANDLED;
}

/* ---- the help overlay ----------------------------------------------------- */

struct section {
	const char *title;
	const char *about; /* a paragraph before the keys, or NULL */
	const struct tui_key *keys;
};

static int help_lines(const struct tui_state *s, struct section *sec)
{
	int k = 0;
	sec[k++] = (struct section){_("Everywhere"), NULL, global_keys};
	sec[k++] = (struct section){_("Outside the context line"), NULL, command_keys};
	for (int p = 0; p < P_N; p++)
		sec[k++] =
			(struct section){_(s->pane[p]->name), front_tr(s->pane[p]->about), s->pane[p]->keys};
	sec[k++] = (struct section){_("Teaching (everywhere)"), NULL, tui_teach_global_keys};
	sec[k++] =
		(struct section){_("Teaching (outside the context line)"), NULL, tui_teach_command_keys};
	if (s->app && s->app->player)
		sec[k++] = (struct section){_("Lesson"), NULL, tui_lesson_keys};
	return k;
}

/* Draws (when y is inside the window) or only counts the wrapped lines of
 * text at column x, width maxw, from row *y on. */
static void wrapped(WINDOW *win, int *y, int h, int x, int maxw, const char *text)
{
	size_t len = strlen(text);
	while (len > 0) {
		size_t k = ui_wrap_at(text, len, maxw);
		if (*y >= 1 && *y < h - 1)
			ui_text(win, *y, x, text, k, maxw, 0);
		(*y)++;
		text += k;
		len -= k;
		while (len > 0 && *text == ' ')
			text++, len--;
	}
}

/* Lays out every section from row y (rows outside 1..h-2 are not drawn);
 * returns the row after the last. *focus_row gets the first row of the
 * focused pane's section. */
static int help_layout(struct tui_state *s, WINDOW *win, int h, int w, int y, int *focus_row)
{
	struct section sec[12];
	int ns = help_lines(s, sec);
	for (int i = 0; i < ns; i++) {
		if (sec[i].keys == s->pane[s->focus]->keys)
			*focus_row = y;
		wattrset(win, ui_attr(UI_HELP_KEY) | A_UNDERLINE);
		wrapped(win, &y, h, 2, w - 4, sec[i].title);
		wattrset(win, ui_attr(UI_HELP));
		if (sec[i].about)
			wrapped(win, &y, h, 4, w - 6, sec[i].about);
		for (const struct tui_key *k = sec[i].keys; k->key; k++) {
			if (!k->label)
				continue;
			if (y >= 1 && y < h - 1) {
				wattrset(win, ui_attr(UI_HELP_KEY));
				ui_printf(win, y, 4, 18, "%s", k->label);
			}
			wattrset(win, ui_attr(UI_HELP));
			wrapped(win, &y, h, 23, w - 25, _(k->help));
		}
		y++;
	}
	wattrset(win, ui_attr(UI_HELP));
	wrapped(win, &y, h, 2, w - 4, _("Mouse: click a token, candidate, head or pane to select it."));
	return y;
}

void tui_help_draw(struct tui_state *s)
{
	int h = LINES - 2, w = COLS - 8 < 78 ? COLS - 8 : 78;
	WINDOW *win = newwin(h, w, 1, (COLS - w) / 2);
	if (!win)
		return;
	wbkgd(win, ui_attr(UI_HELP));
	/* measure first: the top row is clamped so that the end stays in view */
	int focus_row = 1;
	int total = help_layout(s, win, 0, w, 1, &focus_row) - 1, page = h - 2;
	if (s->help_top < 0) /* opened from a pane: its section first */
		s->help_top = focus_row - 1;
	int maxtop = total > page ? total - page : 0;
	s->help_top = s->help_top > maxtop ? maxtop : s->help_top < 0 ? 0 : s->help_top;
	s->help_max = maxtop;
	werase(win);
	help_layout(s, win, h, w, 1 - s->help_top, &focus_row);
	box(win, 0, 0);
	ui_printf(win, 0, 2, w - 4, "%s", _(" lmscope help (Up/Down scroll, any other key closes) "));
	if (s->help_top < maxtop)
		ui_printf(win, h - 1, w - 12, 10, "%s", _(" more... "));
	wnoutrefresh(win);
	delwin(win);
}

int tui_help_key(struct tui_state *s, int key)
{
	if (key == KEY_DOWN || key == KEY_NPAGE) {
		s->help_top += key == KEY_DOWN ? 1 : LINES / 2;
		if (s->help_top > s->help_max)
			s->help_top = s->help_max;
		return TUI_REDRAW;
	}
	if (key == KEY_UP || key == KEY_PPAGE) {
		s->help_top -= key == KEY_UP ? 1 : LINES / 2;
		if (s->help_top < 0)
			s->help_top = 0;
		return TUI_REDRAW;
	}
	s->help = 0;
	return TUI_REDRAW;
}
