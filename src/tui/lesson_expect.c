/* A lesson's `expect` claims measured on a model (lesson_expect.h). Each
 * measurement encodes the step's context as the explorer does
 * (lms_tokenizer_encode_input) and forwards it in a run of its own, with
 * the heads the steps so far ablate zeroed (as every pane shows them). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/i18n.h"
#include "lesson_expect.h"
#include "lmscope/attribution.h"
#include "lmscope/dataset.h"
#include "lmscope/eval.h"
#include "lmscope/interp.h"
#include "lmscope/logits.h"
#include "lmscope/model.h"
#include "lmscope/status.h"
#include "lmscope/tokenizer.h"
#include "session.h"

/* What steps 0..k leave set: the context (malloc'd), method, target,
 * contrast, ablated heads. */
struct expect_fold {
	char *context;
	int method;
	const char *target, *contrast; /* NULL: the most probable / none */
	const char *ablate;            /* "" none */
	const char *corrupt;           /* the patching pane's corrupted context, "" none */
};

static int fold_to(const struct lesson *ls, int k, struct expect_fold *f)
{
	size_t n = 0;
	int from = 0;
	f->method = TUI_GRAD_NORM;
	f->target = f->contrast = NULL;
	f->ablate = f->corrupt = "";
	for (int i = 0; i <= k; i++) {
		const struct lesson_step *st = &ls->steps[i];
		if (st->context)
			from = i;
		if (st->context || st->type) /* a new text: the player's choice resets too */
			f->target = f->contrast = NULL;
		if (st->method != LESSON_UNSET)
			f->method = st->method;
		if (st->target)
			f->target = st->target;
		if (st->contrast)
			f->contrast = st->contrast[0] ? st->contrast : NULL;
		if (st->ablate)
			f->ablate = st->ablate;
		if (st->corrupt)
			f->corrupt = st->corrupt;
	}
	for (int i = from; i <= k; i++)
		n += (ls->steps[i].context && i == from ? strlen(ls->steps[i].context) : 0) +
		     (ls->steps[i].type ? strlen(ls->steps[i].type) : 0);
	f->context = malloc(n + 1);
	if (!f->context)
		return 0;
	f->context[0] = '\0';
	for (int i = from; i <= k; i++) {
		if (ls->steps[i].context && i == from)
			strcat(f->context, ls->steps[i].context);
		if (ls->steps[i].type)
			strcat(f->context, ls->steps[i].type);
	}
	return 1;
}

/* Equal, or equal once leading blanks are skipped (a BPE piece " God"). */
static int same_token(const char *piece, const char *token)
{
	if (!strcmp(piece, token))
		return 1;
	while (*piece == ' ')
		piece++;
	while (*token == ' ')
		token++;
	return *piece && !strcmp(piece, token);
}

/* token's id: a vocabulary entry whose piece is token, else its encoding
 * when that is one token; -1 when neither. */
static int token_id(const struct lms_tokenizer *tok, const char *token)
{
	int V = lms_tokenizer_vocab_size(tok);
	for (int id = 0; id < V; id++)
		if (!strcmp(lms_tokenizer_piece(tok, id), token))
			return id;
	int *ids = NULL, id = -1;
	size_t n = 0;
	if (!lms_tokenizer_encode(tok, token, strlen(token), &ids, &n, NULL, NULL) && n == 1)
		id = ids[0];
	free(ids);
	return id;
}

static int compare(const struct lesson_expect *e, double x)
{
	return (e->greater ? x > e->value : x < e->value) ? EXPECT_HOLDS : EXPECT_FAILS;
}

/* The forwarded context: run r (1 x n), its ids, and the last position's
 * log-probabilities (V). */
struct forwarded {
	struct lms_run *r;
	int *ids;
	int n;
	float *logp;
};

static void forwarded_free(struct forwarded *fw)
{
	lms_run_free(fw->r);
	free(fw->ids);
	free(fw->logp);
}

