/* The explorer: `lmscope MODEL_DIR [--text TEXT]` opens an ncurses screen in
 * which a context is typed and the model's predictions, saliency, attention
 * (or recurrent activations) and logit lens update on every keystroke.
 * argv[0] is the model path. Returns the process exit status. */
#ifndef LMS_TUI_H
#define LMS_TUI_H

#include "front/opts.h"

int lms_explorer_main(int argc, char **argv);
/* Its options (explorer_opts.c), for lmscope --help. */
extern const struct front_opt explorer_options[];

/* `lmscope lesson FILE [MODEL [MODEL_B]]`: argv[0] is "lesson". */
int lms_cmd_lesson(int argc, char **argv);

/* What the explorer opens: one model, or two side by side; a lesson to
 * play (`lmscope lesson`); the theme; the file F7 records steps into; the
 * cast (asciinema file) of the whole session; the corpus whose neuron
 * cache the neurons pane reads. */
struct lms_explorer_opts {
	const char *model[2];  /* model[0] NULL: the lesson's */
	const char *tokenizer; /* for model[0] */
	const char *text;      /* initial context */
	const char *theme;     /* "dark", "light" or NULL */
	const char *record;    /* NULL: lmscope-lesson-N.lesson on the first F7 */
	const char *lesson;    /* NULL: none */
	double speed;          /* typed characters per second; 0: the lesson's */
	const char *cast;      /* asciinema file of the session, or NULL */
	double cast_speed;     /* pauses in casts cut to this many seconds; 0: kept */
	const char *corpus;    /* the MLP neurons' corpus (--corpus FILE), or NULL */
};
int lms_explorer_run(const struct lms_explorer_opts *o);

#endif
