/* The training loop: batches, forward, cross-entropy, backward, clipping,
 * AdamW; validation, CSV and TensorBoard logs, checkpoints and resume. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "lmscope/atomic.h"
#include "base/memlimit.h"
#include "base/path.h"
#include "base/tr.h"
#include "lmscope/clock.h"
#include "lmscope/eval.h"
#include "lmscope/snapshots.h"
#include "lmscope/stage.h"
#include "lmscope/train.h"
#include "arch/arch.h"
#include "nn/dropout.h"
#include "train/optim.h"
#include "io/safetensors.h"
#include "io/tfevents.h"

void lms_train_defaults(struct lms_train_opts *o)
{
	memset(o, 0, sizeof *o);
	o->B = 16;
	o->T = 64;
	o->epochs = 1.0;
	o->lr = 1e-3;
	o->min_lr_frac = 0.1;
	o->warmup = 100;
	o->weight_decay = 0.01;
	o->clip = 1.0;
	o->beta1 = 0.9;
	o->beta2 = 0.95;
	o->eps = 1e-8;
	o->log_every = 1;
	o->seed = 1;
}

static enum lms_status make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
	return LMS_OK;
}

static int is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* ---- logs ---------------------------------------------------------------------- */

static const char csv_header[] =
	"step,epoch,train_loss,valid_loss,valid_perplexity,lr,grad_norm,tokens_per_s\n";

/* Opens logs/train.csv for appending; on resume, first drops rows past the
 * checkpoint's step so the file reads as one uninterrupted run. */
static enum lms_status open_csv(const char *path, long keep_upto, int resume, FILE **out)
{
	*out = NULL;
	if (resume) {
		char *text = NULL;
		size_t len = 0;
		if (lms_read_file(path, &text, &len) == LMS_OK) {
			/* keep the header and rows with step <= keep_upto */
			size_t kept = 0;
			char *line = text;
			int first = 1;
			while (*line) {
				char *nl = strchr(line, '\n');
				size_t l = nl ? (size_t)(nl - line + 1) : strlen(line);
				if (!first && strtol(line, NULL, 10) > keep_upto)
					break;
				if (!nl)
					break; /* an unfinished last row */
				first = 0;
				kept += l;
				line += l;
			}
			enum lms_status st = lms_atomic_write(path, text, kept);
			free(text);
			if (st)
				return st;
			FILE *f = fopen(path, "a");
			if (!f)
				return lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
			*out = f;
			return LMS_OK;
		}
	}
	FILE *f = fopen(path, "w");
	if (!f)
		return lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
	fputs(csv_header, f);
	*out = f;
	return LMS_OK;
}

/* ---- checkpoints --------------------------------------------------------------- */

struct position {
	long step, epoch;
	size_t cursor;
};

/* The options a checkpoint records (state.json's "options"): one table for
 * writing them, reading them back on --resume and naming the ones a resumed
 * run was given differently (lms_train_opts_ignored). */
enum opt_type { OPT_INT, OPT_LONG, OPT_U64, OPT_DOUBLE };

static const struct opt_field {
	const char *key;
	enum opt_type type;
	size_t off; /* in struct lms_train_opts */
} opt_fields[] = {
	{"batch", OPT_INT, offsetof(struct lms_train_opts, B)},
	{"context", OPT_INT, offsetof(struct lms_train_opts, T)},
	{"steps", OPT_LONG, offsetof(struct lms_train_opts, steps)},
	{"epochs", OPT_DOUBLE, offsetof(struct lms_train_opts, epochs)},
	{"lr", OPT_DOUBLE, offsetof(struct lms_train_opts, lr)},
	{"min_lr_frac", OPT_DOUBLE, offsetof(struct lms_train_opts, min_lr_frac)},
	{"warmup", OPT_LONG, offsetof(struct lms_train_opts, warmup)},
	{"weight_decay", OPT_DOUBLE, offsetof(struct lms_train_opts, weight_decay)},
	{"dropout", OPT_DOUBLE, offsetof(struct lms_train_opts, dropout)},
	{"clip", OPT_DOUBLE, offsetof(struct lms_train_opts, clip)},
	{"beta1", OPT_DOUBLE, offsetof(struct lms_train_opts, beta1)},
	{"beta2", OPT_DOUBLE, offsetof(struct lms_train_opts, beta2)},
	{"eps", OPT_DOUBLE, offsetof(struct lms_train_opts, eps)},
	{"valid_every", OPT_LONG, offsetof(struct lms_train_opts, valid_every)},
	{"valid_tokens", OPT_LONG, offsetof(struct lms_train_opts, valid_tokens)},
	{"checkpoint_every", OPT_LONG, offsetof(struct lms_train_opts, checkpoint_every)},
	{"log_every", OPT_LONG, offsetof(struct lms_train_opts, log_every)},
	{"snapshot_every", OPT_LONG, offsetof(struct lms_train_opts, snapshot_every)},
	{"seed", OPT_U64, offsetof(struct lms_train_opts, seed)},
	{"f16", OPT_INT, offsetof(struct lms_train_opts, f16)},
};
enum { N_OPT_FIELDS = sizeof opt_fields / sizeof *opt_fields };

