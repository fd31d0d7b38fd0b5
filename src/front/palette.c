/* The palette (palette.h). */
#include <math.h>

#include "front/palette.h"

const struct front_rgb front_raise = {0.10, 0.55, 0.20};
const struct front_rgb front_lower = {0.80, 0.15, 0.15};

struct front_rgb front_tint(struct front_rgb c, double t)
{
	struct front_rgb o = {c.r + (1 - c.r) * t, c.g + (1 - c.g) * t, c.b + (1 - c.b) * t};
	return o;
}

struct front_rgb front_score_rgb(double v, int is_signed)
{
	if (!is_signed && v < 0)
		v = 0;
	v = v < -1 ? -1 : v > 1 ? 1 : v;
	return front_tint(v >= 0 ? front_raise : front_lower, 1.0 - fabs(v));
}

int front_xterm256(struct front_rgb c)
{
	/* the cube's six levels per channel: 0, 95, 135, 175, 215, 255 */
	static const int level[6] = {0, 95, 135, 175, 215, 255};
	double ch[3] = {c.r * 255, c.g * 255, c.b * 255};
	int idx[3];
	for (int k = 0; k < 3; k++) {
		int best = 0;
		for (int i = 1; i < 6; i++)
			if (fabs(level[i] - ch[k]) < fabs(level[best] - ch[k]))
				best = i;
		idx[k] = best;
	}
	return 16 + 36 * idx[0] + 6 * idx[1] + idx[2];
}
