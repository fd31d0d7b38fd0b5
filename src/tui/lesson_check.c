/* `lmscope lesson FILE [MODEL] --check`: a lesson's expect lines measured
 * on a model without the screen, one line each, so a teacher can grade a
 * folder of models in a shell loop:
 *   ✓ predict.lesson:12: top1 "earth": top1 "earth" (p 0.048)
 *   ✗ predict.lesson:13: prob earth > 0.5: p("earth") = 0.048 */
#include <locale.h>
#include <stdio.h>
#include <unistd.h>

#include "front/i18n.h"
#include "front/front.h"
#include "lesson.h"
#include "lesson_expect.h"

/* Prints one line per expectation; returns how many did not hold. The lines
 * are data a script compares, so they stay English whatever LANG says: the
 * measurements (lesson_expect's notes and the engine's messages, which the
 * explorer shows translated) are taken with this thread's LC_MESSAGES "C". */
static int check_all(const struct front_model *cm, const struct lesson *ls, const char *name)
{
	locale_t base = duplocale(LC_GLOBAL_LOCALE);
	locale_t english = base ? newlocale(LC_MESSAGES_MASK, "C", base) : (locale_t)0;
	if (!english && base)
		freelocale(base);
	locale_t old = english ? uselocale(english) : (locale_t)0;
	int failed = 0, n = 0;
	for (int k = 0; k < ls->n; k++)
		for (int j = 0; j < ls->steps[k].n_expect; j++, n++) {
			const struct lesson_expect *e = &ls->steps[k].expect[j];
			char got[400];
			int rc = lesson_expect_measure(cm->m, cm->tok, ls, k, e, got, sizeof got);
			failed += rc != EXPECT_HOLDS;
			printf("%s %s:%d: %s: %s%s\n", rc == EXPECT_HOLDS ? "✓" : "✗", name, e->line, e->src,
			       rc == EXPECT_UNMEASURED ? "not measured: " : "", got);
		}
	if (!n)
		printf("%s: no expect lines to check\n", name);
	if (english) {
		uselocale(old);
		freelocale(english);
	}
	return failed;
}

int tui_lesson_check_run(const char *lesson, const char *model, const char *tokenizer)
{
	struct lesson ls;
	char err[600], buf[1024];
	if (!tui_lesson_load(lesson, &ls, err, sizeof err)) {
		fprintf(stderr, "lmscope: %s\n", err);
		return access(lesson, R_OK) != 0 ? LMS_EXIT_IO : LMS_EXIT_FORMAT;
	}
	if (!model)
		model = tui_lesson_model(lesson, ls.model, buf, sizeof buf);
	if (!model) {
		tui_lesson_free(&ls);
		return front_usage(_("%s names no model: give one after the lesson file"), lesson);
	}
	struct front_model cm;
	enum lms_status st = front_open_model(model, tokenizer, &cm);
	if (st) {
		tui_lesson_free(&ls);
		return front_fail(st);
	}
	int failed = check_all(&cm, &ls, lesson);
	front_close_model(&cm);
	tui_lesson_free(&ls);
	return failed ? LMS_EXIT_FAIL : LMS_EXIT_OK;
}
