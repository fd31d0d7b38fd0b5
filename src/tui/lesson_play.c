/* Playing a lesson: the presenter steps with Space / Right and goes back
 * with Left. What the explorer shows at step k is a function of steps 0..k
 * alone (the "fold"): every setting is the latest one named up to k, a
 * selected candidate the latest named since the context last changed, the
 * context what `context` and `type` lines made of it. Stepping forward
 * types the new context out at the lesson's speed, so the class watches
 * the predictions change word by word; stepping back sets it at once.
 *
 * A step runs in phases: type the context, wait for every side's engine to
 * answer it, select candidates (they exist only then), wait again, pin
 * when the step pins. Jumping back to a step whose pin was made earlier
 * first replays the pinning step at once.
 *
 * Under the caption, each `expect` claim of the step shows with a check
 * mark or a cross and what was measured, on the lesson's first model as
 * `lesson --check` measures it (lesson_live.c, off the input thread). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/i18n.h"
#include "lesson_expect.h"
#include "lmscope/clock.h"
#include "session.h"
#include "teach.h"

enum phase { PH_IDLE, PH_TYPE, PH_WAIT, PH_WAIT_SELECT };

/* The settings of the explorer after a step. */
struct fold {
	char *context;
	int focus, method, layer, head, mean, view, query, present, theme;
	const char *target, *contrast; /* NULL: the explorer's own choice */
	const char *ablate, *corrupt;  /* "" none */
	int score;
	int candidate; /* 0: none */
	int pin_step;  /* step whose results are pinned, -1 none */
};

struct stage {
	int step;
	int animate;   /* type the context out */
	int pin_after; /* pin once the results are in */
};

struct tui_player {
	struct lesson ls;
	int cur; /* step shown (or being reached) */
	int default_theme;
	struct stage stages[2];
	int n_stages, stage;
	enum phase phase;
	struct fold f;         /* of the stage being played */
	size_t typed;          /* bytes of f.context in the line */
	double t0;             /* when typing started (ms) */
	size_t typed0;         /* bytes already there then */
	int said_end;          /* "the end of the lesson (q quits)" is showing */
	struct tui_live *live; /* measures the claims; NULL: no claims, or no thread */
	unsigned live_gen;     /* its results drawn so far */
};

static void fold_free(struct fold *f)
{
	free(f->context);
	memset(f, 0, sizeof *f);
}

static int pick(int v, int old)
{
	return v == LESSON_UNSET ? old : v;
}

/* The settings after step k. 0 on allocation failure. */
static int fold_at(const struct tui_player *p, int k, struct fold *f)
{
	memset(f, 0, sizeof *f);
	f->focus = LESSON_CONTEXT;
	f->query = -1;
	f->theme = p->ls.theme != LESSON_UNSET ? p->ls.theme : p->default_theme;
	f->pin_step = -1;
	f->ablate = f->corrupt = "";
	size_t len = 0;
	for (int i = 0; i <= k; i++)
		len += (p->ls.steps[i].context ? strlen(p->ls.steps[i].context) : 0) +
		       (p->ls.steps[i].type ? strlen(p->ls.steps[i].type) : 0);
	f->context = malloc(len + 1);
	if (!f->context)
		return 0;
	f->context[0] = '\0';
	for (int i = 0; i <= k; i++) {
		const struct lesson_step *st = &p->ls.steps[i];
		if (st->context || st->type) {
			if (st->context)
				strcpy(f->context, st->context);
			if (st->type)
				strcat(f->context, st->type);
			f->target = f->contrast = NULL;
			f->candidate = 0;
		}
		f->focus = pick(st->focus, f->focus);
		f->method = pick(st->method, f->method);
		if (st->layer != LESSON_UNSET) {
			f->layer = st->layer;
			f->head = st->head != LESSON_UNSET ? st->head : 0;
		}
		f->mean = pick(st->mean, f->mean);
		f->view = pick(st->view, f->view);
		f->query = pick(st->query, f->query);
		f->present = pick(st->present, f->present);
		f->theme = pick(st->theme, f->theme);
		if (st->candidate != LESSON_UNSET)
			f->candidate = st->candidate, f->target = NULL;
		if (st->target)
			f->target = st->target, f->candidate = 0;
		if (st->contrast)
			f->contrast = st->contrast[0] ? st->contrast : NULL;
		if (st->pin != LESSON_UNSET)
			f->pin_step = st->pin ? i : -1;
		if (st->ablate)
			f->ablate = st->ablate;
		if (st->corrupt)
			f->corrupt = st->corrupt;
		f->score = pick(st->score, f->score);
	}
	return 1;
}

