/* The attribution side of `lmscope explain`: its options (--method and the
 * methods' settings, --csv, --figure; explain_attr_options), the scores with their reliability
 * (the method's own diagnostics, a deletion curve, rank agreement with the
 * other fast methods), and their JSON, CSV and figure forms. cmd_explain.c
 * owns the prediction; this file explains it. */
#ifndef LMS_EXPLAIN_ATTR_H
#define LMS_EXPLAIN_ATTR_H

#include <stdio.h>

#include <jansson.h>

#include "cli.h"
#include "lmscope/attribution.h"

struct cli_attr_opts {
	struct lms_attr_opts a;
	int replace_id; /* --replace-id, or -1: <unk> when the tokenizer has one */
	int csv;
	const char *figure; /* --figure FILE.svg|.png|.pdf */
	int layer, head;    /* the figure's attention heatmap */
	int want_attention; /* --attention: the figure gets the heatmap */
	int embgrad;        /* --embedding-gradient: d loss / d wte rows */
};

void cli_attr_defaults(struct cli_attr_opts *x);
/* The options of the attribution (--method, ...), into a struct
 * cli_attr_opts: explain's second option table. */
extern const struct front_opt explain_attr_options[];

/* The prediction being explained, as cmd_explain.c computed it. */
struct cli_attr_pred {
	const int *ids;
	int n;
	const double *logprob; /* (V) */
	const int *order;      /* (top) ids, most probable first */
	int top;
	int target, contrast;
	struct lms_run *run;         /* the forward over ids (for attention; under an ablation also the
	                        embedding gradient's work run), or NULL */
	const struct cli_lens *lens; /* explain --lens (the figure draws it), or NULL */
};

struct cli_attr_result {
	int n;
	float *scores; /* (n) */
	struct lms_attr_info info;
	float *curve;                  /* (n + 1) deletion curve: p(target), or NULL */
	struct lms_faithfulness faith; /* deletion area, agreement (NAN: not compared) */
	int ek, C;                     /* embedding gradient: ek rows of C */
	int *etokens;                  /* (ek) */
	float *egrad;                  /* (ek, C) or NULL */
};

/* The scores; with faith also the deletion curve and the agreement (curve
 * stays NULL without). */
enum lms_status cli_attr_compute(const struct front_model *cm, struct cli_attr_opts *x,
                                 const struct cli_attr_pred *p, struct cli_attr_result *res,
                                 int faith);
void cli_attr_free(struct cli_attr_result *res);

/* "saliency", "faithfulness" and "embedding_gradient" of the JSON output. */
json_t *cli_attr_saliency_json(const struct cli_attr_opts *x, const struct cli_attr_result *res);
json_t *cli_attr_faithfulness_json(const struct cli_attr_result *res);
json_t *cli_attr_embgrad_json(const struct front_model *cm, const struct cli_attr_result *res);
/* The whole explanation as CSV rows section,index,id,token,value. */
int cli_attr_write_csv(FILE *f, const struct front_model *cm, const struct cli_attr_opts *x,
                       const struct cli_attr_pred *p, const struct cli_attr_result *res);
/* Table lines under the scores: the diagnostics, deletion area, agreement. */
void cli_attr_print_notes(FILE *f, const struct cli_attr_opts *x,
                          const struct cli_attr_result *res);
enum lms_status cli_attr_figure(const struct front_model *cm, const struct cli_attr_opts *x,
                                const struct cli_attr_pred *p, const struct cli_attr_result *res);

#endif
