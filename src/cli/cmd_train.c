/* lmscope train CORPUS... -o MODEL_DIR [options]: builds a tokenizer and a
 * model (or starts from --init, or continues with --resume) and trains it,
 * showing progress on stderr. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "front/i18n.h"
#include "cli.h"
#include "front/opts.h"
#include "lmscope/dataset.h"
#include "lmscope/train.h"

static const char usage_text[] = N_("usage: lmscope train CORPUS... -o MODEL_DIR [options]\n");
static const char about_text[] =
	N_("Ctrl-C saves a checkpoint and exits; --resume continues from it.\n");

struct args {
	const char *out, *init, *arch, *tokenizer;
	const char **corpora;
	struct front_list valid;
	int ncorpora;
	int layers, heads, embd, hidden, tied, context, vocab_size, min_count, lowercase;
	double valid_frac;
	int resume, force;
	struct lms_train_opts o;
};

#define A struct args
static const struct front_opt train_options[] = {
	FRONT_STR("output", 'o', "MODEL_DIR", N_("the model directory to write"), A, out),
	FRONT_STR("arch", 0, "gpt2|lstm|gru|rnn", N_("architecture (gpt2)"), A, arch),
	FRONT_INT("layers", 0, "N", N_("layers (2)"), A, layers, 1, FRONT_INT_MAX),
	FRONT_INT("heads", 0, "N", N_("attention heads (4)"), A, heads, 1, FRONT_INT_MAX),
	FRONT_INT("embd", 0, "N", N_("embedding width (128)"), A, embd, 1, FRONT_INT_MAX),
	FRONT_INT("hidden", 0, "N", N_("RNN hidden width (embd)"), A, hidden, 1, FRONT_INT_MAX),
	FRONT_FLAG("tied", 0, N_("RNN output layer tied to the embedding (GPT-2's always is)"), A, tied,
               1),
	FRONT_INT("context", 0, "N", N_("positions per training sequence (64)"), A, context, 2,
              FRONT_INT_MAX),
	FRONT_STR("tokenizer", 0, "word|char|bpe", N_("tokenizer learnt from the corpus (word)"), A,
              tokenizer),
	FRONT_INT("vocab-size", 0, "N", N_("largest vocabulary (8192; bpe >= 256)"), A, vocab_size, 2,
              FRONT_INT_MAX),
	FRONT_INT("min-count", 0, "N", N_("word/char vocabulary: minimum count (1)"), A, min_count, 1,
              FRONT_INT_MAX),
	FRONT_FLAG("lowercase", 0, N_("word/char vocabulary: lower-case the corpus"), A, lowercase, 1),
	FRONT_STR("init", 0, "MODEL_DIR", N_("fine-tune that model (keeps its tokenizer)"), A, init),
	FRONT_NUM("lr", 0, "X", N_("peak learning rate (1e-3)"), A, o.lr, 0, HUGE_VAL),
	FRONT_LONG("warmup", 0, "N", N_("warm-up updates (100)"), A, o.warmup, 0, LONG_MAX),
	FRONT_NUM("min-lr-frac", 0, "X", N_("cosine decay ends at lr * X (0.1)"), A, o.min_lr_frac, 0,
              HUGE_VAL),
	FRONT_NUM("weight-decay", 0, "X", N_("AdamW decay (0.01)"), A, o.weight_decay, 0, HUGE_VAL),
	FRONT_NUM("dropout", 0, "P", N_("training dropout probability, not for llama (0)"), A,
              o.dropout, 0, 1),
	FRONT_NUM("clip", 0, "X", N_("global gradient norm limit (1; 0 off)"), A, o.clip, 0, HUGE_VAL),
	FRONT_INT("batch", 0, "N", N_("sequences per update (16)"), A, o.B, 1, FRONT_INT_MAX),
	FRONT_NUM("epochs", 0, "X", N_("length of training in epochs (1)"), A, o.epochs, 0, HUGE_VAL),
	FRONT_LONG("steps", 0, "N", N_("length of training in updates (instead of epochs)"), A, o.steps,
               1, LONG_MAX),
	FRONT_FILES("valid", 0, "FILE", N_("validation text (repeatable); default: the last"), A,
                valid),
	FRONT_NUM("valid-frac", 0, "X", N_("X (0.05) of each corpus file's tokens"), A, valid_frac, 0,
              HUGE_VAL),
	FRONT_LONG("valid-every", 0, "N", N_("validate every N updates (and after each epoch)"), A,
               o.valid_every, 0, LONG_MAX),
	FRONT_LONG("valid-tokens", 0, "N", N_("at most N validation targets per validation"), A,
               o.valid_tokens, 0, LONG_MAX),
	FRONT_LONG("checkpoint-every", 0, "N", N_("checkpoint every N updates (and at the end)"), A,
               o.checkpoint_every, 0, LONG_MAX),
	FRONT_LONG("snapshot-every", 0, "N",
               N_("keep an F16 snapshot every N updates (and at the end)"), A, o.snapshot_every, 0,
               LONG_MAX),
	FRONT_LONG("log-every", 0, "N", N_("CSV/TensorBoard row every N updates (1)"), A, o.log_every,
               1, LONG_MAX),
	FRONT_LONG("stop-at", 0, "N", N_("stop after update N with a checkpoint"), A, o.stop_at, 0,
               LONG_MAX),
	FRONT_U64("seed", 0, "N", N_("initialisation and data order (1)"), A, o.seed, 0, LONG_MAX),
	FRONT_FLAG("f16", 0, N_("store the model in F16 (checkpoint stays F32)"), A, o.f16, 1),
	FRONT_FLAG("resume", 0, N_("continue MODEL_DIR's checkpoint (same options)"), A, resume, 1),
	FRONT_FLAG("force", 0, N_("replace what MODEL_DIR holds (another model)"), A, force, 1),
	FRONT_END};
#undef A

/* The values of options not given. */
static void parse_defaults(struct args *a)
{
	lms_train_defaults(&a->o);
	a->arch = "gpt2";
	a->tokenizer = "word";
	a->layers = 2;
	a->heads = 4;
	a->embd = 128;
	a->context = 64;
	a->vocab_size = 8192;
	a->min_count = 1;
	a->valid_frac = 0.05;
}

