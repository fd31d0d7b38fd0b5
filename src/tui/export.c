/* Export: the screen as seen, and the numbers behind it as JSON with the
 * keys of `lmscope explain --json` (ids, tokens, top, target, saliency,
 * attention, faithfulness, lens) plus the explorer's own (surprisal,
 * contrast, cut; recurrent models: every layer's hidden state and the
 * LSTM's cell state). Files are written atomically and never over an
 * earlier export. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <unistd.h>

#include "lmscope/atomic.h"
#include "front/figure.h"
#include "front/front.h"
#include "front/i18n.h"
#include "export.h"
#include "teach.h"
#include "ui.h"

int tui_export_next(int after)
{
	static const char *const name[] = {"lmscope-export-%d.txt", "lmscope-export-%d.svg",
	                                   "lmscope-export-%d.png", "lmscope-export-%d.json"};
	char path[64];
	for (int n = after + 1;; n++) {
		int used = 0;
		for (int i = 0; i < 4 && !used; i++) {
			snprintf(path, sizeof path, name[i], n);
			used = access(path, F_OK) == 0;
		}
		if (!used)
			return n;
	}
}

/* Writes len bytes to path atomically; 0 and a message on failure. */
static int write_file(const char *path, const char *data, size_t len, char *msg, size_t size)
{
	if (lms_atomic_write(path, data, len)) {
		snprintf(msg, size, "%s", lms_errmsg());
		return 0;
	}
	return 1;
}

int tui_export_text(const char *path, char *msg, size_t size)
{
	size_t cap = (size_t)LINES * ((size_t)COLS * MB_CUR_MAX + 1) + 1, len = 0;
	wchar_t *line = malloc(((size_t)COLS + 1) * sizeof *line);
	char *out = malloc(cap);
	if (!line || !out) {
		free(line);
		free(out);
		snprintf(msg, size, "%s", _("out of memory"));
		return 0;
	}
	for (int y = 0; y < LINES; y++) {
		int k = mvwinnwstr(curscr, y, 0, line, COLS);
		if (k < 0)
			k = 0;
		line[k] = 0;
		while (k > 0 && line[k - 1] == L' ')
			line[--k] = 0;
		size_t b = wcstombs(out + len, line, cap - len - 1);
		len += b == (size_t)-1 ? 0 : b;
		out[len++] = '\n';
	}
	int ok = write_file(path, out, len, msg, size);
	free(line);
	free(out);
	return ok;
}

static json_t *token_json(const struct tui_engine *e, int id)
{
	char buf[32];
	return json_string(tui_token_str(e->tm, id, buf, sizeof buf));
}

/* A float as JSON: NaN and infinities are not JSON numbers. */
static json_t *num(double x)
{
	return isfinite(x) ? json_real(x) : json_null();
}

/* As `lmscope explain --json` has it: the deletion curve (n + 1 values of
 * p(target) with the k highest scored positions hidden), its area and the
 * rank agreement with each other method compared. */
static json_t *faith_json(const struct tui_engine *e)
{
	const struct tui_view *v = &e->cur;
	json_t *curve = json_array(), *agree = json_object();
	for (int k = 0; k <= v->n; k++)
		json_array_append_new(curve, num(e->faith_curve[k]));
	for (int k = 0; k < TUI_N_METHODS; k++)
		if (!isnan(v->faith_rho[k]))
			json_object_set_new(agree, tui_methods[k].name, num(v->faith_rho[k]));
	json_t *f = json_object();
	json_object_set_new(f, "deletion_curve", curve);
	json_object_set_new(f, "deletion_area", num(v->faith_area));
	json_object_set_new(f, "agreement", agree);
	return f;
}

/* As `lmscope explain --lens` has it: at the lens's position, per layer
 * the top tokens and the target's rank and probability (null for a layer
 * whose state is not the unembedding's width). */
