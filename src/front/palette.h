/* The one palette of lmscope's pictures, the explorer's screen and the
 * figures alike: what raises a prediction is green, what lowers it red
 * (signed scores); a one-sided score (a size, never negative, such as
 * grad_norm) runs from white to green only. */
#ifndef LMS_FRONT_PALETTE_H
#define LMS_FRONT_PALETTE_H

struct front_rgb {
	double r, g, b; /* each in [0, 1] */
};

/* Full strength, legible on white (paper, the light theme). */
extern const struct front_rgb front_raise, front_lower;

/* The colour of a score: v in [-1, 1] for signed scores, [0, 1] for
 * one-sided ones (negative v is then taken as 0); white at 0. */
struct front_rgb front_score_rgb(double v, int is_signed);
/* c mixed with white by t in [0, 1]: the lighter shade a dark background needs. */
struct front_rgb front_tint(struct front_rgb c, double t);
/* The nearest colour of the xterm 256-colour cube (indices 16..231). */
int front_xterm256(struct front_rgb c);

#endif
