/* Command-line options from one table per command: the table gives each
 * option's name, value kind, value placeholder, help line and where its
 * value goes; getopt_long (libc) parses from it (--name=VALUE, --name VALUE,
 * unique abbreviations, -- ends the options, options anywhere among the
 * arguments), and the command's --help text is printed from it. Values are
 * converted and range-checked here, one way for every command; errors are
 * "lmscope: CMD: --top wants an integer from 1 to 100000, not 'x'", exit 2.
 *
 * Writing a command's options:
 *
 *   struct my_opts { const char *text; int top, json; double temp; };
 *   static const struct front_opt my_options[] = {
 *       FRONT_STR("text", 0, "TEXT", "the input text", struct my_opts, text),
 *       FRONT_INT("top", 'k', "K", "show the K best (10)", struct my_opts, top, 1, 1000),
 *       FRONT_NUM("temperature", 0, "T", "0 is greedy (0.8)", struct my_opts, temp, 0, 100),
 *       FRONT_FLAG("json", 0, "one JSON object\non one line", struct my_opts, json, 1),
 *       FRONT_END};
 *   ...
 *   struct my_opts o = {.top = 10, .temp = 0.8};   (the defaults)
 *   struct front_cmd cmd = {"my", "usage: lmscope my MODEL [options]\n", NULL,
 *                           {{my_options, &o}}};
 *   int first, rc = front_parse(&cmd, argc, argv, &first);
 *   if (rc)
 *       return rc < 0 ? LMS_EXIT_OK : rc;      (-1: --help was printed)
 *   argv[first .. argc) are the positional arguments (MODEL ...).
 *
 * The field named by each entry is type-checked at compile time (FRONT_INT
 * wants an int, FRONT_LONG a long, FRONT_U64 a uint64_t, FRONT_NUM a double,
 * FRONT_STR a const char *, FRONT_FLAG an int set to the given value,
 * FRONT_LIST a struct front_list that each use appends to; FRONT_FILE and
 * FRONT_FILES are FRONT_STR and FRONT_LIST for input files, refused at
 * once, exit 3, "lmscope: PATH: No such file or directory", when the path
 * does not exist). FRONT_FN calls a
 * function of yours with the field's address and the value (for choices
 * such as --method). A command may combine up to FRONT_SETS tables, each
 * with its own struct (explain adds explain_attr.c's to its own).
 *
 * Conventions the docs test (tests/cli/docs.sh) relies on: a command's
 * tables are arrays named NAME_options or NAME_<anything>_options
 * ("explain_options", "explain_attr_options", "tokenizer_train_options";
 * "lmscope_options" for the global ones, "explorer_options"), one entry a
 * line, each starting with its FRONT_ macro and the option's long name in
 * quotes (or NULL and its short letter); every entry is shown in --help and
 * must be an item of the command's section of man/lmscope.1. A help string's
 * "\n" continues it on the next line. */
#ifndef LMS_FRONT_OPTS_H
#define LMS_FRONT_OPTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

enum front_opt_kind {
	FRONT_OPT_END,
	FRONT_OPT_FLAG,  /* int = value (lo) */
	FRONT_OPT_STR,   /* const char * */
	FRONT_OPT_FILE,  /* const char *, a path that exists */
	FRONT_OPT_LIST,  /* struct front_list += value */
	FRONT_OPT_FILES, /* struct front_list += value, a path that exists */
	FRONT_OPT_INT,   /* int in [lo, hi] */
	FRONT_OPT_LONG,  /* long in [lo, hi] */
	FRONT_OPT_U64,   /* uint64_t in [lo, hi] */
	FRONT_OPT_NUM,   /* finite double in [lo, hi] */
	FRONT_OPT_FN,    /* fn(field, value) */
};

/* fn's result: 0, or an exit status after it printed the error
 * (front_usage). */
typedef int (*front_opt_fn)(void *field, const char *value);

struct front_opt {
	const char *name; /* long name without "--", or NULL (short only) */
	char short_name;  /* 'o' for -o, or 0 */
	enum front_opt_kind kind;
	const char *arg;  /* the value's placeholder ("N"), NULL for flags */
	const char *help; /* one line; "\n" starts a continuation line */
	size_t offset;    /* of the field in the table's struct */
	double lo, hi;    /* range (FLAG: lo is the value stored) */
	front_opt_fn fn;
};

