/* A training run's snapshots and their index (include/lmscope/snapshots.h). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "lmscope/atomic.h"
#include "base/infile.h"
#include "base/path.h"
#include "base/tr.h"
#include "lmscope/snapshots.h"
#include "lmscope/stage.h"

void lms_snapshots_free(struct lms_snapshots *s)
{
	for (int i = 0; s->v && i < s->n; i++)
		free(s->v[i].dir);
	free(s->v);
	s->v = NULL;
	s->n = 0;
}

/* ---- reading ------------------------------------------------------------------- */

/* "INDEX: entry K: what" */
static enum lms_status bad(const char *index, int k, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum lms_status bad(const char *index, int k, const char *fmt, ...)
{
	char what[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, lms_tr(fmt), ap);
	va_end(ap);
	return lms_fail(LMS_EFORMAT, "%s: entry %d: %s", index, k, what);
}

/* A count in the index: an integer from lo to LONG_MAX, else -1. */
static long count_of(json_t *v, long lo)
{
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > LONG_MAX)
		return -1;
	return (long)json_integer_value(v);
}

/* A loss: a number >= 0 (JSON has no NaN or Inf), else -1. */
static double loss_of(json_t *v)
{
	return json_is_number(v) && json_number_value(v) >= 0 ? json_number_value(v) : -1;
}

/* A snapshot's directory: a plain name inside sdir, and a directory. */
static enum lms_status read_path(json_t *v, const char *index, int k, const char *sdir, char **out)
{
	const char *name = json_string_value(v);
	if (!name || !*name || strchr(name, '/') || name[0] == '.')
		return bad(index, k, "\"path\" is not the name of a directory beside the index");
	char *dir = lms_path_join(sdir, name);
	if (!dir)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", index);
	struct stat sb;
	enum lms_status st = LMS_OK;
	if (stat(dir, &sb) != 0)
		st = bad(index, k, "%.80s: %s", name, strerror(errno));
	else if (!S_ISDIR(sb.st_mode))
		st = bad(index, k, "%.80s: not a directory", name);
	if (st)
		free(dir);
	else
		*out = dir;
	return st;
}

static enum lms_status read_entry(json_t *e, const char *index, int k, const char *sdir,
                                  const struct lms_snapshot *prev, struct lms_snapshot *s)
{
	if (!json_is_object(e))
		return bad(index, k, "not an object");
	s->step = count_of(json_object_get(e, "step"), 1);
	if (s->step < 0)
		return bad(index, k, "\"step\" is not a positive integer");
	if (prev && s->step <= prev->step)
		return bad(index, k, "step %ld does not follow step %ld", s->step, prev->step);
	s->tokens = count_of(json_object_get(e, "tokens"), 0);
	if (s->tokens < 0)
		return bad(index, k, "\"tokens\" is not a count");
	if (prev && s->tokens < prev->tokens)
		return bad(index, k, "tokens %ld are fewer than the %ld before", s->tokens, prev->tokens);
	s->train_loss = loss_of(json_object_get(e, "train_loss"));
	if (s->train_loss < 0)
		return bad(index, k, "\"train_loss\" is not a loss (a number >= 0)");
	json_t *v = json_object_get(e, "valid_loss");
	s->valid_loss = json_is_null(v) ? NAN : loss_of(v);
	if (s->valid_loss < 0 || !v)
		return bad(index, k, "\"valid_loss\" is neither a loss (a number >= 0) nor null");
	return read_path(json_object_get(e, "path"), index, k, sdir, &s->dir);
}

static enum lms_status read_index(const char *index, const char *sdir, struct lms_snapshots *out)
{
	FILE *f;
	enum lms_status st = lms_infile_fopen(index, &f);
	if (st)
		return st;
	json_error_t err;
	json_t *j = json_loadf(f, JSON_REJECT_DUPLICATES, &err);
	fclose(f);
	if (!j)
		return lms_fail(LMS_EFORMAT, "%s: line %d: %s", index, err.line, err.text);
	size_t n = json_is_array(j) ? json_array_size(j) : 0;
	if (!json_is_array(j))
		st = lms_fail(LMS_EFORMAT, "%s: not a list of snapshots (a JSON array)", index);
	else if (n > INT_MAX)
		st = lms_fail(LMS_EFORMAT, "%s: too many snapshots", index);
	else if (n && !(out->v = calloc(n, sizeof *out->v)))
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", index);
	for (size_t i = 0; !st && i < n; i++) {
		st = read_entry(json_array_get(j, i), index, (int)i + 1, sdir, i ? &out->v[i - 1] : NULL,
		                &out->v[i]);
		if (!st)
			out->n = (int)i + 1;
	}
	json_decref(j);
	return st;
}

