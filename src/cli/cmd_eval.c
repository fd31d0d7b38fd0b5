/* lmscope eval MODEL FILE... [--json]: cross-entropy, bits per token,
 * perplexity and <unk> rate of a model on texts, with a sliding window for
 * texts longer than the context; with --ablate, of the ablated model. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "lmscope/dataset.h"
#include "lmscope/eval.h"

static const char usage_text[] =
	"usage: lmscope eval MODEL FILE... [options]\n"
	"  --context N   window length (the model's context)\n"
	"  --stride N    window advance (half the window): each token is predicted\n"
	"                with at least N - stride tokens of context\n"
	"  --batch N     windows per forward pass (8)\n"
	"  --tokenizer FILE  the tokenizer to use instead of the model's own\n"
	"  --json        print {\"tokens\", \"cross_entropy\", \"bits_per_token\",\n"
	"                \"perplexity\", \"unk_rate\"}\n";

struct bar {
	int tty;
	const char *file;
};

static void on_progress(void *ud, size_t done, size_t total)
{
	struct bar *b = ud;
	if (!b->tty)
		return;
	int width = 30, fill = total ? (int)((double)width * done / total) : width;
	fprintf(stderr, "\r\033[K%s [", b->file);
	for (int i = 0; i < width; i++)
		fputc(i < fill ? '=' : ' ', stderr);
	fprintf(stderr, "] %zu/%zu", done, total);
	fflush(stderr);
}

static int want_int(const char *opt, const char *v, long *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (end == v || *end || errno || x < 1 || x > 1000000)
		return front_usage("%s wants a positive integer, not '%s'", opt, v);
	*out = x;
	return 0;
}

int lms_cmd_eval(int argc, char **argv)
{
	const char *path = NULL, *tokpath = NULL;
	const char **files = calloc((size_t)argc, sizeof *files);
	int nfiles = 0, json = 0;
	long context = 0, stride = 0, batch = 8;
	struct cli_ablate ab = {0};
	struct lms_intervention *iv = NULL;
	if (!files)
		return front_fail(lms_fail(LMS_ENOMEM, "out of memory"));
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int rc = 0;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			fputs(cli_ablate_usage, stdout);
			free(files);
			return LMS_EXIT_OK;
		}
		if ((rc = cli_ablate_option(&ab, argc, argv, &i)) != 0) {
			if (rc > 0)
				continue;
			free(files);
			return -rc;
		}
		if (!strcmp(a, "--json"))
			json = 1;
		else if (a[0] != '-' || !a[1]) {
			if (!path)
				path = a;
			else
				files[nfiles++] = a;
		} else if (i + 1 >= argc)
			rc = front_usage("%s wants a value", a);
		else if (!strcmp(a, "--context"))
			rc = want_int(a, argv[++i], &context);
		else if (!strcmp(a, "--stride"))
			rc = want_int(a, argv[++i], &stride);
		else if (!strcmp(a, "--batch"))
			rc = want_int(a, argv[++i], &batch);
		else if (!strcmp(a, "--tokenizer"))
			tokpath = argv[++i];
		else
			rc = front_usage("unknown option %s (see lmscope eval --help)", a);
		if (rc) {
			free(files);
			return rc;
		}
	}
	if (!path || !nfiles) {
		free(files);
		return front_usage("eval needs MODEL and at least one FILE (see lmscope eval --help)");
	}
	struct front_model cm;
	enum lms_status st = front_open_model(path, tokpath, &cm);
	if (st) {
		free(files);
		return front_fail(st);
	}
	int rc = cli_ablate_make(&ab, cm.m, &iv);
	if (rc) {
		front_close_model(&cm);
		free(files);
		return rc;
	}
	struct lms_run *r = NULL;
	struct lms_eval acc = {0};
	size_t encoded = 0, unk = 0;
	int T = cm.m->cfg.maxT;
	if (context > 0 && (context <= T || lms_arch_is_recurrent(cm.m->cfg.arch)))
		T = (int)context;
	if (!cm.tok)
		st = lms_fail(LMS_EFORMAT, "%s: the model has no tokenizer to read text with", path);
	else if (T < 2)
		st = lms_fail(LMS_EARG, "a context of %d cannot be evaluated", T);
	else if (!(st = lms_run_new(cm.m, (int)batch, T, &r)))
		lms_run_intervene(r, iv);
	struct bar bar = {.tty = isatty(2)};
	for (int f = 0; f < nfiles && !st; f++) {
		char *text;
		size_t len, n;
		int *ids;
		struct lms_tok_stats ts = {0};
		if ((st = lms_read_file(files[f], &text, &len)))
			break;
		/* each file a document: BOS first when the model expects it */
		st = lms_tokenizer_encode_input(cm.tok, text, len, &ids, &n, NULL, &ts);
		free(text);
		if (st)
			break;
		encoded += n;
		unk += ts.unk;
		bar.file = files[f];
		st = lms_eval_stream(r, ids, n, (int)(stride < T ? stride : 0), &acc, on_progress, &bar);
		free(ids);
		if (bar.tty)
			fputs("\r\033[K", stderr);
	}
	if (!st && !acc.targets)
		st = lms_fail(LMS_EARG, "the texts have fewer than two tokens: nothing to score");
	if (!st) {
		double ce = acc.nll / (double)acc.targets;
		double unk_rate = encoded ? (double)unk / (double)encoded : 0.0;
		if (json) {
			json_t *o = json_pack("{s:I, s:f, s:f, s:f, s:f}", "tokens", (json_int_t)acc.targets,
			                      "cross_entropy", ce, "bits_per_token", ce / log(2.0),
			                      "perplexity", exp(ce), "unk_rate", unk_rate);
			char *js = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10)) : NULL;
			puts(js ? js : "{}");
			free(js);
			json_decref(o);
		} else {
			printf("tokens          %zu (context %d)\n", acc.targets, T);
			printf("cross-entropy   %.4f nats/token\n", ce);
			printf("bits per token  %.4f\n", ce / log(2.0));
			printf("perplexity      %.3f\n", exp(ce));
			printf("<unk> rate      %.4f%%\n", 100.0 * unk_rate);
		}
	}
	lms_run_free(r);
	lms_intervention_free(iv);
	front_close_model(&cm);
	free(files);
	return st ? front_fail(st) : LMS_EXIT_OK;
}
