/* The explorer's main loop: the one place that reads input, acts on the
 * reaction flags of key handlers, posts requests to the engine thread,
 * takes its results and draws.
 *
 * The loop sleeps in poll() on the terminal and on the engine's wake-up
 * pipe. A keystroke edits the line, copies the text into the request and
 * posts it: no engine work and no waiting. A finished view is taken and the
 * screen redrawn (staged with wnoutrefresh, flushed once with doupdate). */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "front/front.h"
#include "front/i18n.h"
#include "divergence.h"
#include "lmscope/clock.h"
#include "teach.h"
#include "term.h"
#include "tui.h"
#include "ui.h"

enum { D_INPUT = 1, D_PANES = 2, D_CLEAR = 4, D_ALL = 7 };

static void human_count(size_t n, char *buf, size_t size)
{
	if (n >= 1000000000)
		snprintf(buf, size, "%.2fB", n / 1e9);
	else if (n >= 1000000)
		snprintf(buf, size, "%.2fM", n / 1e6);
	else if (n >= 1000)
		snprintf(buf, size, "%.1fk", n / 1e3);
	else
		snprintf(buf, size, "%zu", n);
}

/* The status line's parts, most important first: what is dropped when the
 * width runs out is the end of this list (the side marker, model and
 * "computing..." / "F1 help" always stay). */
enum { ST_CONTEXT, ST_STEP, ST_PARAMS, ST_UPDATE, ST_CAND, ST_SCREEN, ST_N };

static void draw_status(struct tui_state *s, WINDOW *w)
{
	const struct lms_model *m = s->tm->m;
	const struct tui_view *v = s->v;
	int cols = getmaxx(w);
	char params[32], line[512], part[ST_N][96], head[256];
	human_count(m->n_params, params, sizeof params);
	char name[128];
	front_model_name(s->tm->path, name, sizeof name);
	int busy = !v || v->seq != s->rq.seq || !v->complete;
	int n = tui_view_n(s);
	char step[32] = "";
	const struct tui_app *app = s->app;
	if (app && app->player)
		snprintf(step, sizeof step, "%s | ", tui_player_progress(app, line, sizeof line));
	snprintf(head, sizeof head, "%s%s%s%s%.40s",
	         app && app->n_sides > 1 && app->side[app->active] == s ? "*" : " ", step, name,
	         v && v->ablate[0] ? _(" | ablated ") : "", v ? v->ablate : "");
	snprintf(part[ST_CONTEXT], sizeof part[0], _("context %d/%d%s"), n, m->cfg.maxT,
	         v && v->cut ? _(" (cut)") : "");
	snprintf(part[ST_PARAMS], sizeof part[0], _("%s %s params"), lms_arch_name(m->cfg.arch),
	         params);
	snprintf(part[ST_CAND], sizeof part[0], _("candidates %.1f ms"), v ? v->cand_ms : 0.0);
	snprintf(part[ST_UPDATE], sizeof part[0], _("update %.1f ms"), v ? v->ms : 0.0);
	snprintf(part[ST_SCREEN], sizeof part[0], _("screen %.1f ms"), s->shown_ms);
	tui_timeline_status(s, ui_utf8, part[ST_STEP], sizeof part[0]);
	const char *tail = busy ? _("computing...") : _("F1 help");
	const char *extra = s->msg[0] ? s->msg : v && v->note[0] ? v->note : "";
	int width = extra[0] ? ui_text_width(extra, strlen(extra), 0) + 2 : 0;
	/* as many parts as fit beside the message, in their screen order */
	static const int order[ST_N] = {ST_PARAMS, ST_STEP, ST_CONTEXT, ST_CAND, ST_UPDATE, ST_SCREEN};
	int keep = ST_N;
	for (; keep >= 0; keep--) {
		int len = snprintf(line, sizeof line, "%s", head);
		for (int i = 0; i < ST_N; i++)
			if (order[i] < keep && part[order[i]][0])
				len += snprintf(line + len, sizeof line - (size_t)len, " | %s", part[order[i]]);
		snprintf(line + len, sizeof line - (size_t)len, " | %s", tail);
		if (ui_text_width(line, strlen(line), 0) + width <= cols || keep == 0)
			break;
	}
	werase(w);
	ui_set(w, busy ? UI_STATUS_BUSY : UI_STATUS);
	mvwhline(w, 0, 0, ' ', cols);
	ui_text(w, 0, 0, line, strlen(line), cols, 0);
	if (extra[0]) {
		/* after the line, or over its end: a message is news */
		int used = ui_text_width(line, strlen(line), 0);
		int x = cols - width > used ? cols - width : used + 1;
		if (x + width > cols)
			x = cols - width > cols / 3 ? cols - width : cols / 3;
		mvwhline(w, 0, x, ' ', cols - x);
		ui_text(w, 0, x + 1, extra, strlen(extra), cols - x - 1, 0);
	}
	ui_set(w, UI_NORMAL);
}