static json_t *lens_json(const struct tui_engine *e)
{
	const struct tui_view *v = &e->cur;
	json_t *layers = json_array();
	for (int l = 0; l < v->L; l++) {
		const int *id = v->lens_id + (size_t)l * TUI_LENS_K;
		const float *p = v->lens_p + (size_t)l * TUI_LENS_K;
		if (id[0] < 0) {
			json_array_append_new(layers, json_null());
			continue;
		}
		json_t *top = json_array();
		for (int i = 0; i < TUI_LENS_K && id[i] >= 0; i++) {
			json_t *c = json_object();
			json_object_set_new(c, "id", json_integer(id[i]));
			json_object_set_new(c, "token", token_json(e, id[i]));
			json_object_set_new(c, "prob", num(p[i]));
			json_array_append_new(top, c);
		}
		json_t *t = json_object(), *layer = json_object();
		json_object_set_new(t, "id", json_integer(v->target));
		json_object_set_new(t, "rank", json_integer(v->lens_rank[l]));
		json_object_set_new(t, "prob", num(v->lens_tp[l]));
		json_object_set_new(layer, "top", top);
		json_object_set_new(layer, "target", t);
		json_array_append_new(layers, layer);
	}
	json_t *o = json_object();
	json_object_set_new(o, "position", json_integer(v->lens_pos));
	json_object_set_new(o, "layers", layers);
	return o;
}

/* The MLP neurons pane's numbers: the layer, the position and its most
 * active neurons with their activations, highest first. */
static json_t *neurons_json(const struct tui_view *v)
{
	json_t *top = json_array();
	for (int i = 0; i < v->neuron_k; i++)
		json_array_append_new(top, json_pack("{s:i, s:o}", "neuron", v->neuron_id[i], "activation",
		                                     num(v->neuron_act[i])));
	return json_pack("{s:i, s:i, s:o}", "layer", v->neuron_layer, "position", v->neuron_pos, "top",
	                 top);
}

/* n rows of D floats, stride D, as nested arrays. */
static json_t *rows_json(const float *x, int n, int D)
{
	json_t *a = json_array();
	for (int t = 0; t < n; t++) {
		json_t *row = json_array();
		for (int k = 0; k < D; k++)
			json_array_append_new(row, num(x[(size_t)t * D + k]));
		json_array_append_new(a, row);
	}
	return a;
}

/* Recurrent models: "hidden" [L][n][D], each layer's output h_t, and for
 * an LSTM "cell" [L][n][H], its cell state c_t, read from the run. */
static void recurrent_json(const struct tui_engine *e, json_t *o)
{
	int n = e->cur.n, L = e->cur.L;
	json_t *hid = json_array(), *cell = json_array();
	for (int l = 0; l < L; l++) {
		int D = 0, H = 0;
		const float *h = lms_run_hidden(e->run, l, 0, &D);
		const float *c = lms_run_cell(e->run, l, 0, &H);
		json_array_append_new(hid, h ? rows_json(h, n, D) : json_null());
		if (c)
			json_array_append_new(cell, rows_json(c, n, H));
	}
	json_object_set_new(o, "hidden", hid);
	if (json_array_size(cell))
		json_object_set_new(o, "cell", cell);
	else
		json_decref(cell);
}

