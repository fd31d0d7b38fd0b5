/* `lmscope tokenize PATH (--text TEXT | FILE) [--json] [--bos]`: the tokens
 * and ids of a text under the tokenizer of a model (or tokenizer) directory;
 * the raw encoding, or with --bos the model input the other commands feed. */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "front/i18n.h"
#include "cli.h"
#include "lmscope/gguf.h"
#include "lmscope/dataset.h"

struct tokenize_opts {
	const char *text;
	int json, bos;
};

static const struct front_opt tokenize_options[] = {
	FRONT_STR("text", 0, "TEXT", N_("the text to tokenize (instead of FILE)"), struct tokenize_opts,
              text),
	FRONT_FLAG("json", 0, N_("print {\"ids\": [...], \"tokens\": [...], \"offsets\": [...]}"),
               struct tokenize_opts, json, 1),
	FRONT_FLAG("bos", 0,
               N_("as model input: BOS first when the tokenizer's models expect it\n"
                  "(llama2.c's tokenizer.bin), as explain, generate and eval do"),
               struct tokenize_opts, bos, 1),
	FRONT_END};

static const char usage_text[] =
	N_("usage: lmscope tokenize PATH (--text TEXT | FILE) [--json] [--bos]\n");
static const char about_text[] =
	N_("PATH is a model or tokenizer directory or a GGUF file; FILE the text to\n"
       "tokenize (- for standard input), read as bytes.\n"
       "Without --json, one token a line: its id, a tab, its text as a JSON string.\n");

static void print_string(const struct lms_tokenizer *tok, int id)
{
	size_t n;
	const char *s = lms_tokenizer_piece_n(tok, id, &n);
	json_t *j = json_stringn(s, n);
	char *q = j ? json_dumps(j, JSON_ENCODE_ANY) : NULL;
	fputs(q ? q : "\"\"", stdout);
	free(q);
	json_decref(j);
}

int lms_cmd_tokenize(int argc, char **argv)
{
	struct tokenize_opts o = {0};
	struct front_cmd cmd = {"tokenize", usage_text, about_text, {{tokenize_options, &o}}, 0, NULL};
	int first, rc = front_parse(&cmd, argc, argv, &first);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	if (argc - first > 2)
		return front_usage(_("tokenize: too many arguments (see lmscope tokenize --help)"));
	const char *path = first < argc ? argv[first] : NULL, *text = o.text;
	const char *file = first + 1 < argc ? argv[first + 1] : NULL;
	int as_json = o.json, bos = o.bos;
	if (!path || (!text == !file))
		return front_usage(_("tokenize: give PATH and either --text TEXT or FILE (see --help)"));
	char *data = NULL;
	size_t len = 0;
	enum lms_status st;
	if (file) {
		if (strcmp(file, "-"))
			st = lms_read_file(file, &data, &len);
		else
			st = lms_read_stream(stdin, "-", LMS_READ_MAX, &data, &len);
		if (st)
			return front_fail(st);
	}
	struct lms_tokenizer *tok;
	st = lms_gguf_is(path) ? lms_gguf_load_tokenizer(path, &tok) : lms_tokenizer_load(path, &tok);
	if (st) {
		free(data);
		return front_fail(st);
	}
	if (!tok) {
		free(data);
		fprintf(stderr, _("lmscope: %s: no tokenizer files (see lmscope(1), TOKENIZER FILES)\n"),
		        path);
		return LMS_EXIT_FORMAT;
	}
	int *ids;
	size_t n, *offs;
	struct lms_tok_stats stats;
	st = (bos ? lms_tokenizer_encode_input : lms_tokenizer_encode)(
		tok, file ? data : text, file ? len : strlen(text), &ids, &n, &offs, &stats);
	free(data);
	if (st) {
		lms_tokenizer_free(tok);
		return front_fail(st);
	}
	if (as_json) {
		fputs("{\"ids\": [", stdout);
		for (size_t i = 0; i < n; i++)
			printf("%s%d", i ? ", " : "", ids[i]);
		fputs("], \"tokens\": [", stdout);
		for (size_t i = 0; i < n; i++) {
			fputs(i ? ", " : "", stdout);
			print_string(tok, ids[i]);
		}
		fputs("], \"offsets\": [", stdout);
		for (size_t i = 0; i < n; i++)
			printf("%s%zu", i ? ", " : "", offs[i]);
		printf("], \"unk\": %zu, \"replaced\": %zu}\n", stats.unk, stats.replaced);
	} else {
		for (size_t i = 0; i < n; i++) {
			printf("%d\t", ids[i]);
			print_string(tok, ids[i]);
			putchar('\n');
		}
		if (stats.unk || stats.replaced)
			fprintf(stderr, _("lmscope: %zu tokens, %zu <unk>, %zu invalid UTF-8 bytes replaced\n"),
			        n, stats.unk, stats.replaced);
	}
	free(ids);
	free(offs);
	lms_tokenizer_free(tok);
	return LMS_EXIT_OK;
}
