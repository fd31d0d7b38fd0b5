/* File names inside directories (path.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/path.h"

char *lms_path_join(const char *dir, const char *name)
{
	size_t d = strlen(dir), n = d + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s%s", dir, d && dir[d - 1] == '/' ? "" : "/", name);
	return p;
}
