/* lmscope neurons MODEL CORPUS --layer L [--neuron N | --top-neurons K]
 * [--top K]: where an MLP neuron of layer L is most active over a corpus.
 * One pass computes every neuron's mean, variance and K strongest
 * activations (lmscope/interp.h); --cache keeps it in a file beside the
 * model, named for the layer, K and the corpus's tokens, so the next query
 * of that corpus and layer reads it instead. Without --neuron, the
 * --top-neurons neurons of highest activation variance are shown. With
 * --json:
 *   {"layer", "positions", "neurons": [{"neuron", "mean", "var",
 *     "top": [{"value", "offset", "token", "context"}]}]}
 * offset being the token's index in the corpus and context the text of the
 * tokens up to and including it (at most LMS_NEURON_CONTEXT). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "front/i18n.h"
#include "cli.h"
#include "lmscope/dataset.h"

struct opts {
	const char *tokpath;
	long layer, neuron, top_neurons, top;
	int cache, json;
};

#define O struct opts
static const struct front_opt neurons_options[] = {
	FRONT_LONG("layer", 0, "L", N_("the MLP layer (from 0)"), O, layer, 0, FRONT_INT_MAX),
	FRONT_LONG("neuron", 0, "N", N_("one neuron's strongest contexts"), O, neuron, 0,
               FRONT_INT_MAX),
	FRONT_LONG("top-neurons", 0, "K", N_("else the K neurons of highest activation variance (10)"),
               O, top_neurons, 1, FRONT_INT_MAX),
	FRONT_LONG("top", 0, "K", N_("contexts per neuron (10)"), O, top, 1, 1000),
	FRONT_FLAG("cache", 0,
               N_("keep the corpus pass in a file beside the model and\n"
                  "reuse it (MODEL.neurons-lL-kK-HASH)"),
               O, cache, 1),
	FRONT_FLAG("json", 0, N_("one JSON object (see lmscope(1))"), O, json, 1),
	FRONT_STR("tokenizer", 0, "FILE", N_("the tokenizer to use instead of the model's own"), O,
              tokpath),
	FRONT_END};
#undef O

static const char usage_text[] =
	N_("usage: lmscope neurons MODEL CORPUS --layer L [--neuron N | --top-neurons K]\n"
       "                       [--top K] [--cache] [--json] [--tokenizer FILE]\n");

/* The options, and MODEL and CORPUS in paths[0] and paths[1]. */
static int parse_opts(int argc, char **argv, struct opts *o, const char **paths)
{
	memset(o, 0, sizeof *o);
	o->layer = o->neuron = -1;
	o->top_neurons = o->top = 10;
	struct front_cmd cmd = {"neurons", usage_text, NULL, {{neurons_options, o}}, 0, NULL};
	int first, rc = front_parse(&cmd, argc, argv, &first);
	if (rc)
		return rc;
	if (argc - first != 2)
		return front_usage(_("neurons needs MODEL and CORPUS (see lmscope neurons --help)"));
	paths[0] = argv[first];
	paths[1] = argv[first + 1];
	if (o->layer < 0)
		return front_usage(_("which layer? (--layer L)"));
	return 0;
}

/* ---- the pass, or its cache ------------------------------------------------------ */

static int on_progress(void *ctx, long done, long total)
{
	(void)ctx;
	int width = 30, fill = (int)((double)width * done / total);
	fprintf(stderr, "\r\033[Kneurons [");
	for (int i = 0; i < width; i++)
		fputc(i < fill ? '=' : ' ', stderr);
	fprintf(stderr, "] %ld/%ld windows", done, total);
	if (done == total)
		fputc('\n', stderr);
	fflush(stderr);
	return 0;
}

static enum lms_status stats_of(const struct front_model *cm, const struct opts *o, const int *ids,
                                size_t n, struct lms_neuron_stats *s)
{
	const struct lms_config *c = &cm->m->cfg;
	char *cache = NULL;
	unsigned long long key = lms_neuron_corpus_key(ids, n);
	if (o->cache) {
		enum lms_status st =
			lms_neuron_cache_path(cm->path, (int)o->layer, (int)o->top, key, &cache);
		if (st)
			return st;
		if (!lms_neuron_stats_load(s, key, (int)o->layer, c->H, (int)o->top, cache)) {
			free(cache);
			return LMS_OK;
		}
	}
	enum lms_status st = lms_neuron_pass(cm->m, ids, (long)n, (int)o->layer, (int)o->top,
	                                     isatty(2) ? on_progress : NULL, NULL, s);
	if (!st && cache)
		st = lms_neuron_stats_save(s, key, cache);
	free(cache);
	return st;
}

/* ---- output ------------------------------------------------------------------- */

/* The neurons to show: the one asked for, or the highest-variance ones. */
static int pick(const struct opts *o, const struct lms_neuron_stats *s, int *out)
{
	if (o->neuron >= 0) {
		out[0] = (int)o->neuron;
		return 1;
	}
	int k = o->top_neurons < s->H ? (int)o->top_neurons : s->H;
	for (int i = 0; i < k; i++) {
		int best = -1;
		for (int j = 0; j < s->H; j++) {
			int taken = 0;
			for (int q = 0; q < i && !taken; q++)
				taken = out[q] == j;
			if (!taken && (best < 0 || s->var[j] > s->var[best]))
				best = j;
		}
		out[i] = best;
	}
	return k;
}

