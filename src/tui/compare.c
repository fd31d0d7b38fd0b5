/* Two models side by side: `lmscope MODEL_A MODEL_B` splits the screen
 * into a column per model, each with the explorer's full layout, its own
 * tokenizer and its own engine thread. The same typed context drives both:
 * an edit on the side that has the keys is copied into the other's line,
 * so a class sees two models disagree on the same words. A lesson's
 * caption box spans the screen under both. A screen too narrow for two
 * columns but tall enough for two rows stacks the sides instead. */
#include <string.h>

#include "teach.h"

void tui_app_layout(struct tui_app *app)
{
	if (app->caption) {
		delwin(app->caption);
		app->caption = NULL;
	}
	int cap = app->player ? tui_player_caption_rows(app, COLS) : 0;
	if (cap > LINES - TUI_MIN_LINES)
		cap = LINES - TUI_MIN_LINES > 0 ? LINES - TUI_MIN_LINES : 0;
	app->caption_h = cap;
	int lines = LINES - cap, n = app->n_sides;
	int w = (COLS - (n - 1)) / n;  /* one column between the sides */
	int h = (lines - (n - 1)) / n; /* or one row */
	app->stacked = n > 1 && w < TUI_MIN_COLS && h >= TUI_MIN_LINES && COLS >= TUI_MIN_COLS;
	for (int i = 0; i < n; i++) {
		struct tui_state *s = app->side[i];
		if (app->stacked)
			tui_layout_compute_at(&s->lay, i * (h + 1), 0, h, COLS, tui_present_win(s));
		else
			tui_layout_compute_at(&s->lay, 0, i * (w + 1), lines, w, tui_present_win(s));
	}
	if (cap > 0) {
		app->caption = newwin(cap, COLS, lines, 0);
		if (app->caption) {
			leaveok(app->caption, TRUE);
			wbkgd(app->caption, ui_attr(UI_NORMAL));
		}
	}
}

int tui_app_side_at(const struct tui_app *app, int y, int x)
{
	for (int i = app->n_sides - 1; i > 0; i--)
		if (app->stacked ? y >= app->side[i]->lay.y0 : x >= app->side[i]->lay.x0)
			return i;
	return 0;
}

void tui_app_mirror(struct tui_app *app, int from)
{
	const struct tui_state *src = app->side[from];
	for (int i = 0; i < app->n_sides; i++) {
		struct tui_state *s = app->side[i];
		if (i == from)
			continue;
		if (s->line.len == src->line.len &&
		    !memcmp(s->line.buf, src->line.buf, (size_t)src->line.len * sizeof *src->line.buf))
			continue;
		s->line.len = s->line.cur = 0;
		tui_line_insert(&s->line, src->line.buf, src->line.len);
		s->line.cur = src->line.cur;
		app->flags[i] |= TUI_EDIT;
	}
}
