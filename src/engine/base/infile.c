/* Opening input files without blocking (see infile.h). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "base/infile.h"

static enum lms_status open_error(const char *path, int e)
{
	if (e == ENOMEM)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	return lms_fail(LMS_EIO, "%s: %s", path, strerror(e));
}

enum lms_status lms_infile_open(const char *path, int *fd, struct stat *sb)
{
	struct stat own;
	if (!sb)
		sb = &own;
	*fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	if (*fd < 0)
		return open_error(path, errno);
	enum lms_status st = LMS_OK;
	int flags;
	if (fstat(*fd, sb) != 0)
		st = open_error(path, errno);
	else if (!S_ISREG(sb->st_mode))
		st = lms_fail(LMS_EIO, "%s: not a regular file", path);
	else if ((flags = fcntl(*fd, F_GETFL)) < 0 || fcntl(*fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		st = open_error(path, errno);
	if (st) {
		close(*fd);
		*fd = -1;
	}
	return st;
}

enum lms_status lms_infile_fopen(const char *path, FILE **out)
{
	*out = NULL;
	int fd;
	enum lms_status st = lms_infile_open(path, &fd, NULL);
	if (st)
		return st;
	*out = fdopen(fd, "rb");
	if (!*out) {
		int e = errno;
		close(fd);
		return open_error(path, e);
	}
	return LMS_OK;
}
