/* The safetensors files of a model directory: model.safetensors alone, or
 * the shards model.safetensors.index.json lists (Hugging Face's sharded
 * checkpoints: {"weight_map": {tensor name: shard file name}, "metadata"}).
 * Each shard is opened (and validated) once by safetensors.c; a tensor is
 * looked up across all of them. The files stay mapped while the set is
 * open, so weights kept as stored can point into them. */
#ifndef LMS_SHARDS_H
#define LMS_SHARDS_H

#include "io/safetensors.h"
#include "lmscope/status.h"

struct lms_shards {
	struct lms_st_file **files; /* (n) */
	int n;
	const char *what; /* the name for messages: the index or the one file */
	char *index_path; /* owned; NULL without an index */
};

/* Opens dir's weights. A shard name must be a plain file name inside dir;
 * the index must name every shard's every tensor and a tensor must not be
 * in two shards. */
enum lms_status lms_shards_open(const char *dir, struct lms_shards **out);
void lms_shards_close(struct lms_shards *s);
/* The tensor called name and the file holding it, or NULL. */
const struct lms_st_tensor *lms_shards_find(const struct lms_shards *s, const char *name,
                                            const struct lms_st_file **file);

#endif