/* One side's windows (presenter mode: only the enlarged pane's). */
static void draw_side(struct tui_state *s, unsigned dirty)
{
	struct tui_layout *lay = &s->lay;
	draw_status(s, lay->win[W_STATUS]);
	wnoutrefresh(lay->win[W_STATUS]);
	if (dirty & (D_PANES | D_CLEAR)) {
		/* presenter mode: the context and the enlarged pane only */
		int big = lay->present;
		for (int p = 0; p < P_N; p++) {
			const struct tui_pane_ops *pane = s->pane[p];
			if (big >= 0 && p != P_CONTEXT && (int)pane->win != big)
				continue;
			pane->draw(s, lay->win[pane->win]);
			wnoutrefresh(lay->win[pane->win]);
		}
	}
	pane_context_draw_input(s, lay->win[W_INPUT]);
	wnoutrefresh(lay->win[W_INPUT]);
}

static void draw(struct tui_app *app, unsigned dirty)
{
	int too_small = 0, relayout = 0;
	for (int i = 0; i < app->n_sides; i++) {
		too_small |= app->side[i]->lay.too_small;
		relayout |= app->side[i]->lay.present != tui_present_win(app->side[i]);
	}
	if (relayout && !too_small) {
		/* presenter mode follows the focus to another pane */
		tui_app_layout(app);
		dirty |= D_CLEAR;
	}
	if (dirty & (D_CLEAR | D_PANES)) {
		/* the gaps between windows, and what an overlay left there */
		werase(stdscr);
		if (app->n_sides > 1 && !too_small) {
			ui_set(stdscr, UI_DIM);
			if (app->stacked)
				mvhline(app->side[1]->lay.y0 - 1, 0, ui_utf8 ? ACS_HLINE : '-', COLS);
			for (int y = 0; y < LINES - app->caption_h && !app->stacked; y++)
				mvaddstr(y, app->side[1]->lay.x0 - 1, ui_utf8 ? "\u2502" : "|");
			ui_set(stdscr, UI_NORMAL);
		}
		wnoutrefresh(stdscr);
	}
	if (too_small) {
		curs_set(0);
		werase(stdscr);
		mvprintw(LINES / 2 - 1, 0, "terminal too small (%dx%d)", COLS, LINES);
		mvprintw(LINES / 2, 0, "lmscope needs %dx%d%s", app->n_sides * (TUI_MIN_COLS + 1) - 1,
		         TUI_MIN_LINES + app->caption_h,
		         app->n_sides > 1 ? " (or a taller screen, the models stacked)" : "");
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	struct tui_state *s = app->side[app->active];
	for (int i = 0; i < app->n_sides; i++)
		if (i != app->active)
			draw_side(app->side[i], dirty);
	if (app->caption) {
		tui_player_draw(app, app->caption);
		wnoutrefresh(app->caption);
	}
	draw_side(s, dirty); /* last: its input line holds the cursor */
	if (s->help)
		tui_help_draw(s);
	curs_set(s->focus == P_CONTEXT && !s->help ? 1 : 0);
	doupdate();
}

static void post(struct tui_state *s)
{
	s->post_ms = lms_now_ms();
	s->rq.t_post = s->post_ms;
	tui_worker_post(s->w, &s->rq);
	s->rq.seq++; /* mirrors the worker's numbering: the newest posted request */
}

static int handle_mouse(struct tui_app *app)
{
	MEVENT ev;
	if (getmouse(&ev) != OK)
		return TUI_NONE;
	int side = tui_app_side_at(app, ev.y, ev.x);
	if (side != app->active)
		app->flags[app->active] |= TUI_REDRAW;
	app->active = side;
	struct tui_state *s = app->side[side];
	int win = tui_layout_hit(&s->lay, ev.y, ev.x);
	if (win < 0 || win == W_STATUS)
		return TUI_NONE;
	const struct tui_pane_ops *pane = tui_pane_of(s, (enum tui_win)win);
	if (!pane)
		return TUI_NONE;
	struct tui_rect r = s->lay.r[win];
	int y = ev.y - r.y, x = ev.x - r.x;
	if (ev.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
		/* the wheel scrolls the pane under the pointer; the focus stays */
		int key = ev.bstate & BUTTON4_PRESSED ? KEY_UP : KEY_DOWN;
		return tui_pane_key(s, pane, key, 1) & ~TUI_UNHANDLED;
	}
	if (!(ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)))
		return TUI_NONE;
	/* a click selects in the pane and focuses it */
	int focus = s->focus;
	for (int p = 0; p < P_N; p++)
		if (s->pane[p] == pane)
			s->focus = (enum tui_pane)p;
	int flags = pane->click ? pane->click(s, (enum tui_win)win, y, x) : TUI_REDRAW;
	return flags | (focus != (int)s->focus ? TUI_REDRAW : 0);
}

