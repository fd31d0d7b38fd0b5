/* Measuring a lesson's `expect` claims (lesson.h) on a model, with the
 * engine directly: the same calls `lmscope explain` and `lmscope eval`
 * make. Used by `lmscope lesson --check` and by the lesson player. */
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
                          const struct lesson *ls, int k, const struct lesson_expect *e,
                          char *out, size_t size);

#endif