int tui_export_json(const struct tui_engine *e, const char *path, char *msg, size_t size)
{
	const struct tui_view *v = &e->cur;
	int n = v->valid ? v->n : 0;
	json_t *o = json_object(), *ids = json_array(), *toks = json_array(), *sur = json_array();
	for (int j = 0; j < n; j++) {
		json_array_append_new(ids, json_integer(v->ids[j]));
		json_array_append_new(toks, token_json(e, v->ids[j]));
		json_array_append_new(sur, num(v->surprisal[j]));
	}
	json_object_set_new(o, "ids", ids);
	json_object_set_new(o, "tokens", toks);
	json_object_set_new(o, "cut", json_integer(v->cut));
	json_object_set_new(o, "surprisal", sur);
	const struct lms_snapshots *sn = &e->tm->snaps;
	if (v->snapshot >= 0 && v->snapshot < sn->n) /* the weights are a training snapshot's */
		json_object_set_new(o, "snapshot",
		                    json_pack("{s:I, s:s}", "step", (json_int_t)sn->v[v->snapshot].step,
		                              "path", sn->v[v->snapshot].dir));
	if (n) {
		json_t *top = json_array();
		for (int i = 0; i < v->k && i < 20; i++) {
			json_t *c = json_object();
			json_object_set_new(c, "id", json_integer(v->top_id[i]));
			json_object_set_new(c, "token", token_json(e, v->top_id[i]));
			json_object_set_new(c, "prob", num(exp(v->top_lp[i])));
			json_object_set_new(c, "logprob", num(v->top_lp[i]));
			json_array_append_new(top, c);
		}
		json_object_set_new(o, "top", top);
		json_t *t = json_object();
		json_object_set_new(t, "id", json_integer(v->target));
		json_object_set_new(t, "token", token_json(e, v->target));
		json_object_set_new(t, "logprob", num(v->target_lp));
		json_object_set_new(o, "target", t);
		if (v->contrast >= 0) {
			json_t *c = json_object();
			json_object_set_new(c, "id", json_integer(v->contrast));
			json_object_set_new(c, "token", token_json(e, v->contrast));
			json_object_set_new(c, "logprob", num(v->logprob[v->contrast]));
			json_object_set_new(o, "contrast", c);
		}
		json_t *sal = json_object(), *sc = json_array();
		json_object_set_new(sal, "method", json_string(tui_methods[v->method].name));
		for (int j = 0; j < n; j++)
			json_array_append_new(sc, num(v->saliency[j]));
		json_object_set_new(sal, "scores", sc);
		json_object_set_new(o, "saliency", sal);
		if (v->have_faith)
			json_object_set_new(o, "faithfulness", faith_json(e));
		if (v->have_lens)
			json_object_set_new(o, "lens", lens_json(e));
		if (v->have_neurons)
			json_object_set_new(o, "neurons", neurons_json(v));
		if (lms_arch_is_recurrent(e->tm->m->cfg.arch))
			recurrent_json(e, o);
		if (v->NH) {
			json_t *att = json_array();
			int T = e->run->T;
			for (int l = 0; l < v->L; l++) {
				json_t *layer = json_array();
				for (int h = 0; h < v->NH; h++) {
					const float *a = lms_run_attention(e->run, l, h, 0);
					json_t *head = json_array();
					for (int q = 0; q < n; q++) {
						json_t *row = json_array();
						for (int k = 0; k < n; k++)
							json_array_append_new(row,
							                      json_real(k <= q ? a[(size_t)q * T + k] : 0.0));
						json_array_append_new(head, row);
					}
					json_array_append_new(layer, head);
				}
				json_array_append_new(att, layer);
			}
			json_object_set_new(o, "attention", att);
		}
	}
	char *text = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9));
	json_decref(o);
	if (!text) {
		snprintf(msg, size, "%s", _("out of memory"));
		return 0;
	}
	int ok = write_file(path, text, strlen(text), msg, size);
	free(text);
	if (!ok)
		return 0;
	snprintf(msg, size, _("wrote %s"), path);
	return 1;
}

unsigned tui_export_parts(const struct tui_state *s)
{
	int win = tui_present_win(s);
	const struct tui_pane_ops *p = win >= 0 ? tui_pane_of(s, (enum tui_win)win) : NULL;
	if (p == &pane_candidates)
		return FIGURE_BARS;
	if (p == &pane_saliency)
		return FIGURE_SCORES;
	if (p == &pane_lens)
		return FIGURE_LENS;
	if (p == &pane_attention && s->att_mode == TUI_ATT_MATRIX && s->v && s->v->NH &&
	    !s->v->mean_heads)
		return FIGURE_ATTENTION;
	return 0; /* a pane the figure does not draw: all of them */
}

enum { FIG_K = 10, FIG_B = 24 }; /* candidates drawn; bytes of a "#id" name */