static int handle_key(struct tui_app *app, wint_t ch, int is_func)
{
	struct tui_state *s = app->side[app->active];
	if (is_func && ch == KEY_RESIZE)
		return TUI_RELAYOUT;
	if (is_func && ch == KEY_MOUSE)
		return handle_mouse(app);
	if (!is_func && ch == TUI_CTRL('c'))
		return TUI_QUIT;
	for (int i = 0; i < app->n_sides; i++)
		app->side[i]->msg[0] = '\0'; /* a message lasts until the next key, on every side */
	if (s->help)
		return tui_help_key(s, (int)ch);
	if (s->patch_edit)
		return tui_patch_edit_key(s, (int)ch, is_func);
	if (tui_teach_key(app, (int)ch, is_func))
		return app->flags[app->active] & TUI_QUIT;
	int f = tui_keys_dispatch(s, (int)ch, is_func);
	if (!(f & TUI_UNHANDLED))
		return f;
	if (s->focus == P_CONTEXT && !is_func && ch >= 32 && ch != 127) {
		wchar_t c = (wchar_t)ch;
		return tui_line_insert(&s->line, &c, 1) ? TUI_EDIT : TUI_NONE;
	}
	return TUI_NONE;
}

/* Acts on one side's reaction flags; returns what to redraw. */
static unsigned apply_flags(struct tui_state *s, int flags)
{
	unsigned dirty = 0;
	if (flags & TUI_EDIT) {
		tui_line_to_request(&s->line, &s->rq);
		s->rq.target = -1;
		s->rq.contrast = -1;
		s->query = -1;
		s->cand_top = s->cand_sel = 0;
		flags |= TUI_RECOMPUTE;
		dirty |= D_INPUT;
	}
	if (tui_neurons_sync(s)) /* a click or key selected another token */
		flags |= TUI_RECOMPUTE;
	if (flags & TUI_RECOMPUTE) {
		post(s);
		dirty |= D_INPUT;
	}
	if (flags & TUI_REDRAW)
		dirty |= D_ALL & ~D_CLEAR;
	if (flags & ~TUI_UNHANDLED)
		dirty |= D_INPUT;
	return dirty;
}

