/* Fuzz target: llama2.c's checkpoint loader. The input is the whole .bin
 * file. A header with absurd sizes or a file of the wrong length must be
 * refused with a message before anything large is allocated. */
#include "lmscope/llama2c.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lms_model *m = NULL;
	enum lms_status st = lms_llama2c_load(fuzz_write("model.bin", data, size), &m);
	if (st == LMS_OK) {
		if (!m || m->cfg.arch != LMS_LLAMA)
			fuzz_die("LMS_OK without a Llama model");
		lms_model_free(m);
	} else if (m || !*lms_errmsg()) {
		fuzz_die("a failure left a model or no message");
	}
	return 0;
}
