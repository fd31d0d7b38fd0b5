/* lesson.c: lesson files parsed into steps, every malformed case reported
 * with its file and line, and the writer's output read back unchanged. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "tui/lesson.h"
#include "tui/session.h"
#include "testutil.h"

static const char good[] = "# a lesson\n"
						   "title   Chain rule\n"
						   "model   kjv-transformer\n"
						   "compare kjv-lstm\n"
						   "theme light\n"
						   "speed 20\n"
						   "\n"
						   "step First\n"
						   "caption   One line.  \n"
						   "caption \"  Two, with blanks \\\"kept\\\"  \"\n"
						   "context In the beginning\n"
						   "type \" God\"\n"
						   "focus candidates\n"
						   "candidate 2\n"
						   "method occlusion\n"
						   "head 1 0\n"
						   "mean off\n"
						   "view query\n"
						   "query -1\n"
						   "pin on\n"
						   "present on\n"
						   "ablate 1.0,1.1,0.mlp\n"
						   "score induction\n"
						   "corrupt \" the keys  to the\"\n"
						   "\r\n"
						   "step\r\n"
						   "layer 3\n"
						   "target created\n"
						   "contrast off\n"
						   "theme dark\n"
						   "ablate off\n"
						   "corrupt off\n"
						   "score entropy\n"
						   "expect prob \"a b\" > 0.5\n";

START_TEST(test_parse_good)
{
	struct lesson ls;
	char err[256];
	ck_assert_msg(tui_lesson_parse("g.lesson", good, strlen(good), &ls, err, sizeof err), "%s",
	              err);
	ck_assert_str_eq(ls.title, "Chain rule");
	ck_assert_str_eq(ls.model, "kjv-transformer");
	ck_assert_str_eq(ls.compare, "kjv-lstm");
	ck_assert_int_eq(ls.theme, LESSON_LIGHT);
	ck_assert(ls.speed == 20.0);
	ck_assert_int_eq(ls.n, 2);
	const struct lesson_step *a = &ls.steps[0], *b = &ls.steps[1];
	ck_assert_int_eq(a->line, 8);
	ck_assert_str_eq(a->title, "First");
	ck_assert_str_eq(a->caption, "One line.\n  Two, with blanks \"kept\"  ");
	ck_assert_str_eq(a->context, "In the beginning");
	ck_assert_str_eq(a->type, " God");
	ck_assert_int_eq(a->focus, LESSON_CANDIDATES);
	ck_assert_int_eq(a->candidate, 2);
	ck_assert_int_eq(a->method, TUI_OCCLUSION);
	ck_assert_int_eq(a->layer, 1);
	ck_assert_int_eq(a->head, 0);
	ck_assert_int_eq(a->mean, 0);
	ck_assert_int_eq(a->view, LESSON_QUERY);
	ck_assert_int_eq(a->query, -1);
	ck_assert_int_eq(a->pin, 1);
	ck_assert_int_eq(a->present, 1);
	ck_assert_int_eq(a->theme, LESSON_UNSET);
	ck_assert_ptr_null(a->target);
	ck_assert_str_eq(a->ablate, "1.0,1.1,0.mlp");
	ck_assert_int_eq(a->score, 3);
	ck_assert_str_eq(tui_lesson_scores[a->score], "induction");
	ck_assert_str_eq(a->corrupt, " the keys  to the");
	ck_assert_int_eq(b->line, 26);
	ck_assert_str_eq(b->title, "");
	ck_assert_ptr_null(b->caption);
	ck_assert_ptr_null(b->context);
	ck_assert_int_eq(b->layer, 3);
	ck_assert_int_eq(b->head, LESSON_UNSET);
	ck_assert_str_eq(b->target, "created");
	ck_assert_str_eq(b->contrast, "");
	ck_assert_int_eq(b->theme, LESSON_DARK);
	ck_assert_int_eq(b->focus, LESSON_UNSET);
	ck_assert_int_eq(b->pin, LESSON_UNSET);
	ck_assert_str_eq(b->ablate, ""); /* off: every head restored */
	ck_assert_str_eq(b->corrupt, "");
	ck_assert_int_eq(b->score, 0);
	ck_assert_str_eq(tui_lesson_scores[b->score], "entropy");
	ck_assert_int_eq(b->n_expect, 1);
	tui_lesson_free(&ls);
}
END_TEST

