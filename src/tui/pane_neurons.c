/* The MLP neurons pane (N, in the logit lens's place): at the selected
 * token of the context (the last when none is) and the selected layer,
 * the most active MLP neurons - the activation after the nonlinearity that
 * `lmscope neurons` ranks - with their values as bars; Enter lists the
 * selected neuron's strongest contexts in the corpus of --corpus FILE, from
 * the cache `lmscope neurons --cache` keeps, which r makes on the engine
 * thread when there is none (neuron_view.c). */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "front/i18n.h"
#include "ui.h"

/* The note's lines (separated by newlines), one a row from y. */
static void draw_note(WINDOW *w, int y, int cols, const char *note)
{
	int rows = getmaxy(w);
	while (*note && y < rows) {
		const char *nl = strchr(note, '\n');
		size_t len = nl ? (size_t)(nl - note) : strlen(note);
		ui_text(w, y++, 1, note, len, cols - 2, 0);
		note += len + (nl != NULL);
	}
}

/* The open neuron's corpus contexts, strongest first. */
static void draw_contexts(struct tui_state *s, WINDOW *w, int focused)
{
	const struct tui_view *v = s->v;
	int cols = getmaxx(w), rows = getmaxy(w) - 1, open = s->rq.neuron_open;
	char title[160];
	snprintf(title, sizeof title, _("Neuron L%d.N%d: strongest corpus contexts (Enter: back)"),
	         v->neuron_layer, open);
	ui_title(w, title, focused);
	if (!v->have_nctx || v->nctx_neuron != open || v->nctx_layer != v->neuron_layer) {
		if (v->nctx_note[0] && v->nctx_neuron == open && v->nctx_layer == v->neuron_layer)
			draw_note(w, 1, cols, v->nctx_note);
		else
			ui_printf(w, 1, 1, cols - 2, "%s", _("computing..."));
		return;
	}
	if (!v->nctx_n)
		ui_printf(w, 1, 1, cols - 2, "%s", _("no contexts in the cache"));
	for (int k = 0; k < v->nctx_n && k < rows; k++) {
		ui_printf(w, k + 1, 0, 20, "%9.4f @%-8ld", v->nctx_value[k], v->nctx_offset[k]);
		const char *t = v->nctx_text[k];
		ui_text(w, k + 1, 20, t, strlen(t), cols - 20, 0);
	}
}

static void draw(struct tui_state *s, WINDOW *w)
{
	const struct tui_view *v = s->v;
	int focused = s->focus == P_LENS;
	int cols = getmaxx(w), rows = getmaxy(w) - 1;
	werase(w);
	if (s->recurrent) {
		ui_title(w, _("MLP neurons"), focused);
		ui_printf(w, 1, 1, cols - 2,
		          _("recurrent models have no MLP neurons: N brings the lens back"));
		return;
	}
	if (!tui_view_n(s) || !v->have_neurons) {
		ui_title(w, _("MLP neurons"), focused);
		if (tui_view_n(s))
			ui_printf(w, 1, 1, cols - 2, "%s", _("computing..."));
		return;
	}
	if (s->rq.neuron_open >= 0) {
		draw_contexts(s, w, focused);
		return;
	}
	char title[160], buf[32];
	const char *tok = v->neuron_pos < v->n ? tui_view_token(s, v->neuron_pos, buf, sizeof buf) : "";
	snprintf(title, sizeof title, _("MLP neurons L%d at %.24s (#%d): most active"), v->neuron_layer,
	         tok, v->neuron_pos);
	ui_title(w, title, focused);
	if (s->neuron_sel >= v->neuron_k)
		s->neuron_sel = v->neuron_k - 1;
	if (s->neuron_sel < 0)
		s->neuron_sel = 0;
	double mx = 0.0;
	for (int i = 0; i < v->neuron_k; i++)
		mx = fabs(v->neuron_act[i]) > mx ? fabs(v->neuron_act[i]) : mx;
	int bw = cols - 20;
	for (int i = 0; i < v->neuron_k && i < rows; i++) {
		ui_set(w, i == s->neuron_sel && focused ? UI_SELECT : UI_NORMAL);
		ui_printf(w, i + 1, 0, 18, " N%-6d %+9.4f", v->neuron_id[i], v->neuron_act[i]);
		ui_set(w, UI_NORMAL);
		if (bw > 0 && mx > 0)
			ui_bar(w, i + 1, 19, fabs(v->neuron_act[i]) / mx, bw,
			       v->neuron_act[i] < 0 ? UI_SAL_NEG : UI_PROB_BAR);
	}
}

