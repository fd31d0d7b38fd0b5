/* lmscope heads MODEL [--text TEXT | --ids IDS | --seq-len N --seed S]:
 * each attention head's previous-token, duplicate-token and induction score
 * (lmscope/interp.h) over a token sequence, by default N random tokens
 * repeated twice. With --json:
 *   {"ids": [n], "previous_token": [L][NH], "induction": [L][NH],
 *    "duplicate_token": [L][NH]}
 * a score with no position to average over being null (in the table, "-",
 * explained below it). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "front/i18n.h"
#include "cli.h"

#define DEFAULT_N 50
#define DEFAULT_SEED 1

struct opts {
	const char *tokpath, *text, *idlist;
	long seq_len;
	uint64_t seed;
	int json;
};

#define O struct opts
static const struct front_opt heads_options[] = {
	FRONT_STR("text", 0, "TEXT",
              N_("the sequence to score the heads on (toy models need\n"
                 "text like their training data)"),
              O, text),
	FRONT_STR("ids", 0, "IDS", N_("the same as comma-separated token ids"), O, idlist),
	FRONT_LONG("seq-len", 0, "N",
               N_("N random tokens, then the same N again (50, or half the\n"
                  "model's context when that is shorter)"),
               O, seq_len, 1, FRONT_INT_MAX),
	FRONT_U64("seed", 0, "S", N_("their seed (1)"), O, seed, 0, 1e18),
	FRONT_FLAG("json", 0, N_("{\"ids\", \"previous_token\", \"induction\", \"duplicate_token\"}"),
               O, json, 1),
	FRONT_STR("tokenizer", 0, "FILE", N_("the tokenizer to use instead of the model's own"), O,
              tokpath),
	FRONT_END};
#undef O

static const char usage_text[] =
	N_("usage: lmscope heads MODEL [--text TEXT | --ids IDS | --seq-len N --seed S]\n"
       "                     [--json] [--tokenizer FILE]\n");

static int parse_opts(int argc, char **argv, struct opts *o, const char **path)
{
	memset(o, 0, sizeof *o);
	o->seed = DEFAULT_SEED;
	struct front_cmd cmd = {"heads", usage_text, NULL, {{heads_options, o}}, 0, NULL};
	int first, rc = front_parse(&cmd, argc, argv, &first);
	if (rc)
		return rc;
	if (first >= argc)
		return front_usage(_("which model? (lmscope heads MODEL)"));
	if (argc - first > 1)
		return front_usage(_("one model at a time"));
	*path = argv[first];
	if ((o->text != NULL) + (o->idlist != NULL) + (o->seq_len > 0) > 1)
		return front_usage(_("give at most one of --text, --ids and --seq-len"));
	return 0;
}

/* The sequence: the text's or the list's ids, or N random ones twice. */
static enum lms_status sequence(const struct front_model *cm, const struct opts *o, int **ids,
                                size_t *n)
{
	const struct lms_config *c = &cm->m->cfg;
	if (o->text || o->idlist) {
		enum lms_status st = cli_input_ids(cm, o->text, "--text", o->idlist, "--ids", ids, n);
		if (!st && *n > (size_t)c->maxT)
			st = lms_fail(LMS_EARG, "%zu tokens exceed the model's context of %d", *n, c->maxT);
		return st;
	}
	long N = o->seq_len;
	if (N == 0)
		N = DEFAULT_N < c->maxT / 2 ? DEFAULT_N : c->maxT / 2;
	if (N < 1 || 2 * N > c->maxT)
		return lms_fail(LMS_EARG,
		                "--seq-len %ld twice is %ld tokens, more than the model's context of %d", N,
		                2 * N, c->maxT);
	*n = (size_t)(2 * N);
	*ids = malloc(*n * sizeof **ids);
	if (!*ids)
		return lms_fail(LMS_ENOMEM, "out of memory");
	lms_repeated_tokens(*ids, (int)N, c->V, (unsigned long long)o->seed);
	return LMS_OK;
}

static enum lms_status score(const struct front_model *cm, const int *ids, int n,
                             struct lms_head_scores *s)
{
	struct lms_run *r;
	enum lms_status st = lms_run_new(cm->m, 1, n, &r);
	if (st)
		return st;
	st = lms_embed(r, ids, n);
	if (!st) {
		lms_forward(r, 0, n);
		st = lms_head_scores_compute(r, ids, n, s);
	}
	lms_run_free(r);
	return st;
}

static void print_json(const int *ids, int n, const struct lms_head_scores *s)
{
	json_t *root = json_object(), *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ids[i]));
	json_object_set_new(root, "ids", a);
	json_object_set_new(root, "previous_token", cli_matrix_json(s->previous, s->L, s->NH));
	json_object_set_new(root, "induction", cli_matrix_json(s->induction, s->L, s->NH));
	json_object_set_new(root, "duplicate_token", cli_matrix_json(s->duplicate, s->L, s->NH));
	/* a failed write is reported once stdout is flushed (main.c) */
	json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(8));
	json_decref(root);
	putchar('\n');
}

/* A score in its column, or "-" when it had no position to average over. */
static int put_score(double v)
{
	if (isfinite(v))
		return printf(" %10.4f", v), 0;
	printf(" %10s", "-");
	return 1;
}

static void print_table(int n, const struct lms_head_scores *s)
{
	printf("%d tokens; mean attention of each head to the pattern's key\n", n);
	printf("%-6s %-4s %10s %10s %10s\n", "layer", "head", "previous", "duplicate", "induction");
	int none = 0;
	for (int l = 0; l < s->L; l++)
		for (int h = 0; h < s->NH; h++) {
			size_t k = (size_t)l * s->NH + h;
			printf("%-6d %-4d", l, h);
			none |= put_score(s->previous[k]);
			none |= put_score(s->duplicate[k]);
			none |= put_score(s->induction[k]);
			putchar('\n');
		}
	if (none)
		printf("-: no position to average over (the duplicate and induction scores need a "
		       "repeated token)\n");
}

int lms_cmd_heads(int argc, char **argv)
{
	struct opts o;
	const char *path = NULL;
	int rc = parse_opts(argc, argv, &o, &path);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	struct front_model cm;
	enum lms_status st = front_open_model(path, o.tokpath, &cm);
	if (st)
		return front_fail(st);
	int *ids = NULL;
	size_t n = 0;
	struct lms_head_scores s = {0};
	if (lms_arch_is_recurrent(cm.m->cfg.arch))
		st = lms_fail(LMS_EUNSUPPORTED, "%s: %s models have no attention heads", cm.path,
		              lms_arch_name(cm.m->cfg.arch));
	if (!st)
		st = sequence(&cm, &o, &ids, &n);
	if (!st)
		st = score(&cm, ids, (int)n, &s);
	if (st)
		rc = front_fail(st);
	else if (o.json)
		print_json(ids, (int)n, &s);
	else
		print_table((int)n, &s);
	lms_head_scores_free(&s);
	free(ids);
	front_close_model(&cm);
	return rc;
}
