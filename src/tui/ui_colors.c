/* Semantic colors: every draw site names a role; a scheme table per color
 * depth says what each role looks like. 256 colors get smooth ramps, 8
 * colors coarse ones, monochrome (no color, or NO_COLOR set) attributes and
 * glyphs. */
#include <stdlib.h>

#include "front/palette.h"
#include "ui.h"

struct scheme_entry {
	short fg, bg; /* -1: terminal default */
	attr_t attr;
};

static int mode; /* 256, 8 or 0 */
static attr_t attrs[UI_N_ROLES];

#define D (-1)
/* 256 colors: a dark-to-bright heat ramp, a blue-white-red diverging ramp. */
static const struct scheme_entry scheme256[UI_N_ROLES] = {
	[UI_NORMAL] = {D, D, 0},
	[UI_STATUS] = {252, 236, 0},
	[UI_STATUS_BUSY] = {220, 236, A_BOLD},
	[UI_TITLE] = {250, 237, 0},
	[UI_TITLE_FOCUS] = {231, 25, A_BOLD},
	[UI_DIM] = {244, D, 0},
	[UI_SELECT] = {231, 24, A_BOLD},
	[UI_MARKER] = {208, D, A_BOLD},
	[UI_ERROR] = {231, 124, A_BOLD},
	[UI_PROB_BAR] = {75, D, 0},
	[UI_TARGET] = {46, D, A_BOLD},
	[UI_CONTRAST] = {205, D, A_BOLD},
	[UI_SAL_POS] = {78, D, 0},
	[UI_SAL_NEG] = {203, D, 0},
	[UI_HELP] = {252, 235, 0},
	[UI_HELP_KEY] = {221, 235, A_BOLD},
	[UI_HEAT_0] = {245, 234, 0},
	[UI_HEAT_1] = {250, 17, 0},
	[UI_HEAT_2] = {252, 54, 0},
	[UI_HEAT_3] = {231, 91, 0},
	[UI_HEAT_4] = {231, 161, 0},
	[UI_HEAT_5] = {16, 202, 0},
	[UI_HEAT_6] = {16, 214, 0},
	[UI_HEAT_7] = {16, 227, 0},
	[UI_DIV_0] = {231, 19, 0},
	[UI_DIV_1] = {231, 26, 0},
	[UI_DIV_2] = {16, 110, 0},
	[UI_DIV_3] = {250, 235, 0},
	[UI_DIV_4] = {16, 217, 0},
	[UI_DIV_5] = {231, 167, 0},
	[UI_DIV_6] = {231, 124, 0},
};

static const struct scheme_entry scheme8[UI_N_ROLES] = {
	[UI_NORMAL] = {D, D, 0},
	[UI_STATUS] = {COLOR_BLACK, COLOR_WHITE, 0},
	[UI_STATUS_BUSY] = {COLOR_RED, COLOR_WHITE, A_BOLD},
	[UI_TITLE] = {COLOR_BLACK, COLOR_CYAN, 0},
	[UI_TITLE_FOCUS] = {COLOR_WHITE, COLOR_BLUE, A_BOLD},
	[UI_DIM] = {D, D, A_DIM},
	[UI_SELECT] = {COLOR_WHITE, COLOR_BLUE, A_BOLD},
	[UI_MARKER] = {COLOR_YELLOW, D, A_BOLD},
	[UI_ERROR] = {COLOR_WHITE, COLOR_RED, A_BOLD},
	[UI_PROB_BAR] = {COLOR_CYAN, D, 0},
	[UI_TARGET] = {COLOR_GREEN, D, A_BOLD},
	[UI_CONTRAST] = {COLOR_MAGENTA, D, A_BOLD},
	[UI_SAL_POS] = {COLOR_GREEN, D, 0},
	[UI_SAL_NEG] = {COLOR_RED, D, 0},
	[UI_HELP] = {COLOR_WHITE, COLOR_BLACK, 0},
	[UI_HELP_KEY] = {COLOR_YELLOW, COLOR_BLACK, A_BOLD},
	[UI_HEAT_0] = {COLOR_WHITE, COLOR_BLACK, A_DIM},
	[UI_HEAT_1] = {COLOR_WHITE, COLOR_BLACK, 0},
	[UI_HEAT_2] = {COLOR_WHITE, COLOR_BLUE, 0},
	[UI_HEAT_3] = {COLOR_WHITE, COLOR_MAGENTA, 0},
	[UI_HEAT_4] = {COLOR_WHITE, COLOR_RED, 0},
	[UI_HEAT_5] = {COLOR_WHITE, COLOR_RED, A_BOLD},
	[UI_HEAT_6] = {COLOR_BLACK, COLOR_YELLOW, 0},
	[UI_HEAT_7] = {COLOR_BLACK, COLOR_WHITE, A_BOLD},
	[UI_DIV_0] = {COLOR_WHITE, COLOR_BLUE, A_BOLD},
	[UI_DIV_1] = {COLOR_WHITE, COLOR_BLUE, 0},
	[UI_DIV_2] = {COLOR_BLUE, COLOR_BLACK, 0},
	[UI_DIV_3] = {COLOR_WHITE, COLOR_BLACK, A_DIM},
	[UI_DIV_4] = {COLOR_RED, COLOR_BLACK, 0},
	[UI_DIV_5] = {COLOR_WHITE, COLOR_RED, 0},
	[UI_DIV_6] = {COLOR_WHITE, COLOR_RED, A_BOLD},
};