/* Each malformed text with the line its error must name and a fragment of
 * the message. */
static const struct {
	const char *text;
	int line; /* 0: the message names the file only */
	const char *what;
} bad[] = {
	{"step a\nfocus nowhere\n", 2, "focus wants one of context, candidates"},
	{"step a\ncaption x\nfrobnicate 3\n", 3, "unknown keyword 'frobnicate'"},
	{"caption too early\nstep a\n", 1, "before the first step"},
	{"step a\nmodel m\n", 2, "belongs in the header"},
	{"\n\nstep a\ncandidate 0\n", 4, "candidate wants a whole number >= 1"},
	{"step a\ncandidate two\n", 2, "candidate wants a whole number"},
	{"step a\nlayer -2\n", 2, "layer wants a whole number >= 0"},
	{"step a\nhead 1\n", 2, "head wants a layer and a head"},
	{"step a\nhead 1 2 3\n", 2, "head wants a layer and a head"},
	{"step a\nmethod magic\n", 2, "method wants one of grad_norm"},
	{"step a\nmean maybe\n", 2, "mean wants one of off, on"},
	{"step a\npin\n", 2, "pin wants a value"},
	{"step a\ntype \"unterminated\n", 2, "no closing \""},
	{"step a\ntype \"a\" b\n", 2, "text after the closing"},
	{"step a\ntype \"a\\q\"\n", 2, "unknown escape \\q"},
	{"speed fast\nstep a\n", 1, "speed wants characters per second"},
	{"theme pink\nstep a\n", 1, "theme wants one of dark, light"},
	{"step a\nview sideways\n", 2, "view wants one of matrix, overview, query"},
	{"step a\nquery 0\n", 2, "query wants a whole number >= 1"},
	{"step a\ncontext x\x01y\n", 2, "control character"},
	{"title only a header\n# and a comment\n", 0, "no steps"},
	{"", 0, "no steps"},
	{"expect top1 a\nstep a\n", 1, "expect before the first step"},
	{"step a\nexpect\n", 2, "what to check"},
	{"step a\nexpect top5 a\n", 2, "top1, prob, head-induction-score"},
	{"step a\nexpect top1\n", 2, "the token is missing"},
	{"step a\nexpect top1 \"\"\n", 2, "the token is empty"},
	{"step a\nexpect top1 \"a\n", 2, "no closing \""},
	{"step a\nexpect top1 a b\n", 2, "unexpected text 'b'"},
	{"step a\nexpect prob a = 0.2\n", 2, "the comparison is < or >"},
	{"step a\nexpect prob a > x\n", 2, "not a number"},
	{"step a\nexpect prob a > nan\n", 2, "not a number"},
	{"step a\nexpect prob a >\n", 2, "the number to compare with is missing"},
	{"step a\nexpect head-induction-score 1 > 0.5\n", 2, "LAYER.HEAD"},
	{"step a\nexpect head-induction-score 1.-1 > 0.5\n", 2, "LAYER.HEAD"},
	{"step a\ncaption x\nexpect ppl < 80\n", 3, "the text file is missing"},
	{"step a\nexpect patch\n", 2, "the site (resid_pre, attn_out, mlp_out or heads) is missing"},
	{"step a\nexpect patch resid 0.1 > 0.5\n", 2, "the patching site is resid_pre, attn_out"},
	{"step a\nexpect patch resid_pre 0 > 0.5\n", 2, "the position is LAYER.POSITION"},
	{"step a\nexpect patch heads 1.x > 0.5\n", 2, "the head is LAYER.HEAD"},
	{"step a\nexpect patch attn_out 1.2\n", 2, "the comparison (< or >) is missing"},
	{"step a\nexpect patch mlp_out 1.2 > 0.5 more\n", 2, "unexpected text 'more'"},
	{"step a\nscore loud\n", 2,
     "score wants one of entropy, previous, duplicate, induction, not 'loud'"},
	{"step a\nscore\n", 2, "score wants a value"},
	{"step a\nscore Induction\n", 2, "not 'Induction'"},
	{"step a\nablate\n", 2, "ablate wants a value"},
	{"step a\nablate \"\"\n", 2, "ablate wants a value"},
	{"step a\ncorrupt\n", 2, "corrupt wants a value"},
	{"step a\ncorrupt \"\"\n", 2, "corrupt wants a value"},
	{"ablate 1.0\nstep a\n", 1, "ablate before the first step"},
	{"score induction\nstep a\n", 1, "score before the first step"},
	{"corrupt x\nstep a\n", 1, "corrupt before the first step"},
	{"step a\nablate 1\n", 2, "ablate wants heads as LAYER.HEAD"},
	{"step a\nablate 1.x\n", 2, "not '1.x'"},
	{"step a\nablate 1.0,\n", 2, "ablate wants heads as LAYER.HEAD"},
	{"step a\nablate 1.0 1.1\n", 2, "ablate wants heads as LAYER.HEAD"},
	{"step a\nablate .1\n", 2, "ablate wants heads as LAYER.HEAD"},
	{"step a\nablate 1.mlps\n", 2, "ablate wants heads as LAYER.HEAD"},
};

