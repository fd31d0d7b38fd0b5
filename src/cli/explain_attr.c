/* The attribution side of lmscope explain (explain_attr.h).
 *
 * CSV schema (--csv), one header line "section,index,id,token,value", then
 * one row per number, tokens always quoted:
 *   score,j,id,token,s            the score of input position j
 *   top,i,id,token,p              the i-th most probable next token
 *   target,0,id,token,logprob     (and contrast,0,... with --contrast-id)
 *   deletion,k,,,p                p(target) with the k top-scored hidden
 *   agreement,m,,method,rho       Spearman with method number m
 *   embedding_gradient,r*C+d,id,token,g   with --embedding-gradient
 *   info,i,,key,value             objective, evaluations, deletion_area and
 *                                 the method's diagnostics (as in the JSON) */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "front/i18n.h"
#include "explain_attr.h"
#include "front/figure.h"

static int set_method(void *field, const char *v)
{
	if (lms_attr_method_from_name(v, field))
		return 0;
	return front_usage(_("explain: --method is grad_norm, grad_x_input, integrated_gradients, "
	                     "occlusion, lime or attention_rollout"));
}

static int set_occlude(void *field, const char *v)
{
	if (strcmp(v, "replace") && strcmp(v, "remove"))
		return front_usage(_("explain: --occlude is replace or remove"));
	*(enum lms_occlude *)field = v[2] == 'p' ? LMS_OCCLUDE_REPLACE : LMS_OCCLUDE_REMOVE;
	return 0;
}

#define X struct cli_attr_opts
const struct front_opt explain_attr_options[] = {
	FRONT_FN("method", 0, "M",
             N_("grad_norm, grad_x_input, integrated_gradients (ig), occlusion,\n"
                "lime or attention_rollout (Transformers)"),
             X, a.method, set_method),
	FRONT_INT("ig-steps", 0, "N", N_("integration steps (32)"), X, a.ig_steps, 0, 4096),
	FRONT_INT("baseline-id", 0, "N", N_("IG baseline: token N's embedding (default zeros)"), X,
              a.baseline_id, 0, FRONT_INT_MAX),
	FRONT_FN("occlude", 0, "HOW", N_("occlusion and deletion: replace (default) or remove"), X,
             a.occlude, set_occlude),
	FRONT_INT("replace-id", 0, "N", N_("hiding token (default <unk>, or zeros without one)"), X,
              replace_id, 0, FRONT_INT_MAX),
	FRONT_INT("lime-samples", 0, "N", N_("lime's random masks (256)"), X, a.lime_samples, 0, 65536),
	FRONT_U64("seed", 0, "N", N_("lime's masks and folds (1)"), X, a.seed, 0, FRONT_INT_MAX),
	FRONT_FLAG("embedding-gradient", 0,
               N_("d loss / d (embedding matrix) on the rows of the\n"
                  "tokens involved (the loss: minus the explained log p)"),
               X, embgrad, 1),
	FRONT_FLAG("csv", 0, N_("the explanation as CSV rows: section,index,id,token,value"), X, csv,
               1),
	FRONT_STR("figure", 0, "FILE",
              N_("a figure (.svg, .png or .pdf); with --attention it adds\n"
                 "the heatmap of --layer L --head H (last layer, head 0)"),
              X, figure),
	FRONT_INT("layer", 0, "L", N_("the figure's attention layer"), X, layer, 0, FRONT_INT_MAX),
	FRONT_INT("head", 0, "H", N_("the figure's attention head"), X, head, 0, FRONT_INT_MAX),
	FRONT_END};
#undef X

void cli_attr_defaults(struct cli_attr_opts *x)
{
	memset(x, 0, sizeof *x);
	lms_attr_opts_default(&x->a);
	x->a.method = LMS_ATTR_GRAD_NORM;
	x->layer = -1;
	x->replace_id = -1;
}

