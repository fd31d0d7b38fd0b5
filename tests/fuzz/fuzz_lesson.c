/* Fuzz target: the lesson file parser (src/tui/lesson.c), hand-written
 * files a teacher edits. Any bytes must parse or fail with a one-line
 * "FILE:LINE: what" message, and what parses must survive the writer: the
 * recorder's output of a parsed lesson parses again to the same text. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "tui/lesson.h"

/* The writer's text of ls (malloc'd, *len bytes). */
static char *written(const struct lesson *ls, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	if (!f)
		fuzz_die("open_memstream");
	if (!tui_lesson_write(f, ls))
		fuzz_die("the writer failed on a parsed lesson");
	fclose(f);
	return buf;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lesson ls;
	char err[512];
	memset(&ls, 0, sizeof ls);
	err[0] = 0;
	if (!tui_lesson_parse("fuzz.lesson", (const char *)data, size, &ls, err, sizeof err)) {
		if (strncmp(err, "fuzz.lesson:", 12) || strchr(err, '\n'))
			fuzz_die("a failure without a one-line FILE:LINE message");
		tui_lesson_free(&ls);
		return 0;
	}
	size_t n1, n2;
	char *t1 = written(&ls, &n1);
	struct lesson again;
	memset(&again, 0, sizeof again);
	if (!tui_lesson_parse("fuzz.lesson", t1, n1, &again, err, sizeof err)) {
		fprintf(stderr, "fuzz: %s\n--- written:\n%.*s\n", err, (int)n1, t1);
		fuzz_die("the writer's output does not parse");
	}
	char *t2 = written(&again, &n2);
	if (n1 != n2 || memcmp(t1, t2, n1))
		fuzz_die("parse(write(lesson)) is not the same lesson");
	free(t1);
	free(t2);
	tui_lesson_free(&again);
	tui_lesson_free(&ls);
	return 0;
}
