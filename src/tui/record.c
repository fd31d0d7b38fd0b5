/* Recording a lesson: a key (F7 / R) adds what the presenter's screen
 * shows as a step, and the file is rewritten each time, so the recording
 * survives a crash and can be replayed (`lmscope lesson FILE`) and edited.
 * A step names only what changed since the step before (the lesson format
 * keeps every other setting), so a recording reads like a hand-written
 * lesson: `type " created"`, `target God`, `head 1 0`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "front/i18n.h"
#include "teach.h"

static void token_of(const struct tui_state *s, int id, char *out, size_t size)
{
	char buf[32];
	out[0] = '\0';
	if (id >= 0)
		snprintf(out, size, "%s", tui_token_str(s->tm, id, buf, sizeof buf));
}

static int take(const struct tui_app *app, struct tui_snap *n)
{
	const struct tui_state *s = app->side[app->active];
	memset(n, 0, sizeof *n);
	n->context = strndup(s->rq.text ? s->rq.text : "", s->rq.len);
	if (!n->context)
		return 0;
	n->focus = (int)s->focus;
	n->method = s->rq.method;
	n->layer = s->rq.layer;
	n->head = s->rq.head;
	n->mean = s->rq.mean_heads;
	n->view = s->att_mode;
	n->query = s->query >= 0 ? s->query + 1 : -1;
	n->present = app->present;
	n->theme = app->theme;
	n->pin = s->pinned;
	/* a candidate the presenter picked (the default follows the top one) */
	token_of(s, s->rq.target, n->target, sizeof n->target);
	token_of(s, s->rq.contrast, n->contrast, sizeof n->contrast);
	return 1;
}

/* The step that leads from `from` (NULL: the explorer's start) to n. */
static int describe(struct lesson_step *st, const struct tui_snap *from, const struct tui_snap *n)
{
	struct tui_snap d = {0};
	d.context = "";
	d.query = -1;
	d.theme = n->theme; /* the header names the starting theme */
	if (!from)
		from = &d;
	int edited = strcmp(from->context, n->context) != 0 || from == &d;
	if (edited) {
		size_t a = strlen(from->context);
		if (from != &d && a && !strncmp(n->context, from->context, a))
			st->type = strdup(n->context + a);
		else
			st->context = strdup(n->context);
		if (!(st->type || st->context))
			return 0;
	}
#define CHANGED(f) (n->f != from->f)
	if (CHANGED(focus))
		st->focus = n->focus;
	if (CHANGED(method))
		st->method = n->method;
	if (CHANGED(layer) || CHANGED(head)) {
		st->layer = n->layer;
		st->head = n->head;
	}
	if (CHANGED(mean))
		st->mean = n->mean;
	if (CHANGED(view))
		st->view = n->view;
	if (CHANGED(query) || (edited && n->query > 0))
		st->query = n->query;
	if (CHANGED(present))
		st->present = n->present;
	if (CHANGED(theme))
		st->theme = n->theme;
	if (CHANGED(pin))
		st->pin = n->pin;
#undef CHANGED
	/* an edit resets the selection: name it again after one */
	if (n->target[0] && (edited || strcmp(n->target, from->target)))
		st->target = strdup(n->target);
	if (n->contrast[0] && (edited || strcmp(n->contrast, from->contrast)))
		st->contrast = strdup(n->contrast);
	else if (!n->contrast[0] && from->contrast[0] && !edited)
		st->contrast = strdup("");
	return 1;
}

static int write_file(struct tui_app *app, char *msg, size_t size)
{
	char tmp[600];
	snprintf(tmp, sizeof tmp, "%s.tmp", app->rec_path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(msg, size, _("cannot write %.150s"), tmp);
		return 0;
	}
	fprintf(
		f, "# recorded by lmscope (F7); edit the captions and replay with `lmscope lesson FILE`\n");
	int ok = tui_lesson_write(f, &app->rec);
	ok &= fclose(f) == 0;
	if (!ok || rename(tmp, app->rec_path) != 0) {
		unlink(tmp);
		snprintf(msg, size, _("cannot write %.150s"), app->rec_path);
		return 0;
	}
	return 1;
}

int tui_record_step(struct tui_app *app)
{
	struct tui_state *s = app->side[app->active];
	static char path[64];
	if (!app->rec_path) {
		/* the first free lmscope-lesson-N.lesson in the current directory */
		for (int i = 1; i < 1000; i++) {
			snprintf(path, sizeof path, "lmscope-lesson-%d.lesson", i);
			if (access(path, F_OK) != 0)
				break;
		}
		app->rec_path = path;
	}
	if (app->rec.n == 0) {
		app->rec.speed = 12.0;
		app->rec.theme = app->theme;
		app->rec.model = strdup(app->side[0]->tm->path);
		if (app->n_sides > 1)
			app->rec.compare = strdup(app->side[1]->tm->path);
	}
	struct tui_snap n;
	if (!take(app, &n)) {
		snprintf(s->msg, sizeof s->msg, "%s", _("out of memory: not recorded"));
		return 0;
	}
	/* a pin made on another context: first a step that makes it */
	if (s->pinned && !(app->rec_have_last && app->rec_last.pin) &&
	    (s->pin.len != strlen(n.context) || memcmp(s->pin.text, n.context, s->pin.len))) {
		struct tui_snap pn = n;
		pn.context = strndup(s->pin.text, s->pin.len);
		pn.target[0] = pn.contrast[0] = '\0';
		struct lesson_step *st = pn.context ? tui_lesson_add_step(&app->rec) : NULL;
		if (!st || !describe(st, app->rec_have_last ? &app->rec_last : NULL, &pn)) {
			free(pn.context);
			free(n.context);
			snprintf(s->msg, sizeof s->msg, "%s", _("out of memory: not recorded"));
			return 0;
		}
		if (app->rec_have_last)
			free(app->rec_last.context);
		app->rec_last = pn;
		app->rec_have_last = 1;
	}
	struct lesson_step *st = tui_lesson_add_step(&app->rec);
	if (!st || !describe(st, app->rec_have_last ? &app->rec_last : NULL, &n)) {
		free(n.context);
		snprintf(s->msg, sizeof s->msg, "%s", _("out of memory: not recorded"));
		return 0;
	}
	if (app->rec_have_last)
		free(app->rec_last.context);
	app->rec_last = n;
	app->rec_have_last = 1;
	char msg[200];
	if (write_file(app, msg, sizeof msg))
		snprintf(s->msg, sizeof s->msg, _("recorded step %d into %s"), app->rec.n, app->rec_path);
	else
		snprintf(s->msg, sizeof s->msg, "%.200s", msg);
	return 1;
}

void tui_record_free(struct tui_app *app)
{
	tui_lesson_free(&app->rec);
	if (app->rec_have_last)
		free(app->rec_last.context);
	app->rec_have_last = 0;
}