enum lms_status cli_attr_compute(const struct front_model *cm, struct cli_attr_opts *x,
                                 const struct cli_attr_pred *p, struct cli_attr_result *res,
                                 int faith)
{
	const struct lms_config *c = &cm->m->cfg;
	memset(res, 0, sizeof *res);
	res->n = p->n;
	if (x->replace_id < 0)
		lms_attr_opts_use_tokenizer(&x->a, cm->tok);
	else
		x->a.replace_id = x->replace_id;
	if (x->layer < 0)
		x->layer = c->L - 1;
	if (x->figure && !lms_arch_is_recurrent(c->arch) && (x->layer >= c->L || x->head >= c->NH))
		return lms_fail(LMS_EARG,
		                "explain: --layer %d --head %d: the model has %d layers of %d heads",
		                x->layer, x->head, c->L, c->NH);
	if (x->a.ig_steps < 1)
		return lms_fail(LMS_EARG, "explain: --ig-steps wants at least 1");
	res->scores = malloc((size_t)p->n * sizeof *res->scores);
	res->curve = faith ? malloc(((size_t)p->n + 1) * sizeof *res->curve) : NULL;
	if (!res->scores || (faith && !res->curve))
		return lms_fail(LMS_ENOMEM, "out of memory");
	enum lms_status st =
		lms_attribute(cm->m, p->ids, p->n, p->target, p->contrast, &x->a, res->scores, &res->info);
	if (!st && faith)
		st = lms_faithfulness(cm->m, p->ids, p->n, p->target, p->contrast, res->scores, &x->a,
		                      res->curve, NULL, &res->faith);
	if (!st && x->embgrad) {
		res->C = c->C;
		res->etokens = malloc(((size_t)p->n + 2) * sizeof *res->etokens);
		res->egrad = malloc(((size_t)p->n + 2) * c->C * sizeof *res->egrad);
		if (!res->etokens || !res->egrad)
			return lms_fail(LMS_ENOMEM, "out of memory");
		/* under an ablation, in the prediction's run, which follows it */
		st = lms_embgrad(cm->m, x->a.iv ? p->run : NULL, p->ids, p->n, p->target, p->contrast,
		                 res->etokens, res->egrad, &res->ek);
	}
	return st;
}

void cli_attr_free(struct cli_attr_result *res)
{
	free(res->scores);
	free(res->curve);
	free(res->etokens);
	free(res->egrad);
	memset(res, 0, sizeof *res);
}

static json_t *id_or_null(int id)
{
	return id >= 0 ? json_integer(id) : json_null();
}

json_t *cli_attr_saliency_json(const struct cli_attr_opts *x, const struct cli_attr_result *res)
{
	const struct lms_attr_info *in = &res->info;
	json_t *scores = json_array();
	for (int j = 0; j < res->n; j++)
		json_array_append_new(scores, json_real(res->scores[j]));
	json_t *s = json_pack("{s:s, s:o, s:f, s:i}", "method", lms_attr_method_name(x->a.method),
	                      "scores", scores, "objective", in->f, "evaluations", in->evaluations);
	if (x->a.method == LMS_ATTR_INTEGRATED_GRADIENTS) {
		json_object_set_new(s, "steps", json_integer(x->a.ig_steps));
		json_object_set_new(s, "baseline_id", id_or_null(x->a.baseline_id));
		json_object_set_new(s, "objective_baseline", json_real(in->f_baseline));
		json_object_set_new(s, "completeness_gap", json_real(in->gap));
	}
	if (x->a.method == LMS_ATTR_LIME) {
		json_object_set_new(s, "samples", json_integer(x->a.lime_samples));
		json_object_set_new(s, "lambda", json_real(in->lambda));
		json_object_set_new(s, "r2", json_real(in->r2));
		json_object_set_new(s, "nonzero", json_integer(in->nonzero));
		json_object_set_new(s, "seed", json_integer((json_int_t)x->a.seed));
	}
	if (x->a.method == LMS_ATTR_OCCLUSION || x->a.method == LMS_ATTR_LIME) {
		/* lime always replaces */
		int rm = x->a.occlude == LMS_OCCLUDE_REMOVE && x->a.method == LMS_ATTR_OCCLUSION;
		json_object_set_new(s, "occlude", json_string(rm ? "remove" : "replace"));
		json_object_set_new(s, "replace_id", id_or_null(x->a.replace_id));
	}
	return s;
}

