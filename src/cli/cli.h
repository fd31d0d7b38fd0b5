/* The command-line front end: one function per subcommand and the helpers
 * they share. Front-end code prints; the engine never does. */
#ifndef LMS_CLI_H
#define LMS_CLI_H

#include <stdio.h>

#include "lmscope/model.h"
#include "lmscope/tokenizer.h"

/* Exit statuses (documented in man/lmscope.1). */
enum {
	LMS_EXIT_OK = 0,
	LMS_EXIT_FAIL = 1,     /* a command failed for a reason not listed below */
	LMS_EXIT_USAGE = 2,    /* bad command line */
	LMS_EXIT_IO = 3,       /* a file could not be read or written */
	LMS_EXIT_FORMAT = 4,   /* an input file is malformed */
	LMS_EXIT_NOMEM = 5,    /* not enough memory */
	LMS_EXIT_UNSUPPORTED = 6,
	LMS_EXIT_NUMERIC = 7,  /* NaN or Inf (e.g. a diverging training run) */
	LMS_EXIT_INTERRUPTED = 130,
};

/* Prints "lmscope: <engine message>" to stderr; returns the exit status. A
 * message that names no file ("<file>: <what>") is given the subcommand's
 * name instead: "lmscope: eval: the texts have fewer than two tokens". */
int cli_fail(enum lms_status st);
/* Prints "lmscope: CMD: <formatted>" to stderr and returns LMS_EXIT_USAGE;
 * CMD is cli_command (the running subcommand, set by main.c; NULL before
 * one is chosen), left out when the message already starts with it. */
int cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern const char *cli_command;
int cli_exit_code(enum lms_status st);

/* Makes OpenBLAS use the kernels this processor can run (may re-exec). */
void cli_pick_blas_core(char **argv);

/* Parses "5,17,42" into a malloc'd array. Returns 0 on a malformed list. */
int cli_parse_ids(const char *s, int **ids, size_t *n);

/* A model with its tokenizer (tok may be NULL: tokens are shown by id).
 * path is a model directory, or a llama2.c .bin with tokpath naming its
 * tokenizer.bin (NULL when absent). A bare name (no slash) that does not
 * exist here is looked up in $LMSCOPE_MODELS, then in the installed
 * LMS_DATADIR/models, then in ../share/lmscope/models beside the running
 * binary; cm->path is then the directory found. */
struct cli_model {
	struct lms_model *m;
	struct lms_tokenizer *tok;
	const char *path;
	char *found;      /* the looked-up path (owned), or NULL */
};
enum lms_status cli_open_model(const char *path, const char *tokpath, struct cli_model *cm);
void cli_close_model(struct cli_model *cm);
/* The display string of a token: its piece, or "#<id>" without a tokenizer.
 * Returns buf or a string owned by the tokenizer. */
const char *cli_token_str(const struct cli_model *cm, int id, char *buf, size_t size);

/* Subcommands: argv[0] is the subcommand's name. */
int lms_cmd_info(int argc, char **argv);
int lms_cmd_explain(int argc, char **argv);
int lms_cmd_tokenize(int argc, char **argv);
int lms_cmd_tokenizer(int argc, char **argv);
int lms_cmd_train(int argc, char **argv);
int lms_cmd_eval(int argc, char **argv);
int lms_cmd_generate(int argc, char **argv);
int lms_cmd_convert(int argc, char **argv);
int lms_cmd_importance(int argc, char **argv);
int lms_cmd_lesson(int argc, char **argv);

#endif
