/* lmscope patch MODEL --clean TEXT --corrupt TEXT [options]: activation
 * patching. The corrupt context is run with one site at a time taken from
 * the clean run, and each site is scored by the share of the logit
 * difference it restores,
 *   (LD_patched - LD_corrupt) / (LD_clean - LD_corrupt),
 * LD = logit[target] - logit[contrast] at the last position (log p(target)
 * without a contrast). With --json, one object on one line:
 *   "tokens_clean", "tokens_corrupt"  [n] display strings
 *   "target", "contrast"  {"id", "token"} (contrast null when there is none)
 *   "ld_clean", "ld_corrupt"
 *   "resid_pre" [L][n]  the residual stream entering layer l at position t
 *   "attn_out"  [L][n]  layer l's attention output at t
 *   "mlp_out"   [L][n]  layer l's MLP output at t
 *   "heads"     [L][NH] one head's output at every position
 *   recurrent models instead: "hidden" [L][n], layer l's state at t
 * A score is null when LD_clean = LD_corrupt. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "front/i18n.h"
#include "cli.h"

struct opts {
	const char *tokpath, *clean, *corrupt, *ids_clean, *ids_corrupt;
	int target, contrast, json;
};

#define O struct opts
static const struct front_opt patch_options[] = {
	FRONT_STR("clean", 0, "TEXT", N_("the context whose activations are patched in"), O, clean),
	FRONT_STR("corrupt", 0, "TEXT", N_("the context they are patched into (the same token count)"),
              O, corrupt),
	FRONT_STR("ids-clean", 0, "IDS", N_("the clean context as comma-separated token ids"), O,
              ids_clean),
	FRONT_STR("ids-corrupt", 0, "IDS", N_("the corrupt context as token ids"), O, ids_corrupt),
	FRONT_INT("target-id", 0, "N",
              N_("the token whose logit difference is measured (default:\n"
                 "the clean run's most probable next token)"),
              O, target, 0, FRONT_INT_MAX),
	FRONT_INT("contrast-id", 0, "N",
              N_("subtracted (default without --target-id: the corrupt\n"
                 "run's most probable; else none: LD = log p(target))"),
              O, contrast, 0, FRONT_INT_MAX),
	FRONT_FLAG("json", 0, N_("one JSON object (see lmscope(1))"), O, json, 1),
	FRONT_STR("tokenizer", 0, "FILE", N_("the tokenizer to use instead of the model's own"), O,
              tokpath),
	FRONT_END};
#undef O

static const char usage_text[] = N_(
	"usage: lmscope patch MODEL (--clean TEXT --corrupt TEXT | --ids-clean IDS --ids-corrupt IDS)\n"
	"                     [--target-id N] [--contrast-id N] [--json] [--tokenizer FILE]\n");

/* The options, and the model's path in *path. */
static int parse_opts(int argc, char **argv, struct opts *o, const char **path)
{
	memset(o, 0, sizeof *o);
	o->target = o->contrast = -1;
	struct front_cmd cmd = {"patch", usage_text, NULL, {{patch_options, o}}, 0, NULL};
	int first, rc = front_parse(&cmd, argc, argv, &first);
	if (rc)
		return rc;
	if (first >= argc)
		return front_usage(_("which model? (lmscope patch MODEL --clean TEXT --corrupt TEXT)"));
	if (argc - first > 1)
		return front_usage(_("one model at a time"));
	*path = argv[first];
	if (!o->clean == !o->ids_clean || !o->corrupt == !o->ids_corrupt)
		return front_usage(_("give the clean context (--clean or --ids-clean) and the corrupt one "
		                     "(--corrupt or --ids-corrupt), once each"));
	return 0;
}

/* ---- output ------------------------------------------------------------------ */

static json_t *tokens_json(const struct front_model *cm, const int *ids, int n)
{
	json_t *a = json_array();
	for (int i = 0; i < n; i++)
		json_array_append_new(a, cli_token_json(cm, ids[i]));
	return a;
}

static json_t *id_json(const struct front_model *cm, int id)
{
	if (id < 0)
		return json_null();
	return json_pack("{s:i, s:o}", "id", id, "token", cli_token_json(cm, id));
}

static void print_json(const struct front_model *cm, const int *clean, const int *corrupt,
                       const struct lms_patch_result *p)
{
	json_t *root = json_object();
	json_object_set_new(root, "tokens_clean", tokens_json(cm, clean, p->T));
	json_object_set_new(root, "tokens_corrupt", tokens_json(cm, corrupt, p->T));
	json_object_set_new(root, "target", id_json(cm, p->target));
	json_object_set_new(root, "contrast", id_json(cm, p->contrast));
	json_object_set_new(root, "ld_clean", json_real(p->ld_clean));
	json_object_set_new(root, "ld_corrupt", json_real(p->ld_corrupt));
	if (p->hidden)
		json_object_set_new(root, "hidden", cli_matrix_json(p->hidden, p->L, p->T));
	if (p->resid_pre) {
		json_object_set_new(root, "resid_pre", cli_matrix_json(p->resid_pre, p->L, p->T));
		json_object_set_new(root, "attn_out", cli_matrix_json(p->attn_out, p->L, p->T));
		json_object_set_new(root, "mlp_out", cli_matrix_json(p->mlp_out, p->L, p->T));
		json_object_set_new(root, "heads", cli_matrix_json(p->heads, p->L, p->NH));
	}
	/* a failed write is reported once stdout is flushed (main.c) */
	json_dumpf(root, stdout, JSON_COMPACT | JSON_REAL_PRECISION(8));
	json_decref(root);
	putchar('\n');
}