/* The light theme for projectors (which wash out dark screens): black on
 * white, saturated bars, a heat ramp from white through yellow to dark red. */
#define W 231
static const struct scheme_entry light256[UI_N_ROLES] = {
	[UI_NORMAL] = {16, W, 0},
	[UI_STATUS] = {W, 24, 0},
	[UI_STATUS_BUSY] = {16, 220, A_BOLD},
	[UI_TITLE] = {16, 252, A_BOLD},
	[UI_TITLE_FOCUS] = {W, 19, A_BOLD},
	[UI_DIM] = {240, W, 0},
	[UI_SELECT] = {W, 25, A_BOLD},
	[UI_MARKER] = {160, W, A_BOLD},
	[UI_ERROR] = {W, 160, A_BOLD},
	[UI_PROB_BAR] = {19, W, 0},
	[UI_TARGET] = {22, W, A_BOLD},
	[UI_CONTRAST] = {127, W, A_BOLD},
	[UI_SAL_POS] = {22, W, 0},
	[UI_SAL_NEG] = {160, W, 0},
	[UI_HELP] = {16, 255, 0},
	[UI_HELP_KEY] = {19, 255, A_BOLD},
	[UI_HEAT_0] = {16, W, 0},
	[UI_HEAT_1] = {16, 230, 0},
	[UI_HEAT_2] = {16, 229, 0},
	[UI_HEAT_3] = {16, 221, 0},
	[UI_HEAT_4] = {16, 214, 0},
	[UI_HEAT_5] = {W, 202, A_BOLD},
	[UI_HEAT_6] = {W, 160, A_BOLD},
	[UI_HEAT_7] = {W, 88, A_BOLD},
	[UI_DIV_0] = {W, 19, 0},
	[UI_DIV_1] = {W, 27, 0},
	[UI_DIV_2] = {16, 153, 0},
	[UI_DIV_3] = {16, W, 0},
	[UI_DIV_4] = {16, 217, 0},
	[UI_DIV_5] = {W, 167, 0},
	[UI_DIV_6] = {W, 124, 0},
};
#undef W

static const struct scheme_entry light8[UI_N_ROLES] = {
	[UI_NORMAL] = {COLOR_BLACK, COLOR_WHITE, 0},
	[UI_STATUS] = {COLOR_WHITE, COLOR_BLUE, A_BOLD},
	[UI_STATUS_BUSY] = {COLOR_BLACK, COLOR_YELLOW, 0},
	[UI_TITLE] = {COLOR_BLACK, COLOR_CYAN, 0},
	[UI_TITLE_FOCUS] = {COLOR_WHITE, COLOR_BLUE, A_BOLD},
	[UI_DIM] = {COLOR_BLACK, COLOR_WHITE, 0},
	[UI_SELECT] = {COLOR_WHITE, COLOR_BLUE, A_BOLD},
	[UI_MARKER] = {COLOR_RED, COLOR_WHITE, A_BOLD},
	[UI_ERROR] = {COLOR_WHITE, COLOR_RED, A_BOLD},
	[UI_PROB_BAR] = {COLOR_BLUE, COLOR_WHITE, 0},
	[UI_TARGET] = {COLOR_GREEN, COLOR_WHITE, A_BOLD},
	[UI_CONTRAST] = {COLOR_MAGENTA, COLOR_WHITE, A_BOLD},
	[UI_SAL_POS] = {COLOR_GREEN, COLOR_WHITE, 0},
	[UI_SAL_NEG] = {COLOR_RED, COLOR_WHITE, 0},
	[UI_HELP] = {COLOR_BLACK, COLOR_WHITE, 0},
	[UI_HELP_KEY] = {COLOR_BLUE, COLOR_WHITE, A_BOLD},
	[UI_HEAT_0] = {COLOR_BLACK, COLOR_WHITE, 0},
	[UI_HEAT_1] = {COLOR_BLACK, COLOR_WHITE, A_BOLD},
	[UI_HEAT_2] = {COLOR_BLACK, COLOR_CYAN, 0},
	[UI_HEAT_3] = {COLOR_BLACK, COLOR_YELLOW, 0},
	[UI_HEAT_4] = {COLOR_WHITE, COLOR_MAGENTA, 0},
	[UI_HEAT_5] = {COLOR_WHITE, COLOR_RED, 0},
	[UI_HEAT_6] = {COLOR_WHITE, COLOR_RED, A_BOLD},
	[UI_HEAT_7] = {COLOR_YELLOW, COLOR_RED, A_BOLD},
	[UI_DIV_0] = {COLOR_WHITE, COLOR_BLUE, A_BOLD},
	[UI_DIV_1] = {COLOR_WHITE, COLOR_BLUE, 0},
	[UI_DIV_2] = {COLOR_BLACK, COLOR_CYAN, 0},
	[UI_DIV_3] = {COLOR_BLACK, COLOR_WHITE, 0},
	[UI_DIV_4] = {COLOR_BLACK, COLOR_MAGENTA, 0},
	[UI_DIV_5] = {COLOR_WHITE, COLOR_RED, 0},
	[UI_DIV_6] = {COLOR_WHITE, COLOR_RED, A_BOLD},
};

