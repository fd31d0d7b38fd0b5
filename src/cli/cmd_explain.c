/* lmscope explain MODEL (--text TEXT | --ids 5,17,42) [options]: the next
 * token after the input, and why: the saliency of each input position for
 * the target's log-probability (optionally against a contrast token), and
 * with --attention every layer's attention probabilities. Without --json, a
 * readable table; with it, one JSON object on one line:
 *   "ids"       [n] the input ids (the last maxT when the input is longer)
 *   "tokens"    [n] their display strings ("#<id>" without a tokenizer)
 *   "top"       [K] {"id", "token", "prob", "logprob"}, most probable first,
 *               for the token after the last position
 *   "target"    {"id", "token", "logprob"}, by default the most probable
 *   "contrast"  {"id", "token", "logprob"}, only with --contrast(-id)
 *   "saliency"  {"method", "scores": [n], "objective", "evaluations", ...}:
 *               f = log p(target) (minus log p(contrast)) and its value;
 *               with g_j the gradient of f by position j's token embedding
 *               row e_j, grad_norm = |g_j|, grad_x_input = g_j . e_j; the
 *               other methods (explain_attr.c, attribution.h) add their
 *               diagnostics: integrated_gradients "steps", "baseline_id",
 *               "objective_baseline", "completeness_gap"; occlusion and
 *               lime "occlude", "replace_id"; lime "samples", "lambda",
 *               "r2", "nonzero", "seed"
 *   "faithfulness" {"deletion_curve": [n + 1] p(target) with the k highest
 *               scored positions hidden, "deletion_area", "agreement":
 *               {method: Spearman rank correlation}}, unless turned off
 *   "embedding_gradient" {"ids", "tokens", "rows": [k][C]}: d(-f) / d wte
 *               rows, only with --embedding-gradient
 *   "attention" [L][NH][n][n] (query, key), zero above the diagonal; only
 *               with --attention, for Transformers
 *   "ablate"    {"spec", "mode"}: with --ablate, everything above is of the
 *               ablated model
 *   "compare"   {"model_b", "position", "target", "kl": [L],
 *               "attn_maxdiff": [L][NH], "saliency_spearman"}: with
 *               --compare MODEL_B, where the second model computes something
 *               else (explain_compare.c)
 *   "dla"       {"embed", "heads": [L][NH], "attn_bias": [L], "mlp": [L],
 *               "final_bias", "sum", "logit"}: with --dla, the direct logit
 *               attribution of the target (minus the contrast) at the last
 *               position (lmscope/interp.h); sum is the terms' total, logit
 *               the model's logit (difference) it should equal
 *   "lens"      {"position", "layers": [L] {"top": [K], "target": {"id",
 *               "rank", "prob"}}}: with --lens, each layer's state at the
 *               last position read through the final norm and unembedding
 *               (lens.c); K is --top
 * With --csv the same as rows section,index,id,token,value (explain_attr.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "front/i18n.h"
#include "cli.h"
#include "explain_attr.h"
#include "explain_compare.h"
#include "lmscope/logits.h"

struct opts {
	const char *path, *tokpath, *text, *idlist;
	const char *target_text, *contrast_text; /* --target, --contrast by text */
	int target, contrast, top, attention, json;
	struct cli_attr_opts x;      /* the attribution method and its settings */
	int faith;                   /* faithfulness: 1 on, 0 off, -1 when cheap enough */
	struct cli_ablate ab;        /* --ablate, --ablate-mode */
	struct cli_compare_opts cmp; /* --compare, --position */
	int dla;
	int lens;
};

/* What one explanation found, computed from a run. */
struct result {
	int *ids; /* (n) the positions explained */
	int n;
	double *logprob; /* (V) log p(k | ids) for the token after the last position */
	int *order;      /* (top) ids, most probable first */
	int top;
	int target, contrast;
	double *scores;      /* (n) saliency */
	struct lms_run *run; /* kept for the attention */
	struct cli_attr_result attr;
	struct lms_intervention *iv; /* --ablate, or NULL */
	struct lms_dla dla;          /* with --dla */
	struct cli_lens lens;        /* with --lens */
	struct cli_compare cmp;      /* with --compare */
};