START_TEST(test_parse_expect)
{
	const char *text = "step a\n"
					   "expect top1 \"them\"\n"
					   "expect  prob \"a \\\"b\\\"\"  >  0.25\n"
					   "expect head-induction-score 1.0 < 0.5\n"
					   "expect saliency-top God\n"
					   "expect ppl > 80 corpora/kjv.valid.txt\n"
					   "expect patch resid_pre 0.1 > 0.9\n"
					   "expect patch heads 1.3 < 0.25\n";
	struct lesson ls;
	char err[256];
	ck_assert_msg(tui_lesson_parse("e.lesson", text, strlen(text), &ls, err, sizeof err), "%s",
	              err);
	ck_assert_int_eq(ls.steps[0].n_expect, 7);
	const struct lesson_expect *e = ls.steps[0].expect;
	ck_assert_int_eq(e[0].kind, EXPECT_TOP1);
	ck_assert_str_eq(e[0].token, "them");
	ck_assert_int_eq(e[0].line, 2);
	ck_assert_int_eq(e[1].kind, EXPECT_PROB);
	ck_assert_str_eq(e[1].token, "a \"b\"");
	ck_assert(e[1].greater && e[1].value == 0.25);
	ck_assert_int_eq(e[2].kind, EXPECT_INDUCTION);
	ck_assert(e[2].layer == 1 && e[2].head == 0 && !e[2].greater && e[2].value == 0.5);
	ck_assert_int_eq(e[3].kind, EXPECT_SALIENCY_TOP);
	ck_assert_str_eq(e[3].token, "God");
	ck_assert_int_eq(e[4].kind, EXPECT_PPL);
	ck_assert_str_eq(e[4].file, "corpora/kjv.valid.txt");
	ck_assert(e[4].greater && e[4].value == 80);
	ck_assert_int_eq(e[5].kind, EXPECT_PATCH);
	ck_assert_int_eq(e[5].site, LESSON_RESID_PRE);
	ck_assert(e[5].layer == 0 && e[5].head == 1 && e[5].greater && e[5].value == 0.9);
	ck_assert_int_eq(e[6].kind, EXPECT_PATCH);
	ck_assert_str_eq(tui_lesson_sites[e[6].site], "heads");
	ck_assert(e[6].layer == 1 && e[6].head == 3 && !e[6].greater && e[6].value == 0.25);
	tui_lesson_free(&ls);
}
END_TEST

