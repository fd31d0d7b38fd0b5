/* Atomic file writing (see atomic.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lmscope/atomic.h"

static char *dup_str(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (d)
		memcpy(d, s, n);
	return d;
}

/* The directory part of path ("." when there is none). */
static char *dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return dup_str(".");
	if (slash == path)
		return dup_str("/");
	size_t n = (size_t)(slash - path);
	char *d = malloc(n + 1);
	if (d) {
		memcpy(d, path, n);
		d[n] = '\0';
	}
	return d;
}

static void release(struct lms_atomic *a)
{
	free(a->path);
	free(a->tmp);
	a->path = a->tmp = NULL;
	a->fd = -1;
}

enum lms_status lms_atomic_open(struct lms_atomic *a, const char *path)
{
	static unsigned counter;
	a->fd = -1;
	a->failed = 0;
	a->tmp = NULL;
	a->path = dup_str(path);
	if (!a->path)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	const char *slash = strrchr(path, '/');
	size_t dirlen = slash ? (size_t)(slash - path) + 1 : 0;
	const char *base = path + dirlen;
	size_t cap = strlen(path) + 64;
	a->tmp = malloc(cap);
	if (!a->tmp) {
		release(a);
		return lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	}
	/* O_EXCL with a name unique to this process and call: the file gets
	 * the usual 0666 & ~umask permissions, unlike mkstemp's 0600 */
	for (int attempt = 0; attempt < 100; attempt++) {
		unsigned k = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
		snprintf(a->tmp, cap, "%.*s.%s.tmp%ld.%u", (int)dirlen, path, base, (long)getpid(), k);
		a->fd = open(a->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (a->fd >= 0 || errno != EEXIST)
			break;
	}
	if (a->fd < 0) {
		int e = errno;
		release(a);
		return lms_fail(LMS_EIO, "%s: cannot create a temporary file beside it: %s", path,
		                strerror(e));
	}
	return LMS_OK;
}

enum lms_status lms_atomic_put(struct lms_atomic *a, const void *data, size_t len)
{
	const char *p = data;
	if (a->fd < 0 || a->failed)
		return lms_fail(LMS_EIO, "%s: write after close", a->path);
	while (len) {
		ssize_t w = write(a->fd, p, len);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			a->failed = 1;
			return lms_fail(LMS_EIO, "%s: %s", a->path, strerror(errno));
		}
		p += w;
		len -= (size_t)w;
	}
	return LMS_OK;
}

enum lms_status lms_atomic_finish(struct lms_atomic *a)
{
	if (a->fd < 0)
		return a->tmp && !a->failed ? LMS_OK : lms_fail(LMS_EIO, "%s: nothing to finish", a->path);
	int bad = a->failed || fsync(a->fd) != 0;
	int e = errno;
	if (close(a->fd) != 0 && !bad) {
		bad = 1;
		e = errno;
	}
	a->fd = -1;
	if (bad) {
		a->failed = 1;
		return lms_fail(LMS_EIO, "%s: %s", a->path, strerror(e));
	}
	return LMS_OK;
}

enum lms_status lms_atomic_commit(struct lms_atomic *a)
{
	enum lms_status st = lms_atomic_finish(a);
	if (st) {
		lms_atomic_abort(a);
		return st;
	}
	if (rename(a->tmp, a->path) != 0) {
		int e = errno;
		st = lms_fail(LMS_EIO, "%s: cannot rename into place: %s", a->path, strerror(e));
		lms_atomic_abort(a);
		return st;
	}
	free(a->tmp);
	a->tmp = NULL;
	/* the rename is durable only once the directory entry is on disk */
	char *dir = dir_of(a->path);
	if (dir) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			if (fsync(dfd) != 0 && errno != EINVAL)
				st = lms_fail(LMS_EIO, "%s: cannot sync directory: %s", dir, strerror(errno));
			close(dfd);
		}
		free(dir);
	}
	release(a);
	return st;
}

void lms_atomic_abort(struct lms_atomic *a)
{
	if (a->fd >= 0)
		close(a->fd);
	if (a->tmp)
		unlink(a->tmp);
	release(a);
}

enum lms_status lms_atomic_write(const char *path, const void *data, size_t len)
{
	struct lms_atomic a;
	enum lms_status st = lms_atomic_open(&a, path);
	if (st)
		return st;
	st = lms_atomic_put(&a, data, len);
	if (st) {
		lms_atomic_abort(&a);
		return st;
	}
	return lms_atomic_commit(&a);
}
