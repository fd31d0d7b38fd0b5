/* Interventions (lmscope/interp.h): allocation, the ablation spec, and
 * attaching one to a run. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "base/tr.h"
#include "lmscope/interp.h"

enum lms_status lms_intervention_new(const struct lms_model *m, struct lms_intervention **out)
{
	const struct lms_config *c = &m->cfg;
	struct lms_intervention *iv = calloc(1, sizeof *iv);
	*out = NULL;
	if (!iv)
		return lms_fail(LMS_ENOMEM, "out of memory");
	iv->L = c->L;
	iv->NH = c->NH;
	iv->H = c->H;
	int per_layer = lms_arch_is_recurrent(c->arch) ? c->H : c->NH;
	iv->heads = calloc((size_t)c->L * per_layer, 1);
	iv->mlp = calloc((size_t)c->L, 1);
	if (!iv->heads || !iv->mlp) {
		lms_intervention_free(iv);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	lms_intervention_clear(iv);
	*out = iv;
	return LMS_OK;
}

void lms_intervention_free(struct lms_intervention *iv)
{
	if (!iv)
		return;
	free(iv->heads);
	free(iv->mlp);
	free(iv);
}

/* Heads per layer in iv->heads: units for recurrent models (NH = 0). */
static int per_layer(const struct lms_intervention *iv)
{
	return iv->NH ? iv->NH : iv->H;
}

void lms_intervention_clear(struct lms_intervention *iv)
{
	memset(iv->heads, 0, (size_t)iv->L * per_layer(iv));
	memset(iv->mlp, 0, (size_t)iv->L);
	iv->n_ablated = 0;
	iv->site = LMS_PATCH_NONE;
	iv->layer = iv->head = 0;
	iv->pos = -1;
	iv->src = NULL;
	iv->start_layer = 0;
	iv->start_resid = NULL;
	iv->stop_layer = iv->last_only = 0;
	iv->rows = iv->row_from = NULL;
}

int lms_ablate_mode_from_name(const char *name, enum lms_ablate_mode *out)
{
	if (!strcmp(name, "zero"))
		*out = LMS_ABLATE_ZERO;
	else if (!strcmp(name, "mean"))
		*out = LMS_ABLATE_MEAN;
	else
		return 0;
	return 1;
}

/* A number in [0, below) at *p, which advances past it; -1 when absent. */
static long number(const char **p, long below)
{
	char *end;
	if (**p < '0' || **p > '9')
		return -1;
	errno = 0;
	long x = strtol(*p, &end, 10);
	if (errno || x >= below)
		return -1;
	*p = end;
	return x;
}

/* One item "L.H", "L.U" or "L.mlp" of a spec of length len at s. */
static enum lms_status parse_item(struct lms_intervention *iv, const char *s, size_t len)
{
	char item[64];
	if (len == 0 || len >= sizeof item)
		return lms_fail(LMS_EARG, "--ablate: empty or overlong item in the list");
	memcpy(item, s, len);
	item[len] = 0;
	const char *p = item;
	long l = number(&p, iv->L);
	if (l < 0 || *p != '.')
		return lms_fail(LMS_EARG,
		                "--ablate: \"%s\" is not LAYER.HEAD or LAYER.mlp (layers 0 to %d)", item,
		                iv->L - 1);
	p++;
	if (!strcmp(p, "mlp")) {
		if (!iv->NH)
			return lms_fail(LMS_EARG, "--ablate: \"%s\": recurrent models have no MLP (LAYER.UNIT)",
			                item);
		iv->n_ablated += !iv->mlp[l];
		iv->mlp[l] = 1;
		return LMS_OK;
	}
	long h = number(&p, per_layer(iv));
	if (h < 0 || *p)
		return lms_fail(LMS_EARG, "--ablate: \"%s\": %s 0 to %d, or mlp", item,
		                lms_tr(iv->NH ? N_("heads") : N_("units")), per_layer(iv) - 1);
	unsigned char *slot = &iv->heads[(size_t)l * per_layer(iv) + h];
	iv->n_ablated += !*slot;
	*slot = 1;
	return LMS_OK;
}

enum lms_status lms_intervention_parse(struct lms_intervention *iv, const char *spec)
{
	const char *s = spec;
	for (;;) {
		const char *comma = strchr(s, ',');
		size_t len = comma ? (size_t)(comma - s) : strlen(s);
		enum lms_status st = parse_item(iv, s, len);
		if (st)
			return st;
		if (!comma)
			return LMS_OK;
		s = comma + 1;
	}
}

void lms_run_intervene(struct lms_run *r, const struct lms_intervention *iv)
{
	r->iv = iv;
}
