/* Export of the explorer's views: the screen as seen (plain text) and a
 * figure (SVG and PNG), written by the input thread, and the numbers behind them as JSON
 * in the schema of `lmscope explain --json` (written by the engine thread,
 * which holds every layer's attention). */
#ifndef LMS_TUI_EXPORT_H
#define LMS_TUI_EXPORT_H

#include <stddef.h>

struct tui_engine;
struct tui_state;
struct tui_model;
struct tui_view;

/* The first export number after `after` whose lmscope-export-N.* files
 * (.txt, .svg, .png, .json) all do not exist in the current directory: an export
 * never overwrites an earlier run's. */
int tui_export_next(int after);

/* Writes the engine's current results to path; puts a one-line outcome
 * into msg. Returns 1 on success. */
int tui_export_json(const struct tui_engine *e, const char *path, char *msg, size_t size);

/* The figure's parts for the screen: in presenter mode the enlarged
 * pane's (enum figure_part), else 0: everything. */
unsigned tui_export_parts(const struct tui_state *s);

/* Writes the view as a figure (the tokens shaded by saliency, the candidates
 * as bars, the logit lens, the attention head shown; only `parts` unless
 * 0) with cairo; the format follows the name (.svg, .png, .pdf). Returns 1
 * on success. */
int tui_export_figure(const struct tui_model *tm, const struct tui_view *v, unsigned parts,
                      const char *path, char *msg, size_t size);

#endif
