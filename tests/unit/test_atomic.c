/* atomic.c: whole-file and streaming writes, replacing an existing file,
 * and that failures leave neither a temporary file nor a changed target. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "lmscope/atomic.h"
#include "testutil.h"

/* The file's contents (NUL-terminated, malloc'd). */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	char *buf = calloc(1, 4096);
	size_t n = fread(buf, 1, 4095, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

START_TEST(test_write)
{
	const char *p = tu_path("f.txt");
	ck_assert_int_eq(lms_atomic_write(p, "hello", 5), LMS_OK);
	char *s = slurp(p);
	ck_assert_str_eq(s, "hello");
	free(s);
	ck_assert_int_eq(lms_atomic_write(p, "bye", 3), LMS_OK); /* replaces */
	s = slurp(p);
	ck_assert_str_eq(s, "bye");
	free(s);
	ck_assert_int_eq(tu_entries(tu_dir), 1);
	/* ordinary permissions, not mkstemp's 0600 */
	mode_t um = umask(022);
	umask(um);
	struct stat sb;
	ck_assert_int_eq(stat(p, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0666 & ~um);
	ck_assert_int_eq(lms_atomic_write(tu_path("missing/f.txt"), "x", 1), LMS_EIO);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "missing/f.txt"));
}
END_TEST

START_TEST(test_stream)
{
	const char *p = tu_path("g.txt");
	ck_assert_int_eq(lms_atomic_write(p, "old", 3), LMS_OK);
	struct lms_atomic a;
	ck_assert_int_eq(lms_atomic_open(&a, p), LMS_OK);
	ck_assert_int_eq(lms_atomic_put(&a, "ne", 2), LMS_OK);
	ck_assert_int_eq(lms_atomic_put(&a, "w", 1), LMS_OK);
	/* until the commit, the old file is what the name shows */
	char *s = slurp(p);
	ck_assert_str_eq(s, "old");
	free(s);
	ck_assert_int_eq(tu_entries(tu_dir), 2);
	ck_assert_int_eq(lms_atomic_finish(&a), LMS_OK);
	s = slurp(p);
	ck_assert_str_eq(s, "old");
	free(s);
	ck_assert_int_eq(lms_atomic_commit(&a), LMS_OK);
	s = slurp(p);
	ck_assert_str_eq(s, "new");
	free(s);
	ck_assert_int_eq(tu_entries(tu_dir), 1);
}
END_TEST

START_TEST(test_abort)
{
	const char *p = tu_path("h.txt");
	ck_assert_int_eq(lms_atomic_write(p, "keep", 4), LMS_OK);
	struct lms_atomic a;
	ck_assert_int_eq(lms_atomic_open(&a, p), LMS_OK);
	ck_assert_int_eq(lms_atomic_put(&a, "partial", 7), LMS_OK);
	lms_atomic_abort(&a);
	char *s = slurp(p);
	ck_assert_str_eq(s, "keep");
	free(s);
	ck_assert_int_eq(tu_entries(tu_dir), 1);
	/* aborting after finish removes the flushed temporary too */
	ck_assert_int_eq(lms_atomic_open(&a, p), LMS_OK);
	ck_assert_int_eq(lms_atomic_finish(&a), LMS_OK);
	lms_atomic_abort(&a);
	ck_assert_int_eq(tu_entries(tu_dir), 1);
}
END_TEST

START_TEST(test_full_disk)
{
	/* /dev/full fails every write with ENOSPC: the put must fail, and the
	 * directory must not keep a temporary file */
	if (access("/dev/full", W_OK) != 0)
		return;
	struct lms_atomic a;
	ck_assert_int_eq(lms_atomic_open(&a, tu_path("i.txt")), LMS_OK);
	int fd = a.fd;
	FILE *full = fopen("/dev/full", "w");
	ck_assert_ptr_nonnull(full);
	ck_assert_int_ge(dup2(fileno(full), fd), 0);
	fclose(full);
	ck_assert_int_eq(lms_atomic_put(&a, "x", 1), LMS_EIO);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "No space left"));
	ck_assert_int_ne(lms_atomic_commit(&a), LMS_OK);
	ck_assert_int_eq(tu_entries(tu_dir), 0);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"lms_atomic_write", test_write},
		{"lms_atomic_commit", test_stream},
		{"lms_atomic_abort", test_abort},
		{"lms_atomic_put", test_full_disk},
	};
	return TU_SUITE("atomic", cases, 1);
}