/* text's ids (malloc'd) and count; 0 with why in out. */
static int encode(const struct lms_model *m, const struct lms_tokenizer *tok, const char *text,
                  int **ids, int *n, char *out, size_t size)
{
	size_t len = 0;
	*ids = NULL;
	if (lms_tokenizer_encode_input(tok, text, strlen(text), ids, &len, NULL, NULL)) {
		snprintf(out, size, "%s", lms_errmsg());
		return 0;
	}
	if (len == 0 || len > (size_t)m->cfg.maxT) {
		snprintf(out, size, _("the context is %zu tokens (1 to %d fit)"), len, m->cfg.maxT);
		return 0;
	}
	*n = (int)len;
	return 1;
}

static int forward_context(const struct lms_model *m, const struct lms_tokenizer *tok,
                           const struct lms_intervention *iv, const char *text,
                           struct forwarded *fw, char *out, size_t size)
{
	memset(fw, 0, sizeof *fw);
	if (!encode(m, tok, text, &fw->ids, &fw->n, out, size))
		return 0;
	int V = m->cfg.V;
	if (lms_run_new(m, 1, fw->n, &fw->r) || lms_embed(fw->r, fw->ids, fw->n) ||
	    !(fw->logp = malloc((size_t)V * sizeof *fw->logp))) {
		snprintf(out, size, "%s", fw->logp ? lms_errmsg() : _("out of memory"));
		return 0;
	}
	lms_run_intervene(fw->r, iv);
	lms_forward(fw->r, 0, fw->n);
	lms_logits(fw->r, 0, fw->n - 1, fw->n);
	const float *z = fw->r->logits + (size_t)(fw->n - 1) * V;
	double lse = lms_logsumexp(z, V);
	for (int v = 0; v < V; v++)
		fw->logp[v] = (float)(z[v] - lse);
	return 1;
}

static int argmax(const float *x, int n)
{
	int best = 0;
	lms_top_k(x, n, 1, &best, NULL);
	return best;
}

static int measure_prediction(const struct lms_model *m, const struct lms_tokenizer *tok,
                              const struct lesson_expect *e, const struct forwarded *fw, char *out,
                              size_t size)
{
	int top = argmax(fw->logp, m->cfg.V);
	if (e->kind == EXPECT_TOP1) {
		snprintf(out, size, "top1 \"%s\" (p %.3f)", lms_tokenizer_piece(tok, top),
		         exp(fw->logp[top]));
		return same_token(lms_tokenizer_piece(tok, top), e->token) ? EXPECT_HOLDS : EXPECT_FAILS;
	}
	int id = token_id(tok, e->token);
	if (id < 0) {
		snprintf(out, size, _("\"%s\" is not one token of the model's vocabulary"), e->token);
		return EXPECT_UNMEASURED;
	}
	double p = exp(fw->logp[id]);
	snprintf(out, size, "p(\"%s\") = %.3f", e->token, p);
	return compare(e, p);
}

static int measure_induction(const struct lms_model *m, const struct lesson_expect *e,
                             const struct forwarded *fw, char *out, size_t size)
{
	if (!m->cfg.NH || e->layer >= m->cfg.L || e->head >= m->cfg.NH) {
		snprintf(out, size, _("head %d.%d does not exist in this model"), e->layer, e->head);
		return EXPECT_UNMEASURED;
	}
	struct lms_head_scores hs;
	if (lms_head_scores_compute(fw->r, fw->ids, fw->n, &hs)) {
		snprintf(out, size, "%s", lms_errmsg());
		return EXPECT_UNMEASURED;
	}
	double x = hs.induction[e->layer * hs.NH + e->head];
	lms_head_scores_free(&hs);
	snprintf(out, size, _("induction score of head %d.%d = %.3f"), e->layer, e->head, x);
	if (isnan(x)) {
		snprintf(out, size, _("no repeated token in the context to score head %d.%d on"), e->layer,
		         e->head);
		return EXPECT_UNMEASURED;
	}
	return compare(e, x);
}

