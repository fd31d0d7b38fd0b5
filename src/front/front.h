/* What the two front ends (the command line, src/cli, and the explorer,
 * src/tui) share: exit statuses and error reports, opening a model with its
 * tokenizer, and the OpenBLAS kernel choice. Front-end code prints; the
 * engine never does. */
#ifndef LMS_FRONT_H
#define LMS_FRONT_H

#include <signal.h>
#include <stdio.h>

#include "lmscope/model.h"
#include "lmscope/tokenizer.h"

/* Exit statuses (documented in man/lmscope.1). */
enum {
	LMS_EXIT_OK = 0,
	LMS_EXIT_FAIL = 1,   /* a command failed for a reason not listed below */
	LMS_EXIT_USAGE = 2,  /* bad command line */
	LMS_EXIT_IO = 3,     /* a file could not be read or written */
	LMS_EXIT_FORMAT = 4, /* an input file is malformed */
	LMS_EXIT_NOMEM = 5,  /* not enough memory */
	LMS_EXIT_UNSUPPORTED = 6,
	LMS_EXIT_NUMERIC = 7, /* NaN or Inf (e.g. a diverging training run) */
	LMS_EXIT_INTERRUPTED = 130,
};

/* Prints "lmscope: <engine message>" to stderr; returns the exit status. A
 * message that names no file ("<file>: <what>") is given the subcommand's
 * name instead: "lmscope: eval: the texts have fewer than two tokens". */
int front_fail(enum lms_status st);
/* Prints "lmscope: CMD: <formatted>" to stderr and returns LMS_EXIT_USAGE;
 * CMD is front_command (the running subcommand, set by main.c; NULL before
 * one is chosen), left out when the message already starts with it. */
int front_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern const char *front_command;
int front_exit_code(enum lms_status st);

/* Ctrl-C sets front_interrupted (from front_sigint_catch until
 * front_sigint_restore puts the old handler, saved in *old, back). */
extern volatile sig_atomic_t front_interrupted;

/* A model file mapped in place and cut short by another program while in
 * use ends the run with one line naming it (exit 3) instead of SIGBUS. */
void front_mapguard_hook(void);
/* fn (NULL: none) runs before that line, from the SIGBUS handler, so it may
 * only make async-signal-safe calls: the explorer gives the terminal back
 * there (tui/term.c), so that the line lands on the normal screen. */
void front_mapguard_restore(void (*fn)(void));
void front_sigint_catch(struct sigaction *old);
void front_sigint_restore(const struct sigaction *old);

/* Makes OpenBLAS use the kernels this processor can run (may re-exec). */
void front_pick_blas_core(char **argv);

/* A model with its tokenizer (tok may be NULL: tokens are shown by id).
 * path is a model directory, or a llama2.c .bin with tokpath naming its
 * tokenizer.bin (NULL when absent). A bare name (no slash) that does not
 * exist here is looked up in $LMSCOPE_MODELS, then in the installed
 * LMS_DATADIR/models, then in ../share/lmscope/models beside the running
 * binary; cm->path is then the directory found. */
struct front_model {
	struct lms_model *m;
	struct lms_tokenizer *tok;
	const char *path;
	char *found; /* the looked-up path (owned), or NULL */
};
enum lms_status front_open_model(const char *path, const char *tokpath, struct front_model *cm);
void front_close_model(struct front_model *cm);
/* A model's name for titles and status lines: the last component of its
 * path (a trailing '/' ignored), into buf. */
const char *front_model_name(const char *path, char *buf, size_t size);
/* rel (a name, or a path under the models directory such as
 * "lessons/predict.lesson") in $LMSCOPE_MODELS, the installed
 * LMS_DATADIR/models, or ../share/lmscope/models beside the binary, in that
 * order: the path found (malloc'd), else NULL. */
char *front_find_installed(const char *rel);
/* <the running binary's directory>/rel into buf (size bytes); 0 when the
 * binary's path is unknown or does not fit. */
int front_beside_exe(const char *rel, char *buf, size_t size);
/* A lesson given by bare name (no slash, no such file here): NAME.lesson,
 * else NAME, in the lessons/ of the models directories above (malloc'd);
 * NULL when name is a path or none is found. */
char *front_find_lesson(const char *name);
/* The display string of a token: its piece, or "#<id>" without a tokenizer.
 * Returns buf or a string owned by the tokenizer. */
const char *front_token_str(const struct front_model *cm, int id, char *buf, size_t size);

#endif
