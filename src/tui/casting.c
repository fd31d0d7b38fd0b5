/* The explorer's casts (asciinema v2 files of what the screen shows, see
 * cast.h): `--cast FILE` records from the first byte to the last screen;
 * F10 (V outside the context line) starts a cast into the first free
 * lmscope-cast-N.cast of the current directory, and stops it. A cast ends
 * before the terminal is given back, so its last frame is the explorer's
 * last screen. A failed write is reported when the cast stops (and, at
 * exit, as "lmscope: FILE: what" with exit status 3). */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "front/i18n.h"
#include "front/front.h"
#include "teach.h"
#include "term.h"

int tui_casting_open(struct tui_app *app, const char *path, double max_pause)
{
	app->cast_pause = max_pause;
	if (!path)
		return 1;
	if (!tui_cast_open(&app->cast, path, max_pause)) {
		fprintf(stderr, "lmscope: %s\n", app->cast.err);
		return 0;
	}
	snprintf(app->cast_name, sizeof app->cast_name, "%s", path);
	app->casting = 1;
	return 1;
}

/* Stops the cast and writes it into place; 0 and the message in
 * app->cast.err when it failed. */
static int stop(struct tui_app *app)
{
	tui_term_cast(NULL, NULL);
	app->casting = 0;
	return tui_cast_finish(&app->cast);
}

static int start(struct tui_app *app, char *msg, size_t size)
{
	int i = 1;
	for (; i < 10000; i++) {
		snprintf(app->cast_name, sizeof app->cast_name, "lmscope-cast-%d.cast", i);
		if (access(app->cast_name, F_OK) != 0)
			break;
	}
	if (i == 10000) {
		snprintf(msg, size, "%s", _("no free lmscope-cast-N.cast here (N up to 9999)"));
		return 0;
	}
	if (!tui_cast_open(&app->cast, app->cast_name, app->cast_pause)) {
		snprintf(msg, size, "%.200s", app->cast.err);
		return 0;
	}
	if (!tui_term_cast(&app->cast, app->cast_title)) {
		snprintf(msg, size, "%.200s", app->cast.err);
		tui_cast_abort(&app->cast);
		return 0;
	}
	app->casting = 1;
	snprintf(msg, size, _("casting into %.200s (F10 stops)"), app->cast_name);
	return 1;
}

int tui_casting_toggle(struct tui_app *app)
{
	struct tui_state *s = app->side[app->active];
	if (!app->casting) {
		start(app, s->msg, sizeof s->msg);
		return TUI_REDRAW;
	}
	if (stop(app))
		snprintf(s->msg, sizeof s->msg, _("wrote %.200s"), app->cast_name);
	else
		snprintf(s->msg, sizeof s->msg, "%.200s", app->cast.err);
	return TUI_REDRAW;
}

int tui_casting_end(struct tui_app *app)
{
	if (!app->casting)
		return LMS_EXIT_OK;
	if (stop(app))
		return LMS_EXIT_OK;
	fprintf(stderr, "lmscope: %s\n", app->cast.err);
	return LMS_EXIT_IO;
}