static int measure_saliency(const struct lms_model *m, const struct lms_tokenizer *tok,
                            const struct lms_intervention *iv, const struct expect_fold *f,
                            const struct lesson_expect *e, const struct forwarded *fw, char *out,
                            size_t size)
{
	int target = f->target ? token_id(tok, f->target) : argmax(fw->logp, m->cfg.V);
	int contrast = f->contrast ? token_id(tok, f->contrast) : -1;
	if (target < 0 || (f->contrast && contrast < 0)) {
		snprintf(out, size, "%s",
		         _("the step's target or contrast is not one token of the vocabulary"));
		return EXPECT_UNMEASURED;
	}
	struct lms_attr_opts o;
	lms_attr_opts_default(&o);
	lms_attr_opts_use_tokenizer(&o, tok);
	o.method = (enum lms_attr_method)tui_methods[f->method].attr;
	o.iv = iv;
	float *scores = malloc((size_t)fw->n * sizeof *scores);
	if (!scores || lms_attribute(m, fw->ids, fw->n, target, contrast, &o, scores, NULL)) {
		snprintf(out, size, "%s", scores ? lms_errmsg() : _("out of memory"));
		free(scores);
		return EXPECT_UNMEASURED;
	}
	const char *piece = lms_tokenizer_piece(tok, fw->ids[argmax(scores, fw->n)]);
	free(scores);
	snprintf(out, size, _("%s's top word for \"%s\": \"%s\""), tui_methods[f->method].name,
	         lms_tokenizer_piece(tok, target), piece);
	return same_token(piece, e->token) ? EXPECT_HOLDS : EXPECT_FAILS;
}

static int measure_ppl(const struct lms_model *m, const struct lms_tokenizer *tok,
                       const struct lms_intervention *iv, const struct lesson_expect *e, char *out,
                       size_t size)
{
	char *text = NULL;
	int *ids = NULL;
	size_t len = 0, n = 0;
	struct lms_run *r = NULL;
	struct lms_eval acc = {0};
	int T = m->cfg.maxT;
	enum lms_status st = lms_read_file(e->file, &text, &len);
	if (!st)
		st = lms_tokenizer_encode_input(tok, text, len, &ids, &n, NULL, NULL);
	size_t w = st ? 0 : lms_eval_windows(n, T, 0);
	if (!st)
		st = lms_run_new(m, w > 0 && w < 16 ? (int)w : 16, T, &r);
	if (!st)
		lms_run_intervene(r, iv);
	if (!st)
		st = lms_eval_stream(r, ids, n, 0, &acc, NULL, NULL);
	lms_run_free(r);
	free(ids);
	free(text);
	if (st || !acc.targets) {
		snprintf(out, size, "%s", st ? lms_errmsg() : _("the text has fewer than two tokens"));
		return EXPECT_UNMEASURED;
	}
	double ppl = exp(acc.nll / (double)acc.targets);
	snprintf(out, size, _("perplexity %.2f on %s"), ppl, e->file);
	return compare(e, ppl);
}

/* The share of the logit difference one site restores when patched from
 * the step's context into its corrupted one: lms_patch_sweep as the
 * patching pane calls it (the clean run's top token against the corrupt
 * run's, the model without ablation). */