/* One (rows, cols) table of scores, rows labelled "layer l". */
static void print_scores(const char *title, const double *x, int rows, int cols, const char *col)
{
	printf("\n%s\n%-8s", title, "");
	for (int j = 0; j < cols; j++) {
		char label[16];
		snprintf(label, sizeof label, "%s%d", col, j);
		printf(" %6s", label);
	}
	putchar('\n');
	for (int i = 0; i < rows; i++) {
		printf("layer %-2d", i);
		for (int j = 0; j < cols; j++) {
			double v = x[(size_t)i * cols + j];
			if (isfinite(v))
				printf(" %6.2f", v);
			else
				printf(" %6s", "-");
		}
		putchar('\n');
	}
}

static void print_table(const struct front_model *cm, const int *clean, const int *corrupt,
                        const struct lms_patch_result *p)
{
	char a[32], b[32];
	printf("%-5s %-20s %s\n", "pos", "clean", "corrupt");
	for (int t = 0; t < p->T; t++)
		printf("%-5d %-20s %s\n", t, front_token_str(cm, clean[t], a, sizeof a),
		       front_token_str(cm, corrupt[t], b, sizeof b));
	printf("\ntarget %d \"%s\"", p->target, front_token_str(cm, p->target, a, sizeof a));
	if (p->contrast >= 0)
		printf(", contrast %d \"%s\"", p->contrast, front_token_str(cm, p->contrast, b, sizeof b));
	printf("; LD clean %.4f, corrupt %.4f\n", p->ld_clean, p->ld_corrupt);
	printf("score: the share of the LD difference restored (1: all, 0: none)\n");
	if (p->hidden) {
		print_scores("hidden state (layer x position)", p->hidden, p->L, p->T, "t");
		return;
	}
	print_scores("resid_pre (layer x position)", p->resid_pre, p->L, p->T, "t");
	print_scores("attn_out (layer x position)", p->attn_out, p->L, p->T, "t");
	print_scores("mlp_out (layer x position)", p->mlp_out, p->L, p->T, "t");
	print_scores("heads, every position (layer x head)", p->heads, p->L, p->NH, "h");
}

/* ---- the command ----------------------------------------------------------------- */

static enum lms_status run(const struct front_model *cm, const struct opts *o, int **clean,
                           int **corrupt, struct lms_patch_result *p)
{
	const struct lms_config *c = &cm->m->cfg;
	size_t n1 = 0, n2 = 0;
	enum lms_status st =
		cli_input_ids(cm, o->clean, "--clean", o->ids_clean, "--ids-clean", clean, &n1);
	if (!st)
		st = cli_input_ids(cm, o->corrupt, "--corrupt", o->ids_corrupt, "--ids-corrupt", corrupt,
		                   &n2);
	if (st)
		return st;
	if (n1 != n2)
		return lms_fail(LMS_EARG,
		                "the clean context has %zu tokens and the corrupt one %zu; "
		                "patching needs the same count",
		                n1, n2);
	if (n1 > (size_t)c->maxT && !lms_arch_is_recurrent(c->arch))
		return lms_fail(LMS_EARG, "%zu tokens exceed the model's context of %d", n1, c->maxT);
	if (o->target >= c->V || o->contrast >= c->V)
		return lms_fail(LMS_EARG, "%s: token id %d outside the vocabulary (0 to %d)", cm->path,
		                o->target >= c->V ? o->target : o->contrast, c->V - 1);
	if (o->contrast >= 0 && o->target < 0)
		return lms_fail(LMS_EARG, "--contrast-id needs --target-id");
	return lms_patch_sweep(cm->m, *clean, *corrupt, (int)n1, o->target, o->contrast, p);
}

int lms_cmd_patch(int argc, char **argv)
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
	int *clean = NULL, *corrupt = NULL;
	struct lms_patch_result p = {0};
	st = run(&cm, &o, &clean, &corrupt, &p);
	if (st)
		rc = front_fail(st);
	else if (o.json)
		print_json(&cm, clean, corrupt, &p);
	else
		print_table(&cm, clean, corrupt, &p);
	lms_patch_result_free(&p);
	free(clean);
	free(corrupt);
	front_close_model(&cm);
	return rc;
}
