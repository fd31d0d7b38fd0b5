/* `lmscope [--threads N] MODEL [MODEL_B] [options]`: the explorer's command
 * line (its option table is also printed by lmscope --help). */
#include <stdio.h>

#include "front/front.h"
#include "front/i18n.h"
#include "front/opts.h"
#include "tui.h"

const struct front_opt explorer_options[] = {
	FRONT_FILE("tokenizer", 0, "FILE",
               N_("MODEL's tokenizer (a directory, or llama2.c's tokenizer.bin)"),
               struct lms_explorer_opts, tokenizer),
	FRONT_STR("text", 0, "TEXT", N_("the context to start with"), struct lms_explorer_opts, text),
	FRONT_STR("theme", 0, "dark|light", N_("colours for a dark (default) or light background"),
              struct lms_explorer_opts, theme),
	FRONT_STR("record", 0, "FILE",
              N_("the lesson file F7 adds steps to\n(default lmscope-lesson-N.lesson)"),
              struct lms_explorer_opts, record),
	FRONT_STR("cast", 0, "OUT.cast",
              N_("record the screen as an asciinema v2 file (F10 starts\n"
                 "and stops casts into lmscope-cast-N.cast)"),
              struct lms_explorer_opts, cast),
	FRONT_NUM("cast-speed", 0, "X", N_("in casts, pauses longer than X seconds last X seconds"),
              struct lms_explorer_opts, cast_speed, 0.01, 3600),
	FRONT_FILE("corpus", 0, "FILE",
               N_("the corpus of the MLP neurons pane's contexts (N, Enter),\n"
                  "read from the cache the neurons command keeps"),
               struct lms_explorer_opts, corpus),
	FRONT_END};

static const char usage_text[] = N_("usage: lmscope [--threads N] MODEL [MODEL_B] [options]\n");

static const char about_text[] =
	N_("Opens the explorer on MODEL (beside MODEL_B: both driven by the same\n"
       "context); F1 inside shows the keys.\n");

int lms_explorer_main(int argc, char **argv)
{
	struct lms_explorer_opts o = {.model = {argv[0], NULL}};
	struct front_cmd cmd = {NULL, usage_text, about_text, {{explorer_options, &o}}, 0, NULL};
	int first, rc = front_parse(&cmd, argc, argv, &first);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	if (first < argc)
		o.model[1] = argv[first++];
	if (first < argc)
		return front_usage(_("unexpected argument %s (see lmscope --help)"), argv[first]);
	return lms_explorer_run(&o);
}