#define O struct opts
static const struct front_opt explain_options[] = {
	FRONT_STR("text", 0, "TEXT", N_("the input, through the model's tokenizer"), O, text),
	FRONT_STR("ids", 0, "5,17,42", N_("the input as token ids"), O, idlist),
	FRONT_STR("target", 0, "TOKEN",
              N_("explain this next token (one token of text; default the most\n"
                 "probable)"),
              O, target_text),
	FRONT_INT("target-id", 0, "N", N_("the target by id"), O, target, 0, FRONT_INT_MAX),
	FRONT_STR("contrast", 0, "TOKEN",
              N_("explain log p(target) - log p(contrast) (one token of text)"), O, contrast_text),
	FRONT_INT("contrast-id", 0, "N", N_("the contrast by id"), O, contrast, 0, FRONT_INT_MAX),
	FRONT_INT("top", 0, "K", N_("the K most probable next tokens (10)"), O, top, 1, FRONT_INT_MAX),
	FRONT_FLAG("attention", 0, N_("every layer's attention probabilities (Transformers)"), O,
               attention, 1),
	FRONT_FLAG("dla", 0, N_("direct logit attribution of the target at the last position"), O, dla,
               1),
	FRONT_FLAG("lens", 0,
               N_("the logit lens at the last position: each layer's top K and the\n"
                  "target's rank and probability"),
               O, lens, 1),
	FRONT_FLAG("json", 0, N_("one JSON object on one line"), O, json, 1),
	FRONT_FLAG("faithfulness", 0, N_("deletion curve and rank agreement (by default when cheap)"),
               O, faith, 1),
	FRONT_FLAG("no-faithfulness", 0, N_("leave them out"), O, faith, 0),
	FRONT_FILE("tokenizer", 0, "FILE", N_("the tokenizer to use instead of the model's own"), O,
               tokpath),
	FRONT_END};
#undef O

static const char usage_text[] =
	N_("usage: lmscope explain MODEL (--text TEXT | --ids 5,17,42) [--target TOKEN]\n"
       "                       [--contrast TOKEN] [--method M] [--top K] [--attention]\n"
       "                       [--json | --csv] [--figure FILE] [--compare MODEL_B] [options]\n");

static int parse_opts(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof *o);
	cli_attr_defaults(&o->x);
	o->faith = -1;
	o->target = o->contrast = -1;
	o->top = 10;
	cli_compare_defaults(&o->cmp);
	struct front_cmd cmd = {"explain",
	                        usage_text,
	                        NULL,
	                        {{explain_options, o},
	                         {explain_attr_options, &o->x},
	                         {cli_ablate_options, &o->ab},
	                         {explain_compare_options, &o->cmp}},
	                        0,
	                        NULL};
	int first, rc = front_parse(&cmd, argc, argv, &first);
	if (rc)
		return rc;
	if (first >= argc)
		return front_usage(_("explain: which model? (lmscope explain MODEL --ids 1,2,3)"));
	if (argc - first > 1)
		return front_usage(_("explain: one model at a time"));
	o->path = argv[first];
	if (!o->text == !o->idlist)
		return front_usage(_("explain: give exactly one of --text TEXT and --ids LIST"));
	if (o->cmp.position >= 0 && !o->cmp.model_b)
		return front_usage(
			_("explain: --position is the position --compare looks at; give --compare MODEL_B"));
	if (o->cmp.model_b && (o->x.csv || o->ab.spec))
		return front_usage(
			_("explain: --compare compares the models as they are, in the table or --json "
		      "(not with --csv or --ablate)"));
	if ((o->target_text && o->target >= 0) || (o->contrast_text && o->contrast >= 0))
		return front_usage(_("explain: give a token by text or by id, not both"));
	return 0;
}

/* The id of a token given as text (--target, --contrast): the text must
 * encode to exactly one token. */