/* The text of the tokens up to and including offset (malloc'd), or NULL. */
static char *context_text(const struct front_model *cm, const int *ids, long offset)
{
	char *text = NULL;
	return lms_neuron_context(cm->tok, ids, offset, LMS_NEURON_CONTEXT, &text) ? NULL : text;
}

static json_t *neuron_json(const struct front_model *cm, const int *ids,
                           const struct lms_neuron_stats *s, int i)
{
	json_t *top = json_array();
	for (int k = 0; k < s->K; k++) {
		const struct lms_neuron_hit *h = &s->top[(size_t)i * s->K + k];
		if (h->offset < 0)
			break;
		char *ctx = context_text(cm, ids, h->offset);
		json_t *jc = ctx ? json_string(ctx) : NULL;
		free(ctx);
		json_array_append_new(top, json_pack("{s:f, s:I, s:o, s:o}", "value", (double)h->value,
		                                     "offset", (json_int_t)h->offset, "token",
		                                     cli_token_json(cm, ids[h->offset]), "context",
		                                     jc ? jc : json_null()));
	}
	return json_pack("{s:i, s:f, s:f, s:o}", "neuron", i, "mean", s->mean[i], "var", s->var[i],
	                 "top", top);
}

static void print_json(const struct front_model *cm, const int *ids,
                       const struct lms_neuron_stats *s, const int *which, int k)
{
	json_t *arr = json_array();
	for (int i = 0; i < k; i++)
		json_array_append_new(arr, neuron_json(cm, ids, s, which[i]));
	json_t *root = json_pack("{s:i, s:I, s:o}", "layer", s->layer, "positions",
	                         (json_int_t)s->count, "neurons", arr);
	/* a failed write is reported once stdout is flushed (main.c) */
	json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(8));
	json_decref(root);
	putchar('\n');
}

static void print_table(const struct front_model *cm, const int *ids,
                        const struct lms_neuron_stats *s, const int *which, int k)
{
	printf("layer %d, %ld positions\n", s->layer, s->count);
	for (int q = 0; q < k; q++) {
		int i = which[q];
		printf("\nneuron %d  mean %.4f  variance %.4f\n", i, s->mean[i], s->var[i]);
		for (int j = 0; j < s->K; j++) {
			const struct lms_neuron_hit *h = &s->top[(size_t)i * s->K + j];
			if (h->offset < 0)
				break;
			char *ctx = context_text(cm, ids, h->offset);
			printf("  %9.4f  @%-8ld %s\n", h->value, h->offset, ctx ? ctx : "");
			free(ctx);
		}
	}
}

/* ---- the command ---------------------------------------------------------------- */

static enum lms_status corpus_ids(const struct front_model *cm, const char *path, int **ids,
                                  size_t *n)
{
	if (!cm->tok)
		return lms_fail(LMS_EFORMAT, "%s: the model has no tokenizer to read text with", cm->path);
	char *text;
	size_t len;
	enum lms_status st = lms_read_file(path, &text, &len);
	if (st)
		return st;
	st = lms_tokenizer_encode(cm->tok, text, len, ids, n, NULL, NULL);
	free(text);
	if (!st && *n == 0) {
		free(*ids);
		*ids = NULL;
		st = lms_fail(LMS_EFORMAT, "%s: no tokens", path);
	}
	return st;
}

static enum lms_status check(const struct front_model *cm, const struct opts *o)
{
	const struct lms_config *c = &cm->m->cfg;
	if (lms_arch_is_recurrent(c->arch))
		return lms_fail(LMS_EUNSUPPORTED, "%s: %s models have no MLP neurons", cm->path,
		                lms_arch_name(c->arch));
	if (o->layer >= c->L)
		return lms_fail(LMS_EARG, "--layer %ld outside 0 to %d", o->layer, c->L - 1);
	if (o->neuron >= c->H)
		return lms_fail(LMS_EARG, "--neuron %ld outside 0 to %d", o->neuron, c->H - 1);
	return LMS_OK;
}

int lms_cmd_neurons(int argc, char **argv)
{
	struct opts o;
	const char *paths[2] = {NULL, NULL};
	int rc = parse_opts(argc, argv, &o, paths);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	struct front_model cm;
	enum lms_status st = front_open_model(paths[0], o.tokpath, &cm);
	if (st)
		return front_fail(st);
	int *ids = NULL, *which = NULL;
	size_t n = 0;
	struct lms_neuron_stats s = {0};
	st = check(&cm, &o);
	if (!st)
		st = corpus_ids(&cm, paths[1], &ids, &n);
	if (!st)
		st = stats_of(&cm, &o, ids, n, &s);
	if (!st && !(which = malloc((size_t)s.H * sizeof *which)))
		st = lms_fail(LMS_ENOMEM, "out of memory");
	if (st)
		rc = front_fail(st);
	else {
		int k = pick(&o, &s, which);
		if (o.json)
			print_json(&cm, ids, &s, which, k);
		else
			print_table(&cm, ids, &s, which, k);
	}
	free(which);
	lms_neuron_stats_free(&s);
	free(ids);
	front_close_model(&cm);
	return rc;
}