/* ---- applying a fold to the sides --------------------------------------------- */

static int ready(const struct tui_state *s)
{
	return s->v && s->v->seq == s->rq.seq && s->v->complete;
}

static int all_ready(const struct tui_app *app)
{
	for (int i = 0; i < app->n_sides; i++)
		if (!ready(app->side[i]))
			return 0;
	return 1;
}

static int method_applies(int m, enum lms_arch arch)
{
	return tui_method_next((m + TUI_N_METHODS - 1) % TUI_N_METHODS, arch) == m;
}

/* Settings that need no results: panes, method, head, view. The theme is
 * the presenter's (F6) unless the step itself names one. */
static void apply_settings(struct tui_app *app, const struct fold *f, int theme)
{
	if (theme != LESSON_UNSET && theme != app->theme)
		tui_theme_set(app, theme);
	if (f->present != app->present) {
		app->present = f->present;
		for (int i = 0; i < app->n_sides; i++)
			app->flags[i] |= TUI_RELAYOUT;
	}
	for (int i = 0; i < app->n_sides; i++) {
		struct tui_state *s = app->side[i];
		const struct lms_config *c = &s->tm->m->cfg;
		enum tui_pane focus = (enum tui_pane)f->focus;
		if (focus != s->focus && app->present)
			app->flags[i] |= TUI_RELAYOUT;
		s->focus = focus;
		int m = method_applies(f->method, c->arch) ? f->method : TUI_GRAD_NORM;
		int layer = f->layer < c->L ? f->layer : c->L - 1;
		int head = s->recurrent || f->head >= c->NH ? 0 : f->head;
		int mode = s->recurrent ? TUI_ATT_MATRIX : f->view;
		if (m != s->rq.method || layer != s->rq.layer || head != s->rq.head ||
		    f->mean != s->rq.mean_heads || mode != s->att_mode) {
			s->rq.method = m;
			s->rq.layer = layer;
			s->rq.head = head;
			s->rq.mean_heads = s->recurrent ? 0 : f->mean;
			s->att_mode = mode;
			s->rq.need_overview = mode == TUI_ATT_OVERVIEW;
			app->flags[i] |= TUI_RECOMPUTE;
		}
		if (tui_interp_settings(s, f->ablate, f->corrupt, f->score))
			app->flags[i] |= TUI_RECOMPUTE;
		app->flags[i] |= TUI_REDRAW;
	}
}

static void set_text(struct tui_app *app, const char *text, size_t len)
{
	for (int i = 0; i < app->n_sides; i++) {
		struct tui_state *s = app->side[i];
		if (s->rq.len == len && !memcmp(s->rq.text, text, len))
			continue;
		tui_line_set_utf8(&s->line, text, len);
		s->line.cur = s->line.len;
		app->flags[i] |= TUI_EDIT;
	}
}

/* The candidate whose token reads tok: exactly, else with blanks trimmed. */
static int find_candidate(const struct tui_state *s, const char *tok)
{
	const struct tui_view *v = s->v;
	char buf[32];
	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < v->k; i++) {
			const char *t = tui_token_str(s->tm, v->top_id[i], buf, sizeof buf);
			if (pass == 0 && !strcmp(t, tok))
				return i;
			if (pass == 1) {
				while (*t == ' ')
					t++;
				size_t n = strlen(t);
				while (n && t[n - 1] == ' ')
					n--;
				if (n == strlen(tok) && !memcmp(t, tok, n))
					return i;
			}
		}
	return -1;
}

