/* explain --lens: the logit lens at the last position. Each layer's hidden
 * state there (lms_run_hidden) is read through the model's final norm and
 * unembedding (lms_lens) as if the model stopped after that layer: the K
 * most probable next tokens, and the target's rank (1 = most probable) and
 * probability. JSON shape (the explorer's export writes the same):
 *   "lens" {"position": t, "layers": [L] {"top": [K] {"id", "token", "prob"},
 *           "target": {"id", "rank", "prob"}}, or null for a layer whose
 *           state is not the unembedding's width}
 * With --figure the figure has it too (figure.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lmscope/logits.h"

/* Layer l's slots of out from its lens logits x (V). The rank is taken on
 * the logits as they are, as the explorer takes it: log-probabilities
 * (x - lse) can round two different logits to one value. */
static void fill_layer(struct cli_lens *out, int l, const float *x, int V)
{
	int *id = out->ids + (size_t)l * out->K;
	float *p = out->probs + (size_t)l * out->K, lse = (float)lms_logsumexp(x, V);
	int k = lms_top_k(x, V, out->K, id, p);
	for (int i = 0; i < k; i++)
		p[i] = expf(p[i] - lse);
	int rank = 1;
	for (int i = 0; i < V; i++)
		rank += x[i] > x[out->target];
	out->rank[l] = rank;
	out->tp[l] = expf(x[out->target] - lse);
}

/* Every readable layer's state at position t, in one product with the
 * unembedding (lms_lens_rows), as the explorer makes it: a row at a time
 * may take another kernel, whose last bits can reorder near-equal
 * logits. */
enum lms_status cli_lens_compute(struct lms_run *r, int t, int K, int target, struct cli_lens *out)
{
	const struct lms_config *c = &r->m->cfg;
	int D = r->Cout, N = 0, layer_of[LMS_MAX_LAYERS];
	K = K < c->V ? K : c->V;
	*out = (struct cli_lens){.L = c->L, .K = K, .pos = t, .target = target};
	out->ids = malloc((size_t)c->L * K * sizeof *out->ids);
	out->probs = calloc((size_t)c->L * K, sizeof *out->probs);
	out->rank = calloc((size_t)c->L, sizeof *out->rank);
	out->tp = calloc((size_t)c->L, sizeof *out->tp);
	float *h = malloc((size_t)c->L * D * sizeof *h), *x = malloc((size_t)c->L * c->V * sizeof *x);
	if (!out->ids || !out->probs || !out->rank || !out->tp || !h || !x) {
		free(h);
		free(x);
		cli_lens_free(out);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < (size_t)c->L * K; i++)
		out->ids[i] = -1;
	for (int l = 0; l < c->L; l++) {
		int Dl = 0;
		const float *hl = lms_run_hidden(r, l, 0, &Dl);
		if (!hl || Dl != D)
			continue;
		memcpy(h + (size_t)N * D, hl + (size_t)t * D, (size_t)D * sizeof *h);
		layer_of[N++] = l;
	}
	if (N > 0)
		lms_lens_rows(r, h, N, x);
	for (int i = 0; i < N; i++)
		fill_layer(out, layer_of[i], x + (size_t)i * c->V, c->V);
	free(h);
	free(x);
	return LMS_OK;
}

void cli_lens_free(struct cli_lens *l)
{
	free(l->ids);
	free(l->probs);
	free(l->rank);
	free(l->tp);
	*l = (struct cli_lens){0};
}

static json_t *layer_json(const struct front_model *cm, const struct cli_lens *ls, int l)
{
	const int *id = ls->ids + (size_t)l * ls->K;
	const float *p = ls->probs + (size_t)l * ls->K;
	json_t *top = json_array();
	for (int i = 0; i < ls->K && id[i] >= 0; i++)
		json_array_append_new(top, json_pack("{s:i, s:o, s:f}", "id", id[i], "token",
		                                     cli_token_json(cm, id[i]), "prob", (double)p[i]));
	json_t *tj = json_pack("{s:i, s:i, s:f}", "id", ls->target, "rank", ls->rank[l], "prob",
	                       (double)ls->tp[l]);
	return json_pack("{s:o, s:o}", "top", top, "target", tj);
}

json_t *cli_lens_json(const struct front_model *cm, const struct cli_lens *ls)
{
	json_t *layers = json_array();
	for (int l = 0; l < ls->L; l++)
		json_array_append_new(layers, ls->rank[l] ? layer_json(cm, ls, l) : json_null());
	return json_pack("{s:i, s:o}", "position", ls->pos, "layers", layers);
}

void cli_lens_print(const struct front_model *cm, const struct cli_lens *ls)
{
	char buf[32];
	printf("\nlogit lens at position %d (each layer read through the final norm and unembedding)\n",
	       ls->pos);
	printf("%5s  %-8s %9s  top %d\n", "layer", "target", "p(target)", ls->K);
	for (int l = 0; l < ls->L; l++) {
		if (!ls->rank[l]) {
			printf("%5d  (its state is not the unembedding's width)\n", l);
			continue;
		}
		printf("%5d  #%-7d %9.5f ", l, ls->rank[l], ls->tp[l]);
		for (int i = 0; i < ls->K && ls->ids[(size_t)l * ls->K + i] >= 0; i++) {
			int id = ls->ids[(size_t)l * ls->K + i];
			printf(" %s %.4f", front_token_str(cm, id, buf, sizeof buf),
			       ls->probs[(size_t)l * ls->K + i]);
		}
		putchar('\n');
	}
}

const char **cli_lens_names(const struct front_model *cm, const struct cli_lens *ls,
                            char (**bufs)[32])
{
	size_t LK = (size_t)ls->L * ls->K;
	const char **names = malloc((LK ? LK : 1) * sizeof *names);
	*bufs = malloc((LK ? LK : 1) * sizeof **bufs);
	if (!names || !*bufs) {
		free(names);
		free(*bufs);
		*bufs = NULL;
		return NULL;
	}
	for (size_t i = 0; i < LK; i++)
		names[i] =
			ls->ids[i] >= 0 ? front_token_str(cm, ls->ids[i], (*bufs)[i], sizeof(*bufs)[i]) : NULL;
	return names;
}