static enum lms_status token_of(const struct front_model *cm, const char *opt, const char *text,
                                int *id)
{
	if (!cm->tok)
		return lms_fail(LMS_EARG, "%s: no tokenizer to read %s (use %s-id)", cm->path, opt, opt);
	int *ids;
	size_t n;
	enum lms_status st = lms_tokenizer_encode(cm->tok, text, strlen(text), &ids, &n, NULL, NULL);
	if (st)
		return st;
	if (n == 1) {
		*id = ids[0];
		free(ids);
		return LMS_OK;
	}
	char how[400] = "";
	for (size_t i = 0, at = 0; i < n && at < sizeof how - 40; i++) {
		json_t *t = cli_token_json(cm, ids[i]);
		char *q = t ? json_dumps(t, JSON_ENCODE_ANY) : NULL;
		at += (size_t)snprintf(how + at, sizeof how - at, "%s%s", i ? " " : "", q ? q : "?");
		free(q);
		json_decref(t);
	}
	free(ids);
	return lms_fail(LMS_EARG, "explain: %s '%s' is %zu tokens, not one: %s", opt, text, n, how);
}

static void free_result(struct result *res)
{
	free(res->logprob);
	free(res->order);
	free(res->scores);
	lms_run_free(res->run);
	cli_attr_free(&res->attr);
	lms_dla_free(&res->dla);
	cli_lens_free(&res->lens);
	lms_intervention_free(res->iv);
	cli_compare_free(&res->cmp);
}

/* Forward, next-token distribution, objective, backward to the inputs. */
static struct cli_attr_pred pred_of(const struct result *res)
{
	struct cli_attr_pred p = {
		.ids = res->ids,
		.n = res->n,
		.logprob = res->logprob,
		.order = res->order,
		.top = res->top,
		.target = res->target,
		.contrast = res->contrast,
		.run = res->run,
		.lens = res->lens.L ? &res->lens : NULL,
	};
	return p;
}

static enum lms_status explain(const struct front_model *cm, struct opts *o, struct result *res)
{
	const struct lms_config *c = &cm->m->cfg;
	int n = res->n, V = c->V;
	res->logprob = malloc((size_t)V * sizeof *res->logprob);
	res->order = malloc((size_t)V * sizeof *res->order);
	res->scores = calloc((size_t)n, sizeof *res->scores);
	if (!res->logprob || !res->order || !res->scores)
		return lms_fail(LMS_ENOMEM, "out of memory");
	enum lms_status st = lms_run_new(cm->m, 1, n, &res->run);
	if (st)
		return st;
	struct lms_run *r = res->run;
	lms_run_intervene(r, res->iv);
	o->x.a.iv = res->iv;
	st = lms_embed(r, res->ids, n);
	if (st)
		return st;
	lms_forward(r, 0, n);
	lms_logits(r, 0, n - 1, n);
	const float *x = r->logits + (size_t)(n - 1) * V;
	for (int k = 0; k < V; k++)
		if (!isfinite(x[k]))
			return lms_fail(LMS_ENUMERIC, "%s: the model's output is not finite", cm->path);
	double lse = lms_logsumexp(x, V);
	for (int k = 0; k < V; k++)
		res->logprob[k] = x[k] - lse;
	lms_top_k(x, V, V, res->order, NULL); /* by logit is by log-probability */
	res->top = o->top < V ? o->top : V;
	res->target = o->target >= 0 ? o->target : res->order[0];
	res->contrast = o->contrast;
	if (res->contrast == res->target)
		return lms_fail(LMS_EARG, "explain: --contrast-id must differ from the target");
	if (o->dla && (st = lms_dla_compute(r, n - 1, res->target, res->contrast, &res->dla)))
		return st;
	if (o->lens && (st = cli_lens_compute(r, n - 1, res->top, res->target, &res->lens)))
		return st;
	if (o->faith < 0) /* by default only when its 2n + 2 extra forwards are cheap */
		o->faith = (2.0 * n + 2.0) * n * (double)cm->m->n_params < 4e10;
	o->x.want_attention = o->attention;
	struct cli_attr_pred p = pred_of(res);
	st = cli_attr_compute(cm, &o->x, &p, &res->attr, o->faith);
	if (st)
		return st;
	for (int j = 0; j < n; j++)
		res->scores[j] = res->attr.scores[j];
	if (o->x.figure)
		st = cli_attr_figure(cm, &o->x, &p, &res->attr);
	if (!st && o->cmp.model_b)
		st = cli_compare_compute(cm, &o->cmp, res->ids, n, &res->cmp);
	return st;
}

