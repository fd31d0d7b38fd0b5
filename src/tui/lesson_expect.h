/* Measuring a lesson's `expect` claims (lesson.h) on a model, with the
 * engine directly: the same calls `lmscope explain` and `lmscope eval`
 * make. Used by `lmscope lesson --check` and, through lesson_live.c, by
 * the lesson player. */
#ifndef LMS_TUI_LESSON_EXPECT_H
#define LMS_TUI_LESSON_EXPECT_H

#include <stddef.h>

#include "lesson.h"

struct lms_model;
struct lms_tokenizer;

enum { EXPECT_FAILS = 0, EXPECT_HOLDS = 1, EXPECT_UNMEASURED = -1 };

/* Measures e, an expectation of step k of ls, on m (with tok; NULL: none):
 * on the context, method, target, contrast and ablated heads the steps up
 * to k leave (a ppl file is read under the ablation too).
 * Returns EXPECT_HOLDS or EXPECT_FAILS with what was measured in out
 * ("top1 \"no\" (p 0.317)"), or EXPECT_UNMEASURED with why in out. */
int lesson_expect_measure(const struct lms_model *m, const struct lms_tokenizer *tok,
                          const struct lesson *ls, int k, const struct lesson_expect *e, char *out,
                          size_t size);

/* ---- lesson_live.c: the claims of the step shown, measured while a lesson
 * plays, on a thread of their own ------------------------------------------- */
enum { LIVE_PENDING = -2 }; /* not measured yet */
struct tui_live;
/* Starts the thread for ls on m (and tok); m, tok and ls must outlive it.
 * NULL on failure. */
struct tui_live *tui_live_new(const struct lms_model *m, const struct lms_tokenizer *tok,
                              const struct lesson *ls);
/* The step shown: its claims not yet measured are measured next (a claim
 * measured once keeps its result). */
void tui_live_want(struct tui_live *lv, int k);
/* Claim j of step k: EXPECT_* with what was measured in out, or
 * LIVE_PENDING. */
int tui_live_get(struct tui_live *lv, int k, int j, char *out, size_t size);
/* Counts results as they arrive, so the caller can tell when to redraw. */
unsigned tui_live_gen(struct tui_live *lv);
/* Whether a claim of step k still waits for its measurement. */
int tui_live_pending(struct tui_live *lv, int k);
/* Ends the thread and frees lv (NULL: nothing). Returns 0, freeing
 * nothing, when a measurement is still running after wait_ms: it uses the
 * model and the lesson until it ends. */
int tui_live_stop(struct tui_live *lv, int wait_ms);

#endif
