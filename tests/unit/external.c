/* The external files a clone does not have (see testutil.h). */
#include <stdio.h>
#include <unistd.h>

#include "testutil.h"

int tu_external(const char *what, const char *path)
{
	if (access(path, R_OK) == 0)
		return 1;
	printf("SKIP: %s: %s missing\n", what, path);
	fflush(stdout);
	return 0;
}
