/* lmscope convert MODEL [--tokenizer FILE] -o DIR [--f16]: writes a model as
 * a model directory. The main use is llama2.c's files: MODEL.bin becomes
 * config.json with Hugging Face's Llama keys and model.safetensors with its
 * tensor names (q_proj and k_proj in Hugging Face's rotary layout, see
 * include/lmscope/llama2c.h), and the tokenizer.bin named by --tokenizer is
 * copied beside them. Any model lmscope opens converts the same way.
 * An output path ending in .gguf writes a GGUF file instead, its matrices
 * stored as --type says (lmscope/gguf.h). */
#include <string.h>

#include "cli.h"
#include "lmscope/gguf.h"

static const char usage_text[] =
	"usage: lmscope convert MODEL [--tokenizer FILE] -o DIR|FILE.gguf [--f16] [--type T]\n"
	"  MODEL             a model directory, GGUF file or llama2.c checkpoint (.bin)\n"
	"  --tokenizer FILE  the model's tokenizer (llama2.c's tokenizer.bin)\n"
	"  -o DIR            the model directory to write (created if missing)\n"
	"  -o FILE.gguf      a GGUF file instead (Llama-family models)\n"
	"  --f16             store the weights as float16 (default float32)\n"
	"  --type T          GGUF matrix storage: F32, F16, BF16, Q8_0, Q4_0, Q4_1,\n"
	"                    Q5_0, Q5_1, Q4_K, Q5_K, Q6_K or Q4_K_M (default F32,\n"
	"                    F16 with --f16)\n";

static int is_gguf_path(const char *p)
{
	size_t n = strlen(p);
	return n > 5 && !strcmp(p + n - 5, ".gguf");
}

int lms_cmd_convert(int argc, char **argv)
{
	const char *path = NULL, *tokpath = NULL, *out = NULL, *type = NULL;
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
		else if (!strcmp(a, "--type") && more)
			type = argv[++i];
		else if (a[0] == '-')
			return front_usage("convert: unknown option or missing value: %s", a);
		else if (!path)
			path = a;
		else
			return front_usage("convert: one model at a time");
	}
	if (!path || !out)
		return front_usage("convert: which model, and where? (lmscope convert MODEL -o DIR)");
	int gguf = is_gguf_path(out);
	if (type && (!gguf || !lms_gguf_type_known(type)))
		return front_usage(gguf ? "convert: unknown --type %s" : "convert: --type %s needs -o FILE.gguf",
		                   type);
	struct front_model cm;
	enum lms_status st = front_open_model(path, tokpath, &cm);
	if (st)
		return front_fail(st);
	if (gguf)
		st = lms_gguf_save(cm.m, out, type ? type : f16 ? "F16" : "F32");
	else
		st = lms_model_save(cm.m, out, f16);
	if (!st && cm.tok && !gguf)
		st = lms_tokenizer_save(cm.tok, out);
	if (!st)
		printf("%s: %s, %zu parameters%s\n", out, lms_arch_name(cm.m->cfg.arch), cm.m->n_params,
		       !cm.tok ? "" : gguf ? ", without its tokenizer (GGUF output holds the model only)"
		                           : ", with its tokenizer");
	front_close_model(&cm);
	return st ? front_fail(st) : LMS_EXIT_OK;
}
