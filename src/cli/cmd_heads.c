/* lmscope heads MODEL [--text TEXT | --ids IDS | --seq-len N --seed S]:
 * each attention head's previous-token, duplicate-token and induction score
 * (lmscope/interp.h) over a token sequence, by default N random tokens
 * repeated twice. With --json:
 *   {"ids": [n], "previous_token": [L][NH], "induction": [L][NH],
 *    "duplicate_token": [L][NH]}
 * a score with no position to average over being null. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

#define DEFAULT_N 50
#define DEFAULT_SEED 1

static const char usage_text[] =
	"usage: lmscope heads MODEL [--text TEXT | --ids IDS | --seq-len N --seed S]\n"
	"                     [--json] [--tokenizer FILE]\n"
	"  --text TEXT       the sequence to score the heads on (toy models need\n"
	"                    text like their training data)\n"
	"  --ids IDS         the same as comma-separated token ids\n"
	"  --seq-len N       N random tokens, then the same N again (50, or half the\n"
	"                    model's context when that is shorter)\n"
	"  --seed S          their seed (1)\n"
	"  --json            {\"ids\", \"previous_token\", \"induction\", \"duplicate_token\"}\n";

struct opts {
	const char *path, *tokpath, *text, *idlist;
	long seq_len, seed;
	int json;
};

static int parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->seed = DEFAULT_SEED;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = 0;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return -1;
		} else if (!strcmp(a, "--json"))
			o->json = 1;
		else if (a[0] != '-') {
			if (o->path)
				return front_usage("one model at a time");
			o->path = a;
		} else if (i + 1 >= argc)
			return front_usage("%s wants a value", a);
		else if (!strcmp(a, "--text"))
			o->text = argv[++i];
		else if (!strcmp(a, "--ids"))
			o->idlist = argv[++i];
		else if (!strcmp(a, "--tokenizer"))
			o->tokpath = argv[++i];
		else if (!strcmp(a, "--seq-len"))
			rc = cli_want_long(a, argv[++i], 1, &o->seq_len);
		else if (!strcmp(a, "--seed"))
			rc = cli_want_long(a, argv[++i], 0, &o->seed);
		else
			return front_usage("unknown option %s (see lmscope heads --help)", a);
		if (rc)
			return rc;
	}
	if (!o->path)
		return front_usage("which model? (lmscope heads MODEL)");
	if ((o->text != NULL) + (o->idlist != NULL) + (o->seq_len > 0) > 1)
		return front_usage("give at most one of --text, --ids and --seq-len");
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
		return lms_fail(LMS_EARG, "--seq-len %ld twice is %ld tokens, more than the model's context of %d",
		                N, 2 * N, c->maxT);
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

static int print_json(const int *ids, int n, const struct lms_head_scores *s)
{
	json_t *root = json_object(), *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_integer(ids[i]));
	json_object_set_new(root, "ids", a);
	json_object_set_new(root, "previous_token", cli_matrix_json(s->previous, s->L, s->NH));
	json_object_set_new(root, "induction", cli_matrix_json(s->induction, s->L, s->NH));
	json_object_set_new(root, "duplicate_token", cli_matrix_json(s->duplicate, s->L, s->NH));
	int bad = json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(8)) != 0;
	json_decref(root);
	putchar('\n');
	return bad;
}

static void print_table(int n, const struct lms_head_scores *s)
{
	printf("%d tokens; mean attention of each head to the pattern's key\n", n);
	printf("%-6s %-4s %10s %10s %10s\n", "layer", "head", "previous", "duplicate", "induction");
	for (int l = 0; l < s->L; l++)
		for (int h = 0; h < s->NH; h++) {
			size_t k = (size_t)l * s->NH + h;
			printf("%-6d %-4d %10.4f %10.4f %10.4f\n", l, h, s->previous[k], s->duplicate[k],
			       s->induction[k]);
		}
}

int lms_cmd_heads(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	struct front_model cm;
	enum lms_status st = front_open_model(o.path, o.tokpath, &cm);
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
		rc = cli_output_status(print_json(ids, (int)n, &s));
	else {
		print_table((int)n, &s);
		rc = cli_output_status(0);
	}
	lms_head_scores_free(&s);
	free(ids);
	front_close_model(&cm);
	return rc;
}