static int parse(int argc, char **argv, struct args *a)
{
	parse_defaults(a);
	struct front_cmd cmd = {"train", usage_text, about_text, {{train_options, a}}, 0, NULL};
	int first, rc = front_parse(&cmd, argc, argv, &first);
	if (rc)
		return rc;
	a->corpora = (const char **)argv + first;
	a->ncorpora = argc - first;
	if (!a->out)
		return front_usage(_("train needs -o MODEL_DIR (see lmscope train --help)"));
	if (!a->ncorpora)
		return front_usage(_("train needs at least one CORPUS file"));
	if (a->valid_frac >= 1.0)
		return front_usage(_("--valid-frac must be below 1"));
	if (a->o.dropout >= 1.0)
		return front_usage(_("--dropout must be below 1"));
	/* for tests: the first update's dropout masks (lmscope/train.h) */
	a->o.dropout_masks = getenv("LMSCOPE_DROPOUT_MASKS");
	return 0;
}

/* ---- progress on stderr ------------------------------------------------------- */

struct progress {
	int tty;
	long every; /* plain mode: a line every this many updates */
	int bar_shown;
};

static void fmt_time(char *buf, size_t size, double s)
{
	long t = s > 0 && s < 1e8 ? (long)(s + 0.5) : 0;
	if (t >= 3600)
		snprintf(buf, size, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, size, "%ld:%02ld", t / 60, t % 60);
}

static void on_progress(void *ud, const struct lms_train_progress *p)
{
	struct progress *pg = ud;
	char eta[32];
	double rate = p->elapsed > 0 ? (double)p->step / p->elapsed : 0;
	fmt_time(eta, sizeof eta, rate > 0 ? (double)(p->total - p->step) / rate : 0);
	if (p->event == LMS_TRAIN_VALID) {
		if (pg->tty && pg->bar_shown)
			fputs("\r\033[K", stderr);
		fprintf(stderr, _("step %ld/%ld  epoch %ld  valid loss %.4f  perplexity %.2f\n"), p->step,
		        p->total, p->epoch, p->valid_loss, exp(p->valid_loss));
		pg->bar_shown = 0;
		return;
	}
	if (p->event != LMS_TRAIN_STEP)
		return;
	if (pg->tty) {
		int width = 24, fill = (int)((double)width * p->step / p->total);
		char bar[32];
		for (int i = 0; i < width; i++)
			bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
		bar[width] = 0;
		fputs("\r\033[K", stderr);
		fprintf(stderr, _("step %ld/%ld [%s] loss %.4f  %.0f tok/s  lr %.2e  ETA %s"), p->step,
		        p->total, bar, p->loss, p->tokens_per_s, p->lr, eta);
		pg->bar_shown = 1;
	} else if (p->step % pg->every == 0 || p->step == p->total) {
		fprintf(stderr, _("step %ld/%ld  loss %.4f  grad norm %.3f  lr %.3g  %.0f tok/s  ETA %s\n"),
		        p->step, p->total, p->loss, p->grad_norm, p->lr, p->tokens_per_s, eta);
	}
	fflush(stderr);
}

