/* `lmscope lesson FILE [MODEL [MODEL_B]]`: plays a lesson file in the
 * explorer (format: lesson.h and lmscope(1)); FILE may be the bare name of
 * an installed lesson (predict). Models on the command line take the place
 * of those the file names. */
#include <stdio.h>
#include <stdlib.h>

#include "front/front.h"
#include "front/i18n.h"
#include "front/opts.h"
#include "lesson.h"
#include "tui.h"

struct lesson_cmd_opts {
	int check;
};

static const struct front_opt check_options[] = {
	FRONT_FLAG("check", 0,
               N_("measure the lesson's expect lines on MODEL without the\n"
                  "screen, a line each; exit status 1 when one fails"),
               struct lesson_cmd_opts, check, 1),
	FRONT_END};

static const struct front_opt lesson_options[] = {
	FRONT_FILE("tokenizer", 0, "DIR", N_("MODEL's tokenizer"), struct lms_explorer_opts, tokenizer),
	FRONT_STR("theme", 0, "dark|light", N_("colours in place of the lesson's"),
              struct lms_explorer_opts, theme),
	FRONT_NUM("speed", 0, "N",
              N_("typed characters per second in place of the lesson's\n"
                 "(a rehearsal goes faster), 0.5 to 1000"),
              struct lms_explorer_opts, speed, 0.5, 1000),
	FRONT_STR("cast", 0, "OUT.cast",
              N_("record the screen as an asciinema v2 file (F10 starts\n"
                 "and stops casts into lmscope-cast-N.cast)"),
              struct lms_explorer_opts, cast),
	FRONT_NUM("cast-speed", 0, "X", N_("in casts, pauses longer than X seconds last X seconds"),
              struct lms_explorer_opts, cast_speed, 0.01, 3600),
	FRONT_END};

static const char usage_text[] = N_("usage: lmscope lesson FILE [MODEL [MODEL_B]] [options]\n"
                                    "       lmscope lesson FILE [MODEL] --check\n");

static const char about_text[] =
	N_("Plays the lesson FILE in the explorer: Space / Right steps on (the context\n"
       "is typed out), Left steps back. MODEL replaces the lesson's model, MODEL_B\n"
       "its second model (side by side).\n");

int lms_cmd_lesson(int argc, char **argv)
{
	struct lms_explorer_opts o = {.model = {NULL, NULL}};
	struct lesson_cmd_opts c = {0};
	struct front_cmd cmd = {
		"lesson", usage_text, about_text, {{lesson_options, &o}, {check_options, &c}}, 0, NULL};
	int i, rc = front_parse(&cmd, argc, argv, &i);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	if (i >= argc)
		return front_usage(_("which lesson file? (lmscope lesson FILE [MODEL])"));
	o.lesson = argv[i++];
	for (int n = 0; i < argc; i++, n++) {
		if (n == 2)
			return front_usage(_("unexpected argument %s"), argv[i]);
		o.model[n] = argv[i];
	}
	char *found = front_find_lesson(o.lesson); /* `lmscope lesson predict` */
	if (found)
		o.lesson = found;
	rc = c.check ? tui_lesson_check_run(o.lesson, o.model[0], o.tokenizer) : lms_explorer_run(&o);
	free(found);
	return rc;
}
