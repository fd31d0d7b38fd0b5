/* lmscope convert MODEL [--tokenizer FILE] -o DIR [--f16]: writes a model as
 * a model directory. The main use is llama2.c's files: MODEL.bin becomes
 * config.json with Hugging Face's Llama keys and model.safetensors with its
 * tensor names (q_proj and k_proj in Hugging Face's rotary layout, see
 * include/lmscope/llama2c.h), and the tokenizer.bin named by --tokenizer is
 * copied beside them. Any model lmscope opens converts the same way.
 * An output path ending in .gguf writes a GGUF file instead, its matrices
 * stored as --type says (lmscope/gguf.h). */
#include <string.h>

#include "front/i18n.h"
#include "cli.h"
#include "lmscope/stage.h"
#include "front/opts.h"
#include "lmscope/gguf.h"

struct convert_opts {
	const char *tokenizer, *out, *type;
	int f16, force;
};

static const struct front_opt convert_options[] = {
	FRONT_FILE("tokenizer", 0, "FILE", N_("the model's tokenizer (llama2.c's tokenizer.bin)"),
               struct convert_opts, tokenizer),
	FRONT_STR("output", 'o', "DIR",
              N_("the model directory to write (created if missing), or FILE.gguf"),
              struct convert_opts, out),
	FRONT_FLAG("f16", 0, N_("store the weights as float16 (default float32)"), struct convert_opts,
               f16, 1),
	FRONT_FLAG("force", 0, N_("replace what DIR holds (another model)"), struct convert_opts, force,
               1),
	FRONT_STR("type", 0, "T",
              N_("GGUF matrix storage: F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q4_K, "
                 "Q5_K, Q6_K or Q4_K_M (default F32, F16 with --f16)"),
              struct convert_opts, type),
	FRONT_END};

static const char usage_text[] =
	N_("usage: lmscope convert MODEL [--tokenizer FILE] -o DIR|FILE.gguf [--f16] [--force] [--type "
       "T]\n"
       "MODEL is a model directory, a GGUF file or a llama2.c checkpoint (.bin).\n"
       "An output ending in .gguf writes a GGUF file (Llama-family models).\n");

static int is_gguf_path(const char *p)
{
	size_t n = strlen(p);
	return n > 5 && !strcmp(p + n - 5, ".gguf");
}

int lms_cmd_convert(int argc, char **argv)
{
	struct convert_opts o = {0};
	struct front_cmd cmd = {"convert", usage_text, NULL, {{convert_options, &o}}, 0, NULL};
	int i, rc = front_parse(&cmd, argc, argv, &i);
	if (rc)
		return rc < 0 ? LMS_EXIT_OK : rc;
	if (argc - i > 1)
		return front_usage(_("convert: one model at a time"));
	const char *path = i < argc ? argv[i] : NULL, *tokpath = o.tokenizer, *out = o.out;
	int f16 = o.f16;
	if (!path || !out)
		return front_usage(_("convert: which model, and where? (lmscope convert MODEL -o DIR)"));
	int gguf = is_gguf_path(out);
	const char *type = o.type;
	if (type && (!gguf || !lms_gguf_type_known(type)))
		return front_usage(
			gguf ? "convert: unknown --type %s" : "convert: --type %s needs -o FILE.gguf", type);
	/* a GGUF file is written atomically; DIR is built beside itself and
	 * swapped in whole (lmscope/stage.h) */
	struct lms_stage stage;
	enum lms_status st =
		gguf ? LMS_OK : lms_stage_begin(&stage, out, o.force ? LMS_STAGE_FORCE : 0, NULL);
	if (st)
		return front_fail(st);
	struct front_model cm;
	st = front_open_model(path, tokpath, &cm);
	if (st) {
		if (!gguf)
			lms_stage_abort(&stage);
		return front_fail(st);
	}
	if (gguf) {
		st = lms_gguf_save(cm.m, out, type ? type : f16 ? "F16" : "F32");
	} else {
		st = lms_model_save(cm.m, stage.dir, f16);
		if (!st && cm.tok)
			st = lms_tokenizer_save(cm.tok, stage.dir);
		if (!st)
			st = lms_stage_commit(&stage, cm.m, cm.tok);
		lms_stage_abort(&stage);
	}
	if (!st)
		printf("%s: %s, %zu parameters%s\n", out, lms_arch_name(cm.m->cfg.arch), cm.m->n_params,
		       !cm.tok ? ""
		       : gguf  ? ", without its tokenizer (GGUF output holds the model only)"
		               : ", with its tokenizer");
	front_close_model(&cm);
	return st ? front_fail(st) : LMS_EXIT_OK;
}
