/* lmscope explain MODEL_A --compare MODEL_B [--position N]
 * (explain_compare.h): how far the second model computes something else
 * than the first on the same ids.
 *
 * JSON ("compare" of explain's object):
 *   "model_b"            the second model's path
 *   "position"           the position compared (default the last)
 *   "target"             {"id", "token"}: the saliencies' target, A's most
 *                        probable next token after position
 *   "kl"                 [L] KL(P_A || P_B) of the logit lens after each
 *                        layer at position, nats
 *   "attn_maxdiff"       [L][NH] the largest |att_A - att_B| of each head
 *                        over the query/key pairs up to position ([L][0]
 *                        for recurrent models)
 *   "saliency_spearman"  rank correlation of the two grad_norm saliencies
 *                        over positions 0 .. position (null below two) */
#include <math.h>
#include <string.h>

#include "front/i18n.h"
#include "explain_compare.h"

#define X struct cli_compare_opts
const struct front_opt explain_compare_options[] = {
	FRONT_STR(
		"compare", 0, "MODEL_B",
		N_("where MODEL_B (same vocabulary, layers and heads) computes\n"
           "something else: KL of the logit lens per layer, attention differences, saliency rank\n"
           "correlation"),
		X, model_b),
	FRONT_INT("position", 0, "N", N_("the position --compare looks at (default the last)"), X,
              position, 0, FRONT_INT_MAX),
	FRONT_END};
#undef X

void cli_compare_defaults(struct cli_compare_opts *x)
{
	x->model_b = NULL;
	x->position = -1;
}

enum lms_status cli_compare_compute(const struct front_model *cm, const struct cli_compare_opts *x,
                                    const int *ids, int n, struct cli_compare *out)
{
	memset(out, 0, sizeof *out);
	int pos = x->position < 0 ? n - 1 : x->position;
	if (pos >= n)
		return lms_fail(LMS_EARG, "explain: --position %d outside the input (positions 0 to %d)",
		                pos, n - 1);
	enum lms_status st = front_open_model(x->model_b, NULL, &out->b);
	if (st)
		return st;
	out->open = 1;
	if (pos >= out->b.m->cfg.maxT)
		return lms_fail(LMS_EARG, "%s: --position %d beyond the model's context of %d", out->b.path,
		                pos, out->b.m->cfg.maxT);
	st = lms_divergence_new(cm->m, out->b.m, out->b.path, &out->d);
	if (!st)
		st = lms_divergence_compute(&out->d, NULL, NULL, ids, pos);
	return st;
}

void cli_compare_free(struct cli_compare *c)
{
	lms_divergence_free(&c->d);
	if (c->open)
		front_close_model(&c->b);
	memset(c, 0, sizeof *c);
}

static json_t *real_or_null(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

json_t *cli_compare_json(const struct front_model *cm, const struct cli_compare *c)
{
	const struct lms_divergence *d = &c->d;
	json_t *kl = json_array();
	for (int l = 0; l < d->L; l++)
		json_array_append_new(kl, real_or_null(d->kl[l]));
	json_t *att = d->attn_maxdiff ? cli_matrix_json(d->attn_maxdiff, d->L, d->NH) : json_array();
	for (int l = 0; !d->attn_maxdiff && l < d->L; l++)
		json_array_append_new(att, json_array());
	json_t *target =
		json_pack("{s:i, s:o}", "id", d->target, "token", cli_token_json(cm, d->target));
	return json_pack("{s:s, s:i, s:o, s:o, s:o, s:o}", "model_b", c->b.path, "position", d->pos,
	                 "target", target, "kl", kl, "attn_maxdiff", att, "saliency_spearman",
	                 real_or_null(d->rho));
}

/* The head of layer l whose attention differs most (-1 without heads). */
static int worst_head(const struct lms_divergence *d, int l)
{
	int best = -1;
	for (int h = 0; h < d->NH; h++)
		if (best < 0 ||
		    d->attn_maxdiff[(size_t)l * d->NH + h] > d->attn_maxdiff[(size_t)l * d->NH + best])
			best = h;
	return d->attn_maxdiff ? best : -1;
}

void cli_compare_print(FILE *f, const struct cli_compare *c)
{
	const struct lms_divergence *d = &c->d;
	double scale = 0.0;
	for (int l = 0; l < d->L; l++)
		scale = fmax(scale, d->kl[l]);
	fprintf(f, "\ncompared with %s at position %d\n", c->b.path, d->pos);
	fprintf(f, "%5s %12s  %-20s  %s\n", "layer", "KL(A||B)", "", "largest attention difference");
	for (int l = 0; l < d->L; l++) {
		int len = scale > 0 ? (int)lround(20.0 * d->kl[l] / scale) : 0;
		fprintf(f, "%5d %12.4g  %-*.*s%*s", l, d->kl[l], len, len, "####################", 20 - len,
		        "");
		int h = worst_head(d, l);
		if (h >= 0)
			fprintf(f, "  %.4f (head %d)", d->attn_maxdiff[(size_t)l * d->NH + h], h);
		fputc('\n', f);
	}
	fprintf(
		f, "KL: of the logit lens after each layer, nats; saliency: grad_norm of log p(token %d)\n",
		d->target);
	if (isnan(d->rho))
		fprintf(f, "rank correlation (Spearman): none below two positions\n");
	else
		fprintf(f, "rank correlation (Spearman): %+.4f\n", d->rho);
}
