/* Export of the explorer's views: the screen as seen (plain text, written by
 * the input thread) and the numbers behind it as JSON in the schema of
 * `lmscope explain --json` (written by the engine thread, which holds every
 * layer's attention). */
#ifndef LMS_TUI_EXPORT_H
#define LMS_TUI_EXPORT_H

#include <stddef.h>

struct tui_engine;

/* Writes the engine's current results to path; puts a one-line outcome
 * into msg. Returns 1 on success. */
int tui_export_json(const struct tui_engine *e, const char *path, char *msg, size_t size);

#endif