/* ---- model and tokenizer ---------------------------------------------------------- */

static enum lms_status build_tokenizer(const struct args *a, struct lms_tokenizer **out)
{
	struct lms_tok_train_opts to = {0};
	if (!strcmp(a->tokenizer, "word"))
		to.kind = LMS_TOK_WORD;
	else if (!strcmp(a->tokenizer, "char"))
		to.kind = LMS_TOK_CHAR;
	else if (!strcmp(a->tokenizer, "bpe"))
		to.kind = LMS_TOK_BPE;
	else
		return lms_fail(LMS_EARG, "unknown tokenizer '%s' (word, char or bpe)", a->tokenizer);
	to.vocab_size = a->vocab_size;
	to.min_count = a->min_count;
	to.lowercase = a->lowercase;
	char **texts = calloc((size_t)a->ncorpora, sizeof *texts);
	size_t *lens = calloc((size_t)a->ncorpora, sizeof *lens);
	enum lms_status st = texts && lens ? LMS_OK : lms_fail(LMS_ENOMEM, "out of memory");
	for (int i = 0; i < a->ncorpora && !st; i++)
		st = lms_read_file(a->corpora[i], &texts[i], &lens[i]);
	if (!st)
		st = lms_tokenizer_train(&to, (const char *const *)texts, lens, a->ncorpora, out);
	for (int i = 0; texts && i < a->ncorpora; i++)
		free(texts[i]);
	free(texts);
	free(lens);
	return st;
}

static enum lms_status build_model(const struct args *a, int V, struct lms_model **out)
{
	struct lms_config c = {0};
	if (!lms_arch_from_name(a->arch, &c.arch) || c.arch == LMS_LLAMA)
		return lms_fail(LMS_EARG, "unknown architecture '%s' (gpt2, lstm, gru or rnn)", a->arch);
	c.V = V;
	c.maxT = a->context;
	c.C = a->embd;
	c.L = a->layers;
	if (c.arch == LMS_GPT2) {
		c.H = 4 * a->embd;
		c.NH = c.KV = a->heads;
		c.eps = 1e-5f;
		c.tied = 1;
	} else {
		c.H = a->hidden ? a->hidden : a->embd;
		c.tied = a->tied;
		if (c.tied && c.H != c.C)
			return lms_fail(LMS_EARG, "--tied needs --hidden equal to --embd (%d and %d)", c.H,
			                c.C);
	}
	return lms_model_create(&c, a->o.seed, out);
}

/* --resume continues the checkpoint as it was: options given otherwise
 * (an option given at its default value cannot be told from one not given)
 * are named in one line rather than ignored silently. */
static void warn_ignored(const struct args *a, const struct lms_train_opts *given,
                         const struct lms_model *m, const struct lms_tokenizer *tok)
{
	static const char *const kinds[] = {"word", "char", "bpe", "spm"};
	struct args dflt = {0};
	parse_defaults(&dflt);
	char buf[512];
	int n = lms_train_opts_ignored(given, &dflt.o, &a->o, buf, sizeof buf);
	size_t len = strlen(buf);
	const char *arch = lms_arch_name(m->cfg.arch);
	if (strcmp(a->arch, dflt.arch) && strcmp(a->arch, arch) && len < sizeof buf)
		len += (size_t)snprintf(buf + len, sizeof buf - len, "%sarch %s (checkpoint: %s)",
		                        n++ ? ", " : "", a->arch, arch);
	const char *kind = kinds[lms_tokenizer_kind(tok)];
	if (strcmp(a->tokenizer, dflt.tokenizer) && strcmp(a->tokenizer, kind) && len < sizeof buf)
		snprintf(buf + len, sizeof buf - len, "%stokenizer %s (checkpoint: %s)", n++ ? ", " : "",
		         a->tokenizer, kind);
	if (n)
		fprintf(stderr,
		        _("lmscope: %s: --resume continues with the checkpoint's options; ignored: %s\n"),
		        a->out, buf);
}

