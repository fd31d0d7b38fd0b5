/* Command-line argument helpers shared by the subcommands. */
#include <errno.h>
#include <stdlib.h>

#include "cli.h"

int cli_parse_ids(const char *s, int **ids, size_t *n)
{
	size_t cap = 16, len = 0;
	int *v = malloc(cap * sizeof *v);
	if (!v)
		return 0;
	const char *p = s;
	while (*p) {
		char *end;
		errno = 0;
		long x = strtol(p, &end, 10);
		if (end == p || errno || x < 0 || x > 0x7fffffff || (*end && *end != ',')) {
			free(v);
			return 0;
		}
		if (len == cap) {
			int *nv = realloc(v, (cap *= 2) * sizeof *v);
			if (!nv) {
				free(v);
				return 0;
			}
			v = nv;
		}
		v[len++] = (int)x;
		p = *end ? end + 1 : end;
	}
	if (!len) {
		free(v);
		return 0;
	}
	*ids = v;
	*n = len;
	return 1;
}

