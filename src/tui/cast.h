/* A cast: what the screen showed, as an asciinema v2 file (cast.c). The
 * first line is a JSON header ({"version": 2, "width", "height",
 * "timestamp", "env": {"TERM", "SHELL"}, "title"}), then one JSON array a
 * line per event: [seconds, "o", "bytes written to the terminal"] and
 * [seconds, "r", "WxH"] after a resize. Times count from the header's
 * moment; a pause longer than max_pause is shortened to max_pause (the
 * cast plays faster where nothing happened). Texts are valid UTF-8: a
 * chunk that ends inside a character keeps those bytes for the next one,
 * and bytes that are no UTF-8 become U+FFFD.
 *
 * The file is written under a temporary name beside it and renamed into
 * place by tui_cast_finish: an interrupted cast leaves nothing under the
 * final name. Not thread-safe: tee.c calls it under its lock. */
#ifndef LMS_TUI_CAST_H
#define LMS_TUI_CAST_H

#include <stddef.h>

#include "lmscope/atomic.h"

struct tui_cast {
	struct lms_atomic file; /* the temporary file until finished */
	int open;               /* file holds a temporary file */
	double max_pause;       /* seconds; 0: pauses kept as they were */
	double last;            /* lms_now() of the last event (or the header) */
	double t;               /* the cast's time of the last event */
	unsigned char tail[4];  /* the start of a character cut by a chunk's end */
	int ntail;
	int failed; /* a write failed; err says why */
	char err[300];
	char *buf; /* one event, formatted (malloc'd, cap bytes) */
	size_t cap, len;
};

/* Creates the temporary file beside path. 0 and the message
 * ("PATH: what") in c->err when it cannot. */
int tui_cast_open(struct tui_cast *c, const char *path, double max_pause);
/* Writes the header; the cast's clock starts at now (seconds). */
int tui_cast_start(struct tui_cast *c, int width, int height, const char *title, double now);
/* Bytes the terminal was sent at now. A failed write sets c->failed; later
 * calls do nothing. */
void tui_cast_output(struct tui_cast *c, const void *data, size_t len, double now);
/* The terminal became width x height at now. */
void tui_cast_resize(struct tui_cast *c, int width, int height, double now);
/* Writes what is held, closes the file and renames it into place; 0 and
 * c->err on failure (the temporary file is then removed). Frees c's memory
 * either way. */
int tui_cast_finish(struct tui_cast *c);
/* Removes the temporary file and frees c's memory. */
void tui_cast_abort(struct tui_cast *c);
/* The temporary file's name while open (for the crash handler), or NULL. */
const char *tui_cast_temp(const struct tui_cast *c);

#endif
