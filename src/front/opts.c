/* Command-line options from tables, through getopt_long (opts.h). */
#include <errno.h>
#include <limits.h>
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "front/front.h"
#include "front/i18n.h"
#include "front/opts.h"

enum { FIRST_VAL = 256 }; /* getopt_long's value of the k-th long option: FIRST_VAL + k */

int front_parse_long(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long x = strtol(s, &end, 10);
	if (end == s || *end || errno || x < lo || x > hi)
		return 0;
	*out = x;
	return 1;
}

/* The k-th entry over all the command's tables (NULL past the end). */
static const struct front_opt *nth(const struct front_cmd *cmd, int k, void **base)
{
	for (int s = 0; s < FRONT_SETS && cmd->set[s].opts; s++)
		for (const struct front_opt *o = cmd->set[s].opts; o->kind != FRONT_OPT_END; o++)
			if (k-- == 0) {
				*base = cmd->set[s].base;
				return o;
			}
	return NULL;
}

static int count(const struct front_cmd *cmd)
{
	void *base;
	int n = 0;
	while (nth(cmd, n, &base))
		n++;
	return n;
}

/* "--name", or "-c" for a short-only option. */
static const char *shown(const struct front_opt *o, char *buf, size_t size)
{
	if (o->name)
		snprintf(buf, size, "--%s", o->name);
	else
		snprintf(buf, size, "-%c", o->short_name);
	return buf;
}

static const char *see(const struct front_cmd *cmd, char *buf, size_t size)
{
	snprintf(buf, size, _("(see lmscope %s%s--help)"), cmd->name ? cmd->name : "",
	         cmd->name ? " " : "");
	return buf;
}

static int bad_number(const struct front_opt *o, const char *v, int integer)
{
	char name[64];
	shown(o, name, sizeof name);
	if (integer && o->hi >= FRONT_INT_MAX)
		return front_usage(_("%s wants an integer >= %.0f, not '%s'"), name, o->lo, v);
	if (integer)
		return front_usage(_("%s wants an integer from %.0f to %.0f, not '%s'"), name, o->lo, o->hi,
		                   v);
	if (isinf(o->hi))
		return front_usage(_("%s wants a number >= %g, not '%s'"), name, o->lo, v);
	return front_usage(_("%s wants a number from %g to %g, not '%s'"), name, o->lo, o->hi, v);
}

/* Stores value v of option o into its field. */
static int store(const struct front_opt *o, void *base, const char *v)
{
	char *field = (char *)base + o->offset;
	long n;
	struct stat sb;
	if ((o->kind == FRONT_OPT_FILE || o->kind == FRONT_OPT_FILES) && stat(v, &sb) != 0)
		return front_fail(lms_fail(LMS_EIO, "%s: %s", v, strerror(errno)));
	switch (o->kind) {
	case FRONT_OPT_FLAG: *(int *)field = (int)o->lo; return 0;
	case FRONT_OPT_STR:
	case FRONT_OPT_FILE: *(const char **)field = v; return 0;
	case FRONT_OPT_LIST:
	case FRONT_OPT_FILES: {
		struct front_list *l = (struct front_list *)field;
		const char **nv = realloc(l->v, ((size_t)l->n + 1) * sizeof *nv);
		if (!nv)
			return front_fail(lms_fail(LMS_ENOMEM, "out of memory"));
		l->v = nv;
		l->v[l->n++] = v;
		return 0;
	}
	case FRONT_OPT_INT:
	case FRONT_OPT_LONG:
	case FRONT_OPT_U64:
		if (!front_parse_long(v, (long)o->lo, o->hi >= (double)LONG_MAX ? LONG_MAX : (long)o->hi,
		                      &n))
			return bad_number(o, v, 1);
		if (o->kind == FRONT_OPT_INT)
			*(int *)field = (int)n;
		else if (o->kind == FRONT_OPT_LONG)
			*(long *)field = n;
		else
			*(uint64_t *)field = (uint64_t)n;
		return 0;
	case FRONT_OPT_NUM: {
		char *end;
		double x = strtod(v, &end);
		if (end == v || *end || !isfinite(x) || x < o->lo || x > o->hi)
			return bad_number(o, v, 0);
		*(double *)field = x;
		return 0;
	}
	case FRONT_OPT_FN: return o->fn(field, v);
	case FRONT_OPT_END: break;
	}
	return 0;
}

/* An unknown or ambiguous long option: "--te" (maybe "--te=x") in arg. */
static int bad_long(const struct front_cmd *cmd, const char *arg)
{
	char hint[96], list[512] = "";
	size_t len = strcspn(arg + 2, "=");
	int matches = 0;
	void *base;
	const struct front_opt *o;
	for (int k = 0; (o = nth(cmd, k, &base)); k++)
		if (o->name && !strncmp(o->name, arg + 2, len)) {
			size_t at = strlen(list);
			snprintf(list + at, sizeof list - at, "%s--%s", matches++ ? ", " : "", o->name);
		}
	if (!strncmp("help", arg + 2, len)) {
		size_t at = strlen(list);
		snprintf(list + at, sizeof list - at, "%s--help", matches++ ? ", " : "");
	}
	if (matches > 1)
		return front_usage(_("%.*s is ambiguous: %s"), (int)len + 2, arg, list);
	return front_usage(_("unknown option %.*s %s"), (int)len + 2, arg, see(cmd, hint, sizeof hint));
}