/* ---- JSON ----------------------------------------------------------------- */

static json_t *scored_token(const struct front_model *cm, const struct result *res, int id)
{
	return json_pack("{s:i, s:o, s:f}", "id", id, "token", cli_token_json(cm, id), "logprob",
	                 res->logprob[id]);
}

static json_t *reals(const double *x, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, json_real(x[i]));
	return a;
}

static json_t *dla_json(const struct lms_dla *d)
{
	return json_pack("{s:f, s:o, s:o, s:o, s:f, s:f, s:f}", "embed", d->embed, "heads",
	                 cli_matrix_json(d->heads, d->L, d->NH), "attn_bias", reals(d->attn_bias, d->L),
	                 "mlp", reals(d->mlp, d->L), "final_bias", d->final_bias, "sum", d->sum,
	                 "logit", d->logit);
}

static int print_json(const struct front_model *cm, const struct opts *o, const struct result *res)
{
	const struct lms_config *c = &cm->m->cfg;
	json_t *root = json_object(), *ids = json_array(), *toks = json_array(), *top = json_array();
	for (int j = 0; j < res->n; j++) {
		json_array_append_new(ids, json_integer(res->ids[j]));
		json_array_append_new(toks, cli_token_json(cm, res->ids[j]));
	}
	for (int i = 0; i < res->top; i++) {
		int id = res->order[i];
		json_array_append_new(top, json_pack("{s:i, s:o, s:f, s:f}", "id", id, "token",
		                                     cli_token_json(cm, id), "prob", exp(res->logprob[id]),
		                                     "logprob", res->logprob[id]));
	}
	json_object_set_new(root, "ids", ids);
	json_object_set_new(root, "tokens", toks);
	json_object_set_new(root, "top", top);
	json_object_set_new(root, "target", scored_token(cm, res, res->target));
	if (res->contrast >= 0)
		json_object_set_new(root, "contrast", scored_token(cm, res, res->contrast));
	json_t *scores = json_array();
	for (int j = 0; j < res->n; j++)
		json_array_append_new(scores, json_real(res->scores[j]));
	json_decref(scores);
	json_object_set_new(root, "saliency", cli_attr_saliency_json(&o->x, &res->attr));
	if (res->attr.curve)
		json_object_set_new(root, "faithfulness", cli_attr_faithfulness_json(&res->attr));
	if (res->attr.egrad)
		json_object_set_new(root, "embedding_gradient", cli_attr_embgrad_json(cm, &res->attr));
	if (o->attention && !lms_arch_is_recurrent(c->arch)) {
		json_t *layers = json_array();
		for (int l = 0; l < c->L; l++) {
			json_t *heads = json_array();
			for (int h = 0; h < c->NH; h++) {
				const float *a = lms_run_attention(res->run, l, h, 0);
				json_t *rows = json_array();
				for (int q = 0; q < res->n; q++) {
					json_t *row = json_array();
					for (int k = 0; k < res->n; k++)
						json_array_append_new(row,
						                      json_real(a ? a[(size_t)q * res->run->T + k] : 0.0));
					json_array_append_new(rows, row);
				}
				json_array_append_new(heads, rows);
			}
			json_array_append_new(layers, heads);
		}
		json_object_set_new(root, "attention", layers);
	}
	if (res->iv)
		json_object_set_new(root, "ablate",
		                    json_pack("{s:s, s:s}", "spec", o->ab.spec, "mode",
		                              o->ab.mode == LMS_ABLATE_MEAN ? "mean" : "zero"));
	if (o->dla)
		json_object_set_new(root, "dla", dla_json(&res->dla));
	if (o->lens)
		json_object_set_new(root, "lens", cli_lens_json(cm, &res->lens));
	if (o->cmp.model_b)
		json_object_set_new(root, "compare", cli_compare_json(cm, &res->cmp));
	int bad = json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(8)) != 0;
	json_decref(root);
	putchar('\n');
	return bad;
}

