/* lmscope train CORPUS... -o MODEL_DIR [options]: builds a tokenizer and a
 * model (or starts from --init, or continues with --resume) and trains it,
 * showing progress on stderr. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "lmscope/dataset.h"
#include "lmscope/train.h"

static const char usage_text[] =
	"usage: lmscope train CORPUS... -o MODEL_DIR [options]\n"
	"model:\n"
	"  --arch gpt2|lstm|gru|rnn   architecture (gpt2)\n"
	"  --layers N --heads N       layers (2), attention heads (4)\n"
	"  --embd N --hidden N        embedding width (128), RNN hidden width (embd)\n"
	"  --context N                positions per training sequence (64)\n"
	"  --tokenizer word|char|bpe  tokenizer learnt from the corpus (word)\n"
	"  --vocab-size N             largest vocabulary (8192; bpe >= 256)\n"
	"  --min-count N --lowercase  word/char vocabulary: minimum count, lower-casing\n"
	"  --init MODEL_DIR           fine-tune that model (keeps its tokenizer)\n"
	"training:\n"
	"  --lr X --warmup N          peak learning rate (1e-3), warm-up updates (100)\n"
	"  --min-lr-frac X            cosine decay ends at lr * X (0.1)\n"
	"  --weight-decay X --clip X  AdamW decay (0.01), global norm limit (1; 0 off)\n"
	"  --batch N                  sequences per update (16)\n"
	"  --epochs X | --steps N     length of training (1 epoch)\n"
	"  --valid FILE               validation text (repeatable); default: the last\n"
	"  --valid-frac X             X (0.05) of each corpus file's tokens\n"
	"  --valid-every N            validate every N updates (and after each epoch)\n"
	"  --valid-tokens N           at most N validation targets per validation\n"
	"  --checkpoint-every N       checkpoint every N updates (and at the end)\n"
	"  --log-every N              CSV/TensorBoard row every N updates (1)\n"
	"  --stop-at N                stop after update N with a checkpoint\n"
	"  --seed N                   initialisation and data order (1)\n"
	"  --f16                      store the model in F16 (checkpoint stays F32)\n"
	"  --resume                   continue MODEL_DIR's checkpoint (same options)\n"
	"Ctrl-C saves a checkpoint and exits; --resume continues from it.\n";

static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

struct args {
	const char *out, *init, *arch, *tokenizer;
	const char **corpora, **valid;
	int ncorpora, nvalid;
	int layers, heads, embd, hidden, context, vocab_size, min_count, lowercase;
	double valid_frac;
	int resume;
	struct lms_train_opts o;
};

static int want_int(const char *opt, const char *v, long lo, long *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (end == v || *end || errno || x < lo) {
		front_usage("%s wants an integer >= %ld, not '%s'", opt, lo, v);
		return 0;
	}
	*out = x;
	return 1;
}

static int want_num(const char *opt, const char *v, double lo, double *out)
{
	char *end;
	double x = strtod(v, &end);
	if (end == v || *end || !isfinite(x) || x < lo) {
		front_usage("%s wants a number >= %g, not '%s'", opt, lo, v);
		return 0;
	}
	*out = x;
	return 1;
}

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
	a->corpora = calloc((size_t)argc, sizeof *a->corpora);
	a->valid = calloc((size_t)argc, sizeof *a->valid);
	if (!a->corpora || !a->valid)
		return front_fail(lms_fail(LMS_ENOMEM, "out of memory"));
	for (int i = 1; i < argc; i++) {
		const char *s = argv[i];
		if (s[0] != '-' || !s[1]) {
			a->corpora[a->ncorpora++] = s;
			continue;
		}
		if (!strcmp(s, "--help") || !strcmp(s, "-h")) {
			fputs(usage_text, stdout);
			exit(LMS_EXIT_OK);
		}
		if (!strcmp(s, "--resume")) { a->resume = 1; continue; }
		if (!strcmp(s, "--lowercase")) { a->lowercase = 1; continue; }
		if (!strcmp(s, "--f16")) { a->o.f16 = 1; continue; }
		if (i + 1 >= argc)
			return front_usage("%s wants a value (see lmscope train --help)", s);
		const char *v = argv[++i];
		long n;
		double x;
#define INT(name, lo, dst) else if (!strcmp(s, name)) { if (!want_int(s, v, lo, &n)) return LMS_EXIT_USAGE; dst = n; }
#define NUM(name, lo, dst) else if (!strcmp(s, name)) { if (!want_num(s, v, lo, &x)) return LMS_EXIT_USAGE; dst = x; }
		if (!strcmp(s, "-o") || !strcmp(s, "--output")) a->out = v;
		else if (!strcmp(s, "--init")) a->init = v;
		else if (!strcmp(s, "--arch")) a->arch = v;
		else if (!strcmp(s, "--tokenizer")) a->tokenizer = v;
		else if (!strcmp(s, "--valid")) a->valid[a->nvalid++] = v;
		INT("--layers", 1, a->layers)
		INT("--heads", 1, a->heads)
		INT("--embd", 1, a->embd)
		INT("--hidden", 1, a->hidden)
		INT("--context", 2, a->context)
		INT("--vocab-size", 2, a->vocab_size)
		INT("--min-count", 1, a->min_count)
		INT("--warmup", 0, a->o.warmup)
		INT("--batch", 1, a->o.B)
		INT("--steps", 1, a->o.steps)
		INT("--valid-every", 0, a->o.valid_every)
		INT("--valid-tokens", 0, a->o.valid_tokens)
		INT("--checkpoint-every", 0, a->o.checkpoint_every)
		INT("--log-every", 1, a->o.log_every)
		INT("--stop-at", 0, a->o.stop_at)
		INT("--seed", 0, a->o.seed)
		NUM("--lr", 0.0, a->o.lr)
		NUM("--min-lr-frac", 0.0, a->o.min_lr_frac)
		NUM("--weight-decay", 0.0, a->o.weight_decay)
		NUM("--clip", 0.0, a->o.clip)
		NUM("--epochs", 0.0, a->o.epochs)
		NUM("--valid-frac", 0.0, a->valid_frac)
		else
			return front_usage("unknown option %s (see lmscope train --help)", s);
#undef INT
#undef NUM
	}
	if (!a->out)
		return front_usage("train needs -o MODEL_DIR (see lmscope train --help)");
	if (!a->ncorpora)
		return front_usage("train needs at least one CORPUS file");
	if (a->valid_frac >= 1.0)
		return front_usage("--valid-frac must be below 1");
	return 0;
}

/* ---- progress on stderr ------------------------------------------------------- */