static json_t *opt_json(const struct lms_train_opts *o, const struct opt_field *f)
{
	const char *p = (const char *)o + f->off;
	switch (f->type) {
	case OPT_INT: return json_integer(*(const int *)p);
	case OPT_LONG: return json_integer((json_int_t) * (const long *)p);
	case OPT_U64: return json_integer((json_int_t) * (const uint64_t *)p);
	default: return json_real(*(const double *)p);
	}
}

/* Sets the option from v when v is a number of its kind; else leaves it. */
static void opt_read(struct lms_train_opts *o, const struct opt_field *f, json_t *v)
{
	char *p = (char *)o + f->off;
	if (f->type == OPT_DOUBLE) {
		if (json_is_number(v))
			*(double *)p = json_number_value(v);
		return;
	}
	if (!json_is_integer(v))
		return;
	json_int_t x = json_integer_value(v);
	if (f->type == OPT_INT)
		*(int *)p = (int)x;
	else if (f->type == OPT_LONG)
		*(long *)p = (long)x;
	else
		*(uint64_t *)p = (uint64_t)x;
}

static int opt_equal(const struct lms_train_opts *a, const struct lms_train_opts *b,
                     const struct opt_field *f)
{
	const char *p = (const char *)a + f->off, *q = (const char *)b + f->off;
	switch (f->type) {
	case OPT_INT: return *(const int *)p == *(const int *)q;
	case OPT_LONG: return *(const long *)p == *(const long *)q;
	case OPT_U64: return *(const uint64_t *)p == *(const uint64_t *)q;
	default: return *(const double *)p == *(const double *)q;
	}
}

static int opt_print(char *buf, size_t size, const struct lms_train_opts *o,
                     const struct opt_field *f)
{
	const char *p = (const char *)o + f->off;
	switch (f->type) {
	case OPT_INT: return snprintf(buf, size, "%d", *(const int *)p);
	case OPT_LONG: return snprintf(buf, size, "%ld", *(const long *)p);
	case OPT_U64: return snprintf(buf, size, "%llu", (unsigned long long)*(const uint64_t *)p);
	default: return snprintf(buf, size, "%g", *(const double *)p);
	}
}

static json_t *opts_json(const struct lms_train_opts *o)
{
	json_t *j = json_object();
	for (int i = 0; j && i < N_OPT_FIELDS; i++)
		json_object_set_new(j, opt_fields[i].key, opt_json(o, &opt_fields[i]));
	return j;
}

static enum lms_status write_state(const char *path, const struct lms_train_opts *o,
                                   const struct position *p, long adam_t, double valid_loss)
{
	json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:o}", "step", (json_int_t)p->step, "epoch",
	                      (json_int_t)p->epoch, "cursor", (json_int_t)p->cursor, "adam_t",
	                      (json_int_t)adam_t, "options", opts_json(o));
	if (!j)
		return lms_fail(LMS_ENOMEM, "out of memory");
	if (isfinite(valid_loss))
		json_object_set_new(j, "valid_loss", json_real(valid_loss));
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(j);
	if (!s)
		return lms_fail(LMS_ENOMEM, "out of memory");
	enum lms_status st = lms_atomic_write(path, s, strlen(s));
	free(s);
	return st;
}