int lms_cmd_train(int argc, char **argv)
{
	struct args a = {0};
	int rc = parse(argc, argv, &a);
	if (rc) {
		free(a.valid.v);
		return rc < 0 ? LMS_EXIT_OK : rc;
	}
	struct lms_model *m = NULL;
	struct lms_tokenizer *tok = NULL;
	struct lms_dataset ds = {0};
	/* a fresh run builds its directory beside MODEL_DIR, which keeps what
	 * it holds until the first checkpoint replaces it as a whole */
	struct lms_stage stage = {0};
	enum lms_status st = LMS_OK;
	if (!a.resume && (st = lms_stage_begin(&stage, a.out, a.force ? LMS_STAGE_FORCE : 0, NULL))) {
		/* refused before anything is built */
	} else if (a.resume) {
		struct lms_train_opts given = a.o;
		given.T = a.context;
		if (!(st = lms_train_resume_opts(a.out, &a.o)) && !(st = lms_train_resume_model(a.out, &m)))
			st = lms_tokenizer_load(a.out, &tok);
		if (!st && !tok)
			st = lms_fail(LMS_EFORMAT, "%s: no tokenizer to resume with", a.out);
		if (!st)
			warn_ignored(&a, &given, m, tok);
	} else if (a.init) {
		struct front_model cm;
		st = front_open_model(a.init, NULL, &cm);
		m = cm.m;
		tok = cm.tok;
		if (!st && !tok)
			st = lms_fail(LMS_EFORMAT, "%s: the model has no tokenizer to train with", a.init);
		if (!st && a.context > m->cfg.maxT && !lms_arch_is_recurrent(m->cfg.arch))
			a.context = m->cfg.maxT;
	} else {
		st = build_tokenizer(&a, &tok);
		if (!st)
			st = build_model(&a, lms_tokenizer_vocab_size(tok), &m);
	}
	if (!a.resume)
		a.o.T = a.context;
	if (!st && !a.resume)
		st = lms_tokenizer_save(tok, stage.dir);
	if (!st)
		st = lms_dataset_load(&ds, tok, a.corpora, a.ncorpora, a.valid.v, a.valid.n, a.valid_frac);
	/* a batch beyond the corpus's sequences would hold each one several
	 * times over: cap it (a resumed run keeps the batch it was saved with) */
	size_t windows = !st && ds.n_train > 0 ? (ds.n_train - 1) / (size_t)a.o.T : 0;
	if (!a.resume && windows > 0 && (size_t)a.o.B > windows) {
		fprintf(stderr,
		        _("lmscope: train: --batch %d: the corpus holds %zu training sequence%s of %d "
		          "tokens; using %zu\n"),
		        a.o.B, windows, windows == 1 ? "" : "s", a.o.T, windows);
		a.o.B = (int)windows;
	}
	if (!st) {
		fprintf(stderr,
		        _("%s: %s, %zu parameters; %zu training and %zu validation tokens (%zu <unk>)\n"),
		        a.out, lms_arch_name(m->cfg.arch), m->n_params, ds.n_train, ds.n_valid, ds.unk);
		struct progress pg = {.tty = isatty(2)};
		long total = a.o.steps;
		if (!total)
			total = (long)(a.o.epochs * (double)(ds.n_train / (size_t)a.o.T) / a.o.B) + 1;
		pg.every = total / 50 > 0 ? total / 50 : 1;
		struct sigaction old;
		front_sigint_catch(&old);
		a.o.interrupt = &front_interrupted;
		/* the corpora and validation files must stay as they were read */
		const char **watch = malloc(((size_t)a.ncorpora + (size_t)a.valid.n) * sizeof *watch);
		if (!watch) {
			st = lms_fail(LMS_ENOMEM, "out of memory");
		} else {
			memcpy(watch, a.corpora, (size_t)a.ncorpora * sizeof *watch);
			for (int i = 0; i < a.valid.n; i++)
				watch[a.ncorpora + i] = a.valid.v[i];
			a.o.watch = watch;
			a.o.nwatch = a.ncorpora + a.valid.n;
			a.o.stage = a.resume ? NULL : &stage;
			a.o.tok = tok;
			st = lms_train(m, &ds, a.out, &a.o, a.resume, on_progress, &pg);
			free(watch);
		}
		front_sigint_restore(&old);
		if (pg.tty && pg.bar_shown)
			fputc('\n', stderr);
		if (st == LMS_EINTR && !front_interrupted) {
			fprintf(stderr, "lmscope: %s\n", lms_errmsg());
			st = LMS_OK;
		}
	}
	rc = st ? front_fail(st) : LMS_EXIT_OK;
	lms_stage_abort(&stage);
	lms_dataset_free(&ds);
	lms_model_free(m);
	lms_tokenizer_free(tok);
	free(a.valid.v);
	return rc;
}
