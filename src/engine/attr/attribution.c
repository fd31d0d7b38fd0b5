/* Attribution: method names, defaults, the dispatch, and the two plain
 * gradient methods (one forward and one backward to the inputs). The other
 * methods live in integrated_gradients.c, occlusion.c, lime.c and rollout.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "attr/attrwork.h"
#include "lmscope/tokenizer.h"

static const char *const method_names[LMS_ATTR_N_METHODS] = {
	[LMS_ATTR_GRAD_NORM] = "grad_norm",
	[LMS_ATTR_GRAD_X_INPUT] = "grad_x_input",
	[LMS_ATTR_INTEGRATED_GRADIENTS] = "integrated_gradients",
	[LMS_ATTR_OCCLUSION] = "occlusion",
	[LMS_ATTR_LIME] = "lime",
	[LMS_ATTR_ATTENTION_ROLLOUT] = "attention_rollout",
};

const char *lms_attr_method_name(enum lms_attr_method meth)
{
	if ((unsigned)meth >= LMS_ATTR_N_METHODS)
		return "unknown";
	return method_names[meth];
}

int lms_attr_method_from_name(const char *name, enum lms_attr_method *out)
{
	for (int i = 0; i < LMS_ATTR_N_METHODS; i++)
		if (!strcmp(name, method_names[i])) {
			*out = (enum lms_attr_method)i;
			return 1;
		}
	if (!strcmp(name, "ig")) {
		*out = LMS_ATTR_INTEGRATED_GRADIENTS;
		return 1;
	}
	if (!strcmp(name, "rollout")) {
		*out = LMS_ATTR_ATTENTION_ROLLOUT;
		return 1;
	}
	return 0;
}

int lms_attr_method_supported(enum lms_attr_method meth, enum lms_arch arch)
{
	if ((unsigned)meth >= LMS_ATTR_N_METHODS)
		return 0;
	if (meth == LMS_ATTR_ATTENTION_ROLLOUT)
		return !lms_arch_is_recurrent(arch);
	return 1;
}

void lms_attr_opts_default(struct lms_attr_opts *o)
{
	memset(o, 0, sizeof *o);
	o->method = LMS_ATTR_GRAD_X_INPUT;
	o->ig_steps = 32;
	o->baseline_id = -1;
	o->occlude = LMS_OCCLUDE_REPLACE;
	o->replace_id = -1;
	o->lime_samples = 256;
	o->lime_folds = 5;
	o->lime_keep = 0.5f;
	o->lime_kernel = 0.25f;
	o->seed = 1;
}

void lms_attr_opts_use_tokenizer(struct lms_attr_opts *o, const struct lms_tokenizer *tok)
{
	o->replace_id = tok ? lms_tokenizer_unk(tok) : -1;
}

int lms_attr_rows(enum lms_attr_method meth, const struct lms_attr_opts *o, int n)
{
	switch (meth) {
	case LMS_ATTR_INTEGRATED_GRADIENTS: return o->ig_steps + 2;
	case LMS_ATTR_OCCLUSION: return n + 1;
	case LMS_ATTR_LIME: return o->lime_samples;
	default: return 1;
	}
}

/* grad_norm and grad_x_input from one forward and backward of row 0. */
static void grad_methods(struct lms_attrwork *w, const int *ids, int n, int target, int contrast,
                         int times_input, float *scores, struct lms_attr_info *info)
{
	struct lms_run *r = w->r;
	int C = w->m->cfg.C;
	lms_attrwork_set_ids(w, 0, ids, n);
	lms_attrwork_eval(w, 1, n, target, contrast, &info->f, 1);
	info->evaluations = 1;
	for (int j = 0; j < n; j++) {
		const float *g = r->demb + (size_t)j * C; /* row 0 */
		const float *e = r->emb + (size_t)j * C;
		double s = 0.0;
		for (int k = 0; k < C; k++)
			s += times_input ? (double)g[k] * e[k] : (double)g[k] * g[k];
		scores[j] = (float)(times_input ? s : sqrt(s));
	}
}

