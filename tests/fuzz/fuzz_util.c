/* Temporary files for the fuzz targets (see fuzz.h). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char dir[256];
static char path[512];

static void cleanup(void)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

void fuzz_die(const char *what)
{
	fprintf(stderr, "fuzz: %s\n", what);
	abort();
}

const char *fuzz_dir(void)
{
	if (!dir[0]) {
		const char *t = getenv("TMPDIR");
		snprintf(dir, sizeof dir, "%s/lmscope-fuzz.XXXXXX", t && *t ? t : "/tmp");
		if (!mkdtemp(dir))
			fuzz_die("cannot create a temporary directory");
		atexit(cleanup);
	}
	return dir;
}

const char *fuzz_path(const char *name)
{
	snprintf(path, sizeof path, "%s/%s", fuzz_dir(), name);
	return path;
}

const char *fuzz_write(const char *name, const void *data, size_t size)
{
	const char *p = fuzz_path(name);
	FILE *f = fopen(p, "wb");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
		fuzz_die("cannot write a temporary file");
	return p;
}
