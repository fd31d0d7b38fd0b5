/* lmscope info MODEL: architecture, sizes and parameter count. */
#include <string.h>

#include "front/i18n.h"
#include "cli.h"
#include "front/opts.h"

struct info_opts {
	const char *tokenizer;
};

static const struct front_opt info_options[] = {
	FRONT_FILE("tokenizer", 0, "FILE", N_("the tokenizer to use instead of the model's own"),
               struct info_opts, tokenizer),
	FRONT_END};

int lms_cmd_info(int argc, char **argv)
{
	struct info_opts o = {0};
	struct front_cmd cmd = {
		"info", N_("usage: lmscope info MODEL [options]\n"), NULL, {{info_options, &o}}, 0, NULL};
	int i, rc = front_parse(&cmd, argc, argv, &i);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	if (i >= argc)
		return front_usage(_("info: which model? (lmscope info MODEL)"));
	if (argc - i > 1)
		return front_usage(_("info: one model at a time"));
	const char *path = argv[i], *tokpath = o.tokenizer;
	struct front_model cm;
	enum lms_status st = front_open_model(path, tokpath, &cm);
	if (st)
		return front_fail(st);
	const struct lms_config *c = &cm.m->cfg;
	printf("model:        %s\n", cm.path);
	printf("architecture: %s\n", lms_model_type(c));
	printf("layers:       %d\n", c->L);
	printf("width:        %d\n", c->C);
	printf("hidden:       %d\n", c->H);
	if (!lms_arch_is_recurrent(c->arch)) {
		printf("heads:        %d\n", c->NH);
		if (c->KV != c->NH)
			printf("kv heads:     %d\n", c->KV);
	}
	printf("context:      %d\n", c->maxT);
	printf("vocabulary:   %d\n", c->V);
	printf("parameters:   %zu\n", cm.m->n_params);
	if (c->arch == LMS_LLAMA)
		printf("rope theta:   %g\n", (double)c->rope_theta);
	if (!lms_arch_is_recurrent(c->arch))
		printf("norm eps:     %g\n", (double)c->eps);
	if (cm.tok) {
		static const char *const kinds[] = {
			[LMS_TOK_WORD] = "word-level",
			[LMS_TOK_CHAR] = "character-level",
			[LMS_TOK_BPE] = "byte-level BPE",
			[LMS_TOK_SPM] = "sentencepiece BPE",
		};
		enum lms_tok_kind k = lms_tokenizer_kind(cm.tok);
		printf("tokenizer:    %s, %d tokens\n", (unsigned)k < 4 ? kinds[k] : "unknown",
		       lms_tokenizer_vocab_size(cm.tok));
	} else
		printf("tokenizer:    none (tokens shown by id)\n");
	front_close_model(&cm);
	return LMS_EXIT_OK;
}