START_TEST(test_parse_bad)
{
	const char *text = bad[_i].text;
	struct lesson ls;
	char err[256], want[64];
	ck_assert(!tui_lesson_parse("b.lesson", text, strlen(text), &ls, err, sizeof err));
	if (bad[_i].line)
		snprintf(want, sizeof want, "b.lesson:%d: ", bad[_i].line);
	else
		snprintf(want, sizeof want, "b.lesson: ");
	ck_assert_msg(!strncmp(err, want, strlen(want)), "case %d: '%s' does not start with '%s'", _i,
	              err, want);
	ck_assert_msg(strstr(err, bad[_i].what), "case %d: '%s' lacks '%s'", _i, err, bad[_i].what);
	ck_assert_int_eq(ls.n, 0);
	ck_assert_ptr_null(ls.steps);
}
END_TEST

START_TEST(test_load)
{
	const char *path = tu_path("x.lesson");
	char err[256];
	struct lesson ls;
	ck_assert(!tui_lesson_load(path, &ls, err, sizeof err));
	ck_assert_msg(strstr(err, path) && strstr(err, "No such file"), "%s", err);
	tu_write_text(path, "step one\ncaption hello\nstep two\nhead x 1\n");
	ck_assert(!tui_lesson_load(path, &ls, err, sizeof err));
	char want[96];
	snprintf(want, sizeof want, "%s:4: ", path);
	ck_assert_msg(!strncmp(err, want, strlen(want)), "%s", err);
	tu_write_text(path, good);
	ck_assert_msg(tui_lesson_load(path, &ls, err, sizeof err), "%s", err);
	ck_assert_int_eq(ls.n, 2);
	tui_lesson_free(&ls);
}
END_TEST

/* The writer's output parses back into the same steps, the causal views'
 * settings (ablate, score, corrupt, their off) and expect lines included. */
START_TEST(test_write)
{
	struct lesson ls, back;
	char err[256];
	ck_assert(tui_lesson_parse("g.lesson", good, strlen(good), &ls, err, sizeof err));
	struct lesson_step *st = tui_lesson_add_step(&ls);
	ck_assert_ptr_nonnull(st);
	st->title = strdup("added");
	st->context = strdup("ends with a blank ");
	st->target = strdup("\"quoted\\");
	st->query = 4;
	st->ablate = strdup("0.1");
	st->corrupt = strdup(" a \"b\"\\ ");
	st->score = 2;
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);
	ck_assert(tui_lesson_write(f, &ls));
	fclose(f);
	ck_assert_msg(tui_lesson_parse("w.lesson", buf, n, &back, err, sizeof err), "%s\n%s", err, buf);
	ck_assert_int_eq(back.n, 3);
	ck_assert_str_eq(back.title, ls.title);
	ck_assert_str_eq(back.compare, ls.compare);
	ck_assert_int_eq(back.theme, ls.theme);
	for (int i = 0; i < 3; i++) {
		const struct lesson_step *a = &ls.steps[i], *b = &back.steps[i];
		ck_assert_str_eq(a->title, b->title);
#define SAME_STR(x) ck_assert(a->x ? b->x && !strcmp(a->x, b->x) : !b->x)
		SAME_STR(caption);
		SAME_STR(context);
		SAME_STR(type);
		SAME_STR(target);
		SAME_STR(contrast);
		SAME_STR(ablate);
		SAME_STR(corrupt);
#undef SAME_STR
		ck_assert_int_eq(a->focus, b->focus);
		ck_assert_int_eq(a->candidate, b->candidate);
		ck_assert_int_eq(a->method, b->method);
		ck_assert_int_eq(a->layer, b->layer);
		ck_assert_int_eq(a->head, b->head);
		ck_assert_int_eq(a->mean, b->mean);
		ck_assert_int_eq(a->view, b->view);
		ck_assert_int_eq(a->query, b->query);
		ck_assert_int_eq(a->pin, b->pin);
		ck_assert_int_eq(a->present, b->present);
		ck_assert_int_eq(a->theme, b->theme);
		ck_assert_int_eq(a->score, b->score);
		ck_assert_int_eq(a->n_expect, b->n_expect);
		for (int k = 0; k < a->n_expect; k++) {
			ck_assert_str_eq(a->expect[k].src, b->expect[k].src);
			ck_assert_int_eq(a->expect[k].kind, b->expect[k].kind);
			ck_assert_str_eq(a->expect[k].token, b->expect[k].token);
		}
	}
	/* each setting written once, under its own step */
	ck_assert_msg(strstr(buf, "ablate 1.0,1.1,0.mlp\n") && strstr(buf, "ablate off\n") &&
	                  strstr(buf, "ablate 0.1\n"),
	              "%s", buf);
	ck_assert_msg(strstr(buf, "score induction\n") && strstr(buf, "score entropy\n") &&
	                  strstr(buf, "score duplicate\n"),
	              "%s", buf);
	ck_assert_msg(strstr(buf, "corrupt off\n"), "%s", buf);
	ck_assert_str_eq(back.steps[2].corrupt, " a \"b\"\\ ");
	free(buf);
	tui_lesson_free(&ls);
	tui_lesson_free(&back);
}
END_TEST