struct progress {
	int tty;
	long every;        /* plain mode: a line every this many updates */
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
		fprintf(stderr, "step %ld/%ld  epoch %ld  valid loss %.4f  perplexity %.2f\n", p->step,
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
		fprintf(stderr, "\r\033[Kstep %ld/%ld [%s] loss %.4f  %.0f tok/s  lr %.2e  ETA %s", p->step,
		        p->total, bar, p->loss, p->tokens_per_s, p->lr, eta);
		pg->bar_shown = 1;
	} else if (p->step % pg->every == 0 || p->step == p->total) {
		fprintf(stderr, "step %ld/%ld  loss %.4f  grad norm %.3f  lr %.3g  %.0f tok/s  ETA %s\n",
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
	}
	return lms_model_create(&c, a->o.seed, out);
}

static enum lms_status make_dir(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST)
		return lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
	return LMS_OK;
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
		fprintf(stderr, "lmscope: %s: --resume continues with the checkpoint's options; ignored: %s\n",
		        a->out, buf);
}

int lms_cmd_train(int argc, char **argv)
{
	struct args a = {0};
	int rc = parse(argc, argv, &a);
	if (rc) {
		free(a.corpora);
		free(a.valid);
		return rc;
	}
	struct lms_model *m = NULL;
	struct lms_tokenizer *tok = NULL;
	struct lms_dataset ds = {0};
	enum lms_status st;
	if (a.resume) {
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
	if (!st && !a.resume && !(st = make_dir(a.out)))
		st = lms_tokenizer_save(tok, a.out);
	if (!st)
		st = lms_dataset_load(&ds, tok, a.corpora, a.ncorpora, a.valid, a.nvalid, a.valid_frac);
	if (!st) {
		fprintf(stderr, "%s: %s, %zu parameters; %zu training and %zu validation tokens (%zu <unk>)\n",
		        a.out, lms_arch_name(m->cfg.arch), m->n_params, ds.n_train, ds.n_valid, ds.unk);
		struct progress pg = {.tty = isatty(2)};
		long total = a.o.steps;
		if (!total)
			total = (long)(a.o.epochs * (double)(ds.n_train / (size_t)a.o.T) / a.o.B) + 1;
		pg.every = total / 50 > 0 ? total / 50 : 1;
		struct sigaction sa = {0}, old;
		sa.sa_handler = on_sigint;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGINT, &sa, &old);
		a.o.interrupt = &interrupted;
		/* the corpora must stay as they were read (a.corpora has room for
		 * argc entries: the validation files follow the corpora) */
		for (int i = 0; i < a.nvalid; i++)
			a.corpora[a.ncorpora + i] = a.valid[i];
		a.o.watch = a.corpora;
		a.o.nwatch = a.ncorpora + a.nvalid;
		st = lms_train(m, &ds, a.out, &a.o, a.resume, on_progress, &pg);
		sigaction(SIGINT, &old, NULL);
		if (pg.tty && pg.bar_shown)
			fputc('\n', stderr);
		if (st == LMS_EINTR && !interrupted) {
			fprintf(stderr, "lmscope: %s\n", lms_errmsg());
			st = LMS_OK;
		}
	}
	rc = st ? front_fail(st) : LMS_EXIT_OK;
	lms_dataset_free(&ds);
	lms_model_free(m);
	lms_tokenizer_free(tok);
	free(a.corpora);
	free(a.valid);
	return rc;
}
