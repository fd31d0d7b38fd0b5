/* infile.c: a FIFO, a directory or a device is refused at once with
 * "not a regular file" (a FIFO used to block open() until a writer came);
 * a missing file gives the system's reason; a regular file opens and reads. */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "base/infile.h"
#include "testutil.h"

START_TEST(test_refuse)
{
	int fd;
	ck_assert_int_eq(mkfifo(tu_path("fifo"), 0666), 0);
	ck_assert_int_eq(lms_infile_open(tu_path("fifo"), &fd, NULL), LMS_EIO);
	ck_assert_int_eq(fd, -1);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "fifo: not a regular file"));
	ck_assert_int_eq(lms_infile_open(tu_dir, &fd, NULL), LMS_EIO);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), ": not a regular file"));
	ck_assert_int_eq(lms_infile_open("/dev/zero", &fd, NULL), LMS_EIO);
	ck_assert_int_eq(lms_infile_open(tu_path("none"), &fd, NULL), LMS_EIO);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "none: No such file or directory"));
}
END_TEST

START_TEST(test_read)
{
	tu_write_text(tu_path("f"), "abc");
	FILE *f;
	ck_assert_int_eq(lms_infile_fopen(tu_path("f"), &f), LMS_OK);
	char buf[8] = {0};
	ck_assert_uint_eq(fread(buf, 1, sizeof buf, f), 3);
	ck_assert_str_eq(buf, "abc");
	fclose(f);
	ck_assert_int_eq(lms_infile_fopen(tu_path("none"), &f), LMS_EIO);
	ck_assert_ptr_null(f);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"lms_infile_open", test_refuse},
		{"lms_infile_fopen", test_read},
	};
	return TU_SUITE("infile", cases, 1);
}
