/* The layout: where each window goes for a terminal of LINES x COLS.
 *
 *   row 0        the context input line
 *   rows 1-2     the context as tokens, shaded by surprisal
 *   rows 3..-2   left: candidates over saliency; right: attention (or the
 *                recurrent activations) over the logit lens
 *   last row     status line
 *
 * Recomputed as a whole on every resize; below TUI_MIN_LINES x TUI_MIN_COLS
 * the explorer only says that the terminal is too small. */
#include <string.h>

#include "ui.h"

static int clamp(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

void tui_layout_free(struct tui_layout *lay)
{
	for (int i = 0; i < W_N; i++)
		if (lay->win[i])
			delwin(lay->win[i]);
	memset(lay->win, 0, sizeof lay->win);
}

static struct tui_rect rect(int y, int x, int h, int w)
{
	struct tui_rect r = {y, x, h, w};
	return r;
}

void tui_layout_compute(struct tui_layout *lay, int lines, int cols)
{
	tui_layout_compute_at(lay, 0, 0, lines, cols, -1);
}

void tui_layout_compute_at(struct tui_layout *lay, int y0, int x0, int lines, int cols, int present)
{
	tui_layout_free(lay);
	lay->y0 = y0;
	lay->x0 = x0;
	lay->present = present;
	lay->lines = lines;
	lay->cols = cols;
	lay->too_small = lines < TUI_MIN_LINES || cols < TUI_MIN_COLS;
	if (lay->too_small)
		return;
	int top = 3, bottom = lines - 1;
	int ph = bottom - top;
	int lw = clamp(cols * 2 / 5, 34, 60);
	int rw = cols - lw - 1; /* one column of gap */
	int ch = clamp(ph / 2, 5, ph - 4);
	int lens_h = clamp(ph / 3, 4, 12);
	lay->r[W_INPUT] = rect(0, 0, 1, cols);
	lay->r[W_TOKENS] = rect(1, 0, 2, cols);
	lay->r[W_CAND] = rect(top, 0, ch, lw);
	lay->r[W_SAL] = rect(top + ch, 0, ph - ch, lw);
	lay->r[W_ATT] = rect(top, lw + 1, ph - lens_h, rw);
	lay->r[W_LENS] = rect(top + ph - lens_h, lw + 1, lens_h, rw);
	lay->r[W_STATUS] = rect(lines - 1, 0, 1, cols);
	if (present >= W_CAND && present <= W_LENS)
		lay->r[present] = rect(top, 0, ph, cols);
	for (int i = 0; i < W_N; i++) {
		lay->r[i].y += y0;
		lay->r[i].x += x0;
		struct tui_rect r = lay->r[i];
		lay->win[i] = newwin(r.h, r.w, r.y, r.x);
		if (lay->win[i]) {
			leaveok(lay->win[i], i != W_INPUT);
			wbkgd(lay->win[i], ui_attr(UI_NORMAL)); /* the theme's background */
			keypad(lay->win[i], TRUE);
		}
	}
}

int tui_layout_hit(const struct tui_layout *lay, int y, int x)
{
	if (lay->too_small)
		return -1;
	if (lay->present >= 0) {
		/* presenter mode: the enlarged pane covers the others */
		struct tui_rect r = lay->r[lay->present];
		if (y >= r.y && y < r.y + r.h && x >= r.x && x < r.x + r.w)
			return lay->present;
	}
	for (int i = 0; i < W_N; i++) {
		struct tui_rect r = lay->r[i];
		if (y >= r.y && y < r.y + r.h && x >= r.x && x < r.x + r.w)
			return i;
	}
	return -1;
}