json_t *cli_attr_faithfulness_json(const struct cli_attr_result *res)
{
	json_t *curve = json_array(), *agree = json_object();
	for (int k = 0; k <= res->n; k++)
		json_array_append_new(curve, json_real(res->curve[k]));
	for (int k = 0; res->curve && k < LMS_ATTR_N_METHODS; k++)
		if (!isnan(res->faith.rho[k]))
			json_object_set_new(agree, lms_attr_method_name(k), json_real(res->faith.rho[k]));
	return json_pack("{s:o, s:f, s:o}", "deletion_curve", curve, "deletion_area", res->faith.area,
	                 "agreement", agree);
}

json_t *cli_attr_embgrad_json(const struct front_model *cm, const struct cli_attr_result *res)
{
	json_t *ids = json_array(), *toks = json_array(), *rows = json_array();
	for (int i = 0; i < res->ek; i++) {
		json_array_append_new(ids, json_integer(res->etokens[i]));
		json_array_append_new(toks, cli_token_json(cm, res->etokens[i]));
		json_t *row = json_array();
		for (int q = 0; q < res->C; q++)
			json_array_append_new(row, json_real(res->egrad[(size_t)i * res->C + q]));
		json_array_append_new(rows, row);
	}
	return json_pack("{s:o, s:o, s:o}", "ids", ids, "tokens", toks, "rows", rows);
}

/* A CSV field: always quoted, quotes doubled, so any token survives. */
static void csv_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

static void csv_row(FILE *f, const struct front_model *cm, const char *section, int index, int id,
                    const char *label, double value)
{
	char buf[32];
	fprintf(f, "%s,%d,", section, index);
	if (id >= 0) {
		fprintf(f, "%d,", id);
		csv_str(f, front_token_str(cm, id, buf, sizeof buf));
	} else {
		fputc(',', f);
		csv_str(f, label ? label : "");
	}
	fprintf(f, ",%.9g\n", value);
}

int cli_attr_write_csv(FILE *f, const struct front_model *cm, const struct cli_attr_opts *x,
                       const struct cli_attr_pred *p, const struct cli_attr_result *res)
{
	const struct lms_attr_info *in = &res->info;
	fputs("section,index,id,token,value\n", f);
	for (int j = 0; j < p->n; j++)
		csv_row(f, cm, "score", j, p->ids[j], NULL, res->scores[j]);
	for (int i = 0; i < p->top; i++)
		csv_row(f, cm, "top", i, p->order[i], NULL, exp(p->logprob[p->order[i]]));
	csv_row(f, cm, "target", 0, p->target, NULL, p->logprob[p->target]);
	if (p->contrast >= 0)
		csv_row(f, cm, "contrast", 0, p->contrast, NULL, p->logprob[p->contrast]);
	for (int k = 0; res->curve && k <= p->n; k++)
		csv_row(f, cm, "deletion", k, -1, NULL, res->curve[k]);
	for (int k = 0; res->curve && k < LMS_ATTR_N_METHODS; k++)
		if (!isnan(res->faith.rho[k]))
			csv_row(f, cm, "agreement", k, -1, lms_attr_method_name(k), res->faith.rho[k]);
	for (int r = 0; r < res->ek; r++)
		for (int q = 0; q < res->C; q++) /* index = row * C + dim */
			csv_row(f, cm, "embedding_gradient", r * res->C + q, res->etokens[r], NULL,
			        res->egrad[(size_t)r * res->C + q]);
	int i = 0;
	if (res->curve)
		csv_row(f, cm, "info", i++, -1, "deletion_area", res->faith.area);
	csv_row(f, cm, "info", i++, -1, "objective", in->f);
	csv_row(f, cm, "info", i++, -1, "evaluations", in->evaluations);
	if (x->a.method == LMS_ATTR_INTEGRATED_GRADIENTS) {
		csv_row(f, cm, "info", i++, -1, "steps", x->a.ig_steps);
		csv_row(f, cm, "info", i++, -1, "objective_baseline", in->f_baseline);
		csv_row(f, cm, "info", i++, -1, "completeness_gap", in->gap);
	}
	if (x->a.method == LMS_ATTR_LIME) {
		csv_row(f, cm, "info", i++, -1, "samples", x->a.lime_samples);
		csv_row(f, cm, "info", i++, -1, "lambda", in->lambda);
		csv_row(f, cm, "info", i++, -1, "r2", in->r2);
		csv_row(f, cm, "info", i++, -1, "nonzero", in->nonzero);
	}
	return ferror(f);
}