/* What a checkpoint rewrites in the run's directory; everything else there
 * (logs, the tokenizer, files the user put there) is carried over. */
static const char *const rewritten[] = {"checkpoint",  "checkpoint.new",    "checkpoint.old",
                                        "config.json", "model.safetensors", NULL};

/* Writes the checkpoint and the root model into s->dir. */
static enum lms_status write_checkpoint(const struct lms_model *m, const struct lms_adamw *opt,
                                        const char *dir, const struct lms_train_opts *o,
                                        const struct position *p, double valid_loss)
{
	char *cdir = lms_path_join(dir, "checkpoint");
	char *opath = cdir ? lms_path_join(cdir, "optimizer.safetensors") : NULL;
	char *spath = cdir ? lms_path_join(cdir, "state.json") : NULL;
	enum lms_status st = LMS_OK;
	if (!cdir || !opath || !spath) {
		st = lms_fail(LMS_ENOMEM, "out of memory");
		goto done;
	}
	if ((st = make_dir(cdir)) || (st = lms_model_save(m, cdir, 0)))
		goto done;
	int64_t shape[1] = {(int64_t)opt->n};
	struct lms_st_out t[2] = {
		{"m", 1, shape, opt->m},
		{"v", 1, shape, opt->v},
	};
	char tbuf[32];
	snprintf(tbuf, sizeof tbuf, "%ld", opt->t);
	const char *meta[] = {"adam_t", tbuf, NULL};
	if ((st = lms_st_write(opath, t, 2, LMS_ST_F32, meta)))
		goto done;
	if ((st = write_state(spath, o, p, opt->t, valid_loss)))
		goto done;
	/* the directory's root model, for opening */
	st = lms_model_save(m, dir, o->f16);
done:
	free(cdir);
	free(opath);
	free(spath);
	return st;
}

/* A checkpoint replaces the whole directory (include/lmscope/stage.h): a
 * fresh run's first one swaps the caller's staging directory in (until then
 * the target keeps what it held), every later one is built beside the
 * run's own directory from hard links to its logs and tokenizer. */
static enum lms_status save_checkpoint(const struct lms_model *m, const struct lms_adamw *opt,
                                       char **dir, struct lms_stage **fresh,
                                       const struct lms_train_opts *o, const struct position *p,
                                       double valid_loss)
{
	struct lms_stage own, *s = *fresh;
	enum lms_status st;
	if (!s) {
		s = &own;
		if ((st = lms_stage_begin(s, *dir, LMS_STAGE_KEEP, rewritten)))
			return st;
	}
	char *target = strdup(s->target);
	if (!target)
		st = lms_fail(LMS_ENOMEM, "out of memory");
	else
		st = write_checkpoint(m, opt, s->dir, o, p, valid_loss);
	if (!st)
		st = lms_stage_commit(s, m, o->tok);
	if (!st) {
		free(*dir);
		*dir = target; /* the run's directory from now on */
		*fresh = NULL;
	} else {
		free(target);
		if (s == &own)
			lms_stage_abort(s);
	}
	return st;
}

/* dir/checkpoint, or dir/checkpoint.old when a crash hit mid-swap. */
static char *checkpoint_dir(const char *dir)
{
	char *c = lms_path_join(dir, "checkpoint");
	if (c && is_dir(c))
		return c;
	free(c);
	c = lms_path_join(dir, "checkpoint.old");
	if (c && is_dir(c))
		return c;
	free(c);
	return NULL;
}

static enum lms_status read_state(const char *dir, json_t **out)
{
	*out = NULL;
	char *cdir = checkpoint_dir(dir);
	if (!cdir)
		return lms_fail(LMS_EIO, "%s: no checkpoint to resume from", dir);
	char *spath = lms_path_join(cdir, "state.json");
	free(cdir);
	if (!spath)
		return lms_fail(LMS_ENOMEM, "out of memory");
	json_error_t err;
	json_t *j = json_load_file(spath, 0, &err);
	enum lms_status st = LMS_OK;
	if (!j || !json_is_object(j) || !json_is_object(json_object_get(j, "options")))
		st = lms_fail(LMS_EFORMAT, "%s: %s", spath,
		              j ? lms_tr(N_("not a training state")) : err.text);
	free(spath);
	if (st) {
		json_decref(j);
		return st;
	}
	*out = j;
	return LMS_OK;
}

