/* A training run's snapshots: small copies of the model (weights only, F16)
 * taken every N updates, for watching a model learn. They live inside the
 * model directory DIR:
 *
 *   DIR/snapshots/step-000100/    config.json + model.safetensors (F16),
 *                                 the Hugging Face layout: any command opens
 *                                 one as a model (the tokenizer is DIR's)
 *   DIR/snapshots/index.json      [{"step": 100, "tokens": 102400,
 *                                   "train_loss": 4.21, "valid_loss": 4.37,
 *                                   "path": "step-000100"}, ...]
 *
 * in step order: step (updates done, strictly increasing), tokens (training
 * tokens seen, never decreasing), train_loss (that update's loss),
 * valid_loss (the validation loss then, null without a validation set) and
 * path (the snapshot's directory, a name inside DIR/snapshots/). Each
 * snapshot is written through a staging directory (lmscope/stage.h) and
 * the index atomically after it, so the index only ever names complete
 * snapshots. A checkpoint's replacement of DIR carries snapshots/ over. */
#ifndef LMSCOPE_SNAPSHOTS_H
#define LMSCOPE_SNAPSHOTS_H

#include "lmscope/model.h"

struct lms_snapshot {
	long step;         /* updates done when it was taken */
	long tokens;       /* training tokens seen by then */
	double train_loss; /* the loss of update `step` */
	double valid_loss; /* the validation loss at that step; NaN: none */
	char *dir;         /* DIR/snapshots/NAME (malloc'd; NULL in what lms_snapshot_add is given) */
};

/* A directory's snapshots, in step order; owns v and every v[i].dir. */
struct lms_snapshots {
	struct lms_snapshot *v; /* (n) */
	int n;
};

/* Reads and checks DIR/snapshots/index.json: every entry as the header
 * says, its directory there. A directory without the index has no
 * snapshots (n = 0). Errors name the index: "DIR/snapshots/index.json:
 * entry 3: step 20 does not follow step 30" (entries counted from 1). */
enum lms_status lms_snapshots_read(const char *dir, struct lms_snapshots *out);
void lms_snapshots_free(struct lms_snapshots *s);

/* Saves m (F16) as DIR/snapshots/step-NNNNNN and lists it in the index
 * with what meta says (its dir ignored), after the entries before
 * meta->step (later ones, left by a run resumed from an earlier
 * checkpoint, are dropped). */
enum lms_status lms_snapshot_add(const char *dir, const struct lms_model *m,
                                 const struct lms_snapshot *meta);
/* Drops the index entries past step (a run resumed from the checkpoint at
 * step redoes them); their directories stay until they are replaced. */
enum lms_status lms_snapshots_truncate(const char *dir, long step);

#endif