static enum lms_status check_args(const struct lms_model *m, const int *ids, int n, int target,
                                  int contrast, const struct lms_attr_opts *o)
{
	const struct lms_config *c = &m->cfg;
	if (n <= 0)
		return lms_fail(LMS_EARG, "nothing to explain: the input is empty");
	if (!lms_arch_is_recurrent(c->arch) && n > c->maxT)
		return lms_fail(LMS_EARG, "%d positions exceed the model's context of %d", n, c->maxT);
	for (int j = 0; j < n; j++)
		if (ids[j] < 0 || ids[j] >= c->V)
			return lms_fail(LMS_EARG, "token id %d outside the vocabulary (0 to %d)", ids[j],
			                c->V - 1);
	if (target < 0 || target >= c->V)
		return lms_fail(LMS_EARG, "target id %d outside the vocabulary (0 to %d)", target,
		                c->V - 1);
	if (contrast >= c->V)
		return lms_fail(LMS_EARG, "contrast id %d outside the vocabulary (0 to %d)", contrast,
		                c->V - 1);
	if (contrast == target)
		return lms_fail(LMS_EARG, "contrast and target are the same token (%d)", target);
	if (o->baseline_id >= c->V || o->replace_id >= c->V)
		return lms_fail(LMS_EARG, "baseline or replacement id outside the vocabulary (0 to %d)",
		                c->V - 1);
	if (!lms_attr_method_supported(o->method, c->arch))
		return lms_fail(LMS_EUNSUPPORTED, "%s needs attention: %s models have none",
		                lms_attr_method_name(o->method), lms_arch_name(c->arch));
	if (o->ig_steps <= 0 || o->ig_steps > 4096)
		return lms_fail(LMS_EARG, "integration steps %d out of range (1 to 4096)", o->ig_steps);
	if (o->lime_samples < 8 || o->lime_samples > 65536)
		return lms_fail(LMS_EARG, "lime samples %d out of range (8 to 65536)", o->lime_samples);
	if (o->lime_folds < 2 || o->lime_folds > o->lime_samples)
		return lms_fail(LMS_EARG, "lime folds %d out of range (2 to the samples)", o->lime_folds);
	if (!(o->lime_keep > 0.0f && o->lime_keep < 1.0f))
		return lms_fail(LMS_EARG, "lime keep probability must lie strictly between 0 and 1");
	return LMS_OK;
}

enum lms_status lms_attribute(const struct lms_model *m, const int *ids, int n, int target,
                              int contrast, const struct lms_attr_opts *o, float *scores,
                              struct lms_attr_info *info)
{
	struct lms_attr_opts def;
	if (!o) {
		lms_attr_opts_default(&def);
		o = &def;
	}
	struct lms_attr_info scratch_info;
	if (!info)
		info = &scratch_info;
	memset(info, 0, sizeof *info);
	enum lms_status st = check_args(m, ids, n, target, contrast, o);
	if (st)
		return st;
	struct lms_attrwork w;
	st = lms_attrwork_open(&w, m, o->run, n, lms_attr_rows(o->method, o, n));
	if (st)
		return st;
	if (w.own)
		w.own->iv = o->iv;
	switch (o->method) {
	case LMS_ATTR_GRAD_NORM:
	case LMS_ATTR_GRAD_X_INPUT:
		grad_methods(&w, ids, n, target, contrast, o->method == LMS_ATTR_GRAD_X_INPUT, scores,
		             info);
		break;
	case LMS_ATTR_INTEGRATED_GRADIENTS:
		st = lms_attr_ig(&w, ids, n, target, contrast, o, scores, info);
		break;
	case LMS_ATTR_OCCLUSION:
		st = lms_attr_occlusion(&w, ids, n, target, contrast, o, scores, info);
		break;
	case LMS_ATTR_LIME: st = lms_attr_lime(&w, ids, n, target, contrast, o, scores, info); break;
	case LMS_ATTR_ATTENTION_ROLLOUT: {
		size_t nn = (size_t)n * n;
		float *buf = malloc(nn * (m->cfg.L + 3) * sizeof(float));
		if (!buf) {
			st = lms_fail(LMS_ENOMEM, "out of memory");
			break;
		}
		lms_attrwork_set_ids(&w, 0, ids, n);
		w.all_positions = 1;
		lms_attrwork_eval(&w, 1, n, target, contrast, &info->f, 0);
		info->evaluations = 1;
		st = lms_rollout_run(buf, w.r, 0, n, buf + nn);
		if (!st)
			memcpy(scores, buf + (size_t)(n - 1) * n, n * sizeof(float));
		free(buf);
		break;
	}
	default: st = lms_fail(LMS_EARG, "unknown attribution method %d", (int)o->method);
	}
	lms_attrwork_close(&w);
	if (st)
		return st;
	double sum = 0.0;
	for (int j = 0; j < n; j++) {
		if (!isfinite(scores[j]))
			return lms_fail(LMS_ENUMERIC, "%s produced a non-finite score at position %d",
			                lms_attr_method_name(o->method), j);
		sum += scores[j];
	}
	info->sum = sum;
	if (o->method == LMS_ATTR_INTEGRATED_GRADIENTS)
		info->gap = sum - (info->f - info->f_baseline);
	return LMS_OK;
}
