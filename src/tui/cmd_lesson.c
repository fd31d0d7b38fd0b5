/* `lmscope lesson FILE [MODEL [MODEL_B]]`: plays a lesson file in the
 * explorer (format: lesson.h and lmscope(1)); FILE may be the bare name of
 * an installed lesson (predict). Models on the command line take the place
 * of those the file names. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/front.h"
#include "tui.h"

static int usage(void)
{
	printf("usage: lmscope lesson FILE [MODEL [MODEL_B]] [--tokenizer DIR] [--theme dark|light]\n"
	       "                     [--speed N]\n"
	       "Plays the lesson FILE in the explorer: Space / Right steps on (the context\n"
	       "is typed out), Left steps back. MODEL replaces the lesson's model, MODEL_B\n"
	       "its second model (side by side). --speed sets the typed characters per\n"
	       "second in place of the lesson's (a rehearsal goes faster).\n");
	return LMS_EXIT_OK;
}

int lms_cmd_lesson(int argc, char **argv)
{
	struct lms_explorer_opts o;
	memset(&o, 0, sizeof o);
	int n_models = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help"))
			return usage();
		else if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc)
			o.tokenizer = argv[++i];
		else if (!strcmp(argv[i], "--theme") && i + 1 < argc)
			o.theme = argv[++i];
		else if (!strcmp(argv[i], "--speed") && i + 1 < argc) {
			char *end;
			o.speed = strtod(argv[++i], &end);
			if (*end || !(o.speed >= 0.5 && o.speed <= 1000.0))
				return front_usage("--speed wants characters per second between 0.5 and 1000");
		}
		else if (argv[i][0] == '-')
			return front_usage("unknown option %s (see lmscope lesson --help)", argv[i]);
		else if (!o.lesson)
			o.lesson = argv[i];
		else if (n_models < 2)
			o.model[n_models++] = argv[i];
		else
			return front_usage("unexpected argument %s", argv[i]);
	}
	if (!o.lesson)
		return front_usage("which lesson file? (lmscope lesson FILE [MODEL])");
	char *found = front_find_lesson(o.lesson); /* `lmscope lesson predict` */
	if (found)
		o.lesson = found;
	int rc = lms_explorer_run(&o);
	free(found);
	return rc;
}
