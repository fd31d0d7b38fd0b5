/* Opening an input file: without blocking, and only when it is a regular
 * file. A FIFO named as config.json or model.safetensors would otherwise
 * hang open() until a writer appears, and a device or a directory would be
 * read as if it were the file; both are refused with "<path>: not a regular
 * file" before a byte is read. The descriptor is returned blocking again
 * (regular files never block anyway). Errors are "<path>: <strerror>" with
 * LMS_EIO, or LMS_ENOMEM when the kernel is out of memory. */
#ifndef LMS_INFILE_H
#define LMS_INFILE_H

#include <stdio.h>
#include <sys/stat.h>

#include "lmscope/status.h"

/* *fd is -1 on failure; sb (may be NULL) gets the file's status. */
enum lms_status lms_infile_open(const char *path, int *fd, struct stat *sb);
/* The same as a stdio stream ("rb"). */
enum lms_status lms_infile_fopen(const char *path, FILE **out);

#endif
