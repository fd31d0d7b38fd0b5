/* lmscope generate MODEL (--text PROMPT | --ids 1,2,3) [-n N] [--temperature T]
 * [--top-p P] [--seed S] [--json]: continues a prompt. Each new token costs
 * one position: the run keeps the prefix (KV cache or recurrent state) and
 * lms_forward computes only the appended position. */
#include <signal.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "front/i18n.h"
#include "cli.h"
#include "front/opts.h"
#include "lmscope/sample.h"

struct generate_opts {
	const char *text, *ids, *tokenizer;
	int n, json;
	double temperature, top_p;
	uint64_t seed;
};

static const struct front_opt generate_options[] = {
	FRONT_STR("text", 0, "PROMPT", N_("the prompt"), struct generate_opts, text),
	FRONT_STR("ids", 0, "1,2,3", N_("the prompt as token ids"), struct generate_opts, ids),
	FRONT_INT(NULL, 'n', "N", N_("tokens to generate (20)"), struct generate_opts, n, 0, 1000000),
	FRONT_NUM("temperature", 0, "T", N_("0 is greedy (default 0.8)"), struct generate_opts,
              temperature, 0, HUGE_VAL),
	FRONT_NUM("top-p", 0, "P", N_("sample from the smallest set of tokens with mass >= P (0.95)"),
              struct generate_opts, top_p, 0, 1),
	FRONT_U64("seed", 0, "S", N_("sampling seed (1)"), struct generate_opts, seed, 0,
              FRONT_INT_MAX),
	FRONT_FILE("tokenizer", 0, "FILE", N_("the tokenizer to use instead of the model's own"),
               struct generate_opts, tokenizer),
	FRONT_FLAG("json", 0, N_("print {\"prompt_ids\", \"ids\", \"tokens\", \"text\"} at the end"),
               struct generate_opts, json, 1),
	FRONT_END};

static const char usage_text[] =
	N_("usage: lmscope generate MODEL (--text PROMPT | --ids 1,2,3) [options]\n");
static const char about_text[] =
	N_("The text is printed as it is generated; Ctrl-C stops, keeping what was printed.\n");

/* Where the tokens go as they come: printed (text or ids) or kept for the
 * JSON at the end. */
struct sink {
	const struct front_model *cm;
	int json;
	size_t np; /* the prompt's length in seq */
};

/* Bytes of s that end on a whole UTF-8 character: a character cut at the
 * end waits for the token that completes it. */