/* Selections that need the results: candidate, contrast, query token. */
static void apply_selection(struct tui_app *app, const struct fold *f)
{
	for (int i = 0; i < app->n_sides; i++) {
		struct tui_state *s = app->side[i];
		if (!tui_view_n(s))
			continue;
		int sel = -1, con = -1;
		if (f->candidate > 0)
			sel = f->candidate <= s->v->k ? f->candidate - 1 : s->v->k - 1;
		if (f->target && (sel = find_candidate(s, f->target)) < 0)
			snprintf(s->msg, sizeof s->msg, _("lesson: '%s' is not among the candidates"),
			         f->target);
		if (f->contrast && (con = find_candidate(s, f->contrast)) < 0)
			snprintf(s->msg, sizeof s->msg, _("lesson: '%s' is not among the candidates"),
			         f->contrast);
		int target = sel >= 0 ? s->v->top_id[sel] : -1;
		int contrast = con >= 0 ? s->v->top_id[con] : -1;
		if (contrast >= 0 && target < 0)
			target = s->v->target; /* why the top candidate rather than it */
		if (target == contrast)
			contrast = -1;
		if (target != s->rq.target || contrast != s->rq.contrast) {
			s->rq.target = target;
			s->rq.contrast = contrast;
			if (sel >= 0)
				s->cand_sel = sel;
			app->flags[i] |= TUI_RECOMPUTE;
		}
		s->query = f->query > 0 ? f->query - 1 : -1;
		app->flags[i] |= TUI_REDRAW;
	}
}

/* ---- stages and phases ------------------------------------------------------------ */

static void begin_stage(struct tui_app *app, double now)
{
	struct tui_player *p = app->player;
	const struct stage *sg = &p->stages[p->stage];
	fold_free(&p->f);
	if (!fold_at(p, sg->step, &p->f)) {
		snprintf(app->side[app->active]->msg, sizeof app->side[0]->msg, "%s", _("out of memory"));
		p->phase = PH_IDLE;
		return;
	}
	int theme = p->ls.steps[sg->step].theme;
	if (sg->step == 0 && theme == LESSON_UNSET)
		theme = p->f.theme; /* the lesson's header */
	apply_settings(app, &p->f, theme);
	const struct tui_state *s0 = app->side[0];
	size_t len = strlen(p->f.context);
	if (!sg->animate) {
		set_text(app, p->f.context, len);
		p->typed = len;
		p->phase = PH_WAIT;
		return;
	}
	/* type out what is new: after the current text when it is a prefix */
	if (s0->rq.len <= len && !memcmp(s0->rq.text, p->f.context, s0->rq.len))
		p->typed = s0->rq.len;
	else {
		p->typed = 0;
		set_text(app, "", 0);
	}
	p->typed0 = p->typed;
	p->t0 = now;
	p->phase = p->typed < len ? PH_TYPE : PH_WAIT;
}

/* Plays step k: typed out when animate, else at once. */
static void start_step(struct tui_app *app, int k, int animate, double now)
{
	struct tui_player *p = app->player;
	p->cur = k;
	p->said_end = 0;
	p->n_stages = p->stage = 0;
	struct fold f;
	if (!fold_at(p, k, &f))
		return;
	int pin = f.pin_step;
	fold_free(&f);
	for (int i = 0; i < app->n_sides; i++)
		if (app->side[i]->pinned && pin < 0)
			tui_pin_toggle(app->side[i], 0);
	if (pin >= 0 && pin < k && !(animate && app->side[0]->pinned))
		p->stages[p->n_stages++] = (struct stage){pin, 0, 1};
	p->stages[p->n_stages++] = (struct stage){k, animate, pin == k};
	for (int i = 0; i < app->n_sides; i++)
		app->flags[i] |= TUI_RELAYOUT | TUI_REDRAW; /* the caption box changes */
	tui_live_want(p->live, k);
	begin_stage(app, now);
}

/* UTF-8: the byte after the character starting at i. */
static size_t next_char(const char *s, size_t i)
{
	i++;
	while (((unsigned char)s[i] & 0xc0) == 0x80)
		i++;
	return i;
}