/* Which entry getopt_long returned: a short letter or FIRST_VAL + k. */
static const struct front_opt *entry_of(const struct front_cmd *cmd, int c, void **base)
{
	if (c >= FIRST_VAL)
		return nth(cmd, c - FIRST_VAL, base);
	const struct front_opt *o;
	for (int k = 0; (o = nth(cmd, k, base)); k++)
		if (o->short_name && o->short_name == c)
			return o;
	return NULL;
}

int front_parse(const struct front_cmd *cmd, int argc, char **argv, int *first)
{
	int n = count(cmd), k = 0;
	struct option *lo = calloc((size_t)n + 2, sizeof *lo);
	char *shorts = malloc(2 * (size_t)n + 8);
	if (!lo || !shorts) {
		free(lo);
		free(shorts);
		return front_fail(lms_fail(LMS_ENOMEM, "out of memory"));
	}
	size_t ns = 0;
	if (cmd->stop_at_arg)
		shorts[ns++] = '+';
	shorts[ns++] = ':'; /* a missing value returns ':' */
	shorts[ns++] = 'h';
	void *base;
	const struct front_opt *o;
	int nl = 0;
	for (k = 0; (o = nth(cmd, k, &base)); k++) {
		int has_arg = o->kind == FRONT_OPT_FLAG ? no_argument : required_argument;
		if (o->name)
			lo[nl++] = (struct option){o->name, has_arg, NULL, FIRST_VAL + k};
		if (o->short_name) {
			shorts[ns++] = o->short_name;
			if (has_arg)
				shorts[ns++] = ':';
		}
	}
	lo[nl++] = (struct option){"help", no_argument, NULL, 'h'};
	shorts[ns] = 0;
	int rc = 0, c;
	char name[64], hint[96];
	optind = 0; /* glibc: start afresh (main.c parsed before) */
	opterr = 0;
	while (!rc && (c = getopt_long(argc, argv, shorts, lo, NULL)) != -1) {
		if (c == 'h') {
			if (cmd->print_help)
				cmd->print_help(stdout);
			else
				front_help(stdout, cmd);
			rc = -1;
		} else if (c == ':') {
			o = entry_of(cmd, optopt, &base);
			rc = front_usage(_("%s wants a value %s"),
			                 o ? shown(o, name, sizeof name) : argv[optind - 1],
			                 see(cmd, hint, sizeof hint));
		} else if (c == '?') {
			if (optopt >= FIRST_VAL && (o = entry_of(cmd, optopt, &base)))
				rc = front_usage(_("%s takes no value"), shown(o, name, sizeof name));
			else if (optopt)
				rc = front_usage(_("unknown option -%c %s"), optopt, see(cmd, hint, sizeof hint));
			else
				rc = bad_long(cmd, argv[optind - 1]);
		} else if ((o = entry_of(cmd, c, &base))) {
			rc = store(o, base, optarg);
		}
	}
	free(lo);
	free(shorts);
	*first = optind;
	return rc;
}

/* "  -o, --output DIR" */
static int left(const struct front_opt *o, char *buf, size_t size)
{
	return snprintf(buf, size, "  %s%s%s%s%s%s",
	                o->short_name ? (char[]){'-', o->short_name, 0} : "",
	                o->short_name && o->name ? ", " : "", o->name ? "--" : "",
	                o->name ? o->name : "", o->arg ? " " : "", o->arg ? o->arg : "");
}

enum { HELP_COL_MAX = 24 };

static int column(const struct front_opt *opts)
{
	char buf[128];
	int col = 0;
	for (const struct front_opt *o = opts; o->kind != FRONT_OPT_END; o++) {
		int w = left(o, buf, sizeof buf) + 2;
		if (w <= HELP_COL_MAX && w > col)
			col = w;
	}
	return col;
}

static void lines(FILE *f, const struct front_opt *opts, int col)
{
	char buf[128];
	for (const struct front_opt *o = opts; o->kind != FRONT_OPT_END; o++) {
		int w = left(o, buf, sizeof buf);
		fprintf(f, "%s%*s", buf, w + 2 <= col ? col - w : 2, "");
		for (const char *h = front_tr(o->help); *h;) {
			size_t len = strcspn(h, "\n");
			fprintf(f, "%.*s\n", (int)len, h);
			h += len;
			if (*h && *++h)
				fprintf(f, "%*s", col, "");
		}
	}
}

void front_opts_help(FILE *f, const struct front_opt *opts)
{
	lines(f, opts, column(opts));
}

void front_help(FILE *f, const struct front_cmd *cmd)
{
	fputs(front_tr(cmd->usage), f);
	int col = 0;
	for (int s = 0; s < FRONT_SETS && cmd->set[s].opts; s++) {
		int c = column(cmd->set[s].opts);
		col = c > col ? c : col;
	}
	for (int s = 0; s < FRONT_SETS && cmd->set[s].opts; s++)
		lines(f, cmd->set[s].opts, col);
	if (cmd->about)
		fputs(front_tr(cmd->about), f);
}
