/* The comparison side of `lmscope explain`: --compare MODEL_B and
 * --position N (explain_compare_options), the divergence of the second
 * model from the first on the same ids (lmscope/divergence.h), and its JSON
 * and text forms. cmd_explain.c owns the first model and the ids. */
#ifndef LMS_EXPLAIN_COMPARE_H
#define LMS_EXPLAIN_COMPARE_H

#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "lmscope/divergence.h"

struct cli_compare_opts {
	const char *model_b; /* --compare, or NULL */
	int position;        /* --position, or -1: the last */
};

extern const struct front_opt explain_compare_options[];
void cli_compare_defaults(struct cli_compare_opts *x);

struct cli_compare {
	struct front_model b; /* the second model, open while d lives */
	struct lms_divergence d;
	int open;
};

/* Opens the second model and computes the divergence of ids (n) at the
 * position asked for (the last by default). cm is the first model. */
enum lms_status cli_compare_compute(const struct front_model *cm, const struct cli_compare_opts *x,
                                    const int *ids, int n, struct cli_compare *out);
void cli_compare_free(struct cli_compare *c);

/* explain's "compare" object, and its text form. */
json_t *cli_compare_json(const struct front_model *cm, const struct cli_compare *c);
void cli_compare_print(FILE *f, const struct cli_compare *c);

#endif