static int measure_patch(const struct lms_model *m, const struct lms_tokenizer *tok,
                         const struct expect_fold *f, const struct lesson_expect *e, char *out,
                         size_t size)
{
	static const char *const what[] = {N_("position"), N_("position"), N_("position"), N_("head")};
	if (!f->corrupt[0]) {
		snprintf(out, size, "%s", _("no corrupted context (a corrupt line) in the steps so far"));
		return EXPECT_UNMEASURED;
	}
	if (lms_arch_is_recurrent(m->cfg.arch)) {
		snprintf(out, size, _("the model is recurrent: it has no %s site"),
		         tui_lesson_sites[e->site]);
		return EXPECT_UNMEASURED;
	}
	int *clean = NULL, *corrupt = NULL, n = 0, nc = 0, rc = EXPECT_UNMEASURED;
	struct lms_patch_result pr = {0};
	if (!encode(m, tok, f->context, &clean, &n, out, size) ||
	    !encode(m, tok, f->corrupt, &corrupt, &nc, out, size))
		goto done;
	int N = e->site == LESSON_HEADS ? m->cfg.NH : n;
	if (nc != n)
		snprintf(out, size, _("the contexts differ in length: clean %d tokens, corrupted %d"), n,
		         nc);
	else if (e->layer >= m->cfg.L || e->head >= N)
		snprintf(out, size, _("layer %d %s %d does not exist (%d layers, %d %ss)"), e->layer,
		         _(what[e->site]), e->head, m->cfg.L, N, _(what[e->site]));
	else if (lms_patch_sweep(m, clean, corrupt, n, -1, -1, &pr))
		snprintf(out, size, "%s", lms_errmsg());
	else {
		const double *grid[] = {pr.resid_pre, pr.attn_out, pr.mlp_out, pr.heads};
		double x = grid[e->site][(size_t)e->layer * (e->site == LESSON_HEADS ? pr.NH : pr.T) +
		                         (size_t)e->head];
		snprintf(out, size, _("%s patched at layer %d %s %d restores %.3f of the logit difference"),
		         tui_lesson_sites[e->site], e->layer, _(what[e->site]), e->head, x);
		if (isnan(x))
			snprintf(out, size, "%s",
			         _("the clean and corrupted contexts give the same logit difference"));
		else
			rc = compare(e, x);
	}
done:
	lms_patch_result_free(&pr);
	free(clean);
	free(corrupt);
	return rc;
}

/* The ablation spec as an intervention in *iv (NULL when spec is ""). 0
 * with why in out when the model cannot take it. */
static int ablation(const struct lms_model *m, const char *spec, struct lms_intervention **iv,
                    char *out, size_t size)
{
	*iv = NULL;
	if (!spec[0])
		return 1;
	if (!lms_intervention_new(m, iv) && !lms_intervention_parse(*iv, spec))
		return 1;
	snprintf(out, size, "ablate %s: %s", spec, lms_errmsg());
	lms_intervention_free(*iv);
	*iv = NULL;
	return 0;
}

/* e measured on the folded settings f under the intervention iv. */
static int measure(const struct lms_model *m, const struct lms_tokenizer *tok,
                   const struct lms_intervention *iv, const struct expect_fold *f,
                   const struct lesson_expect *e, char *out, size_t size)
{
	if (e->kind == EXPECT_PPL)
		return measure_ppl(m, tok, iv, e, out, size);
	if (e->kind == EXPECT_PATCH)
		return measure_patch(m, tok, f, e, out, size);
	struct forwarded fw;
	int rc = EXPECT_UNMEASURED;
	if (forward_context(m, tok, iv, f->context, &fw, out, size)) {
		if (e->kind == EXPECT_INDUCTION)
			rc = measure_induction(m, e, &fw, out, size);
		else if (e->kind == EXPECT_SALIENCY_TOP)
			rc = measure_saliency(m, tok, iv, f, e, &fw, out, size);
		else
			rc = measure_prediction(m, tok, e, &fw, out, size);
	}
	forwarded_free(&fw);
	return rc;
}

int lesson_expect_measure(const struct lms_model *m, const struct lms_tokenizer *tok,
                          const struct lesson *ls, int k, const struct lesson_expect *e, char *out,
                          size_t size)
{
	if (!tok) {
		snprintf(out, size, "%s", _("the model has no tokenizer to read the lesson's text with"));
		return EXPECT_UNMEASURED;
	}
	struct expect_fold f;
	struct lms_intervention *iv;
	if (!fold_to(ls, k, &f)) {
		snprintf(out, size, "%s", _("out of memory"));
		return EXPECT_UNMEASURED;
	}
	int rc = EXPECT_UNMEASURED;
	if (ablation(m, f.ablate, &iv, out, size))
		rc = measure(m, tok, iv, &f, e, out, size);
	lms_intervention_free(iv);
	free(f.context);
	return rc;
}
