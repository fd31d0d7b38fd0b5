/* The explorer's main loop: the one place that reads input, acts on the
 * reaction flags of key handlers, posts requests to the engine thread,
 * takes its results and draws.
 *
 * The loop sleeps in poll() on the terminal and on the engine's wake-up
 * pipe. A keystroke edits the line, copies the text into the request and
 * posts it: no engine work and no waiting. A finished view is taken and the
 * screen redrawn (staged with wnoutrefresh, flushed once with doupdate). */
#include <errno.h>
#include <locale.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../cli/cli.h"
#include "term.h"
#include "tui.h"
#include "ui.h"

enum { D_INPUT = 1, D_PANES = 2, D_CLEAR = 4, D_ALL = 7 };

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec * 1e-6;
}

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

static void draw_status(struct tui_state *s, WINDOW *w)
{
	const struct lms_model *m = s->tm->m;
	const struct tui_view *v = s->v;
	int cols = getmaxx(w);
	char params[32], line[512];
	human_count(m->n_params, params, sizeof params);
	const char *name = strrchr(s->tm->path, '/');
	name = name && name[1] ? name + 1 : s->tm->path;
	int busy = !v || v->seq != s->rq.seq || !v->complete;
	int n = tui_view_n(s);
	snprintf(line, sizeof line, " %s | %s %s params | context %d/%d%s | update %.1f ms | screen %.1f ms | %s",
	         name, lms_arch_name(m->cfg.arch), params, n, m->cfg.maxT,
	         v && v->cut ? " (cut)" : "", v ? v->ms : 0.0, s->shown_ms,
	         busy ? "computing..." : "F1 help");
	werase(w);
	ui_set(w, busy ? UI_STATUS_BUSY : UI_STATUS);
	mvwhline(w, 0, 0, ' ', cols);
	ui_text(w, 0, 0, line, strlen(line), cols, 0);
	const char *extra = s->msg[0] ? s->msg : v && v->note[0] ? v->note : "";
	if (extra[0]) {
		int width = ui_text_width(extra, strlen(extra), 0) + 2;
		int x = cols - width > (int)strlen(line) ? cols - width : (int)strlen(line) + 1;
		if (x < cols)
			ui_text(w, 0, x, extra, strlen(extra), cols - x, 0);
	}
	ui_set(w, UI_NORMAL);
}

static void draw(struct tui_state *s, unsigned dirty)
{
	struct tui_layout *lay = &s->lay;
	if (dirty & (D_CLEAR | D_PANES)) {
		/* the gaps between windows, and what an overlay left there */
		werase(stdscr);
		wnoutrefresh(stdscr);
	}
	if (lay->too_small) {
		curs_set(0);
		werase(stdscr);
		mvprintw(LINES / 2 - 1, 0, "terminal too small (%dx%d)", COLS, LINES);
		mvprintw(LINES / 2, 0, "lmscope needs %dx%d", TUI_MIN_COLS, TUI_MIN_LINES);
		wnoutrefresh(stdscr);
		doupdate();
		return;
	}
	draw_status(s, lay->win[W_STATUS]);
	wnoutrefresh(lay->win[W_STATUS]);
	if (dirty & (D_PANES | D_CLEAR)) {
		pane_context_draw_tokens(s, lay->win[W_TOKENS]);
		pane_candidates_draw(s, lay->win[W_CAND]);
		pane_saliency_draw(s, lay->win[W_SAL]);
		if (s->recurrent)
			pane_hidden_draw(s, lay->win[W_ATT]);
		else
			pane_attention_draw(s, lay->win[W_ATT]);
		pane_lens_draw(s, lay->win[W_LENS]);
		for (int i = W_TOKENS; i < W_STATUS; i++)
			wnoutrefresh(lay->win[i]);
	}
	pane_context_draw_input(s, lay->win[W_INPUT]);
	wnoutrefresh(lay->win[W_INPUT]);
	if (s->help)
		tui_help_draw(s);
	curs_set(s->focus == P_CONTEXT && !s->help ? 1 : 0);
	doupdate();
}

