/* Writing a model directory so that it is always either the complete old
 * one or the complete new one: every writer (`train` and its checkpoints,
 * `convert`, `tokenizer train`) builds the new directory under a temporary
 * name beside the target (PARENT/.NAME.lmscope-PID-N), checks it (the model
 * opens, the tokenizer reads back identical), and only then swaps it in
 * with one rename: renameat2(RENAME_EXCHANGE) where the file system has it,
 * else two renames (the old directory aside, the new one in; a crash
 * between them leaves the old model under the aside name, which the next
 * writer puts back). The old directory, now under the temporary name, is
 * then removed. Nothing of the old directory survives into the new one, so
 * no stale file (an old tokenizer_config.json) can win over a new one.
 *
 * A target that exists and is not empty is replaced only with
 * LMS_STAGE_FORCE (the failure says what it holds), or with LMS_STAGE_KEEP,
 * which is for a directory the caller owns (a training run's own output,
 * between checkpoints): its entries are carried into the new directory as
 * hard links (open logs keep growing in place), except the names the
 * caller rewrites.
 *
 *     struct lms_stage s;
 *     st = lms_stage_begin(&s, "out", LMS_STAGE_FORCE, NULL);
 *     ... write files into s.dir ...
 *     st = lms_stage_commit(&s, model, tok);   checked, swapped in
 *     lms_stage_abort(&s);                     after a failure (no-op after commit)
 *
 * Staging directories left by a killed process are removed by the next
 * lms_stage_begin on the same target. */
#ifndef LMSCOPE_STAGE_H
#define LMSCOPE_STAGE_H

#include "lmscope/model.h"
#include "lmscope/tokenizer.h"

enum {
	LMS_STAGE_FORCE = 1, /* replace whatever the target holds */
	LMS_STAGE_KEEP = 2,  /* the caller's own directory: carry its entries over */
};

struct lms_stage {
	char *target; /* the directory being replaced (symbolic links resolved) */
	char *dir;    /* where the new directory is built; NULL once committed */
};

/* Creates the staging directory. skip (NULL-terminated, may be NULL) names
 * the target's top-level entries LMS_STAGE_KEEP does not carry over. */
enum lms_status lms_stage_begin(struct lms_stage *s, const char *target, int flags,
                                const char *const *skip);
/* Checks s->dir: when it holds config.json, the model opens (config and
 * tensor table; the values are not read again) with m's configuration when
 * m is given; the tokenizer it holds reads back as tok (the same kind,
 * pieces and encoding of a sample), or there is none when tok is NULL. */
enum lms_status lms_stage_check(const struct lms_stage *s, const struct lms_model *m,
                                const struct lms_tokenizer *tok);
/* lms_stage_check, then the swap; on success s->dir is NULL and the old
 * directory is gone. On failure the target is untouched. */
enum lms_status lms_stage_commit(struct lms_stage *s, const struct lms_model *m,
                                 const struct lms_tokenizer *tok);
/* Removes the staging directory (if any) and frees s. */
void lms_stage_abort(struct lms_stage *s);

#endif
