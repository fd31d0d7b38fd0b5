/* Opening a model with its tokenizer, by path or by bare name (looked up
 * in $LMSCOPE_MODELS and the installed models), and finding an installed
 * lesson by name the same way. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front/front.h"
#include "lmscope/gguf.h"
#include "lmscope/llama2c.h"

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

static void drop(struct front_model *cm)
{
	lms_model_free(cm->m);
	lms_tokenizer_free(cm->tok);
	cm->m = NULL;
	cm->tok = NULL;
}

/* A training snapshot (RUN/snapshots/NAME, lmscope/snapshots.h) holds no
 * tokenizer: RUN's is its own. Loads RUN's when path is one. */
static enum lms_status snapshot_tokenizer(const char *path, struct front_model *cm)
{
	char *run = realpath(path, NULL), *slash = run ? strrchr(run, '/') : NULL;
	enum lms_status st = LMS_OK;
	if (slash && slash > run) {
		*slash = 0; /* RUN/snapshots */
		slash = strrchr(run, '/');
		if (slash && !strcmp(slash + 1, "snapshots")) {
			slash[slash == run] = 0; /* RUN, or / */
			st = lms_tokenizer_load(run, &cm->tok);
		}
	}
	free(run);
	return st;
}

static enum lms_status open_model(const char *path, const char *tokpath, struct front_model *cm)
{
	struct stat sb;
	if (stat(path, &sb) != 0)
		return lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
	/* a llama2.c checkpoint: its tokenizer.bin is only ever named by tokpath */
	size_t plen = strlen(path);
	int bin = S_ISREG(sb.st_mode) && plen > 4 && strcmp(path + plen - 4, ".bin") == 0;
	int gguf = S_ISREG(sb.st_mode) && lms_gguf_is(path); /* carries its tokenizer */
	if (!S_ISDIR(sb.st_mode) && !bin && !gguf)
		return lms_fail(LMS_EFORMAT,
		                "%s: not a model directory, GGUF file or llama2.c checkpoint (.bin)", path);
	enum lms_status st = gguf  ? lms_gguf_load(path, &cm->m, tokpath ? NULL : &cm->tok)
	                     : bin ? lms_llama2c_load(path, &cm->m)
	                           : lms_model_load(path, &cm->m);
	if (st)
		return st;
	const char *tp = tokpath ? tokpath : bin || gguf ? NULL : path;
	/* a tokenizer asked for by name must be there */
	if (tokpath && stat(tokpath, &sb) != 0)
		return lms_fail(LMS_EIO, "%s: %s", tokpath, strerror(errno));
	if (tp && stat(tp, &sb) == 0 && S_ISREG(sb.st_mode))
		st = lms_llama2c_tokenizer_load(tp, &cm->tok);
	else if (tp)
		st = lms_tokenizer_load(tp, &cm->tok);
	if (!st && tp && !tokpath && !cm->tok)
		st = snapshot_tokenizer(path, cm);
	if (st)
		return st;
	if (tokpath && !cm->tok)
		return lms_fail(LMS_EFORMAT, "%s: no tokenizer files (see lmscope(1), TOKENIZER FILES)",
		                tokpath);
	if (bin && cm->tok && lms_tokenizer_vocab_size(cm->tok) != cm->m->cfg.V)
		return lms_fail(LMS_EFORMAT, "%s: %d pieces, but %s has a vocabulary of %d", tokpath,
		                lms_tokenizer_vocab_size(cm->tok), path, cm->m->cfg.V);
	if (cm->tok && lms_tokenizer_vocab_size(cm->tok) > cm->m->cfg.V)
		return lms_fail(LMS_EFORMAT, "%s: tokenizer has more tokens than the model's vocabulary",
		                path);
	return LMS_OK;
}

/* name in the models directory of an installation whose binary is this
 * one: <bindir>/../share/lmscope/models (an installation moved, or made
 * with a PREFIX other than the one compiled in). */
static char *model_beside_exe(const char *name)
{
	char dir[4096];
	if (!front_beside_exe("../share/lmscope/models", dir, sizeof dir))
		return NULL;
	return model_in(dir, name);
}

int front_beside_exe(const char *rel, char *buf, size_t size)
{
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0 || (size_t)n >= sizeof exe - 1)
		return 0;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (!slash)
		return 0;
	*slash = 0;
	return snprintf(buf, size, "%s/%s", exe, rel) < (int)size;
}

char *front_find_installed(const char *rel)
{
	char *found = model_in(getenv("LMSCOPE_MODELS"), rel);
	if (!found)
		found = model_in(LMS_DATADIR "/models", rel);
	if (!found)
		found = model_beside_exe(rel);
	return found;
}

/* A bare name (no slash) that names nothing here. */
static int bare_and_absent(const char *name)
{
	struct stat sb;
	return stat(name, &sb) != 0 && errno == ENOENT && *name && !strchr(name, '/');
}

char *front_find_lesson(const char *name)
{
	if (!bare_and_absent(name))
		return NULL;
	size_t n = strlen(name) + sizeof "lessons/.lesson";
	char *rel = malloc(n);
	if (!rel)
		return NULL;
	snprintf(rel, n, "lessons/%s.lesson", name);
	char *found = front_find_installed(rel);
	if (!found) {
		snprintf(rel, n, "lessons/%s", name);
		found = front_find_installed(rel);
	}
	free(rel);
	return found;
}

enum lms_status front_open_model(const char *path, const char *tokpath, struct front_model *cm)
{
	memset(cm, 0, sizeof *cm);
	if (bare_and_absent(path)) {
		cm->found = front_find_installed(path);
		if (cm->found)
			path = cm->found;
	}
	cm->path = path;
	enum lms_status st = open_model(path, tokpath, cm);
	if (st)
		front_close_model(cm);
	return st;
}

void front_close_model(struct front_model *cm)
{
	drop(cm);
	free(cm->found);
	cm->found = NULL;
	cm->path = NULL;
}

const char *front_token_str(const struct front_model *cm, int id, char *buf, size_t size)
{
	if (cm->tok && id < lms_tokenizer_vocab_size(cm->tok))
		return lms_tokenizer_piece(cm->tok, id);
	snprintf(buf, size, "#%d", id);
	return buf;
}

const char *front_model_name(const char *path, char *buf, size_t size)
{
	size_t len = strlen(path);
	while (len > 1 && path[len - 1] == '/')
		len--;
	size_t start = len;
	while (start > 0 && path[start - 1] != '/')
		start--;
	snprintf(buf, size, "%.*s", (int)(len - start), path + start);
	return buf;
}