static int light; /* the light theme is chosen */

/* Monochrome: attributes only; shading is carried by glyphs (ui_shade). */
static const attr_t scheme_mono[UI_N_ROLES] = {
	[UI_STATUS] = A_REVERSE,
	[UI_STATUS_BUSY] = A_REVERSE | A_BOLD,
	[UI_TITLE] = A_UNDERLINE,
	[UI_TITLE_FOCUS] = A_REVERSE | A_BOLD,
	[UI_DIM] = A_DIM,
	[UI_SELECT] = A_REVERSE,
	[UI_MARKER] = A_BOLD,
	[UI_ERROR] = A_REVERSE | A_BOLD,
	[UI_TARGET] = A_BOLD,
	[UI_CONTRAST] = A_UNDERLINE,
	[UI_SAL_NEG] = A_DIM,
	[UI_HELP_KEY] = A_BOLD,
	[UI_HEAT_0] = A_DIM,
	[UI_HEAT_4] = A_UNDERLINE,
	[UI_HEAT_5] = A_UNDERLINE,
	[UI_HEAT_6] = A_BOLD | A_UNDERLINE,
	[UI_HEAT_7] = A_REVERSE,
	[UI_DIV_0] = A_REVERSE,
	[UI_DIV_1] = A_BOLD,
	[UI_DIV_5] = A_BOLD | A_UNDERLINE,
	[UI_DIV_6] = A_REVERSE | A_UNDERLINE,
};

void ui_colors_init(void)
{
	const char *nc = getenv("NO_COLOR");
	mode = 0;
	if (!(nc && *nc) && has_colors()) {
		start_color();
		use_default_colors();
		mode = COLORS >= 256 && COLOR_PAIRS > UI_N_ROLES ? 256 : COLORS >= 8 ? 8 : 0;
	}
	for (int r = 0; r < UI_N_ROLES; r++) {
		if (!mode) {
			attrs[r] = scheme_mono[r];
			continue;
		}
		const struct scheme_entry *e =
			mode == 256 ? &(light ? light256 : scheme256)[r] : &(light ? light8 : scheme8)[r];
		if (r == UI_NORMAL && !light) {
			attrs[r] = e->attr;
			continue;
		}
		short fg = e->fg;
		if (mode == 256 && (r == UI_SAL_POS || r == UI_SAL_NEG)) {
			/* raises and lowers as the figures draw them (front/palette.h),
			 * a lighter shade on the dark background */
			struct front_rgb c = r == UI_SAL_POS ? front_raise : front_lower;
			fg = (short)front_xterm256(light ? c : front_tint(c, 0.35));
		}
		init_pair((short)(r + 1), fg, e->bg);
		attrs[r] = COLOR_PAIR(r + 1) | e->attr;
	}
}

void ui_colors_light(int on)
{
	light = on;
	if (mode || has_colors())
		ui_colors_init();
}

int ui_color_mode(void)
{
	return mode;
}

attr_t ui_attr(enum ui_role r)
{
	return attrs[r];
}

void ui_set(WINDOW *w, enum ui_role r)
{
	wattrset(w, attrs[r]);
}

enum ui_role ui_heat(double v)
{
	int k = (int)(v * UI_HEAT_LEVELS);
	if (!(v > 0.0))
		k = 0;
	if (k >= UI_HEAT_LEVELS)
		k = UI_HEAT_LEVELS - 1;
	return (enum ui_role)(UI_HEAT_0 + k);
}

enum ui_role ui_div(double v)
{
	if (!(v == v))
		v = 0.0;
	int k = (int)((v + 1.0) * 0.5 * UI_DIV_LEVELS);
	if (k < 0)
		k = 0;
	if (k >= UI_DIV_LEVELS)
		k = UI_DIV_LEVELS - 1;
	return (enum ui_role)(UI_DIV_0 + k);
}

const char *ui_shade(double v)
{
	static const char *const utf[] = {" ", "\u00b7", "\u2591", "\u2592", "\u2593", "\u2588"};
	static const char *const ascii[] = {" ", ".", ":", "+", "#", "@"};
	int k = (int)(v * 6.0);
	if (!(v > 0.0))
		k = 0;
	else if (k == 0)
		k = 1;
	if (k > 5)
		k = 5;
	return ui_utf8 ? utf[k] : ascii[k];
}
