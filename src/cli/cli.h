/* The command-line front end: one function per subcommand and the helpers
 * only they use. What the explorer shares with them is in front/front.h. */
#ifndef LMS_CLI_H
#define LMS_CLI_H

#include <jansson.h>

#include "front/front.h"
#include "front/opts.h"

/* Parses "5,17,42" into a malloc'd array. Returns 0 on a malformed list. */
int cli_parse_ids(const char *s, int **ids, size_t *n);

/* A token's display string as JSON ("#<id>" when it is not valid UTF-8
 * or there is no tokenizer). */
json_t *cli_token_json(const struct front_model *cm, int id);

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

#endif