/* ---- table ---------------------------------------------------------------- */

/* A token for a table cell: control characters escaped, padded to width
 * columns (counting UTF-8 code points), cut with "~" when longer. */
static void put_token(const char *s, int width)
{
	int cols = 0;
	putchar('"');
	for (; *s && cols < width - 3; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\n' || ch == '\t' || ch == '\r' || ch == '"' || ch == '\\') {
			printf("\\%c", ch == '\n' ? 'n' : ch == '\t' ? 't' : ch == '\r' ? 'r' : ch);
			cols += 2;
		} else if (ch < 0x20 || ch == 0x7f) {
			printf("\\x%02x", ch);
			cols += 4;
		} else {
			putchar(ch);
			cols += (ch & 0xc0) != 0x80;
		}
	}
	while (*s && ((unsigned char)*s & 0xc0) == 0x80) /* finish a cut code point */
		putchar(*s++);
	putchar(*s ? '~' : '"');
	for (cols += 2; cols < width; cols++)
		putchar(' ');
}

static void bar(double v, double scale, char ch)
{
	int len = scale > 0 ? (int)lround(20.0 * fabs(v) / scale) : 0;
	for (int i = 0; i < len; i++)
		putchar(v < 0 ? '-' : ch);
}

static void print_dla(const struct lms_dla *d)
{
	printf("\ndirect logit attribution (logit units)\n%-10s %10.4f\n", "embed", d->embed);
	for (int l = 0; l < d->L; l++) {
		printf("layer %-4d", l);
		for (int h = 0; h < d->NH; h++)
			printf(" h%d %8.4f", h, d->heads[(size_t)l * d->NH + h]);
		printf("  bias %8.4f  mlp %8.4f\n", d->attn_bias[l], d->mlp[l]);
	}
	printf("%-10s %10.4f\nsum %.5f   logit %.5f\n", "final bias", d->final_bias, d->sum, d->logit);
}

static int print_table(const struct front_model *cm, const struct opts *o, const struct result *res)
{
	const struct lms_config *c = &cm->m->cfg;
	char buf[32];
	printf("model %s: %s, %d layers, vocabulary %d\n\n", cm->path, lms_arch_name(c->arch), c->L,
	       c->V);
	double scale = 0.0;
	for (int j = 0; j < res->n; j++)
		scale = fmax(scale, fabs(res->scores[j]));
	printf("input (%d tokens); saliency: %s for %s\n", res->n, lms_attr_method_name(o->x.a.method),
	       res->contrast >= 0 ? "log p(target) - log p(contrast)" : "log p(target)");
	printf("%5s %7s  %-18s %12s\n", "pos", "id", "token", "saliency");
	for (int j = 0; j < res->n; j++) {
		printf("%5d %7d  ", j, res->ids[j]);
		put_token(front_token_str(cm, res->ids[j], buf, sizeof buf), 18);
		printf(" %12.5g  ", res->scores[j]);
		bar(res->scores[j], scale, '#');
		putchar('\n');
	}
	cli_attr_print_notes(stdout, &o->x, &res->attr);
	printf("\nnext token (top %d)\n", res->top);
	printf("%5s %7s  %-18s %9s %10s\n", "rank", "id", "token", "prob", "logprob");
	for (int i = 0; i < res->top; i++) {
		int id = res->order[i];
		printf("%5d %7d  ", i + 1, id);
		put_token(front_token_str(cm, id, buf, sizeof buf), 18);
		printf(" %9.5f %10.4f  ", exp(res->logprob[id]), res->logprob[id]);
		bar(exp(res->logprob[id]), 1.0, '#');
		putchar('\n');
	}
	printf("\ntarget   %7d  ", res->target);
	put_token(front_token_str(cm, res->target, buf, sizeof buf), 18);
	printf(" logprob %.4f%s\n", res->logprob[res->target],
	       o->target < 0 ? "  (most probable)" : "");
	if (res->contrast >= 0) {
		printf("contrast %7d  ", res->contrast);
		put_token(front_token_str(cm, res->contrast, buf, sizeof buf), 18);
		printf(" logprob %.4f\n", res->logprob[res->contrast]);
	}
	if (res->iv)
		printf("\nablated: %s (%s)\n", o->ab.spec, o->ab.mode == LMS_ABLATE_MEAN ? "mean" : "zero");
	if (o->dla)
		print_dla(&res->dla);
	if (o->lens)
		cli_lens_print(cm, &res->lens);
	if (o->cmp.model_b)
		cli_compare_print(stdout, &res->cmp);
	if (o->attention && !lms_arch_is_recurrent(c->arch))
		for (int l = 0; l < c->L; l++)
			for (int h = 0; h < c->NH; h++) {
				const float *a = lms_run_attention(res->run, l, h, 0);
				if (!a)
					continue;
				printf("\nattention layer %d head %d (row: query position, column: key position)\n "
				       "    ",
				       l, h);
				for (int k = 0; k < res->n; k++)
					printf(" %6d", k);
				putchar('\n');
				for (int q = 0; q < res->n; q++) {
					printf("%5d", q);
					for (int k = 0; k <= q; k++)
						printf(" %6.3f", a[(size_t)q * res->run->T + k]);
					putchar('\n');
				}
			}
	return 0;
}