static double jnum(json_t *o, const char *key, double dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : dflt;
}

static long jint(json_t *o, const char *key, long dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_integer(v) ? (long)json_integer_value(v) : dflt;
}

enum lms_status lms_train_resume_opts(const char *dir, struct lms_train_opts *o)
{
	json_t *j;
	enum lms_status st = read_state(dir, &j);
	if (st)
		return st;
	json_t *p = json_object_get(j, "options");
	for (int i = 0; i < N_OPT_FIELDS; i++)
		opt_read(o, &opt_fields[i], json_object_get(p, opt_fields[i].key));
	json_decref(j);
	return LMS_OK;
}

int lms_train_opts_ignored(const struct lms_train_opts *given, const struct lms_train_opts *dflt,
                           const struct lms_train_opts *saved, char *buf, size_t size)
{
	int count = 0;
	size_t len = 0;
	if (size)
		buf[0] = 0;
	for (int i = 0; i < N_OPT_FIELDS; i++) {
		const struct opt_field *f = &opt_fields[i];
		if (opt_equal(given, dflt, f) || opt_equal(given, saved, f))
			continue;
		count++;
		char a[32], b[32];
		opt_print(a, sizeof a, given, f);
		opt_print(b, sizeof b, saved, f);
		if (len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s %s (checkpoint: %s)",
			                        count > 1 ? ", " : "", f->key, a, b);
	}
	return count;
}

enum lms_status lms_train_resume_model(const char *dir, struct lms_model **out)
{
	*out = NULL;
	char *cdir = checkpoint_dir(dir);
	if (!cdir)
		return lms_fail(LMS_EIO, "%s: no checkpoint to resume from", dir);
	enum lms_status st = lms_model_load(cdir, out);
	free(cdir);
	return st;
}

static enum lms_status load_optimizer(const char *dir, struct lms_adamw *opt, struct position *p,
                                      double *valid_loss)
{
	json_t *j;
	enum lms_status st = read_state(dir, &j);
	if (st)
		return st;
	p->step = jint(j, "step", 0);
	p->epoch = jint(j, "epoch", 0);
	p->cursor = (size_t)jint(j, "cursor", 0);
	long adam_t = jint(j, "adam_t", p->step);
	*valid_loss = jnum(j, "valid_loss", NAN);
	json_decref(j);
	char *cdir = checkpoint_dir(dir);
	char *opath = cdir ? lms_path_join(cdir, "optimizer.safetensors") : NULL;
	free(cdir);
	if (!opath)
		return lms_fail(LMS_ENOMEM, "out of memory");
	struct lms_st_file *f;
	st = lms_st_open(opath, &f);
	if (st) {
		free(opath);
		return st;
	}
	const struct lms_st_tensor *tm = lms_st_find(f, "m"), *tv = lms_st_find(f, "v");
	if (!tm || !tv || tm->numel != opt->n || tv->numel != opt->n)
		st = lms_fail(LMS_EFORMAT, "%s: optimizer state does not match the model", opath);
	if (!st)
		st = lms_st_read_f32(f, tm, opt->m);
	if (!st)
		st = lms_st_read_f32(f, tv, opt->v);
	opt->t = adam_t;
	lms_st_close(f);
	free(opath);
	return st;
}

/* ---- the loop ------------------------------------------------------------------ */

struct trainer {
	struct lms_model *m;
	const struct lms_dataset *ds;
	char *dir;               /* where the run writes: the fresh stage, then the target */
	struct lms_stage *fresh; /* o->stage until its first checkpoint commits it */
	const struct lms_train_opts *o;
	lms_train_fn cb;
	void *ud;
	struct lms_run *run;
	struct lms_adamw opt;
	struct lms_dropout drop; /* the masks of one update; bits NULL: no dropout */
	int drop_width;          /* units per position of a site (arch.h's dropout_sites) */
	struct lms_batcher bat;
	FILE *csv;
	struct lms_tfevents tb;
	int tb_open;
	struct lms_train_progress pr;
	double t0;
	long tokens;
	int *x, *y;
	struct stat *watch; /* (o->nwatch) the watched files as training began */
	long saved;         /* step of the checkpoint in dir, -1: none written yet */
	long first;         /* the step this call started at */
};

