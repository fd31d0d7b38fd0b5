/* The explorer's activation patching (engine side): the context as the
 * clean run, the corrupted line as the corrupt run, every (layer, position)
 * and head patched from clean into corrupt by lms_patch_sweep (interp.h),
 * as `lmscope patch` computes it: the target is the clean run's top token,
 * the contrast the corrupt run's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front/i18n.h"
#include "engine.h"
#include "lmscope/interp.h"

void tui_engine_patch(struct tui_engine *e, const struct tui_request *rq)
{
	struct tui_view *v = &e->cur;
	v->have_patch = 0;
	v->patch_note[0] = '\0';
	if (!rq->corrupt[0]) {
		snprintf(v->patch_note, sizeof v->patch_note, "%s", _("no corrupted context: C edits it"));
		return;
	}
	if (!e->tm->tok) {
		snprintf(v->patch_note, sizeof v->patch_note, "%s",
		         _("patching needs the model's tokenizer"));
		return;
	}
	if (v->cut) {
		snprintf(v->patch_note, sizeof v->patch_note, "%s",
		         _("the context is longer than the model's"));
		return;
	}
	int *ids = NULL;
	size_t n = 0, *off = NULL;
	if (lms_tokenizer_encode_input(e->tm->tok, rq->corrupt, strlen(rq->corrupt), &ids, &n, &off,
	                               NULL)) {
		snprintf(v->patch_note, sizeof v->patch_note, _("corrupted context: %s"), lms_errmsg());
		free(ids);
		free(off);
		return;
	}
	if ((int)n != v->n)
		snprintf(v->patch_note, sizeof v->patch_note,
		         _("the contexts differ in length: clean %d tokens, corrupted %zu"), v->n, n);
	else if (lms_patch_result_free(&v->patch),
	         lms_patch_sweep(e->tm->m, v->ids, ids, v->n, -1, -1, &v->patch))
		snprintf(v->patch_note, sizeof v->patch_note, "%s", lms_errmsg());
	else
		v->have_patch = 1;
	free(ids);
	free(off);
}