void tui_player_tick(struct tui_app *app, double now)
{
	struct tui_player *p = app->player;
	if (!p)
		return;
	unsigned gen = tui_live_gen(p->live);
	if (gen != p->live_gen) { /* a claim was measured: the caption box shows it */
		p->live_gen = gen;
		app->flags[0] |= TUI_REDRAW;
	}
	/* requests changed in this turn are not posted yet: the views in
	 * hand answer older ones */
	for (int i = 0; i < app->n_sides; i++)
		if (app->flags[i] & (TUI_EDIT | TUI_RECOMPUTE))
			return;
	size_t len = strlen(p->f.context ? p->f.context : "");
	switch (p->phase) {
	case PH_IDLE: return;
	case PH_TYPE: {
		/* characters due by now, at the lesson's speed */
		double due = (now - p->t0) * p->ls.speed / 1000.0;
		size_t t = p->typed, chars = 0;
		for (size_t i = p->typed0; i < t; i = next_char(p->f.context, i))
			chars++;
		while (t < len && chars < (size_t)due + 1)
			t = next_char(p->f.context, t), chars++;
		if (t != p->typed) {
			p->typed = t;
			set_text(app, p->f.context, t);
		}
		if (p->typed >= len)
			p->phase = PH_WAIT;
		return;
	}
	case PH_WAIT:
		if (!all_ready(app))
			return;
		apply_selection(app, &p->f);
		p->phase = PH_WAIT_SELECT;
		return;
	case PH_WAIT_SELECT:
		if (!all_ready(app))
			return;
		if (p->stages[p->stage].pin_after)
			for (int i = 0; i < app->n_sides; i++) {
				struct tui_state *s = app->side[i];
				app->flags[i] |= tui_pin_toggle(s, 1);
				s->msg[0] = '\0';
			}
		if (++p->stage < p->n_stages)
			begin_stage(app, now);
		else
			p->phase = PH_IDLE;
		return;
	}
}

int tui_player_timeout(const struct tui_app *app, double now)
{
	const struct tui_player *p = app->player;
	if (!p)
		return -1;
	if (p->phase == PH_IDLE) /* a claim being measured: look again soon */
		return tui_live_pending(p->live, p->cur) ? 50 : -1;
	if (p->phase != PH_TYPE)
		return 20; /* results arrive by the wake-up pipe; selections need a turn */
	double next = p->t0 + 1000.0 * (double)(p->typed - p->typed0 + 1) / p->ls.speed;
	int ms = (int)(next - now);
	return ms < 1 ? 1 : ms > 1000 ? 1000 : ms;
}

int tui_player_quit_key(struct tui_app *app, int key)
{
	struct tui_player *p = app->player;
	if (!p)
		return 0;
	int end = p->said_end;
	p->said_end = 0; /* any key clears the message */
	return end && key == 'q';
}

void tui_player_go(struct tui_app *app, int d)
{
	struct tui_player *p = app->player;
	struct tui_state *s = app->side[app->active];
	if (!p)
		return;
	if (d > 0 && p->phase == PH_TYPE) {
		/* impatient: the rest of the context at once */
		p->typed = strlen(p->f.context);
		set_text(app, p->f.context, p->typed);
		p->phase = PH_WAIT;
		return;
	}
	int k = p->cur + d;
	if (k < 0 || k >= p->ls.n) {
		snprintf(s->msg, sizeof s->msg, "%s",
		         k < 0 ? _("the first step") : _("the end of the lesson (q quits)"));
		p->said_end = k >= p->ls.n;
		return;
	}
	start_step(app, k, d > 0, lms_now_ms());
}

int tui_player_start(struct tui_app *app, struct lesson *ls)
{
	struct tui_player *p = calloc(1, sizeof *p);
	if (!p)
		return 0;
	p->ls = *ls;
	memset(ls, 0, sizeof *ls);
	p->default_theme = app->theme;
	int claims = 0;
	for (int k = 0; k < p->ls.n; k++)
		claims += p->ls.steps[k].n_expect;
	const struct tui_model *tm = app->side[0]->tm;
	if (claims && !(p->live = tui_live_new(tm->m, tm->tok, &p->ls)))
		snprintf(app->side[0]->msg, sizeof app->side[0]->msg, "%s",
		         _("the lesson's claims cannot be measured (no thread)"));
	app->player = p;
	start_step(app, 0, 1, lms_now_ms());
	return 1;
}

int tui_player_free(struct tui_app *app)
{
	struct tui_player *p = app->player;
	if (!p)
		return 1;
	if (!tui_live_stop(p->live, 200))
		return 0; /* a claim is still being measured on the lesson */
	fold_free(&p->f);
	tui_lesson_free(&p->ls);
	free(p);
	app->player = NULL;
	return 1;
}

/* ---- the caption box ------------------------------------------------------------- */

