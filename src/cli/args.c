/* Command-line argument helpers shared by the subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

enum lms_status cli_input_ids(const struct front_model *cm, const char *text, const char *textopt,
                              const char *idlist, const char *idopt, int **ids, size_t *n)
{
	if (idlist) {
		if (!cli_parse_ids(idlist, ids, n))
			return lms_fail(LMS_EARG, "%s wants a comma-separated list of token ids", idopt);
	} else {
		if (!cm->tok)
			return lms_fail(LMS_EARG, "%s: no tokenizer to encode %s (use %s, or --tokenizer FILE)",
			                cm->path, textopt, idopt);
		enum lms_status st =
			lms_tokenizer_encode_input(cm->tok, text, strlen(text), ids, n, NULL, NULL);
		if (st)
			return st;
		if (*n == 0) {
			free(*ids);
			*ids = NULL;
			return lms_fail(LMS_EARG, "%s gives no tokens", textopt);
		}
	}
	int V = cm->m->cfg.V;
	for (size_t i = 0; i < *n; i++)
		if ((*ids)[i] >= V) {
			int bad = (*ids)[i];
			free(*ids);
			*ids = NULL;
			return lms_fail(LMS_EARG, "%s: token id %d outside the vocabulary (0 to %d)", cm->path,
			                bad, V - 1);
		}
	return LMS_OK;
}