static int run_loop(struct tui_app *app)
{
	int n = app->n_sides;
	struct pollfd pfd[2 + TUI_SIDES]; /* the terminal, each side's engine, the divergence */
	pfd[0] = (struct pollfd){STDIN_FILENO, POLLIN, 0};
	for (int i = 0; i < n; i++)
		pfd[1 + i] = (struct pollfd){app->side[i]->w->wake_rd, POLLIN, 0};
	unsigned dirty = D_ALL;
	double pending_shown[TUI_SIDES]; /* post time of a result to be timed once drawn */
	for (int i = 0; i < n; i++)
		pending_shown[i] = -1.0;
	for (;;) {
		if (tui_term_quit)
			return 0;
		if (dirty) {
			draw(app, dirty);
			/* the time to the screen is known once the screen is drawn:
			 * stored, then the status line redrawn to show it (not the
			 * previous update's) */
			int timed = 0;
			for (int i = 0; i < n; i++)
				if (pending_shown[i] >= 0) {
					app->side[i]->shown_ms = lms_now_ms() - pending_shown[i];
					pending_shown[i] = -1.0;
					timed = 1;
				}
			if (timed)
				draw(app, 0);
			dirty = 0;
		}
		int timeout = tui_player_timeout(app, lms_now_ms());
		pfd[1 + n] = (struct pollfd){tui_div_fd(), POLLIN, 0}; /* -1 (ignored) until shown */
		int rc = poll(pfd, (nfds_t)(2 + n), timeout < 0 ? 1000 : timeout);
		if (rc < 0 && errno != EINTR)
			return 0;
		for (int i = 0; i < n; i++) {
			struct tui_state *s = app->side[i];
			if (tui_worker_take(s->w)) {
				s->v = s->w->front;
				pane_candidates_sync(s);
				if (s->v->seq == s->rq.seq && s->v->complete)
					pending_shown[i] = s->post_ms;
				dirty |= D_ALL & ~D_CLEAR;
			}
		}
		if (tui_term_sync_size())
			app->flags[app->active] |= TUI_RELAYOUT; /* curses also gets KEY_RESIZE */
		int quit = 0;
		wint_t ch;
		int r;
		while (!quit && (r = get_wch(&ch)) != ERR) {
			int f = handle_key(app, ch, r == KEY_CODE_YES);
			quit = f & TUI_QUIT;
			app->flags[app->active] |= f;
		}
		if (quit)
			return 0;
		tui_player_tick(app, lms_now_ms());
		if (app->flags[app->active] & TUI_EDIT)
			tui_app_mirror(app, app->active); /* the same context drives every side */
		int relayout = 0;
		for (int i = 0; i < n; i++)
			relayout |= app->flags[i] & TUI_RELAYOUT;
		if (relayout) {
			tui_app_layout(app);
			dirty |= D_ALL;
		}
		for (int i = 0; i < n; i++)
			dirty |= apply_flags(app->side[i], app->flags[i]);
		memset(app->flags, 0, sizeof app->flags);
		if (tui_div_update(app))
			dirty |= D_ALL & ~D_CLEAR;
	}
}

static void log_to_stderr(void *userdata, const char *msg)
{
	(void)userdata;
	fprintf(stderr, "lmscope: %s\n", msg);
}

/* One side of the screen: a model, its engine thread and its input state.
 * Static: a worker still inside the engine at exit keeps using them. */
struct side {
	struct front_model cm;
	struct tui_model tm;
	struct tui_worker worker;
	struct tui_state s;
	int opened, started;
};
static struct side sides[TUI_SIDES];

