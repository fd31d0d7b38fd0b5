/* Helpers shared by the subcommands: errors, exit statuses, id lists, and
 * opening a model with its tokenizer. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "lmscope/llama2c.h"

int cli_exit_code(enum lms_status st)
{
	switch (st) {
	case LMS_OK: return LMS_EXIT_OK;
	case LMS_EARG: return LMS_EXIT_USAGE;
	case LMS_EIO: return LMS_EXIT_IO;
	case LMS_EFORMAT: return LMS_EXIT_FORMAT;
	case LMS_ENOMEM: return LMS_EXIT_NOMEM;
	case LMS_EUNSUPPORTED: return LMS_EXIT_UNSUPPORTED;
	case LMS_ENUMERIC: return LMS_EXIT_NUMERIC;
	case LMS_EINTR: return LMS_EXIT_INTERRUPTED;
	}
	return LMS_EXIT_FAIL;
}

/* Whether msg starts with "<something without spaces>: ", a file's name
 * (or another subject) as the style "lmscope: <file>: <what>" wants. */
static int has_subject(const char *msg)
{
	size_t n = strcspn(msg, " :");
	return n > 0 && msg[n] == ':' && msg[n + 1] == ' ';
}

int cli_fail(enum lms_status st)
{
	const char *msg = lms_errmsg();
	if (!has_subject(msg) && cli_command)
		fprintf(stderr, "lmscope: %s: %s\n", cli_command, *msg ? msg : lms_status_name(st));
	else
		fprintf(stderr, "lmscope: %s\n", *msg ? msg : lms_status_name(st));
	return cli_exit_code(st);
}

const char *cli_command;

int cli_usage(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* "lmscope: CMD: what is wrong", whether or not the message names CMD */
	const char *c = cli_command, *rest = msg;
	size_t k = c ? strlen(c) : 0;
	if (k && !strncmp(msg, c, k) && msg[k] == ' ') {
		const char *colon = strchr(msg + k + 1, ':'), *space = strchr(msg + k + 1, ' ');
		if (colon && (!space || colon < space))
			c = NULL; /* "tokenizer train: ..." */
		else
			rest = msg + k + 1; /* "train needs ..." -> "train: needs ..." */
	} else if (k && !strncmp(msg, c, k) && msg[k] == ':') {
		c = NULL;
	}
	if (c)
		fprintf(stderr, "lmscope: %s: %s\n", c, rest);
	else
		fprintf(stderr, "lmscope: %s\n", msg);
	return LMS_EXIT_USAGE;
}

int cli_parse_ids(const char *s, int **ids, size_t *n)
{
	size_t cap = 16, len = 0;
	int *v = malloc(cap * sizeof *v);
	if (!v)
		return 0;
	const char *p = s;
	while (*p) {
		char *end;
		errno = 0;
		long x = strtol(p, &end, 10);
		if (end == p || errno || x < 0 || x > 0x7fffffff || (*end && *end != ',')) {
			free(v);
			return 0;
		}
		if (len == cap) {
			int *nv = realloc(v, (cap *= 2) * sizeof *v);
			if (!nv) {
				free(v);
				return 0;
			}
			v = nv;
		}
		v[len++] = (int)x;
		p = *end ? end + 1 : end;
	}
	if (!len) {
		free(v);
		return 0;
	}
	*ids = v;
	*n = len;
	return 1;
}

/* dir/name when it exists (malloc'd), else NULL. */
static char *model_in(const char *dir, const char *name)
{
	struct stat sb;
	if (!dir || !*dir)
		return NULL;
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p && snprintf(p, n, "%s/%s", dir, name) > 0 && stat(p, &sb) == 0) {
		char *r = realpath(p, NULL); /* bin/../share/... as the plain path */
		if (r) {
			free(p);
			p = r;
		}
		return p;
	}
	free(p);
	return NULL;
}

static void drop(struct cli_model *cm)
{
	lms_model_free(cm->m);
	lms_tokenizer_free(cm->tok);
	cm->m = NULL;
	cm->tok = NULL;
}

static enum lms_status open_model(const char *path, const char *tokpath, struct cli_model *cm)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
	/* a llama2.c checkpoint: its tokenizer.bin is only ever named by tokpath */
	size_t plen = strlen(path);
	int bin = S_ISREG(sb.st_mode) && plen > 4 && strcmp(path + plen - 4, ".bin") == 0;
	if (!S_ISDIR(sb.st_mode) && !bin)
		return lms_fail(LMS_EFORMAT, "%s: not a model directory or llama2.c checkpoint (.bin)", path);
	enum lms_status st = bin ? lms_llama2c_load(path, &cm->m) : lms_model_load(path, &cm->m);
	if (st)
		return st;
	const char *tp = tokpath ? tokpath : bin ? NULL : path;
	if (tp && stat(tp, &sb) == 0 && S_ISREG(sb.st_mode))
		st = lms_llama2c_tokenizer_load(tp, &cm->tok);
	else if (tp)
		st = lms_tokenizer_load(tp, &cm->tok);
	if (st)
		return st;
	if (bin && cm->tok && lms_tokenizer_vocab_size(cm->tok) != cm->m->cfg.V)
		return lms_fail(LMS_EFORMAT, "%s: %d pieces, but %s has a vocabulary of %d", tokpath,
		                lms_tokenizer_vocab_size(cm->tok), path, cm->m->cfg.V);
	if (cm->tok && lms_tokenizer_vocab_size(cm->tok) > cm->m->cfg.V)
		return lms_fail(LMS_EFORMAT, "%s: tokenizer has more tokens than the model's vocabulary", path);
	return LMS_OK;
}

/* name in the models directory of an installation whose binary is this
 * one: <bindir>/../share/lmscope/models (an installation moved, or made
 * with a PREFIX other than the one compiled in). */
static char *model_beside_exe(const char *name)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 64);
	if (n <= 0 || (size_t)n >= sizeof exe - 64)
		return NULL;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	strcpy(slash, "/../share/lmscope/models");
	return model_in(exe, name);
}

enum lms_status cli_open_model(const char *path, const char *tokpath, struct cli_model *cm)
{
	memset(cm, 0, sizeof *cm);
	struct stat sb;
	if (stat(path, &sb) != 0 && errno == ENOENT && *path && !strchr(path, '/')) {
		cm->found = model_in(getenv("LMSCOPE_MODELS"), path);
		if (!cm->found)
			cm->found = model_in(LMS_DATADIR "/models", path);
		if (!cm->found)
			cm->found = model_beside_exe(path);
		if (cm->found)
			path = cm->found;
	}
	cm->path = path;
	enum lms_status st = open_model(path, tokpath, cm);
	if (st)
		cli_close_model(cm);
	return st;
}

void cli_close_model(struct cli_model *cm)
{
	drop(cm);
	free(cm->found);
	cm->found = NULL;
	cm->path = NULL;
}

const char *cli_token_str(const struct cli_model *cm, int id, char *buf, size_t size)
{
	if (cm->tok && id < lms_tokenizer_vocab_size(cm->tok))
		return lms_tokenizer_piece(cm->tok, id);
	snprintf(buf, size, "#%d", id);
	return buf;
}