/* What a run that stops on an error leaves behind, for its message. */
static const char *kept(const struct trainer *tr, char *buf, size_t size)
{
	if (tr->saved < 0)
		return lms_tr(N_("no checkpoint had been written yet"));
	snprintf(buf, size, lms_tr(N_("the last checkpoint (step %ld) is kept")), tr->saved);
	return buf;
}

/* A corpus file that changes or vanishes mid-run means the data on disk is
 * no longer the data trained on (and a --resume would read other data):
 * stop before the next update, leaving the last checkpoint as it is. */
static enum lms_status check_watch(const struct trainer *tr)
{
	for (int i = 0; i < tr->o->nwatch; i++) {
		const char *path = tr->o->watch[i];
		const struct stat *was = &tr->watch[i];
		struct stat now;
		char note[64];
		if (stat(path, &now) != 0)
			return lms_fail(LMS_EIO, "%s: vanished during training (%s); stopped at step %ld, %s",
			                path, strerror(errno), tr->pr.step, kept(tr, note, sizeof note));
		if (now.st_size != was->st_size || now.st_ino != was->st_ino || now.st_dev != was->st_dev ||
		    now.st_mtim.tv_sec != was->st_mtim.tv_sec ||
		    now.st_mtim.tv_nsec != was->st_mtim.tv_nsec)
			return lms_fail(LMS_EIO, "%s: changed during training; stopped at step %ld, %s", path,
			                tr->pr.step, kept(tr, note, sizeof note));
	}
	return LMS_OK;
}

static void emit(struct trainer *tr, enum lms_train_event ev)
{
	if (!tr->cb)
		return;
	tr->pr.event = ev;
	tr->pr.elapsed = lms_now() - tr->t0;
	tr->cb(tr->ud, &tr->pr);
}

static enum lms_status validate(struct trainer *tr)
{
	if (!tr->ds->n_valid)
		return LMS_OK;
	size_t count;
	double v =
		lms_stream_xent(tr->run, tr->ds->valid, tr->ds->n_valid, tr->o->valid_tokens, &count);
	tr->pr.valid_loss = v;
	emit(tr, LMS_TRAIN_VALID);
	return LMS_OK;
}

static enum lms_status log_row(struct trainer *tr, int with_valid)
{
	const struct lms_train_progress *p = &tr->pr;
	if (with_valid)
		fprintf(tr->csv, "%ld,%ld,%.6f,%.6f,%.4f,%.6g,%.6f,%.1f\n", p->step, p->epoch, p->loss,
		        p->valid_loss, exp(p->valid_loss), p->lr, p->grad_norm, p->tokens_per_s);
	else
		fprintf(tr->csv, "%ld,%ld,%.6f,,,%.6g,%.6f,%.1f\n", p->step, p->epoch, p->loss, p->lr,
		        p->grad_norm, p->tokens_per_s);
	if (fflush(tr->csv) != 0)
		return lms_fail(LMS_EIO, "%s/logs/train.csv: %s", tr->dir, strerror(errno));
	struct lms_tfevents *w = &tr->tb;
	enum lms_status st = lms_tfevents_scalar(w, p->step, "train/loss", (float)p->loss);
	if (!st)
		st = lms_tfevents_scalar(w, p->step, "train/lr", (float)p->lr);
	if (!st)
		st = lms_tfevents_scalar(w, p->step, "train/grad_norm", (float)p->grad_norm);
	if (!st)
		st = lms_tfevents_scalar(w, p->step, "train/tokens_per_s", (float)p->tokens_per_s);
	if (!st && with_valid) {
		st = lms_tfevents_scalar(w, p->step, "valid/loss", (float)p->valid_loss);
		if (!st)
			st = lms_tfevents_scalar(w, p->step, "valid/perplexity", (float)exp(p->valid_loss));
	}
	if (!st)
		st = lms_tfevents_flush(w);
	return st;
}