static void post(struct tui_state *s)
{
	s->post_ms = now_ms();
	tui_worker_post(s->w, &s->rq);
	s->rq.seq++; /* mirrors the worker's numbering: the newest posted request */
}

static int handle_mouse(struct tui_state *s)
{
	MEVENT ev;
	if (getmouse(&ev) != OK)
		return TUI_NONE;
	int win = tui_layout_hit(&s->lay, ev.y, ev.x);
	if (win < 0 || win == W_STATUS)
		return TUI_NONE;
	struct tui_rect r = s->lay.r[win];
	int y = ev.y - r.y, x = ev.x - r.x;
	if (ev.bstate & (BUTTON4_PRESSED | BUTTON5_PRESSED)) {
		enum tui_pane keep = s->focus;
		s->focus = tui_pane_of_win((enum tui_win)win);
		int f = tui_keys_dispatch(s, ev.bstate & BUTTON4_PRESSED ? KEY_UP : KEY_DOWN, 1);
		if (s->focus != P_CONTEXT)
			keep = s->focus;
		s->focus = keep;
		return f & ~TUI_UNHANDLED;
	}
	if (!(ev.bstate & (BUTTON1_PRESSED | BUTTON1_CLICKED)))
		return TUI_NONE;
	s->focus = tui_pane_of_win((enum tui_win)win);
	switch (win) {
	case W_INPUT:
	case W_TOKENS: return pane_context_click(s, (enum tui_win)win, y, x) | TUI_REDRAW;
	case W_CAND: return pane_candidates_click(s, y, x);
	case W_SAL: return pane_saliency_click(s, y, x);
	case W_ATT:
		return s->recurrent ? pane_hidden_click(s, y, x) : pane_attention_click(s, y, x);
	case W_LENS: return pane_lens_click(s, y, x);
	}
	return TUI_REDRAW;
}

static int handle_key(struct tui_state *s, wint_t ch, int is_func)
{
	if (is_func && ch == KEY_RESIZE)
		return TUI_RELAYOUT;
	if (is_func && ch == KEY_MOUSE)
		return handle_mouse(s);
	if (!is_func && ch == TUI_CTRL('c'))
		return TUI_QUIT;
	s->msg[0] = '\0';
	if (s->help)
		return tui_help_key(s, (int)ch);
	int f = tui_keys_dispatch(s, (int)ch, is_func);
	if (!(f & TUI_UNHANDLED))
		return f;
	if (s->focus == P_CONTEXT && !is_func && ch >= 32 && ch != 127) {
		wchar_t c = (wchar_t)ch;
		return tui_line_insert(&s->line, &c, 1) ? TUI_EDIT : TUI_NONE;
	}
	return TUI_NONE;
}

static int run_loop(struct tui_state *s)
{
	struct pollfd pfd[2] = {{STDIN_FILENO, POLLIN, 0}, {s->w->wake_rd, POLLIN, 0}};
	unsigned dirty = D_ALL;
	double pending_shown = -1.0; /* post time of a result to be timed once drawn */
	for (;;) {
		if (tui_term_quit)
			return 0;
		if (dirty) {
			draw(s, dirty);
			if (pending_shown >= 0) {
				s->shown_ms = now_ms() - pending_shown;
				pending_shown = -1.0;
			}
			dirty = 0;
		}
		int rc = poll(pfd, 2, 1000);
		if (rc < 0 && errno != EINTR)
			return 0;
		if (tui_worker_take(s->w)) {
			s->v = s->w->front;
			pane_candidates_sync(s);
			if (s->v->seq == s->rq.seq && s->v->complete)
				pending_shown = s->post_ms;
			dirty |= D_ALL & ~D_CLEAR;
		}
		int flags = 0;
		wint_t ch;
		int r;
		while (!(flags & TUI_QUIT) && (r = get_wch(&ch)) != ERR)
			flags |= handle_key(s, ch, r == KEY_CODE_YES);
		if (flags & TUI_QUIT)
			return 0;
		if (flags & TUI_RELAYOUT) {
			tui_layout_compute(&s->lay, LINES, COLS);
			dirty |= D_ALL;
		}
		if (flags & TUI_EDIT) {
			tui_line_to_request(&s->line, &s->rq);
			s->rq.target = -1;
			s->rq.contrast = -1;
			s->query = -1;
			s->cand_top = s->cand_sel = 0;
			flags |= TUI_RECOMPUTE;
			dirty |= D_INPUT;
		}
		if (flags & TUI_RECOMPUTE) {
			post(s);
			dirty |= D_INPUT;
		}
		if (flags & TUI_REDRAW)
			dirty |= D_ALL & ~D_CLEAR;
		if (flags & ~TUI_UNHANDLED)
			dirty |= D_INPUT;
	}
}