/* CSV (--csv), JSON (--json) or the table. */
static int print_output(const struct front_model *cm, const struct opts *o,
                        const struct result *res)
{
	if (o->x.csv) {
		struct cli_attr_pred p = pred_of(res);
		return cli_attr_write_csv(stdout, cm, &o->x, &p, &res->attr);
	}
	return o->json ? print_json(cm, o, res) : print_table(cm, o, res);
}

int lms_cmd_explain(int argc, char **argv)
{
	struct opts o;
	int rc = parse_opts(argc, argv, &o);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	struct front_model cm;
	enum lms_status st = front_open_model(o.path, o.tokpath, &cm);
	if (st)
		return front_fail(st);
	const struct lms_config *c = &cm.m->cfg;
	int *ids = NULL;
	size_t n = 0;
	struct result res = {0};
	st = cli_input_ids(&cm, o.text, "--text", o.idlist, "--ids", &ids, &n);
	if (!st && o.target_text)
		st = token_of(&cm, "--target", o.target_text, &o.target);
	if (!st && o.contrast_text)
		st = token_of(&cm, "--contrast", o.contrast_text, &o.contrast);
	if (!st && o.target >= c->V)
		st = lms_fail(LMS_EARG, "%s: --target-id %d outside the vocabulary (0 to %d)", o.path,
		              o.target, c->V - 1);
	if (!st && o.contrast >= c->V)
		st = lms_fail(LMS_EARG, "%s: --contrast-id %d outside the vocabulary (0 to %d)", o.path,
		              o.contrast, c->V - 1);
	if (!st && o.contrast >= 0 && o.contrast == o.target)
		st = lms_fail(LMS_EARG, "explain: --contrast-id must differ from the target");
	if (!st && (rc = cli_ablate_make(&o.ab, cm.m, &res.iv))) {
		free(ids);
		front_close_model(&cm);
		return rc;
	}
	if (!st && o.attention && lms_arch_is_recurrent(c->arch))
		fprintf(stderr, _("lmscope: %s models have no attention; --attention ignored\n"),
		        lms_arch_name(c->arch));
	if (!st) {
		res.ids = ids;
		res.n = (int)(n < (size_t)c->maxT ? n : (size_t)c->maxT);
		if (n > (size_t)c->maxT) {
			fprintf(
				stderr,
				"lmscope: %zu tokens exceed the model's context of %d; explaining the last %d\n", n,
				c->maxT, c->maxT);
			res.ids = ids + (n - (size_t)c->maxT);
		}
		st = explain(&cm, &o, &res);
	}
	if (st)
		rc = front_fail(st);
	else if (print_output(&cm, &o, &res))
		rc = front_fail(lms_fail(LMS_EIO, "explain: cannot write the output"));
	else
		rc = LMS_EXIT_OK;
	free_result(&res);
	free(ids);
	front_close_model(&cm);
	return rc;
}