/* The repeatable option's values in order (v malloc'd: free(list.v)). */
struct front_list {
	const char **v;
	int n;
};

/* The field's offset when it has the given type, else a compile error. */
#define FRONT_FIELD(T, f, type) _Generic(((T *)0)->f, type : offsetof(T, f))

#define FRONT_FLAG(name, sh, help, T, f, value)                                                    \
	{                                                                                              \
		name, sh, FRONT_OPT_FLAG, NULL, help, FRONT_FIELD(T, f, int), value, value, NULL           \
	}
#define FRONT_STR(name, sh, arg, help, T, f)                                                       \
	{                                                                                              \
		name, sh, FRONT_OPT_STR, arg, help, FRONT_FIELD(T, f, const char *), 0, 0, NULL            \
	}
#define FRONT_FILE(name, sh, arg, help, T, f)                                                      \
	{                                                                                              \
		name, sh, FRONT_OPT_FILE, arg, help, FRONT_FIELD(T, f, const char *), 0, 0, NULL           \
	}
#define FRONT_FILES(name, sh, arg, help, T, f)                                                     \
	{                                                                                              \
		name, sh, FRONT_OPT_FILES, arg, help, FRONT_FIELD(T, f, struct front_list), 0, 0, NULL     \
	}
#define FRONT_LIST(name, sh, arg, help, T, f)                                                      \
	{                                                                                              \
		name, sh, FRONT_OPT_LIST, arg, help, FRONT_FIELD(T, f, struct front_list), 0, 0, NULL      \
	}
#define FRONT_INT(name, sh, arg, help, T, f, lo, hi)                                               \
	{                                                                                              \
		name, sh, FRONT_OPT_INT, arg, help, FRONT_FIELD(T, f, int), lo, hi, NULL                   \
	}
#define FRONT_LONG(name, sh, arg, help, T, f, lo, hi)                                              \
	{                                                                                              \
		name, sh, FRONT_OPT_LONG, arg, help, FRONT_FIELD(T, f, long), lo, hi, NULL                 \
	}
#define FRONT_U64(name, sh, arg, help, T, f, lo, hi)                                               \
	{                                                                                              \
		name, sh, FRONT_OPT_U64, arg, help, FRONT_FIELD(T, f, uint64_t), lo, hi, NULL              \
	}
#define FRONT_NUM(name, sh, arg, help, T, f, lo, hi)                                               \
	{                                                                                              \
		name, sh, FRONT_OPT_NUM, arg, help, FRONT_FIELD(T, f, double), lo, hi, NULL                \
	}
#define FRONT_FN(name, sh, arg, help, T, f, fn)                                                    \
	{                                                                                              \
		name, sh, FRONT_OPT_FN, arg, help, offsetof(T, f), 0, 0, fn                                \
	}
#define FRONT_END                                                                                  \
	{                                                                                              \
		NULL, 0, FRONT_OPT_END, NULL, NULL, 0, 0, 0, NULL                                          \
	}

/* Integer option bounds meaning "no upper limit" in messages. */
#define FRONT_INT_MAX 2147483647.0

enum { FRONT_SETS = 4 };

struct front_cmd {
	const char *name;  /* for "(see lmscope NAME --help)"; NULL: lmscope --help */
	const char *usage; /* "usage: ..." lines, printed first by --help */
	const char *about; /* printed after the option lines, or NULL */
	struct {
		const struct front_opt *opts; /* a table ending with FRONT_END, or NULL */
		void *base;                   /* the struct its offsets are in */
	} set[FRONT_SETS];
	int stop_at_arg;             /* 1: options end at the first argument (lmscope's own) */
	void (*print_help)(FILE *f); /* --help prints this instead of front_help */
};

/* Parses argv[1 ..] (argv[0] is the command); -h and --help print the help
 * to stdout and return -1. Returns 0 with *first the index of the first
 * positional argument (argv is permuted: the arguments follow the
 * options), or the exit status after printing a usage error. */
int front_parse(const struct front_cmd *cmd, int argc, char **argv, int *first);

/* The help text: usage, the option lines of every table, about. */
void front_help(FILE *f, const struct front_cmd *cmd);
/* The option lines of one table. */
void front_opts_help(FILE *f, const struct front_opt *opts);

/* Parses a whole decimal integer in [lo, hi]; 1 when it is one. The one
 * integer parser of the command-line options. */
int front_parse_long(const char *s, long lo, long hi, long *out);

#endif