static enum lms_status checkpoint(struct trainer *tr)
{
	struct position p = {tr->pr.step, tr->bat.epoch, tr->bat.cursor};
	enum lms_status st =
		save_checkpoint(tr->m, &tr->opt, &tr->dir, &tr->fresh, tr->o, &p, tr->pr.valid_loss);
	if (!st)
		emit(tr, LMS_TRAIN_CHECKPOINT);
	return st;
}

/* A snapshot of the model as it is after this update, into the run's
 * directory (the fresh stage until the first checkpoint: snapshots/ is
 * carried into every later one). */
static enum lms_status snapshot(struct trainer *tr)
{
	const struct lms_train_progress *p = &tr->pr;
	struct lms_snapshot s = {p->step, p->step * (long)tr->o->B * tr->o->T, p->loss,
	                         tr->ds->n_valid ? p->valid_loss : NAN, NULL};
	return lms_snapshot_add(tr->dir, tr->m, &s);
}

/* Dropout's masks for the run, when asked for: an architecture without
 * dropout sites refuses it rather than train without it. */
static enum lms_status dropout_setup(struct trainer *tr)
{
	const struct lms_train_opts *o = tr->o;
	const struct lms_config *c = &tr->m->cfg;
	if (!(o->dropout >= 0.0 && o->dropout < 1.0))
		return lms_fail(LMS_EARG, "dropout %g is outside [0, 1)", o->dropout);
	if (o->dropout == 0.0)
		return LMS_OK;
	int (*sites)(const struct lms_config *, int *) = lms_arch_ops(c->arch)->dropout_sites;
	if (!sites)
		return lms_fail(
			LMS_EARG, "dropout is not implemented for %s models (gpt2, lstm, gru and rnn have it)",
			lms_arch_name(c->arch));
	int n = sites(c, &tr->drop_width);
	return lms_dropout_new(&tr->drop, (float)o->dropout, n, (size_t)o->B * o->T * tr->drop_width);
}

/* The masks of update `step`, from a stream of their own seeded by the
 * run's seed and the step: the same for a seed whether or not the run
 * was resumed, and the data order's stream is left as it was. */
static void dropout_draw(struct trainer *tr, long step)
{
	struct lms_rng g;
	lms_rng_seed(&g, tr->o->seed ^ 0x64726f706f7574ull); /* "dropout" */
	lms_rng_seed(&g, lms_rng_u64(&g) + (uint64_t)step);
	lms_dropout_draw(&tr->drop, &g);
}

/* The test hook's file (o->dropout_masks): each site's mask as 1 and 0. */
static enum lms_status dropout_write(const struct trainer *tr)
{
	const struct lms_dropout *d = &tr->drop;
	float *v = malloc(((size_t)d->sites * d->units + 1) * sizeof *v);
	struct lms_st_out *t = calloc((size_t)d->sites + 1, sizeof *t);
	char(*names)[24] = calloc((size_t)d->sites + 1, sizeof *names);
	enum lms_status st = v && t && names ? LMS_OK : lms_fail(LMS_ENOMEM, "out of memory");
	int64_t shape[3] = {tr->o->B, tr->o->T, tr->drop_width};
	for (int s = 0; !st && s < d->sites; s++) {
		float *x = v + (size_t)s * d->units;
		for (size_t u = 0; u < d->units; u++)
			x[u] = (float)lms_dropout_kept(lms_dropout_mask(d, s), u);
		snprintf(names[s], sizeof names[s], "site.%d", s);
		t[s] = (struct lms_st_out){names[s], 3, shape, x};
	}
	if (!st)
		st = lms_st_write(tr->o->dropout_masks, t, d->sites, LMS_ST_F32, NULL);
	free(v);
	free(t);
	free(names);
	return st;
}

