/* The key bindings: tables of (key, label, help, handler), looked up from
 * the focused pane outwards, and the help overlay generated from them.
 * Handlers change the state's selections and return reaction flags; the
 * main loop (explorer.c) acts on the flags. */
#include <math.h>
#include <stdio.h>
#include <string.h>

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

static int k_help(struct tui_state *s, int key)
{
	(void)key;
	s->help = 1;
	s->help_top = 0;
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
	snprintf(s->msg, sizeof s->msg, "saliency: %s", tui_methods[s->rq.method].label);
	return TUI_RECOMPUTE;
}

static int k_export(struct tui_state *s, int key)
{
	(void)key;
	char path[64];
	s->export_n++;
	snprintf(path, sizeof path, "lmscope-export-%d.txt", s->export_n);
	char msg[200];
	if (!tui_export_text(path, msg, sizeof msg)) {
		snprintf(s->msg, sizeof s->msg, "%s", msg);
		return TUI_REDRAW;
	}
	snprintf(path, sizeof path, "lmscope-export-%d.svg", s->export_n);
	if (!tui_export_figure(s->tm, s->v, path, msg, sizeof msg)) {
		snprintf(s->msg, sizeof s->msg, "%s", msg);
		return TUI_REDRAW;
	}
	snprintf(s->rq.export_path, sizeof s->rq.export_path, "lmscope-export-%d.json", s->export_n);
	s->rq.export_json = s->export_n;
	snprintf(s->msg, sizeof s->msg, "wrote lmscope-export-%d.txt and .svg; .json follows",
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
		int parts = 1 + (s->v && s->v->valid ? s->v->G : 0);
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
	snprintf(s->msg, sizeof s->msg, "sampling temperature %.2f", s->temperature);
	return TUI_REDRAW;
}

static const struct tui_key global_keys[] = {
	{KEY_F(1), "F1", "this help", k_help},
	{TUI_CTRL('c'), "Ctrl-C", "quit", k_quit},
	{'\t', "Tab / Shift-Tab", "next / previous pane", k_next_pane},
	{KEY_BTAB, NULL, NULL, k_next_pane},
	{TUI_KEY_ESC, "Esc", "back to typing the context", k_typing},
	{KEY_F(2), "F2", "switch the saliency method", k_method},
	{KEY_F(3), "F3", "overview of all layers x heads", k_overview},
	{KEY_F(4), "F4", "append the target token to the context", k_append},
	{KEY_F(5), "F5", "export the views (text as seen, SVG figure, JSON)", k_export},
	{0, NULL, NULL, NULL},
};

static const struct tui_key command_keys[] = {
	{'q', "q", "quit", k_quit},
	{'?', "?", "this help", k_help},
	{'i', "i", "back to typing the context", k_typing},
	{'a', "a", "append the target token to the context", k_append},
	{'s', "s", "sample a token (with the temperature) and append it", k_sample},
	{'t', "t / T", "lower / raise the sampling temperature", k_temperature},
	{'T', NULL, NULL, k_temperature},
	{'m', "m", "switch the saliency method", k_method},
	{'[', "[ / ]", "previous / next layer", k_layer},
	{']', NULL, NULL, k_layer},
	{',', ", / .", "previous / next head (recurrent: hidden state / gates)", k_head},
	{'.', NULL, NULL, k_head},
	{'<', NULL, NULL, k_head},
	{'>', NULL, NULL, k_head},
	{'M', "M", "mean over the layer's heads", k_mean},
	{'o', "o", "overview of all layers x heads", k_overview},
	{'w', "w", "query mode: one token's attention as bars", k_query},
	{'e', "e", "export the views (text as seen, SVG figure, JSON)", k_export},
	{0, NULL, NULL, NULL},
};

static const struct tui_key *pane_table(const struct tui_state *s, enum tui_pane p)
{
	switch (p) {
	case P_CONTEXT: return pane_context_keys;
	case P_CANDIDATES: return pane_candidates_keys;
	case P_SALIENCY: return pane_saliency_keys;
	case P_ATTENTION: return s->recurrent ? pane_hidden_keys : pane_attention_keys;
	case P_LENS: return pane_lens_keys;
	default: return NULL;
	}
}

static const struct tui_key *lookup(const struct tui_key *t, int key, int is_func)
{
	for (; t && t->key; t++) {
		int func_entry = t->key >= KEY_MIN;
		if (t->key == key && func_entry == is_func)
			return t;
	}
	return NULL;
}

int tui_keys_dispatch(struct tui_state *s, int key, int is_func)
{
	const struct tui_key *k = lookup(pane_table(s, s->focus), key, is_func);
	if (!k && s->focus != P_CONTEXT)
		k = lookup(command_keys, key, is_func);
	if (!k)
		k = lookup(global_keys, key, is_func);
	return k ? k->fn(s, key) : TUI_UNHANDLED;
}

/* ---- the help overlay ----------------------------------------------------- */

struct section {
	const char *title;
	const struct tui_key *keys;
};

static int help_lines(const struct tui_state *s, struct section *sec)
{
	int k = 0;
	sec[k++] = (struct section){"Everywhere", global_keys};
	sec[k++] = (struct section){"Outside the context line", command_keys};
	sec[k++] = (struct section){"Context line", pane_context_keys};
	sec[k++] = (struct section){"Next-token candidates", pane_candidates_keys};
	sec[k++] = (struct section){"Saliency", pane_saliency_keys};
	if (s->recurrent)
		sec[k++] = (struct section){"Recurrent activations", pane_hidden_keys};
	else
		sec[k++] = (struct section){"Attention", pane_attention_keys};
	sec[k++] = (struct section){"Logit lens", pane_lens_keys};
	sec[k++] = (struct section){"Teaching (everywhere)", tui_teach_global_keys};
	sec[k++] = (struct section){"Teaching (outside the context line)", tui_teach_command_keys};
	if (s->app && s->app->player)
		sec[k++] = (struct section){"Lesson", tui_lesson_keys};
	return k;
}

void tui_help_draw(struct tui_state *s)
{
	int h = LINES - 2, w = COLS - 8 < 78 ? COLS - 8 : 78;
	WINDOW *win = newwin(h, w, 1, (COLS - w) / 2);
	if (!win)
		return;
	wbkgd(win, ui_attr(UI_HELP));
	werase(win);
	struct section sec[12];
	int ns = help_lines(s, sec);
	/* lay out all lines, then show the window's worth from help_top */
	int y = 1 - s->help_top, total = 0;
	for (int i = 0; i < ns; i++) {
		if (y >= 1 && y < h - 1) {
			wattrset(win, ui_attr(UI_HELP_KEY) | A_UNDERLINE);
			ui_printf(win, y, 2, w - 4, "%s", sec[i].title);
		}
		y++, total++;
		for (const struct tui_key *k = sec[i].keys; k->key; k++) {
			if (!k->label)
				continue;
			if (y >= 1 && y < h - 1) {
				wattrset(win, ui_attr(UI_HELP_KEY));
				ui_printf(win, y, 4, 18, "%s", k->label);
				wattrset(win, ui_attr(UI_HELP));
				ui_printf(win, y, 23, w - 25, "%s", k->help);
			}
			y++, total++;
		}
		y++, total++;
	}
	wattrset(win, ui_attr(UI_HELP));
	const char *ext = "Mouse: click a token, candidate, head or pane to select it.";
	if (y >= 1 && y < h - 1)
		ui_printf(win, y, 2, w - 4, "%s", ext);
	total++;
	box(win, 0, 0);
	ui_printf(win, 0, 2, w - 4, " lmscope help (Up/Down scroll, any other key closes) ");
	if (s->help_top + h - 2 < total)
		ui_printf(win, h - 1, w - 12, 10, " more... ");
	wnoutrefresh(win);
	delwin(win);
}

int tui_help_key(struct tui_state *s, int key)
{
	if (key == KEY_DOWN || key == KEY_NPAGE) {
		s->help_top += key == KEY_DOWN ? 1 : LINES / 2;
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
