/* Publication figures of an explanation, drawn with cairo: the input tokens
 * shaded by their attribution scores, the next-token probabilities as bars,
 * and optionally one attention head and the embedding gradient as
 * heatmaps and the logit lens as a table; all of them or a chosen few. The format follows the
 * file name: .svg, .png or .pdf. Used by `lmscope explain --figure` and the
 * explorer's export key. */
#ifndef LMS_FIGURE_H
#define LMS_FIGURE_H

#include "lmscope/status.h"

/* The parts of a figure, top to bottom. */
enum figure_part {
	FIGURE_SCORES = 1,
	FIGURE_CURVE = 2,
	FIGURE_BARS = 4,
	FIGURE_EMBGRAD = 8,
	FIGURE_ATTENTION = 16,
	FIGURE_LENS = 32,
};

struct figure_spec {
	const char *title; /* e.g. the model and what is explained */
	unsigned parts;    /* enum figure_part to draw (those given); 0: every part given */
	/* the input and its scores */
	int n;
	const char *const *tokens; /* (n) display strings */
	const float *scores;       /* (n), or NULL for plain tokens */
	const char *method;        /* the scores' name, for the legend */
	int one_sided;             /* the scores are sizes (never negative): white to green */
	const char *note;          /* a line under the scores (e.g. the IG gap), or NULL */
	/* next-token candidates, best first */
	int k;
	const char *const *top_tokens; /* (k) */
	const float *top_probs;        /* (k) */
	int highlight;                 /* index into top of the explained token, or -1 */
	int contrast;                  /* index into top of the contrast token, or -1 */
	/* attention of one layer and head: (n, n), rows stride att_stride; NULL: none */
	const float *attention;
	int att_stride;
	int layer, head;
	/* deletion curve: (n + 1) p(target) with the k top-scored hidden; or NULL */
	const float *curve;
	double area;
	/* d loss / d (embedding rows) of ek tokens: (ek, C); ek = 0: none */
	int ek, C;
	const char *const *etokens; /* (ek) */
	const float *egrad;
	/* logit lens at position lens_pos: per layer the top lens_k tokens and
	 * their probabilities (the first 5 drawn), the target's rank and
	 * probability; lens_L = 0: none */
	int lens_L, lens_k, lens_pos;
	const char *const *lens_tokens; /* (lens_L, lens_k); NULL: not one */
	const float *lens_probs;        /* (lens_L, lens_k) */
	const int *lens_rank;           /* (lens_L); 0: the layer was not read */
	const float *lens_tp;           /* (lens_L) */
	const char *lens_target;
};

/* Writes the figure; LMS_EARG for an unknown extension, LMS_EIO when the
 * file cannot be written. */
enum lms_status figure_write(const char *path, const struct figure_spec *f);

#endif
