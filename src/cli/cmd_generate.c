/* lmscope generate MODEL (--text PROMPT | --ids 1,2,3) [-n N] [--temperature T]
 * [--top-p P] [--seed S] [--json]: continues a prompt. Each new token costs
 * one position: the run keeps the prefix (KV cache or recurrent state) and
 * lms_forward computes only the appended position. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "lmscope/sample.h"

static const char usage_text[] =
	"usage: lmscope generate MODEL (--text PROMPT | --ids 1,2,3) [options]\n"
	"  -n N              tokens to generate (20)\n"
	"  --temperature T   0 is greedy (default 0.8)\n"
	"  --top-p P         sample from the smallest set of tokens with mass >= P (0.95)\n"
	"  --seed S          sampling seed (1)\n"
	"  --tokenizer FILE  the tokenizer to use instead of the model's own\n"
	"  --json            print {\"prompt_ids\", \"ids\", \"tokens\", \"text\"}\n";

static int parse_num(const char *opt, const char *v, double *out)
{
	char *end;
	double x = strtod(v, &end);
	if (end == v || *end || !isfinite(x))
		return front_usage("%s wants a number, not '%s'", opt, v);
	*out = x;
	return 0;
}

/* Generates n ids after the prompt into out. */
static enum lms_status generate(const struct lms_model *m, const int *prompt, size_t np, int n,
                                struct lms_sampler *s, int *out)
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
	size_t len = np;   /* tokens in seq */
	size_t win = 0;    /* seq[win .. len) is in the run */
	int have = 0;      /* positions of the window already computed */
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
	}
	free(seq);
	lms_run_free(r);
	return st;
}

int lms_cmd_generate(int argc, char **argv)
{
	const char *path = NULL, *text = NULL, *idlist = NULL, *tokpath = NULL;
	long n = 20;
	double temperature = 0.8, top_p = 0.95, seed = 1;
	int json = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return LMS_EXIT_OK;
		}
		if (!strcmp(a, "--json")) { json = 1; continue; }
		if (a[0] != '-') {
			if (path)
				return front_usage("generate takes one MODEL (see lmscope generate --help)");
			path = a;
			continue;
		}
		if (i + 1 >= argc)
			return front_usage("%s wants a value", a);
		const char *v = argv[++i];
		int rc = 0;
		double x = 0;
		if (!strcmp(a, "--text")) text = v;
		else if (!strcmp(a, "--ids")) idlist = v;
		else if (!strcmp(a, "--tokenizer")) tokpath = v;
		else if (!strcmp(a, "-n")) {
			char *end;
			errno = 0;
			n = strtol(v, &end, 10);
			if (end == v || *end || errno || n < 0 || n > 1000000)
				return front_usage("-n wants a count from 0 to 1000000");
		}
		else if (!strcmp(a, "--temperature")) { rc = parse_num(a, v, &x); temperature = x; }
		else if (!strcmp(a, "--top-p")) { rc = parse_num(a, v, &x); top_p = x; }
		else if (!strcmp(a, "--seed")) { rc = parse_num(a, v, &x); seed = x; }
		else
			return front_usage("unknown option %s (see lmscope generate --help)", a);
		if (rc)
			return rc;
	}
	if (!path || (!text == !idlist))
		return front_usage("generate needs MODEL and one of --text or --ids");
	if (!(temperature >= 0) || !(top_p > 0 && top_p <= 1) || seed < 0)
		return front_usage("--temperature must be >= 0, --top-p in (0, 1], --seed >= 0");
	struct front_model cm;
	enum lms_status st = front_open_model(path, tokpath, &cm);
	if (st)
		return front_fail(st);
	int *prompt = NULL, *gen = NULL;
	size_t np = 0;
	if (idlist) {
		if (!cli_parse_ids(idlist, &prompt, &np)) {
			front_close_model(&cm);
			return front_usage("--ids wants a comma-separated list of token ids");
		}
	} else if (!cm.tok) {
		st = lms_fail(LMS_EARG, "%s: the model has no tokenizer; use --ids", path);
	} else {
		st = lms_tokenizer_encode_input(cm.tok, text, strlen(text), &prompt, &np, NULL, NULL);
		if (!st && !np) {
			int bos = lms_tokenizer_bos(cm.tok);
			free(prompt);
			prompt = NULL;
			if (bos < 0 || !(prompt = malloc(sizeof *prompt)))
				st = lms_fail(LMS_EARG, "the prompt has no tokens");
			else
				prompt[np++] = bos;
		}
	}
	for (size_t i = 0; !st && i < np; i++)
		if (prompt[i] < 0 || prompt[i] >= cm.m->cfg.V)
			st = lms_fail(LMS_EARG, "token id %d outside the vocabulary (0 to %d)", prompt[i],
			              cm.m->cfg.V - 1);
	struct lms_sampler s = {0};
	if (!st)
		st = lms_sampler_new(&s, cm.m->cfg.V, temperature, top_p, (uint64_t)seed);
	if (!st && !(gen = malloc(((size_t)n + 1) * sizeof *gen)))
		st = lms_fail(LMS_ENOMEM, "out of memory");
	if (!st && n > 0)
		st = generate(cm.m, prompt, np, (int)n, &s, gen);
	char *out = NULL;
	if (!st && cm.tok)
		st = lms_tokenizer_decode(cm.tok, gen, (size_t)n, &out, NULL);
	if (!st) {
		char buf[32];
		if (json) {
			json_t *pj = json_array(), *ij = json_array(), *tj = json_array();
			for (size_t i = 0; i < np; i++)
				json_array_append_new(pj, json_integer(prompt[i]));
			for (long i = 0; i < n; i++) {
				json_array_append_new(ij, json_integer(gen[i]));
				json_array_append_new(tj, json_string(front_token_str(&cm, gen[i], buf, sizeof buf)));
			}
			json_t *o = json_pack("{s:o, s:o, s:o}", "prompt_ids", pj, "ids", ij, "tokens", tj);
			if (out)
				json_object_set_new(o, "text", json_string(out));
			char *js = json_dumps(o, JSON_COMPACT);
			puts(js ? js : "{}");
			free(js);
			json_decref(o);
		} else if (out) {
			/* the prompt and its continuation decoded together: natural spacing */
			int *all = malloc((np + (size_t)n) * sizeof *all);
			char *whole = NULL;
			if (all) {
				memcpy(all, prompt, np * sizeof *all);
				memcpy(all + np, gen, (size_t)n * sizeof *all);
				if (lms_tokenizer_decode(cm.tok, all, np + (size_t)n, &whole, NULL) != LMS_OK)
					whole = NULL;
			}
			puts(whole ? whole : out);
			free(whole);
			free(all);
		} else {
			for (long i = 0; i < n; i++)
				printf("%s%d", i ? "," : "", gen[i]);
			printf("\n");
		}
	}
	free(out);
	free(prompt);
	free(gen);
	lms_sampler_free(&s);
	front_close_model(&cm);
	return st ? front_fail(st) : LMS_EXIT_OK;
}
