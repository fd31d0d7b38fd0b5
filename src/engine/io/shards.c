/* A model directory's safetensors files, one or sharded (shards.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "base/infile.h"
#include "base/path.h"
#include "io/shards.h"

#define MAX_SHARDS 4096

void lms_shards_close(struct lms_shards *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		lms_st_close(s->files[i]);
	free(s->files);
	free(s->index_path);
	free(s);
}

const struct lms_st_tensor *lms_shards_find(const struct lms_shards *s, const char *name,
                                            const struct lms_st_file **file)
{
	for (int i = 0; i < s->n; i++) {
		const struct lms_st_tensor *t = lms_st_find(s->files[i], name);
		if (t) {
			if (file)
				*file = s->files[i];
			return t;
		}
	}
	return NULL;
}

/* The shard file's index in s, opening it when new. */
static enum lms_status shard_of(struct lms_shards *s, const char *dir, const char *name, int *at)
{
	if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
		return lms_fail(LMS_EFORMAT, "%s: shard name \"%.60s\" is not a file name in the directory",
		                s->what, name);
	for (int i = 0; i < s->n; i++) {
		const char *p = s->files[i]->path, *slash = strrchr(p, '/');
		if (!strcmp(slash ? slash + 1 : p, name)) {
			*at = i;
			return LMS_OK;
		}
	}
	if (s->n >= MAX_SHARDS)
		return lms_fail(LMS_EFORMAT, "%s: more than %d shards", s->what, MAX_SHARDS);
	char *path = lms_path_join(dir, name);
	if (!path)
		return lms_fail(LMS_ENOMEM, "out of memory");
	struct lms_st_file *f = NULL;
	enum lms_status st = lms_st_open(path, &f);
	free(path);
	if (st)
		return st;
	s->files[s->n] = f;
	*at = s->n++;
	return LMS_OK;
}

/* Every tensor of every shard named by the index, in the shard it names,
 * and in no other shard. */
static enum lms_status check_map(const struct lms_shards *s, json_t *map, const int *where)
{
	size_t listed = 0, k = 0;
	const char *name;
	json_t *v;
	json_object_foreach(map, name, v)
	{
		if (!lms_st_find(s->files[where[k]], name))
			return lms_fail(LMS_EFORMAT, "%s: tensor \"%.60s\" is not in %s", s->what, name,
			                s->files[where[k]]->path);
		k++;
	}
	for (int i = 0; i < s->n; i++)
		for (int j = 0; j < s->files[i]->n; j++) {
			const char *tn = s->files[i]->tensors[j].name;
			json_t *e = json_object_get(map, tn);
			if (!e)
				return lms_fail(LMS_EFORMAT, "%s: tensor \"%.60s\" of %s is not in the index",
				                s->what, tn, s->files[i]->path);
			listed++;
		}
	if (listed != json_object_size(map))
		return lms_fail(LMS_EFORMAT, "%s: a tensor is in more than one shard", s->what);
	return LMS_OK;
}

static enum lms_status open_index(struct lms_shards *s, const char *dir)
{
	json_error_t err;
	FILE *fp;
	enum lms_status fst = lms_infile_fopen(s->index_path, &fp);
	if (fst)
		return fst;
	json_t *o = json_loadf(fp, JSON_REJECT_DUPLICATES, &err);
	fclose(fp);
	if (!o)
		return lms_fail(LMS_EFORMAT, "%s: invalid JSON (line %d)", s->what, err.line);
	json_t *map = json_object_get(o, "weight_map");
	enum lms_status st = LMS_OK;
	int *where = NULL;
	if (!json_is_object(map) || !json_object_size(map)) {
		st = lms_fail(LMS_EFORMAT, "%s: no \"weight_map\" object", s->what);
		goto done;
	}
	size_t n = json_object_size(map);
	s->files = calloc(n < MAX_SHARDS ? n : MAX_SHARDS, sizeof *s->files);
	where = calloc(n, sizeof *where);
	if (!s->files || !where) {
		st = lms_fail(LMS_ENOMEM, "out of memory");
		goto done;
	}
	const char *name;
	json_t *v;
	size_t k = 0;
	json_object_foreach(map, name, v)
	{
		if (!json_is_string(v)) {
			st = lms_fail(LMS_EFORMAT, "%s: the shard of \"%.60s\" is not a string", s->what, name);
			goto done;
		}
		if ((st = shard_of(s, dir, json_string_value(v), &where[k++])))
			goto done;
	}
	st = check_map(s, map, where);
done:
	free(where);
	json_decref(o);
	return st;
}

enum lms_status lms_shards_open(const char *dir, struct lms_shards **out)
{
	*out = NULL;
	struct lms_shards *s = calloc(1, sizeof *s);
	if (!s)
		return lms_fail(LMS_ENOMEM, "out of memory");
	char *single = lms_path_join(dir, "model.safetensors");
	s->index_path = lms_path_join(dir, "model.safetensors.index.json");
	enum lms_status st = LMS_OK;
	struct stat sb;
	if (!single || !s->index_path) {
		st = lms_fail(LMS_ENOMEM, "out of memory");
	} else if (stat(single, &sb) == 0) {
		/* one file: the index, if any, is not needed */
		free(s->index_path);
		s->index_path = NULL;
		s->files = calloc(1, sizeof *s->files);
		if (!s->files)
			st = lms_fail(LMS_ENOMEM, "out of memory");
		else if (!(st = lms_st_open(single, &s->files[0])))
			s->n = 1;
		s->what = s->n ? s->files[0]->path : "model.safetensors";
	} else {
		s->what = s->index_path;
		st = open_index(s, dir);
	}
	free(single);
	if (st) {
		lms_shards_close(s);
		return st;
	}
	*out = s;
	return LMS_OK;
}