static int click(struct tui_state *s, enum tui_win win, int y, int x)
{
	(void)win;
	(void)x;
	if (y >= 1 && s->rq.neuron_open < 0)
		s->neuron_sel = y - 1;
	return TUI_REDRAW;
}

static int k_move(struct tui_state *s, int key)
{
	if (s->rq.neuron_open >= 0)
		return TUI_NONE;
	s->neuron_sel += key == KEY_UP     ? -1
	                 : key == KEY_DOWN ? 1
	                 : key == KEY_HOME ? -TUI_NEURON_K
	                                   : TUI_NEURON_K;
	if (s->neuron_sel < 0)
		s->neuron_sel = 0;
	return TUI_REDRAW; /* draw clamps to the last row */
}

/* Left/Right move the selected token of the context (tui_neurons_sync
 * sends it to the engine). */
static int k_token(struct tui_state *s, int key)
{
	int n = tui_view_n(s), q = tui_query(s);
	if (!n)
		return TUI_NONE;
	q += key == KEY_LEFT ? -1 : 1;
	s->query = q < 0 ? 0 : q >= n ? n - 1 : q;
	return TUI_REDRAW;
}

/* Enter lists the selected neuron's corpus contexts (again: the neurons). */
static int k_open(struct tui_state *s, int key)
{
	(void)key;
	const struct tui_view *v = s->v;
	if (s->rq.neuron_open >= 0) {
		s->rq.neuron_open = -1;
		return TUI_RECOMPUTE | TUI_REDRAW;
	}
	if (!tui_view_n(s) || !v->have_neurons || s->neuron_sel >= v->neuron_k)
		return TUI_NONE;
	s->rq.neuron_open = v->neuron_id[s->neuron_sel];
	return TUI_RECOMPUTE | TUI_REDRAW;
}

/* r: the corpus pass of the layer on the engine thread, when the open
 * neuron's layer has no cache (neuron_view.c). */
static int k_pass(struct tui_state *s, int key)
{
	(void)key;
	if (s->rq.neuron_open < 0 || !s->tm->corpus)
		return TUI_NONE;
	s->rq.neuron_pass++;
	return TUI_RECOMPUTE | TUI_REDRAW;
}

static const struct tui_key keys[] = {
	{KEY_UP, "Up/Down", N_("select a neuron"), k_move},
	{KEY_DOWN, NULL, NULL, k_move},
	{KEY_HOME, "Home/End", N_("first / last neuron"), k_move},
	{KEY_END, NULL, NULL, k_move},
	{KEY_LEFT, "Left/Right", N_("the previous / next token of the context"), k_token},
	{KEY_RIGHT, NULL, NULL, k_token},
	{'\n', "Enter", N_("the selected neuron's strongest contexts in the corpus (again: back)"),
     k_open},
	{'\r', NULL, NULL, k_open},
	{KEY_ENTER, NULL, NULL, k_open},
	{'r', "r",
     N_("no cache of the layer yet: make it here, the corpus pass on the engine thread "
        "(typing stops it)"),
     k_pass},
	{0, NULL, NULL, NULL},
};

const struct tui_pane_ops pane_neurons = {
	.name = N_("MLP neurons"),
	.about = N_("At the selected token of the context (the last when none is; click one, or "
                "Left/Right here) and the selected layer ([ and ]), the MLP neurons with the "
                "highest activation - the value after the nonlinearity, as `lmscope neurons` "
                "ranks them - and their values as bars. Enter lists a neuron's strongest contexts "
                "in the corpus the explorer was opened with (--corpus FILE), read from the cache "
                "`lmscope neurons MODEL FILE --layer L --cache` writes (or r here, on the engine "
                "thread)."),
	.win = W_LENS,
	.draw = draw,
	.click = click,
	.keys = keys,
};

int tui_k_neurons(struct tui_state *s, int key)
{
	(void)key;
	if (s->recurrent) {
		snprintf(s->msg, sizeof s->msg, "%s", _("neurons: recurrent models have no MLP neurons"));
		return TUI_REDRAW;
	}
	int on = s->pane[P_LENS] != &pane_neurons;
	s->pane[P_LENS] = on ? &pane_neurons : &pane_lens;
	s->rq.need_neurons = on;
	s->rq.need_dla = 0;
	s->focus = P_LENS;
	return TUI_RECOMPUTE | TUI_REDRAW;
}

int tui_neurons_sync(struct tui_state *s)
{
	if (!s->rq.need_neurons || s->rq.neuron_pos == s->query)
		return 0;
	s->rq.neuron_pos = s->query;
	return 1;
}