static int side_open(struct side *sd, struct tui_app *app, const char *path, const char *tokpath,
                     const char *text, const char *corpus)
{
	enum lms_status st = front_open_model(path, tokpath, &sd->cm);
	if (st)
		return front_fail(st);
	sd->opened = 1;
	sd->tm = (struct tui_model){
		.m = sd->cm.m, .tok = sd->cm.tok, .path = path, .dir = sd->cm.path, .corpus = corpus};
	tui_timeline_open(&sd->tm, sd->cm.path); /* a bare name found: where it was found */
	st = tui_worker_start(&sd->worker, &sd->tm);
	if (st)
		return front_fail(st);
	sd->started = 1;
	struct tui_state *s = &sd->s;
	memset(s, 0, sizeof *s);
	s->tm = &sd->tm;
	s->w = &sd->worker;
	s->app = app;
	s->recurrent = lms_arch_is_recurrent(sd->cm.m->cfg.arch);
	tui_panes_init(s);
	s->temperature = 1.0f;
	lms_rng_seed(&s->rng, (uint64_t)time(NULL));
	s->rq.target = s->rq.contrast = -1;
	s->rq.snapshot = -1;
	snprintf(s->msg, sizeof s->msg, "%s", sd->tm.snap_note);
	s->rq.need_lens = 1;
	s->rq.lens_pos = -1;
	s->rq.neuron_pos = s->rq.neuron_open = -1;
	s->rq.need_faith = 1;
	s->att_follow = 1;
	s->sal_top = -1;
	s->change_top = -1;
	s->query = -1;
	if (!tui_line_init(&s->line) || (text && !tui_line_set_utf8(&s->line, text, strlen(text)))) {
		fprintf(stderr, _("lmscope: out of memory\n"));
		return LMS_EXIT_NOMEM;
	}
	return LMS_EXIT_OK;
}

/* A model named in a lesson: beside the lesson's directory first (a
 * lesson in models/lessons/ names models/NAME as NAME), else as given. */
const char *tui_lesson_model(const char *lesson, const char *name, char *buf, size_t size)
{
	const char *slash = strrchr(lesson, '/');
	if (!name || name[0] == '/')
		return name;
	snprintf(buf, size, "%.*s%s../%s", slash ? (int)(slash - lesson) : 0, lesson, slash ? "/" : "",
	         name);
	return access(buf, F_OK) == 0 ? buf : name;
}