/* One line of the method's own diagnostics ("" when it has none). */
static void diagnostics(char *buf, size_t size, const struct cli_attr_opts *x,
                        const struct lms_attr_info *in)
{
	buf[0] = 0;
	if (x->a.method == LMS_ATTR_INTEGRATED_GRADIENTS) {
		char base[32] = "zeros";
		if (x->a.baseline_id >= 0)
			snprintf(base, sizeof base, "token %d", x->a.baseline_id);
		snprintf(buf, size,
		         "%d steps from %s; completeness gap %.3g (sum %.4g, f(x) - f(baseline) %.4g)",
		         x->a.ig_steps, base, in->gap, in->sum, in->f - in->f_baseline);
	} else if (x->a.method == LMS_ATTR_LIME) {
		snprintf(buf, size,
		         "%d samples; surrogate R^2 %.3f, lambda %.3g (cross-validated), %d nonzero",
		         x->a.lime_samples, in->r2, in->lambda, in->nonzero);
	} else if (x->a.method == LMS_ATTR_ATTENTION_ROLLOUT) {
		snprintf(buf, size, "attention only: the same whatever the target");
	}
}

void cli_attr_print_notes(FILE *f, const struct cli_attr_opts *x, const struct cli_attr_result *res)
{
	char buf[256];
	diagnostics(buf, sizeof buf, x, &res->info);
	if (buf[0])
		fprintf(f, "%s: %s\n", lms_attr_method_name(x->a.method), buf);
	if (res->curve)
		fprintf(f,
		        "deletion area %.4f (p(target) as tokens are hidden from most to least important;\n"
		        "  lower means the scores found what the prediction rests on)\n",
		        res->faith.area);
	int any = 0;
	for (int k = 0; res->curve && k < LMS_ATTR_N_METHODS; k++)
		if (!isnan(res->faith.rho[k])) {
			fprintf(f, "%s %s %+.2f",
			        any ? "," : "rank agreement (Spearman):", lms_attr_method_name(k),
			        res->faith.rho[k]);
			any = 1;
		}
	if (any)
		fputc('\n', f);
	for (int i = 0; i < res->ek; i++) {
		double ss = 0.0;
		for (int q = 0; q < res->C; q++)
			ss += (double)res->egrad[(size_t)i * res->C + q] * res->egrad[(size_t)i * res->C + q];
		fprintf(f, "%s token %d: %.4g",
		        i ? "," : "embedding gradient |d loss / d row| (--json for the rows):",
		        res->etokens[i], sqrt(ss));
	}
	if (res->ek)
		fputc('\n', f);
}

