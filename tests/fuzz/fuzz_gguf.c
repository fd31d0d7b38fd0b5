/* Fuzz target: GGUF files (io/gguf.c, io/gguf_model.c, io/gguf_tok.c). The
 * input is the whole file. Loading must return a status, never crash; a
 * model it accepts holds finite weights, and a failure leaves no model and
 * a one-line message. */
#include <math.h>
#include <string.h>

#include "lmscope/gguf.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_write("m.gguf", data, size);
	struct lms_model *m = NULL;
	struct lms_tokenizer *tok = NULL;
	enum lms_status st = lms_gguf_load(path, &m, &tok);
	if (st == LMS_OK) {
		if (!m)
			fuzz_die("LMS_OK without a model");
		for (size_t k = 0; k < m->n_params; k++)
			if (!isfinite(m->params[k]))
				fuzz_die("a loaded weight is not finite");
		lms_model_free(m);
		lms_tokenizer_free(tok);
	} else if (m || tok || !*lms_errmsg() || strchr(lms_errmsg(), '\n')) {
		fuzz_die("a failure left a model, no message or several lines");
	}
	return 0;
}