static size_t whole_chars(const char *s, size_t len)
{
	size_t i = len, k = 0;
	while (i > 0 && k < 4 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--, k++;
	if (i == 0)
		return len;
	unsigned char lead = (unsigned char)s[i - 1];
	size_t need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
	return need > k + 1 ? i - 1 : len;
}

/* The text token seq[len - 1] adds: the decoding of a few tokens before it
 * with and without it (decoding depends on neighbours: spacing, the
 * leading space after BOS). *held is what earlier calls held back. */
static void put_text(const struct front_model *cm, const int *seq, size_t len, size_t *held)
{
	enum { CONTEXT = 16 };
	size_t s = len > CONTEXT + 1 ? len - CONTEXT - 1 : 0;
	char *with = NULL, *without = NULL;
	size_t nw = 0, nwo = 0;
	if (lms_tokenizer_decode(cm->tok, seq + s, len - s, &with, &nw) ||
	    lms_tokenizer_decode(cm->tok, seq + s, len - 1 - s, &without, &nwo)) {
		free(with);
		free(without);
		return;
	}
	size_t from = nwo >= *held ? nwo - *held : 0, to = whole_chars(with, nw);
	if (from <= to) {
		fwrite(with + from, 1, to - from, stdout);
		*held = nw - to;
	}
	free(with);
	free(without);
}

/* Token seq[len - 1] as it comes: its text, or its id without a tokenizer
 * (the JSON is printed at the end). */
static void emit(const struct sink *sk, const int *seq, size_t len)
{
	static size_t held;
	if (sk->json)
		return;
	if (sk->cm->tok)
		put_text(sk->cm, seq, len, &held);
	else
		printf("%s%d", len - 1 > sk->np ? "," : "", seq[len - 1]);
	fflush(stdout);
}

/* Generates n ids after the prompt into out, printing each as it comes
 * (unless json); stops with LMS_EINTR on Ctrl-C, *made ids made. */
static enum lms_status generate(const struct lms_model *m, const int *prompt, size_t np, int n,
                                struct lms_sampler *s, const struct sink *sk, int *out, int *made)
{
	const struct lms_config *c = &m->cfg;
	int recurrent = lms_arch_is_recurrent(c->arch);
	size_t want = np + (size_t)n;
	int T = recurrent ? (int)want : (want < (size_t)c->maxT ? (int)want : c->maxT);
	struct lms_run *r;
	enum lms_status st = lms_run_new(m, 1, T, &r);
	if (st)
		return st;
	int *seq = malloc(want * sizeof *seq);
	if (!seq) {
		lms_run_free(r);
		return lms_fail(LMS_ENOMEM, "out of memory");
	}
	memcpy(seq, prompt, np * sizeof *seq);
	size_t len = np; /* tokens in seq */
	size_t win = 0;  /* seq[win .. len) is in the run */
	int have = 0;    /* positions of the window already computed */
	for (int k = 0; k < n && !st; k++) {
		if (len - win > (size_t)T) {
			/* the context is full: keep the last three quarters and recompute */
			win = len - (size_t)(3 * T / 4 > 0 ? 3 * T / 4 : 1);
			have = 0;
		}
		int w = (int)(len - win);
		if ((st = lms_embed(r, seq + win, w)))
			break;
		lms_forward(r, have, w);
		lms_logits(r, 0, w - 1, w);
		int id = lms_sample(s, r->logits + (size_t)(w - 1) * c->V);
		have = w;
		out[k] = id;
		seq[len++] = id;
		*made = k + 1;
		emit(sk, seq, len);
		if (front_interrupted)
			st = lms_fail(LMS_EINTR, "interrupted after %d tokens", k + 1);
	}
	free(seq);
	lms_run_free(r);
	return st;
}

/* The prompt's ids: parsed, or the text through the tokenizer (BOS alone
 * for an empty text, when the model has one). */
static enum lms_status prompt_ids(const struct front_model *cm, const struct generate_opts *o,
                                  int **prompt, size_t *np)
{
	enum lms_status st = LMS_OK;
	if (o->ids) {
		if (!cli_parse_ids(o->ids, prompt, np))
			return lms_fail(LMS_EARG, "--ids wants a comma-separated list of token ids");
	} else if (!cm->tok) {
		return lms_fail(LMS_EARG, "%s: the model has no tokenizer; use --ids", cm->path);
	} else {
		st = lms_tokenizer_encode_input(cm->tok, o->text, strlen(o->text), prompt, np, NULL, NULL);
		if (!st && !*np) {
			int bos = lms_tokenizer_bos(cm->tok);
			free(*prompt);
			*prompt = NULL;
			if (bos < 0 || !(*prompt = malloc(sizeof **prompt)))
				return lms_fail(LMS_EARG, "the prompt has no tokens");
			(*prompt)[(*np)++] = bos;
		}
	}
	for (size_t i = 0; !st && i < *np; i++)
		if ((*prompt)[i] < 0 || (*prompt)[i] >= cm->m->cfg.V)
			st = lms_fail(LMS_EARG, "token id %d outside the vocabulary (0 to %d)", (*prompt)[i],
			              cm->m->cfg.V - 1);
	return st;
}

static void print_json(const struct front_model *cm, const int *prompt, size_t np, const int *gen,
                       int n)
{
	json_t *pj = json_array(), *ij = json_array(), *tj = json_array();
	for (size_t i = 0; i < np; i++)
		json_array_append_new(pj, json_integer(prompt[i]));
	for (int i = 0; i < n; i++) {
		json_array_append_new(ij, json_integer(gen[i]));
		json_array_append_new(tj, cli_token_json(cm, gen[i]));
	}
	json_t *o = json_pack("{s:o, s:o, s:o}", "prompt_ids", pj, "ids", ij, "tokens", tj);
	char *out = NULL;
	if (cm->tok && !lms_tokenizer_decode(cm->tok, gen, (size_t)n, &out, NULL))
		json_object_set_new(o, "text", json_string(out));
	free(out);
	char *js = json_dumps(o, JSON_COMPACT);
	puts(js ? js : "{}");
	free(js);
	json_decref(o);
}

int lms_cmd_generate(int argc, char **argv)
{
	struct generate_opts o = {.n = 20, .temperature = 0.8, .top_p = 0.95, .seed = 1};
	struct front_cmd cmd = {"generate", usage_text, about_text, {{generate_options, &o}}, 0, NULL};
	int first, rc = front_parse(&cmd, argc, argv, &first);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	if (argc - first > 1)
		return front_usage(_("generate takes one MODEL (see lmscope generate --help)"));
	if (first >= argc || (!o.text == !o.ids))
		return front_usage(_("generate needs MODEL and one of --text or --ids"));
	if (!(o.top_p > 0))
		return front_usage(_("--temperature must be >= 0, --top-p in (0, 1], --seed >= 0"));
	struct front_model cm;
	enum lms_status st = front_open_model(argv[first], o.tokenizer, &cm);
	if (st)
		return front_fail(st);
	int *prompt = NULL, *gen = NULL, made = 0;
	size_t np = 0;
	struct lms_sampler s = {0};
	struct sink sk = {&cm, o.json, 0};
	if (!(st = prompt_ids(&cm, &o, &prompt, &np)))
		st = lms_sampler_new(&s, cm.m->cfg.V, o.temperature, o.top_p, o.seed);
	if (!st && !(gen = malloc(((size_t)o.n + 1) * sizeof *gen)))
		st = lms_fail(LMS_ENOMEM, "out of memory");
	if (!st) {
		sk.np = np;
		if (cm.tok && !o.json) /* the prompt first, as it decodes */
			for (size_t i = 1; i <= np; i++)
				emit(&sk, prompt, i);
		struct sigaction old;
		front_sigint_catch(&old);
		if (o.n > 0)
			st = generate(cm.m, prompt, np, o.n, &s, &sk, gen, &made);
		front_sigint_restore(&old);
	}
	if (!st || st == LMS_EINTR) {
		if (o.json)
			print_json(&cm, prompt, np, gen, made);
		else
			putchar('\n');
	}
	free(prompt);
	free(gen);
	lms_sampler_free(&s);
	front_close_model(&cm);
	return st ? front_fail(st) : LMS_EXIT_OK;
}