static enum lms_status setup(struct trainer *tr, int resume)
{
	const struct lms_train_opts *o = tr->o;
	struct lms_model *m = tr->m;
	if (o->B <= 0 || o->T <= 0 || (o->T > m->cfg.maxT && !lms_arch_is_recurrent(m->cfg.arch)))
		return lms_fail(LMS_EARG, "context %d does not fit the model (at most %d)", o->T,
		                m->cfg.maxT);
	/* the whole run, before any of it is allocated */
	enum lms_status st = lms_memory_check_train(&m->cfg, o->B, o->T, "train");
	if (!st)
		st = lms_model_grads(m);
	if (st)
		return st;
	for (size_t i = 0; i < tr->ds->n_train; i++)
		if (tr->ds->train[i] < 0 || tr->ds->train[i] >= m->cfg.V)
			return lms_fail(LMS_EARG, "token id %d outside the vocabulary", tr->ds->train[i]);
	for (size_t i = 0; i < tr->ds->n_valid; i++)
		if (tr->ds->valid[i] < 0 || tr->ds->valid[i] >= m->cfg.V)
			return lms_fail(LMS_EARG, "token id %d outside the vocabulary", tr->ds->valid[i]);
	if ((st = lms_batcher_new(&tr->bat, tr->ds->train, tr->ds->n_train, o->T, o->seed)))
		return st;
	if ((st = lms_run_new(m, o->B, o->T, &tr->run)))
		return st;
	if ((st = lms_adamw_new(&tr->opt, m, (float)o->beta1, (float)o->beta2, (float)o->eps,
	                        (float)o->weight_decay)))
		return st;
	if ((st = dropout_setup(tr)))
		return st;
	if (o->nwatch > 0) {
		tr->watch = calloc((size_t)o->nwatch, sizeof *tr->watch);
		if (!tr->watch)
			return lms_fail(LMS_ENOMEM, "out of memory");
		for (int i = 0; i < o->nwatch; i++)
			if (stat(o->watch[i], &tr->watch[i]) != 0)
				return lms_fail(LMS_EIO, "%s: %s", o->watch[i], strerror(errno));
	}
	tr->x = malloc((size_t)o->B * o->T * sizeof *tr->x);
	tr->y = malloc((size_t)o->B * o->T * sizeof *tr->y);
	if (!tr->x || !tr->y)
		return lms_fail(LMS_ENOMEM, "out of memory");
	tr->pr.valid_loss = NAN;
	tr->pr.total =
		o->steps > 0 ? o->steps : (long)ceil(o->epochs * (double)tr->bat.nchunks / (double)o->B);
	if (tr->pr.total <= 0)
		return lms_fail(LMS_EARG, "nothing to train: zero steps");
	if (resume) {
		struct position p;
		if ((st = load_optimizer(tr->dir, &tr->opt, &p, &tr->pr.valid_loss)))
			return st;
		tr->pr.step = p.step;
		lms_batcher_seek(&tr->bat, p.epoch, p.cursor);
		/* snapshots taken after the checkpoint are taken again */
		if ((st = lms_snapshots_truncate(tr->dir, p.step)))
			return st;
	}
	tr->pr.epoch = tr->bat.epoch;
	tr->first = tr->pr.step;
	char *logs = lms_path_join(tr->dir, "logs");
	char *csv = logs ? lms_path_join(logs, "train.csv") : NULL;
	if (!csv)
		st = lms_fail(LMS_ENOMEM, "out of memory");
	if (!st)
		st = make_dir(logs);
	if (!st)
		st = open_csv(csv, tr->pr.step, resume, &tr->csv);
	if (!st && !(st = lms_tfevents_open(&tr->tb, logs)))
		tr->tb_open = 1;
	free(logs);
	free(csv);
	return st;
}

static void teardown(struct trainer *tr)
{
	lms_run_free(tr->run);
	lms_adamw_free(&tr->opt);
	lms_dropout_free(&tr->drop);
	lms_batcher_free(&tr->bat);
	if (tr->csv)
		fclose(tr->csv);
	if (tr->tb_open)
		lms_tfevents_close(&tr->tb);
	free(tr->x);
	free(tr->y);
	free(tr->watch);
	free(tr->dir);
}

