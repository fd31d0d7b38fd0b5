/* The command-line front end: one function per subcommand and the helpers
 * only they use. What the explorer shares with them is in front/front.h. */
#ifndef LMS_CLI_H
#define LMS_CLI_H

#include <jansson.h>

#include "front/front.h"
#include "front/opts.h"
#include "lmscope/interp.h"

/* Parses "5,17,42" into a malloc'd array. Returns 0 on a malformed list. */
int cli_parse_ids(const char *s, int **ids, size_t *n);

/* The input ids: idlist parsed ("5,17,42"), or text through the model's
 * tokenizer (with BOS, as a model input); exactly one is not NULL. textopt
 * and idopt name the options in messages. Ids outside the vocabulary fail. */
enum lms_status cli_input_ids(const struct front_model *cm, const char *text, const char *textopt,
                              const char *idlist, const char *idopt, int **ids, size_t *n);

/* A token's display string as JSON ("#<id>" when it is not valid UTF-8
 * or there is no tokenizer). */
json_t *cli_token_json(const struct front_model *cm, int id);
/* x (rows, cols) row-major as nested arrays; NaN and Inf as null. */
json_t *cli_matrix_json(const double *x, int rows, int cols);

/* --ablate and --ablate-mode (ablate.c): a table a command adds to its own
 * (front_cmd.set), filling a struct cli_ablate. */
struct cli_ablate {
	const char *spec;
	enum lms_ablate_mode mode;
	int mode_given;
};
extern const struct front_opt cli_ablate_options[];
/* The intervention the options ask for (*iv NULL without --ablate); a bad
 * spec is reported and its exit status returned, else 0. */
int cli_ablate_make(const struct cli_ablate *a, const struct lms_model *m,
                    struct lms_intervention **iv);

/* The logit lens at position t of run r (row 0; lens.c), as explain --lens
 * gives it: each layer's top K next tokens and the target's rank and
 * probability. Owns its arrays (cli_lens_free). */
struct cli_lens {
	int L, K, pos, target;
	int *ids;     /* (L, K) best first; -1 past a layer's top or for a layer not read */
	float *probs; /* (L, K) */
	int *rank;    /* (L) the target's rank, 1 = the top; 0: the layer was not read */
	float *tp;    /* (L) the target's probability */
};
enum lms_status cli_lens_compute(struct lms_run *r, int t, int K, int target, struct cli_lens *out);
void cli_lens_free(struct cli_lens *l);
json_t *cli_lens_json(const struct front_model *cm, const struct cli_lens *l);
void cli_lens_print(const struct front_model *cm, const struct cli_lens *l);
/* The tokens' display names (L * K, NULL where ids are -1), spelled into
 * *bufs when needed; both malloc'd, NULL when out of memory. */
const char **cli_lens_names(const struct front_model *cm, const struct cli_lens *l,
                            char (**bufs)[32]);

/* Subcommands: argv[0] is the subcommand's name. */
int lms_cmd_info(int argc, char **argv);
int lms_cmd_explain(int argc, char **argv);
int lms_cmd_tokenize(int argc, char **argv);
int lms_cmd_tokenizer(int argc, char **argv);
int lms_cmd_train(int argc, char **argv);
int lms_cmd_eval(int argc, char **argv);
int lms_cmd_generate(int argc, char **argv);
int lms_cmd_convert(int argc, char **argv);
int lms_cmd_importance(int argc, char **argv);
int lms_cmd_patch(int argc, char **argv);
int lms_cmd_heads(int argc, char **argv);
int lms_cmd_neurons(int argc, char **argv);

#endif
