/* explain --lens: the logit lens at the last position. Each layer's hidden
 * state there (lms_run_hidden) is read through the model's final norm and
 * unembedding (lms_lens) as if the model stopped after that layer: the K
 * most probable next tokens, and the target's rank (1 = most probable) and
 * probability. JSON shape (the explorer's export writes the same):
 *   "lens" {"position": t, "layers": [L] {"top": [K] {"id", "token", "prob"},
 *           "target": {"id", "rank", "prob"}}, or null for a layer whose
 *           state is not the unembedding's width} */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "lmscope/logits.h"

/* Layer l's lens at position t into lp (V) as log-probabilities; 0 when
 * the layer's state cannot be read through the unembedding. */
static int layer_lens(struct lms_run *r, int l, int t, float *lp)
{
	int D = 0, V = r->m->cfg.V;
	const float *h = lms_run_hidden(r, l, 0, &D);
	if (!h || D != r->Cout)
		return 0;
	lms_lens(r, h + (size_t)t * D, lp);
	float lse = (float)lms_logsumexp(lp, V);
	for (int k = 0; k < V; k++)
		lp[k] -= lse;
	return 1;
}

/* 1 + the number of tokens more probable than id. */
static int rank_of(const float *lp, int V, int id)
{
	int rank = 1;
	for (int k = 0; k < V; k++)
		rank += lp[k] > lp[id];
	return rank;
}

static json_t *layer_json(const struct front_model *cm, const float *lp, int K, int target)
{
	int V = cm->m->cfg.V, *ids = malloc((size_t)K * sizeof *ids);
	if (!ids)
		return json_null();
	int k = lms_top_k(lp, V, K, ids, NULL);
	json_t *top = json_array();
	for (int i = 0; i < k; i++)
		json_array_append_new(top, json_pack("{s:i, s:o, s:f}", "id", ids[i], "token",
		                                     cli_token_json(cm, ids[i]), "prob", exp(lp[ids[i]])));
	free(ids);
	json_t *tj = json_pack("{s:i, s:i, s:f}", "id", target, "rank", rank_of(lp, V, target), "prob",
	                       exp(lp[target]));
	return json_pack("{s:o, s:o}", "top", top, "target", tj);
}

json_t *cli_lens_json(const struct front_model *cm, struct lms_run *r, int t, int K, int target)
{
	const struct lms_config *c = &cm->m->cfg;
	float *lp = malloc((size_t)c->V * sizeof *lp);
	json_t *layers = json_array();
	for (int l = 0; l < c->L; l++)
		json_array_append_new(layers, lp && layer_lens(r, l, t, lp) ? layer_json(cm, lp, K, target)
		                                                            : json_null());
	free(lp);
	return json_pack("{s:i, s:o}", "position", t, "layers", layers);
}

void cli_lens_print(const struct front_model *cm, struct lms_run *r, int t, int K, int target)
{
	const struct lms_config *c = &cm->m->cfg;
	float *lp = malloc((size_t)c->V * sizeof *lp);
	int *ids = malloc((size_t)K * sizeof *ids);
	char buf[32];
	printf("\nlogit lens at position %d (each layer read through the final norm and unembedding)\n", t);
	printf("%5s  %-8s %9s  top %d\n", "layer", "target", "p(target)", K);
	for (int l = 0; lp && ids && l < c->L; l++) {
		if (!layer_lens(r, l, t, lp)) {
			printf("%5d  (its state is not the unembedding's width)\n", l);
			continue;
		}
		printf("%5d  #%-7d %9.5f ", l, rank_of(lp, c->V, target), exp(lp[target]));
		int k = lms_top_k(lp, c->V, K, ids, NULL);
		for (int i = 0; i < k; i++)
			printf(" %s %.4f", front_token_str(cm, ids[i], buf, sizeof buf), exp(lp[ids[i]]));
		putchar('\n');
	}
	free(lp);
	free(ids);
}