/* The lessons shipped in models/lessons/ (run from the project root) parse
 * and are 5 to 10 steps long. */
START_TEST(test_shipped)
{
	DIR *dir = opendir("models/lessons");
	ck_assert_msg(dir != NULL, "models/lessons/ not found (run from the project root)");
	struct dirent *e;
	int n = 0;
	while ((e = readdir(dir))) {
		size_t len = strlen(e->d_name);
		if (len < 8 || strcmp(e->d_name + len - 7, ".lesson"))
			continue;
		char path[300], err[512];
		snprintf(path, sizeof path, "models/lessons/%s", e->d_name);
		struct lesson ls;
		ck_assert_msg(tui_lesson_load(path, &ls, err, sizeof err), "%s", err);
		ck_assert_msg(ls.n >= 5 && ls.n <= 10, "%s has %d steps", path, ls.n);
		ck_assert_msg(ls.model != NULL, "%s names no model", path);
		tui_lesson_free(&ls);
		n++;
	}
	closedir(dir);
	ck_assert_int_ge(n, 5);
}
END_TEST

/* A byte order mark is skipped; a layer or head beyond the model's is
 * refused by tui_lesson_check with the line that named it. */
START_TEST(test_bom_and_check)
{
	static const char text[] = "\xef\xbb\xbfmodel m\nstep One\ncontext a b\nstep Two\nhead 1 3\n"
							   "step Three\nlayer 4\n";
	struct lesson ls;
	char err[300];
	ck_assert_msg(tui_lesson_parse("c.lesson", text, strlen(text), &ls, err, sizeof err), "%s",
	              err);
	ck_assert_str_eq(ls.model, "m");
	ck_assert(tui_lesson_check(&ls, "c.lesson", 5, 4, err, sizeof err));
	ck_assert(!tui_lesson_check(&ls, "c.lesson", 4, 4, err, sizeof err));
	ck_assert_str_eq(err, "c.lesson:7: layer 4 does not exist: the model has 4 layers (0 to 3)");
	ck_assert(!tui_lesson_check(&ls, "c.lesson", 5, 3, err, sizeof err));
	ck_assert_str_eq(err, "c.lesson:5: head 3 does not exist: the model has 3 heads (0 to 2)");
	ck_assert(tui_lesson_check(&ls, "c.lesson", 5, 0, err, sizeof err)); /* heads: not its */
	tui_lesson_free(&ls);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("lesson");
	TCase *tc = tcase_create("tui_lesson_parse");
	tcase_add_test(tc, test_parse_good);
	tcase_add_test(tc, test_parse_expect);
	tcase_add_loop_test(tc, test_parse_bad, 0, (int)(sizeof bad / sizeof *bad));
	tcase_add_test(tc, test_bom_and_check);
	suite_add_tcase(s, tc);
	tc = tcase_create("tui_lesson_load");
	tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
	tcase_add_test(tc, test_load);
	tcase_add_test(tc, test_shipped);
	suite_add_tcase(s, tc);
	tc = tcase_create("tui_lesson_write");
	tcase_add_test(tc, test_write);
	suite_add_tcase(s, tc);
	return s;
}