enum lms_status lms_snapshots_read(const char *dir, struct lms_snapshots *out)
{
	out->v = NULL;
	out->n = 0;
	char *sdir = lms_path_join(dir, "snapshots"),
		 *index = sdir ? lms_path_join(sdir, "index.json") : NULL;
	enum lms_status st = LMS_OK;
	struct stat sb;
	if (!index)
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	else if (stat(index, &sb) == 0)
		st = read_index(index, sdir, out);
	else if (errno != ENOENT && errno != ENOTDIR) /* none there: no snapshots */
		st = lms_fail(LMS_EIO, "%s: %s", index, strerror(errno));
	if (st)
		lms_snapshots_free(out);
	free(sdir);
	free(index);
	return st;
}

/* ---- writing ------------------------------------------------------------------- */

static json_t *entry_json(const struct lms_snapshot *s)
{
	const char *slash = strrchr(s->dir, '/');
	return json_pack("{s:I, s:I, s:f, s:o, s:s}", "step", (json_int_t)s->step, "tokens",
	                 (json_int_t)s->tokens, "train_loss", s->train_loss, "valid_loss",
	                 isfinite(s->valid_loss) ? json_real(s->valid_loss) : json_null(), "path",
	                 slash ? slash + 1 : s->dir);
}

static enum lms_status write_index(const char *index, const struct lms_snapshots *s)
{
	json_t *a = json_array();
	int ok = a != NULL;
	for (int i = 0; ok && i < s->n; i++)
		ok = json_array_append_new(a, entry_json(&s->v[i])) == 0;
	char *text = ok ? json_dumps(a, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(a);
	if (!text)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", index);
	size_t len = strlen(text);
	text[len] = '\n'; /* the terminator's place; written with it */
	enum lms_status st = lms_atomic_write(index, text, len + 1);
	free(text);
	return st;
}

/* Drops the entries at or past step; 1 when there were any. */
static int drop_from(struct lms_snapshots *s, long step)
{
	int n = s->n;
	while (s->n > 0 && s->v[s->n - 1].step >= step)
		free(s->v[--s->n].dir);
	return s->n != n;
}

/* The snapshot's directory, written through a staging directory beside it. */
static enum lms_status save_model(const char *target, const struct lms_model *m)
{
	struct lms_stage stage;
	enum lms_status st = lms_stage_begin(&stage, target, LMS_STAGE_FORCE, NULL);
	if (!st)
		st = lms_model_save(m, stage.dir, 1);
	if (!st)
		st = lms_stage_commit(&stage, m, NULL);
	lms_stage_abort(&stage);
	return st;
}

enum lms_status lms_snapshot_add(const char *dir, const struct lms_model *m,
                                 const struct lms_snapshot *meta)
{
	char name[32];
	snprintf(name, sizeof name, "step-%06ld", meta->step);
	char *sdir = lms_path_join(dir, "snapshots"),
		 *index = sdir ? lms_path_join(sdir, "index.json") : NULL;
	char *target = sdir ? lms_path_join(sdir, name) : NULL;
	struct lms_snapshots s;
	enum lms_status st = lms_snapshots_read(dir, &s);
	struct lms_snapshot *grown = NULL;
	if (!st && (!index || !target || !(grown = realloc(s.v, ((size_t)s.n + 1) * sizeof *s.v))))
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	if (grown)
		s.v = grown;
	if (!st && mkdir(sdir, 0777) != 0 && errno != EEXIST)
		st = lms_fail(LMS_EIO, "%s: %s", sdir, strerror(errno));
	if (!st)
		st = save_model(target, m);
	if (!st) {
		drop_from(&s, meta->step);
		s.v[s.n] = *meta;
		s.v[s.n++].dir = target;
		target = NULL;
		st = write_index(index, &s);
	}
	lms_snapshots_free(&s);
	free(sdir);
	free(index);
	free(target);
	return st;
}

enum lms_status lms_snapshots_truncate(const char *dir, long step)
{
	struct lms_snapshots s;
	enum lms_status st = lms_snapshots_read(dir, &s);
	char *index = NULL;
	if (!st && drop_from(&s, step + 1)) {
		if (!(index = lms_path_join(dir, "snapshots/index.json")))
			st = lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
		else
			st = write_index(index, &s);
	}
	free(index);
	lms_snapshots_free(&s);
	return st;
}
