/* A fresh temporary directory per test and small file helpers (see
 * testutil.h). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

void tu_write_llama2c_tok(const char *path, long truncate_by)
{
	FILE *fp = fopen(path, "wb");
	int32_t maxlen = 6;
	fwrite(&maxlen, 4, 1, fp);
	const char *special[3] = {"<unk>", "\n<s>\n", "\n</s>\n"};
	char piece[16];
	long size = 4;
	for (int i = 0; i < 3 + 256 + 7; i++) {
		static const char *extra[7] = {" ", "a", "b", " a", "ab", " ab", "\xc3\xa9"};
		static const float escore[7] = {-1, -2, -3, -5, -4, -6, -7};
		const char *s = piece;
		float score = 0;
		if (i < 3)
			s = special[i];
		else if (i < 259)
			snprintf(piece, sizeof piece, "<0x%02X>", i - 3);
		else {
			s = extra[i - 259];
			score = escore[i - 259];
		}
		int32_t len = (int32_t)strlen(s);
		fwrite(&score, 4, 1, fp);
		fwrite(&len, 4, 1, fp);
		fwrite(s, 1, (size_t)len, fp);
		size += 8 + len;
	}
	fclose(fp);
	if (truncate_by)
		ck_assert_int_eq(truncate(path, size - truncate_by), 0);
}
