/* The training timeline: a model directory trained with --snapshot-every
 * holds snapshots of its model along the way (lmscope/snapshots.h). The
 * explorer steps through them with the context unchanged: the request
 * names a snapshot, the worker copies that snapshot's weights into the
 * model (every run reads the model, so every pane then shows it) and the
 * status line says which step is shown, beside a sparkline of the loss so
 * far. The model's own weights are kept at the first step away, to come
 * back to. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "front/i18n.h"
#include "engine.h"
#include "lmscope/clock.h"
#include "ui.h"

/* ---- opening (input thread, before the worker starts) --------------------- */

void tui_timeline_open(struct tui_model *tm, const char *dir)
{
	struct stat sb;
	tm->snaps.n = 0;
	tm->snap_note[0] = '\0';
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return;
	if (lms_snapshots_read(dir, &tm->snaps)) {
		snprintf(tm->snap_note, sizeof tm->snap_note, _("no timeline: %s"), lms_errmsg());
		return;
	}
	if (tm->snaps.n && tm->m->typed) {
		snprintf(tm->snap_note, sizeof tm->snap_note,
		         _("no timeline: the model's weights are kept as stored (convert it to F32)"));
		lms_snapshots_free(&tm->snaps);
	}
}

void tui_timeline_close(struct tui_model *tm)
{
	lms_snapshots_free(&tm->snaps);
}

/* ---- the worker: weights in and out -------------------------------------- */

static int same_shape(const struct lms_model *a, const struct lms_model *b)
{
	const struct lms_config *x = &a->cfg, *y = &b->cfg;
	return x->arch == y->arch && x->V == y->V && x->C == y->C && x->H == y->H && x->L == y->L &&
	       x->NH == y->NH && x->KV == y->KV && x->tied == y->tied && a->n_params == b->n_params;
}

/* Snapshot i's weights as float32, in the model's layout, into params. */
static enum lms_status load_weights(struct tui_engine *e, int i, float *params)
{
	const char *dir = e->tm->snaps.v[i].dir;
	struct lms_model *s = NULL, *f32 = NULL;
	enum lms_status st = lms_model_load(dir, &s);
	if (!st && s->typed && !(st = lms_model_to_f32(s, &f32))) {
		lms_model_free(s);
		s = f32;
	}
	if (!st && !same_shape(s, e->tm->m))
		st = lms_fail(LMS_EFORMAT, "%s: not a snapshot of this model (other sizes)", dir);
	if (!st)
		memcpy(params, s->params, e->tm->m->n_params * sizeof *params);
	lms_model_free(s);
	return st;
}

enum lms_status tui_engine_snapshot(struct tui_engine *e, int i)
{
	struct lms_model *m = e->tm->m;
	if (i < 0 || i >= e->tm->snaps.n)
		i = -1;
	if (i == e->snap)
		return LMS_OK;
	double t0 = lms_now_ms();
	size_t bytes = m->n_params * sizeof *m->params;
	if (!e->own && !(e->own = malloc(bytes)))
		return lms_fail(LMS_ENOMEM, "out of memory for the model's own weights");
	if (e->snap < 0)
		memcpy(e->own, m->params, bytes);
	enum lms_status st = LMS_OK;
	if (i < 0)
		memcpy(m->params, e->own, bytes);
	else if ((st = load_weights(e, i, m->params)))
		return st; /* the weights shown stay as they were */
	e->snap = i;
	/* new weights: every run starts again from position 0 */
	e->n = 0;
	e->base_n = 0;
	e->cur.snap_ms = lms_now_ms() - t0;
	return st;
}

/* ---- the input thread: keys and the status line ------------------------- */

/* { and }: the previous / next snapshot; past the last one, the model's
 * own weights (where the explorer starts). */
int tui_k_timeline(struct tui_state *s, int key)
{
	int n = s->tm->snaps.n;
	if (!n) {
		snprintf(s->msg, sizeof s->msg, "%s",
		         s->tm->snap_note[0] ? s->tm->snap_note
		                             : _("no snapshots here (lmscope train --snapshot-every N)"));
		return TUI_REDRAW;
	}
	int at = s->rq.snapshot < 0 ? n : s->rq.snapshot;
	at += key == '{' ? -1 : 1;
	if (at < 0 || at > n)
		return TUI_NONE;
	s->rq.snapshot = at == n ? -1 : at;
	return TUI_RECOMPUTE;
}

/* The loss the sparkline draws: the validation loss when every snapshot
 * has one (smoother), else the training loss. */
static double loss_at(const struct lms_snapshots *sn, int i, int valid)
{
	return valid ? sn->v[i].valid_loss : sn->v[i].train_loss;
}

/* A sparkline of the loss over the snapshots, width columns (each the mean
 * of its snapshots), drawn up to column `upto` and blank after it: the
 * curve as far as the snapshot shown. */
static void sparkline(const struct lms_snapshots *sn, int valid, int width, int upto, int utf8,
                      char *buf, size_t size)
{
	static const char *const blocks[] = {"\u2581", "\u2582", "\u2583", "\u2584",
	                                     "\u2585", "\u2586", "\u2587", "\u2588"};
	static const char *const ascii[] = {"_", ".", ",", "-", "~", "=", "*", "#"};
	double lo = INFINITY, hi = -INFINITY;
	for (int i = 0; i < sn->n; i++) {
		double x = loss_at(sn, i, valid);
		lo = x < lo ? x : lo;
		hi = x > hi ? x : hi;
	}
	size_t len = 0;
	buf[0] = '\0';
	for (int c = 0; c < width; c++) {
		int a = c * sn->n / width, b = (c + 1) * sn->n / width;
		double sum = 0;
		for (int i = a; i < b; i++)
			sum += loss_at(sn, i, valid);
		double f = hi > lo ? (sum / (b - a) - lo) / (hi - lo) : 0.5;
		int k = (int)(f * 7.0 + 0.5);
		k = k < 0 ? 0 : k > 7 ? 7 : k;
		const char *g = c > upto ? " " : utf8 ? blocks[k] : ascii[k];
		len += (size_t)snprintf(buf + len, len < size ? size - len : 0, "%s", g);
		if (len >= size)
			break;
	}
}

void tui_timeline_status(const struct tui_state *s, int utf8, char *buf, size_t size)
{
	const struct lms_snapshots *sn = &s->tm->snaps;
	buf[0] = '\0';
	if (!sn->n)
		return;
	int at = s->v && s->v->valid ? s->v->snapshot : -1;
	int valid = 1;
	for (int i = 0; i < sn->n; i++)
		valid &= !isnan(sn->v[i].valid_loss);
	int width = sn->n < 12 ? sn->n : 12, upto = width;
	if (at >= 0) /* the column whose snapshots hold the one shown */
		for (int c = 0; c < width; c++)
			if (c * sn->n / width <= at)
				upto = c;
	char line[12 * 4 + 1];
	sparkline(sn, valid, width, upto, utf8, line, sizeof line);
	long last = sn->v[sn->n - 1].step;
	if (at < 0)
		snprintf(buf, size, _("final model %s"), line);
	else
		snprintf(buf, size, _("step %ld/%ld %s %.2f %s"), sn->v[at].step, last,
		         valid ? _("valid") : _("loss"), loss_at(sn, at, valid), line);
}
