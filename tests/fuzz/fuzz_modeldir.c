/* Fuzz target: the model-directory loader (config.json + model.safetensors).
 * The input is the config text, a NUL byte, then the safetensors bytes (no
 * NUL: the whole input is the config and the weights file is empty). The
 * loader must return a status, never crash, and a model it accepts must
 * hold finite weights of the sizes its config names. */
#include <math.h>
#include <string.h>

#include "lmscope/model.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nul = memchr(data, 0, size);
	size_t clen = nul ? (size_t)(nul - data) : size;
	fuzz_write("config.json", data, clen);
	if (nul)
		fuzz_write("model.safetensors", nul + 1, size - clen - 1);
	else
		fuzz_write("model.safetensors", "", 0);
	struct lms_model *m = NULL;
	enum lms_status st = lms_model_load(fuzz_dir(), &m);
	if (st == LMS_OK) {
		if (!m)
			fuzz_die("LMS_OK without a model");
		for (size_t k = 0; k < m->n_params; k++)
			if (!isfinite(m->params[k]))
				fuzz_die("a loaded weight is not finite");
		lms_model_free(m);
	} else if (m || !*lms_errmsg()) {
		fuzz_die("a failure left a model or no message");
	}
	return 0;
}
