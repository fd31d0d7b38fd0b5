/* Head ablation in the explorer: the request carries the ablated heads as
 * `explain --ablate` spells them ("L.H,L.H", zero ablation); the engine
 * makes both of its runs follow that intervention (every pane then shows
 * the ablated model) and keeps a third, unablated run of the same context
 * for the candidates' change against the model as it is. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/i18n.h"
#include "engine.h"
#include "lmscope/interp.h"
#include "lmscope/logits.h"
#include "ui.h"

/* ---- engine side (worker thread) ------------------------------------------ */

enum lms_status tui_engine_ablate(struct tui_engine *e, const char *spec)
{
	if (!strcmp(spec, e->ablate))
		return LMS_OK;
	const struct lms_model *m = e->tm->m;
	enum lms_status st;
	if (!e->iv && (st = lms_intervention_new(m, &e->iv)))
		return st;
	if (!e->base && (st = lms_run_new(m, 1, e->T, &e->base)))
		return st;
	lms_intervention_clear(e->iv);
	snprintf(e->ablate, sizeof e->ablate, "%s", spec);
	st = spec[0] ? lms_intervention_parse(e->iv, spec) : LMS_OK;
	if (st)
		lms_intervention_clear(e->iv);
	const struct lms_intervention *iv = e->iv->n_ablated ? e->iv : NULL;
	lms_run_intervene(e->run, iv);
	lms_run_intervene(e->work, iv);
	e->n = 0; /* a new model: the next forward starts at 0 */
	return st;
}

void tui_engine_base(struct tui_engine *e)
{
	struct tui_view *v = &e->cur;
	snprintf(v->ablate, sizeof v->ablate, "%s", e->iv && e->iv->n_ablated ? e->ablate : "");
	v->have_base = 0;
	if (!v->ablate[0] || !e->base)
		return;
	struct lms_run *r = e->base;
	int n = v->n, V = e->tm->m->cfg.V;
	int from = 0, keep = e->base_n < n ? e->base_n : n;
	while (from < keep && r->ids[from] == v->ids[from])
		from++;
	if (from < n || e->base_n != n) {
		lms_embed(r, v->ids, n);
		lms_forward(r, from, n);
		e->base_n = n;
	}
	lms_logits(r, 0, n - 1, n);
	const float *x = r->logits + (size_t)(n - 1) * V;
	float lse = (float)lms_logsumexp(x, V);
	for (int i = 0; i < v->k; i++)
		v->base_lp[i] = x[v->top_id[i]] - lse;
	v->have_base = 1;
}

/* ---- input side: the attention pane's keys ---------------------------------- */

/* Whether head (l, h) is in the spec, and the spec without it. */
static int spec_remove(const char *spec, int l, int h, char *out, size_t size)
{
	int found = 0;
	size_t len = 0;
	out[0] = '\0';
	for (const char *s = spec; *s;) {
		int a, b, used = 0;
		if (sscanf(s, "%d.%d%n", &a, &b, &used) == 2 && a == l && b == h)
			found = 1;
		else if (used)
			len += (size_t)snprintf(out + len, size - len, "%s%d.%d", len ? "," : "", a, b);
		s += used ? used : 1;
		if (*s == ',')
			s++;
	}
	return found;
}

int tui_k_ablate(struct tui_state *s, int key)
{
	(void)key;
	if (s->recurrent)
		return TUI_NONE;
	int l = s->rq.layer, h = s->rq.head;
	char spec[sizeof s->rq.ablate];
	int was = spec_remove(s->rq.ablate, l, h, spec, sizeof spec);
	if (!was) {
		size_t len = strlen(spec);
		if (len + 16 >= sizeof spec) {
			snprintf(s->msg, sizeof s->msg, "%s", _("too many heads ablated: A restores all"));
			return TUI_REDRAW;
		}
		snprintf(spec + len, sizeof spec - len, "%s%d.%d", len ? "," : "", l, h);
	}
	memcpy(s->rq.ablate, spec, sizeof spec);
	snprintf(s->msg, sizeof s->msg, was ? _("head %d.%d restored") : _("head %d.%d ablated (zero)"),
	         l, h);
	return TUI_RECOMPUTE | TUI_REDRAW;
}

int tui_k_restore(struct tui_state *s, int key)
{
	(void)key;
	if (!s->rq.ablate[0])
		return TUI_NONE;
	s->rq.ablate[0] = '\0';
	snprintf(s->msg, sizeof s->msg, "%s", _("every head restored"));
	return TUI_RECOMPUTE | TUI_REDRAW;
}

int tui_head_ablated(const struct tui_state *s, int l, int h)
{
	char spec[sizeof s->rq.ablate];
	return spec_remove(s->rq.ablate, l, h, spec, sizeof spec);
}