/* The lens into f: the tokens' names in names (L * TUI_LENS_K, NULL past a
 * layer's top) with "#id" spellings in bufs. */
static void lens_spec(const struct tui_model *tm, const struct tui_view *v, const char **names,
                      char (*bufs)[FIG_B], struct figure_spec *f)
{
	for (int i = 0; i < v->L * TUI_LENS_K; i++)
		names[i] = v->lens_id[i] >= 0 ? tui_token_str(tm, v->lens_id[i], bufs[i], FIG_B) : NULL;
	f->lens_L = v->L;
	f->lens_k = TUI_LENS_K;
	f->lens_pos = v->lens_pos;
	f->lens_tokens = names;
	f->lens_probs = v->lens_p;
	f->lens_rank = v->lens_rank;
	f->lens_tp = v->lens_tp;
}

int tui_export_figure(const struct tui_model *tm, const struct tui_view *v, unsigned parts,
                      const char *path, char *msg, size_t size)
{
	int n = v && v->valid ? v->n : 0;
	if (!n) {
		snprintf(msg, size, "%s", _("nothing to draw yet"));
		return 0;
	}
	enum { K = FIG_K, B = FIG_B };
	size_t LK = v->have_lens ? (size_t)v->L * TUI_LENS_K : 0;
	const char **tokens = malloc(((size_t)n + LK) * sizeof *tokens);
	char(*bufs)[B] = malloc(((size_t)n + K + 3 + LK) * sizeof *bufs);
	if (!tokens || !bufs) {
		free(tokens);
		free(bufs);
		snprintf(msg, size, "%s", _("out of memory"));
		return 0;
	}
	for (int j = 0; j < n; j++)
		tokens[j] = tui_token_str(tm, v->ids[j], bufs[j], B);
	const char *top[K];
	float probs[K];
	int k = v->k < K ? v->k : K, hi = -1, co = -1;
	for (int i = 0; i < k; i++) {
		top[i] = tui_token_str(tm, v->top_id[i], bufs[n + i], B);
		probs[i] = expf(v->top_lp[i]);
		hi = v->top_id[i] == v->target ? i : hi;
		co = v->top_id[i] == v->contrast ? i : co;
	}
	char title[256], t2[B], name[128];
	const char *target = tui_token_str(tm, v->target, bufs[n + K], B);
	front_model_name(tm->path, name, sizeof name);
	if (v->snapshot >= 0 && v->snapshot < tm->snaps.n) {
		size_t len = strlen(name);
		snprintf(name + len, sizeof name - len, " step %ld", tm->snaps.v[v->snapshot].step);
	}
	if (v->contrast >= 0)
		snprintf(title, sizeof title, "%s: why %s rather than %s", name, target,
		         tui_token_str(tm, v->contrast, t2, B));
	else
		snprintf(title, sizeof title, "%s: why %s", name, target);
	struct figure_spec f;
	memset(&f, 0, sizeof f);
	f.title = title;
	f.parts = parts;
	f.n = n;
	f.tokens = tokens;
	f.scores = v->have_saliency ? v->saliency : NULL;
	f.method = tui_methods[v->method].name;
	f.one_sided = !tui_methods[v->method].is_signed;
	f.note = v->sal_note[0] ? v->sal_note : NULL;
	f.k = k;
	f.top_tokens = top;
	f.top_probs = probs;
	f.highlight = hi;
	f.contrast = co;
	if (v->NH && !v->mean_heads) {
		f.attention = v->att;
		f.att_stride = n;
		f.layer = v->layer;
		f.head = v->head;
	}
	if (LK) {
		lens_spec(tm, v, tokens + n, bufs + n + K + 3, &f);
		f.lens_target = target;
	}
	enum lms_status st = figure_write(path, &f);
	free(tokens);
	free(bufs);
	if (st) {
		snprintf(msg, size, "%s", lms_errmsg());
		return 0;
	}
	return 1;
}
