/* Atomic file writing: a file is written under a temporary name in the
 * directory it will live in, flushed to disk (fsync), and renamed over the
 * final name; the directory is then fsync'ed so the rename itself is durable.
 * A crash or a full disk at any point leaves either the old file or the new
 * one, never a half-written file under the final name.
 *
 * Streaming use:
 *     struct lms_atomic a;
 *     st = lms_atomic_open(&a, path);        temp file created
 *     st = lms_atomic_put(&a, buf, n); ...   any number of writes
 *     st = lms_atomic_commit(&a);            fsync, rename, fsync dir
 * On any failure call lms_atomic_abort(&a), which removes the temporary file
 * (it is safe after a failed open or put, and after commit).
 *
 * Several files that must change together (a model's config.json and
 * model.safetensors) can be prepared with lms_atomic_finish (fsync and close,
 * the temp file stays) and renamed afterwards with lms_atomic_commit, one
 * after the other. */
#ifndef LMSCOPE_ATOMIC_H
#define LMSCOPE_ATOMIC_H

#include <stddef.h>

#include "lmscope/status.h"

struct lms_atomic {
	int fd;     /* -1 once closed */
	char *path; /* final name */
	char *tmp;  /* temporary name in the same directory; NULL once renamed */
	int failed; /* a put failed: commit refuses */
};

enum lms_status lms_atomic_open(struct lms_atomic *a, const char *path);
enum lms_status lms_atomic_put(struct lms_atomic *a, const void *data, size_t len);
/* Flushes the temporary file to disk and closes it (commit does this too). */
enum lms_status lms_atomic_finish(struct lms_atomic *a);
/* finish, rename over the final name, fsync the directory; frees a. */
enum lms_status lms_atomic_commit(struct lms_atomic *a);
/* Removes the temporary file if it still exists and frees a. */
void lms_atomic_abort(struct lms_atomic *a);

/* The whole file at once. */
enum lms_status lms_atomic_write(const char *path, const void *data, size_t len);

#endif