enum lms_status cli_attr_figure(const struct front_model *cm, const struct cli_attr_opts *x,
                                const struct cli_attr_pred *p, const struct cli_attr_result *res)
{
	const struct lms_config *c = &cm->m->cfg;
	char(*bufs)[32] = malloc(((size_t)p->n + p->top) * sizeof *bufs);
	const char **toks = malloc(((size_t)p->n + p->top) * sizeof *toks);
	float *probs = malloc(((size_t)p->top + 1) * sizeof *probs);
	if (!bufs || !toks || !probs) {
		free(bufs);
		free(toks);
		free(probs);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	for (int j = 0; j < p->n; j++)
		toks[j] = front_token_str(cm, p->ids[j], bufs[j], sizeof bufs[j]);
	int highlight = -1, contrast = -1;
	for (int i = 0; i < p->top; i++) {
		toks[p->n + i] = front_token_str(cm, p->order[i], bufs[p->n + i], sizeof bufs[p->n + i]);
		probs[i] = (float)exp(p->logprob[p->order[i]]);
		if (p->order[i] == p->target)
			highlight = i;
		if (p->order[i] == p->contrast)
			contrast = i;
	}
	char title[512], tb[32], cb[32], diag[256], note[256], name[256];
	const char *tgt = front_token_str(cm, p->target, tb, sizeof tb);
	front_model_name(cm->path, name, sizeof name);
	if (p->contrast >= 0)
		snprintf(title, sizeof title, "%s: why \"%s\" rather than \"%s\"", name, tgt,
		         front_token_str(cm, p->contrast, cb, sizeof cb));
	else
		snprintf(title, sizeof title, "%s: why \"%s\" (p = %.3f)", name, tgt,
		         exp(p->logprob[p->target]));
	diagnostics(diag, sizeof diag, x, &res->info);
	snprintf(note, sizeof note, "%s", diag); /* the deletion area titles its own curve */
	struct figure_spec f = {
		.title = title,
		.n = p->n,
		.tokens = toks,
		.scores = res->scores,
		.method = lms_attr_method_name(x->a.method),
		.note = note[0] ? note : NULL,
		/* sizes, never negative: a one-sided scale */
		.one_sided = x->a.method == LMS_ATTR_GRAD_NORM || x->a.method == LMS_ATTR_ATTENTION_ROLLOUT,
		.k = p->top,
		.top_tokens = toks + p->n,
		.top_probs = probs,
		.highlight = highlight,
		.contrast = contrast,
		.layer = x->layer,
		.head = x->head,
		.ek = res->egrad ? res->ek : 0,
		.C = res->C,
		.egrad = res->egrad,
		.curve = res->curve,
		.area = res->faith.area,
	};
	const char **etok = malloc(((size_t)res->ek + 1) * sizeof *etok);
	char(*ebuf)[32] = malloc(((size_t)res->ek + 1) * sizeof *ebuf);
	if (!etok || !ebuf)
		f.ek = 0;
	for (int i = 0; i < f.ek; i++)
		etok[i] = front_token_str(cm, res->etokens[i], ebuf[i], sizeof ebuf[i]);
	f.etokens = etok;
	if (x->want_attention && p->run && !lms_arch_is_recurrent(c->arch)) {
		f.attention = lms_run_attention(p->run, x->layer, x->head, 0);
		f.att_stride = p->run->T;
	}
	char(*lbuf)[32] = NULL;
	const char **lnames = p->lens ? cli_lens_names(cm, p->lens, &lbuf) : NULL;
	if (lnames) {
		f.lens_L = p->lens->L;
		f.lens_k = p->lens->K;
		f.lens_pos = p->lens->pos;
		f.lens_tokens = lnames;
		f.lens_probs = p->lens->probs;
		f.lens_rank = p->lens->rank;
		f.lens_tp = p->lens->tp;
		f.lens_target = tgt;
	}
	enum lms_status st = figure_write(x->figure, &f);
	free(lnames);
	free(lbuf);
	free(etok);
	free(ebuf);
	free(bufs);
	free(toks);
	free(probs);
	return st;
}