static enum lms_status loop(struct trainer *tr)
{
	const struct lms_train_opts *o = tr->o;
	struct lms_model *m = tr->m;
	struct lms_train_progress *p = &tr->pr;
	enum lms_status st;
	while (p->step < p->total) {
		if (tr->o->interrupt && *tr->o->interrupt) {
			if ((st = checkpoint(tr)))
				return st;
			return lms_fail(LMS_EINTR, "interrupted at step %ld; checkpoint saved", p->step);
		}
		if ((st = check_watch(tr)))
			return st;
		long epoch = tr->bat.epoch;
		lms_batcher_next(&tr->bat, o->B, tr->x, tr->y);
		/* a batch that starts a new epoch closes the previous one */
		int epoch_end = tr->bat.epoch != epoch && p->step > 0;
		if ((st = lms_embed(tr->run, tr->x, o->T)))
			return st;
		lms_model_zero_grads(m);
		if (tr->drop.bits) {
			dropout_draw(tr, p->step);
			if (o->dropout_masks && p->step == tr->first && (st = dropout_write(tr)))
				return st;
			tr->run->drop = &tr->drop; /* this update's forward and backward only */
		}
		lms_forward(tr->run, 0, o->T);
		double loss = lms_objective_xent(tr->run, tr->y, LMS_GRAD_PARAMS);
		char note[64];
		if (!isfinite(loss))
			return lms_fail(LMS_ENUMERIC,
			                "training loss became %s at step %ld; %s (try a lower --lr)",
			                isnan(loss) ? "NaN" : "Inf", p->step + 1, kept(tr, note, sizeof note));
		lms_backward(tr->run, LMS_GRAD_PARAMS);
		tr->run->drop = NULL;
		double gnorm = lms_clip_grad_norm(m->grads, m->n_params, o->clip);
		if (!isfinite(gnorm))
			return lms_fail(LMS_ENUMERIC,
			                "gradient norm became %s at step %ld; %s (try a lower --lr)",
			                isnan(gnorm) ? "NaN" : "Inf", p->step + 1, kept(tr, note, sizeof note));
		double lr = lms_lr_at(p->step, p->total, o->warmup, o->lr, o->min_lr_frac);
		lms_adamw_step(&tr->opt, m->params, m->grads, (float)lr);
		p->step++;
		p->loss = loss;
		p->lr = lr;
		p->grad_norm = gnorm;
		tr->tokens += (long)o->B * o->T;
		double el = lms_now() - tr->t0;
		p->tokens_per_s = el > 0 ? (double)tr->tokens / el : 0.0;
		emit(tr, LMS_TRAIN_STEP);
		int last = p->step == p->total;
		int snap = o->snapshot_every > 0 && (last || p->step % o->snapshot_every == 0);
		int do_valid =
			last || epoch_end || snap || (o->valid_every > 0 && p->step % o->valid_every == 0);
		if (do_valid && (st = validate(tr)))
			return st;
		if (snap && (st = snapshot(tr)))
			return st;
		p->epoch = tr->bat.epoch;
		if (do_valid || last || p->step % (o->log_every > 0 ? o->log_every : 1) == 0)
			if ((st = log_row(tr, do_valid && tr->ds->n_valid)))
				return st;
		int stop = o->stop_at > 0 && p->step == o->stop_at;
		if (last || stop || (o->checkpoint_every > 0 && p->step % o->checkpoint_every == 0)) {
			if ((st = checkpoint(tr)))
				return st;
			tr->saved = p->step;
		}
		if (stop && !last)
			return lms_fail(LMS_EINTR, "stopped at step %ld as asked; checkpoint saved", p->step);
	}
	return LMS_OK;
}

enum lms_status lms_train(struct lms_model *m, const struct lms_dataset *ds, const char *dir,
                          const struct lms_train_opts *o, int resume, lms_train_fn cb,
                          void *userdata)
{
	struct trainer tr = {.m = m, .ds = ds, .o = o, .cb = cb, .ud = userdata, .saved = -1};
	tr.t0 = lms_now();
	tr.fresh = resume ? NULL : o->stage;
	tr.dir = strdup(tr.fresh ? tr.fresh->dir : dir);
	if (!tr.dir)
		return lms_fail(LMS_ENOMEM, "out of memory");
	enum lms_status st = setup(&tr, resume);
	if (!st && resume)
		tr.saved = tr.pr.step; /* the checkpoint resumed from */
	if (!st)
		st = loop(&tr);
	teardown(&tr);
	return st;
}
