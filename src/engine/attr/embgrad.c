/* The embedding-gradient view: d loss / d (token embedding matrix) with
 * loss = -f, on the rows of the tokens involved. The embedding lookup
 * e_j = wte[ids_j] sends each input position's gradient to its token's row
 * (summed over repeats); with a tied output projection, logits = h wte^T
 * also gives row k the share d f / d logit_k * h at the explained position. */
#include <math.h>
#include <string.h>

#include "arch/arch.h"
#include "attr/attrwork.h"
#include "lmscope/logits.h"

static int find(const int *tokens, int k, int id)
{
	for (int i = 0; i < k; i++)
		if (tokens[i] == id)
			return i;
	return -1;
}

enum lms_status lms_embgrad(const struct lms_model *m, struct lms_run *run, const int *ids, int n,
                            int target, int contrast, int *tokens, float *grad, int *k)
{
	const struct lms_config *c = &m->cfg;
	if (target < 0 || target >= c->V || contrast >= c->V || contrast == target)
		return lms_fail(LMS_EARG, "target %d / contrast %d not usable (vocabulary 0 to %d)", target,
		                contrast, c->V - 1);
	for (int j = 0; j < n; j++)
		if (ids[j] < 0 || ids[j] >= c->V)
			return lms_fail(LMS_EARG, "token id %d outside the vocabulary (0 to %d)", ids[j],
			                c->V - 1);
	struct lms_attrwork w;
	enum lms_status st = lms_attrwork_open(&w, m, run, n, 1);
	if (st)
		return st;
	struct lms_run *r = w.r;
	double f;
	lms_attrwork_set_ids(&w, 0, ids, n);
	lms_attrwork_eval(&w, 1, n, target, contrast, &f, 1);
	int cnt = 0;
	for (int j = 0; j < n; j++)
		if (find(tokens, cnt, ids[j]) < 0)
			tokens[cnt++] = ids[j];
	if (find(tokens, cnt, target) < 0)
		tokens[cnt++] = target;
	if (contrast >= 0 && find(tokens, cnt, contrast) < 0)
		tokens[cnt++] = contrast;
	memset(grad, 0, (size_t)cnt * c->C * sizeof(float));
	for (int j = 0; j < n; j++) {
		float *g = grad + (size_t)find(tokens, cnt, ids[j]) * c->C;
		const float *d = r->demb + (size_t)j * c->C;
		for (int q = 0; q < c->C; q++)
			g[q] -= d[q];
	}
	const struct lms_arch_ops *ops = lms_arch_ops(c->arch);
	if (ops->wout_offset(c) == ops->wte_offset(c) && r->Cout == c->C) {
		/* df/dlogit_k: [k = t] - p_k, or [k = t] - [k = contrast] */
		const float *x = r->logits + (size_t)(n - 1) * c->V;
		const float *h = r->hfin + (size_t)(n - 1) * r->Cout;
		double lse = 0.0;
		if (contrast < 0)
			lse = lms_logsumexp(x, c->V);
		for (int i = 0; i < cnt; i++) {
			int v = tokens[i];
			double dl = contrast >= 0 ? (v == target) - (v == contrast)
			                          : (v == target) - exp((double)x[v] - lse);
			float *g = grad + (size_t)i * c->C;
			for (int q = 0; q < c->C; q++)
				g[q] -= (float)(dl * h[q]);
		}
	}
	*k = cnt;
	lms_attrwork_close(&w);
	return LMS_OK;
}