static void log_to_stderr(void *userdata, const char *msg)
{
	(void)userdata;
	fprintf(stderr, "lmscope: %s\n", msg);
}

static int usage(void)
{
	printf("usage: lmscope [--threads N] MODEL [--tokenizer DIR] [--text TEXT]\n"
	       "Opens the explorer on MODEL; F1 inside shows the keys.\n");
	return LMS_EXIT_OK;
}

int lms_explorer_main(int argc, char **argv)
{
	const char *path = argv[0], *tokpath = NULL, *text = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help"))
			return usage();
		else if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc)
			tokpath = argv[++i];
		else if (!strcmp(argv[i], "--text") && i + 1 < argc)
			text = argv[++i];
		else
			return cli_usage("unexpected argument %s (see lmscope --help)", argv[i]);
	}
	setlocale(LC_ALL, "");
	ui_utf8 = MB_CUR_MAX > 1;
	struct cli_model cm;
	enum lms_status st = cli_open_model(path, tokpath, &cm);
	if (st)
		return cli_fail(st);
	struct tui_model tm = {cm.m, cm.tok, path};
	static struct tui_worker worker;
	st = tui_worker_start(&worker, &tm);
	if (st) {
		cli_close_model(&cm);
		return cli_fail(st);
	}
	struct tui_state s;
	memset(&s, 0, sizeof s);
	s.tm = &tm;
	s.w = &worker;
	s.recurrent = lms_arch_is_recurrent(cm.m->cfg.arch);
	s.temperature = 1.0f;
	lms_rng_seed(&s.rng, (uint64_t)time(NULL));
	s.rq.target = s.rq.contrast = -1;
	s.rq.need_lens = 1;
	s.att_follow = 1;
	s.sal_top = -1;
	s.query = -1;
	int status = LMS_EXIT_OK;
	if (!tui_line_init(&s.line) || (text && !tui_line_set_utf8(&s.line, text, strlen(text)))) {
		fprintf(stderr, "lmscope: out of memory\n");
		status = LMS_EXIT_NOMEM;
	} else if (!tui_term_open()) {
		status = LMS_EXIT_FAIL;
	} else {
		lms_set_log(log_to_stderr, NULL);
		tui_layout_compute(&s.lay, LINES, COLS);
		tui_line_to_request(&s.line, &s.rq);
		post(&s);
		run_loop(&s);
		tui_layout_free(&s.lay);
		tui_term_close();
		lms_set_log(NULL, NULL);
	}
	if (!tui_worker_stop(&worker, 200)) {
		/* the engine is mid-update and still uses the model: end the
		 * process now rather than wait for it or let exit handlers (BLAS's
		 * among them) pull memory from under it */
		fflush(stdout);
		fflush(stderr);
		_exit(status);
	}
	tui_line_free(&s.line);
	tui_request_free(&s.rq);
	cli_close_model(&cm);
	return status;
}
