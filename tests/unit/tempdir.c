/* A fresh temporary directory per test and small file helpers (see
 * testutil.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "testutil.h"

char tu_dir[64];

void tu_dir_setup(void)
{
	strcpy(tu_dir, "/tmp/lms_test_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tu_dir));
}

void tu_dir_teardown(void)
{
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tu_dir);
	ck_assert_int_eq(system(cmd), 0);
}

const char *tu_path(const char *name)
{
	static char p[4][128];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/%s", tu_dir, name);
	return p[k];
}

void tu_write(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");
	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(data, 1, len, f), len);
	fclose(f);
}

void tu_write_text(const char *path, const char *text)
{
	tu_write(path, text, strlen(text));
}

int tu_entries(const char *path)
{
	DIR *d = opendir(path);
	ck_assert_ptr_nonnull(d);
	int n = 0;
	for (struct dirent *e; (e = readdir(d));)
		n += strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}