int lms_explorer_run(const struct lms_explorer_opts *o)
{
	static struct tui_app app;
	struct lesson ls;
	memset(&ls, 0, sizeof ls);
	int theme = LESSON_DARK;
	if (o->theme && !strcmp(o->theme, "light"))
		theme = LESSON_LIGHT;
	else if (o->theme && strcmp(o->theme, "dark"))
		return front_usage(_("--theme wants dark or light, not %s"), o->theme);
	char err[600], buf[2][1024];
	if (o->lesson && !tui_lesson_load(o->lesson, &ls, err, sizeof err)) {
		fprintf(stderr, "lmscope: %s\n", err);
		return access(o->lesson, R_OK) != 0 ? LMS_EXIT_IO : LMS_EXIT_FORMAT;
	}
	if (o->theme)
		ls.theme = LESSON_UNSET; /* the command line wins */
	if (o->speed > 0)
		ls.speed = o->speed;
	/* models on the command line take the place of the lesson's */
	const char *model[TUI_SIDES] = {o->model[0], o->model[1]};
	if (o->lesson && !model[0])
		model[0] = tui_lesson_model(o->lesson, ls.model, buf[0], sizeof buf[0]);
	if (o->lesson && !model[1])
		model[1] = tui_lesson_model(o->lesson, ls.compare, buf[1], sizeof buf[1]);
	if (!model[0]) {
		tui_lesson_free(&ls);
		return front_usage(_("%s names no model: give one after the lesson file"), o->lesson);
	}
	/* the cast's file first: a path that cannot be written fails at once */
	if (!tui_casting_open(&app, o->cast, o->cast_speed)) {
		tui_lesson_free(&ls);
		return LMS_EXIT_IO;
	}
	if (ls.title && ls.title[0]) {
		snprintf(app.cast_title, sizeof app.cast_title, "%s", ls.title);
	} else {
		char name[128];
		front_model_name(model[0], name, sizeof name);
		snprintf(app.cast_title, sizeof app.cast_title, "lmscope %s", name);
	}
	ui_utf8 = MB_CUR_MAX > 1; /* the locale is the environment's (main.c, front_i18n_init) */
	app.theme = theme;
	app.rec_path = o->record;
	int status = LMS_EXIT_OK, player_stopped = 1;
	for (int i = 0; i < TUI_SIDES && model[i] && status == LMS_EXIT_OK; i++) {
		status =
			side_open(&sides[i], &app, model[i], i == 0 ? o->tokenizer : NULL, o->text, o->corpus);
		app.side[i] = &sides[i].s;
		app.n_sides = i + 1;
	}
	for (int i = 0; i < app.n_sides && status == LMS_EXIT_OK && o->lesson; i++) {
		const struct lms_config *c = &sides[i].cm.m->cfg;
		int NH = lms_arch_is_recurrent(c->arch) ? 0 : c->NH;
		if (!tui_lesson_check(&ls, o->lesson, c->L, NH, err, sizeof err)) {
			fprintf(stderr, "lmscope: %s\n", err);
			status = LMS_EXIT_FORMAT;
		}
	}
	struct tui_cast *cast = app.casting ? &app.cast : NULL;
	int term = status == LMS_EXIT_OK ? tui_term_open(cast, app.cast_title) : 0;
	if (status == LMS_EXIT_OK && term <= 0)
		status = term < 0 ? LMS_EXIT_IO : LMS_EXIT_FAIL;
	else if (status == LMS_EXIT_OK) {
		lms_set_log(log_to_stderr, NULL);
		if (theme != LESSON_DARK)
			tui_theme_set(&app, theme);
		for (int i = 0; i < app.n_sides; i++) {
			tui_line_to_request(&app.side[i]->line, &app.side[i]->rq);
			post(app.side[i]);
		}
		if (o->lesson && !tui_player_start(&app, &ls))
			snprintf(app.side[0]->msg, sizeof app.side[0]->msg, "%s",
			         _("out of memory: no lesson"));
		tui_app_layout(&app);
		run_loop(&app);
		status = tui_casting_end(&app); /* its last frame: the last screen */
		player_stopped = tui_player_free(&app);
		for (int i = 0; i < app.n_sides; i++)
			tui_layout_free(&app.side[i]->lay);
		if (app.caption)
			delwin(app.caption);
		tui_term_close();
		lms_set_log(NULL, NULL);
	}
	tui_lesson_free(&ls);
	tui_record_free(&app);
	if (app.casting)
		tui_cast_abort(&app.cast); /* the screen never opened */
	int stopped = player_stopped & tui_div_stop(200);
	for (int i = 0; i < TUI_SIDES; i++)
		if (sides[i].started)
			stopped &= tui_worker_stop(&sides[i].worker, 200);
	if (!stopped) {
		/* an engine is mid-update (or a lesson's claim mid-measurement)
		 * and still uses its model: end the
		 * process now rather than wait for it or let exit handlers (BLAS's
		 * among them) pull memory from under it */
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	for (int i = 0; i < TUI_SIDES; i++) {
		struct tui_state *s = &sides[i].s;
		if (!sides[i].opened)
			continue;
		tui_line_free(&s->line);
		tui_request_free(&s->rq);
		tui_pin_free(s);
		tui_timeline_close(&sides[i].tm);
		front_close_model(&sides[i].cm);
	}
	return status;
}
