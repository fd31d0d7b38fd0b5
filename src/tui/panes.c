/* The panes of a side, by focus position (ui.h): which pane fills each
 * slot of the layout for the side's model, and the dispatch of keys and
 * clicks to one pane. */
#include "ui.h"

void tui_panes_init(struct tui_state *s)
{
	s->pane[P_CONTEXT] = &pane_context;
	s->pane[P_CANDIDATES] = &pane_candidates;
	s->pane[P_SALIENCY] = &pane_saliency;
	/* recurrent models have no attention: their activations take the slot */
	s->pane[P_ATTENTION] = s->recurrent ? &pane_hidden : &pane_attention;
	s->pane[P_LENS] = &pane_lens;
}

const struct tui_pane_ops *tui_pane_of(const struct tui_state *s, enum tui_win w)
{
	if (w == W_INPUT)
		return s->pane[P_CONTEXT]; /* the context pane's second window */
	for (int p = 0; p < P_N; p++)
		if (s->pane[p] && s->pane[p]->win == w)
			return s->pane[p];
	return NULL;
}

const struct tui_key *tui_key_lookup(const struct tui_key *t, int key, int is_func)
{
	for (; t && t->key; t++)
		if (t->key == key && (t->key >= KEY_MIN) == is_func)
			return t;
	return NULL;
}

int tui_pane_key(struct tui_state *s, const struct tui_pane_ops *p, int key, int is_func)
{
	const struct tui_key *k = p ? tui_key_lookup(p->keys, key, is_func) : NULL;
	return k ? k->fn(s, key) : TUI_UNHANDLED;
}