/* Wraps the step's caption into width columns; draws the rows from
 * y = 1 on when w is given. Returns the rows used. */
static int caption_wrap(const char *c, int width, WINDOW *w)
{
	int rows = 0;
	if (width < 8)
		width = 8;
	while (c && *c) {
		const char *e = strchr(c, '\n');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		size_t i = 0;
		do {
			/* the words (or Chinese characters) from i that fit */
			size_t k = ui_wrap_at(c + i, n - i, width);
			if (w && rows + 1 < getmaxy(w))
				ui_text(w, rows + 1, 1, c + i, k, width, 0);
			rows++;
			i += k;
			while (i < n && c[i] == ' ')
				i++;
		} while (i < n);
		if (!e)
			break;
		c = e + 1;
	}
	return rows;
}

int tui_player_caption_rows(const struct tui_app *app, int cols)
{
	const struct tui_player *p = app->player;
	if (!p)
		return 0;
	const struct lesson_step *st = &p->ls.steps[p->cur];
	if (!st->caption && !(st->title && st->title[0]) && !st->n_expect)
		return 0;
	int rows = 1 + caption_wrap(st->caption, cols - 2, NULL);
	return (rows > TUI_CAPTION_MAX ? TUI_CAPTION_MAX : rows) + st->n_expect;
}

const char *tui_player_progress(const struct tui_app *app, char *buf, size_t size)
{
	const struct tui_player *p = app->player;
	if (!p)
		return "";
	snprintf(buf, size, _("step %d/%d"), p->cur + 1, p->ls.n);
	return buf;
}

/* The step's claims in the box's last rows, one a row: a check mark or a
 * cross, the claim as written, what was measured (or "measuring"). */
static void draw_claims(const struct tui_player *p, WINDOW *w)
{
	const struct lesson_step *st = &p->ls.steps[p->cur];
	int y0 = getmaxy(w) - st->n_expect, cols = getmaxx(w);
	for (int j = 0; j < st->n_expect; j++) {
		if (y0 + j < 1)
			continue; /* a box too small for every claim */
		char got[200], line[480];
		int state = tui_live_get(p->live, p->cur, j, got, sizeof got);
		const char *mark = state == EXPECT_HOLDS   ? (ui_utf8 ? "✓" : "+")
		                   : state == LIVE_PENDING ? "…"
		                                           : (ui_utf8 ? "✗" : "x");
		if (!ui_utf8 && state == LIVE_PENDING)
			mark = ".";
		ui_set(w, UI_NORMAL);
		wmove(w, y0 + j, 0);
		wclrtoeol(w);
		ui_set(w, state == EXPECT_HOLDS ? UI_SAL_POS : state == LIVE_PENDING ? UI_DIM : UI_ERROR);
		ui_text(w, y0 + j, 1, mark, strlen(mark), 1, 0);
		snprintf(line, sizeof line, "expect %s: %s%s", st->expect[j].src,
		         state == EXPECT_UNMEASURED ? _("not measured: ") : "",
		         state == LIVE_PENDING ? (p->live ? _("measuring") : _("not measured")) : got);
		ui_set(w, state == LIVE_PENDING ? UI_DIM : UI_NORMAL);
		ui_text(w, y0 + j, 3, line, strlen(line), cols - 4, 0);
	}
	ui_set(w, UI_NORMAL);
}

void tui_player_draw(struct tui_app *app, WINDOW *w)
{
	const struct tui_player *p = app->player;
	if (!p || !w)
		return;
	const struct lesson_step *st = &p->ls.steps[p->cur];
	int cols = getmaxx(w);
	char head[256];
	werase(w);
	snprintf(head, sizeof head, _(" Step %d/%d%s%s%s%s "), p->cur + 1, p->ls.n,
	         st->title && st->title[0] ? ": " : "", st->title ? st->title : "",
	         p->ls.title ? "  -  " : "", p->ls.title ? p->ls.title : "");
	ui_set(w, UI_TITLE_FOCUS);
	mvwhline(w, 0, 0, ' ', cols);
	ui_text(w, 0, 0, head, strlen(head), cols, 0);
	ui_set(w, UI_NORMAL);
	wattron(w, A_BOLD);
	caption_wrap(st->caption, cols - 2, w);
	wattroff(w, A_BOLD);
	draw_claims(p, w);
}
