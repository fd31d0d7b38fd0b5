/* lmscope convert MODEL [--tokenizer FILE] -o DIR [--f16]: writes a model as
 * a model directory. The main use is llama2.c's files: MODEL.bin becomes
 * config.json with Hugging Face's Llama keys and model.safetensors with its
 * tensor names (q_proj and k_proj in Hugging Face's rotary layout, see
 * include/lmscope/llama2c.h), and the tokenizer.bin named by --tokenizer is
 * copied beside them. Any model lmscope opens converts the same way. */
#include <string.h>

#include "cli.h"

static const char usage_text[] =
	"usage: lmscope convert MODEL [--tokenizer FILE] -o DIR [--f16]\n"
	"  MODEL             a llama2.c checkpoint (.bin) or a model directory\n"
	"  --tokenizer FILE  the model's tokenizer (llama2.c's tokenizer.bin)\n"
	"  -o DIR            the model directory to write (created if missing)\n"
	"  --f16             store the weights as float16 (default float32)\n";

int lms_cmd_convert(int argc, char **argv)
{
	const char *path = NULL, *tokpath = NULL, *out = NULL;
	int f16 = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int more = i + 1 < argc;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return LMS_EXIT_OK;
		} else if (!strcmp(a, "--tokenizer") && more)
			tokpath = argv[++i];
		else if (!strcmp(a, "-o") && more)
			out = argv[++i];
		else if (!strcmp(a, "--f16"))
			f16 = 1;
		else if (a[0] == '-')
			return front_usage("convert: unknown option or missing value: %s", a);
		else if (!path)
			path = a;
		else
			return front_usage("convert: one model at a time");
	}
	if (!path || !out)
		return front_usage("convert: which model, and where? (lmscope convert MODEL -o DIR)");
	struct front_model cm;
	enum lms_status st = front_open_model(path, tokpath, &cm);
	if (st)
		return front_fail(st);
	st = lms_model_save(cm.m, out, f16);
	if (!st && cm.tok)
		st = lms_tokenizer_save(cm.tok, out);
	if (!st)
		printf("%s: %s, %zu parameters%s\n", out, lms_arch_name(cm.m->cfg.arch), cm.m->n_params,
		       cm.tok ? ", with its tokenizer" : "");
	front_close_model(&cm);
	return st ? front_fail(st) : LMS_EXIT_OK;
}
