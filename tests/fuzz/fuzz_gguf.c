/* Fuzz target: GGUF files (io/gguf.c, io/gguf_model.c, io/gguf_tok.c). The
 * input is the whole file. Loading must return a status, never crash; a
 * model it accepts holds finite weights, and a failure leaves no model and
 * a one-line message. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "lmscope/gguf.h"
#include "nn/wmat.h"
#include "fuzz.h"

/* Every value of every tensor, as stored (typed models keep their
 * matrices in the file), converts to a finite float. */
static void check_finite(const struct lms_model *m)
{
	for (int i = 0; i < m->n_tensors; i++) {
		const struct lms_wmat *w = &m->wm[i];
		float *row = malloc((size_t)w->cols * sizeof(float));
		if (!row)
			fuzz_die("out of memory");
		for (int r = 0; r < w->rows; r++) {
			lms_wmat_row(row, w, r);
			for (int k = 0; k < w->cols; k++)
				if (!isfinite(row[k]))
					fuzz_die("a loaded weight is not finite");
		}
		free(row);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *path = fuzz_write("m.gguf", data, size);
	struct lms_model *m = NULL;
	struct lms_tokenizer *tok = NULL;
	enum lms_status st = lms_gguf_load(path, &m, &tok);
	if (st == LMS_OK) {
		if (!m)
			fuzz_die("LMS_OK without a model");
		check_finite(m);
		lms_model_free(m);
		lms_tokenizer_free(tok);
	} else if (m || tok || !*lms_errmsg() || strchr(lms_errmsg(), '\n')) {
		fuzz_die("a failure left a model, no message or several lines");
	}
	return 0;
}
