/* snapshots.c: the index reader on hand-written indexes (a good one, each
 * kind of malformed entry, a snapshot directory that is missing, no index
 * at all), and lms_snapshot_add / lms_snapshots_truncate: what they write
 * reads back, the snapshot opens with the weights rounded to F16, a step
 * taken again replaces the later entries, nothing is left beside them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <check.h>

#include "lmscope/snapshots.h"
#include "testutil.h"

static void make_dirs(const char *const *names)
{
	for (int i = 0; names[i]; i++)
		ck_assert_int_eq(mkdir(tu_path(names[i]), 0777), 0);
}

/* m/snapshots/ with step-000010 and step-000020, and index.json = text. */
static void run_dir(const char *text)
{
	static const char *const dirs[] = {"m", "m/snapshots", "m/snapshots/step-000010",
	                                   "m/snapshots/step-000020", NULL};
	make_dirs(dirs);
	tu_write_text(tu_path("m/snapshots/index.json"), text);
}

static const char good[] =
	"[{\"step\": 10, \"tokens\": 640, \"train_loss\": 2.5, \"valid_loss\": 2.75,"
	"  \"path\": \"step-000010\"},\n"
	" {\"step\": 20, \"tokens\": 1280, \"train_loss\": 1.25, \"valid_loss\": null,"
	"  \"path\": \"step-000020\"}]\n";

START_TEST(test_read_good)
{
	run_dir(good);
	struct lms_snapshots s;
	ck_assert_int_eq(lms_snapshots_read(tu_path("m"), &s), LMS_OK);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(s.v[0].step, 10);
	ck_assert_int_eq(s.v[0].tokens, 640);
	ck_assert_double_eq(s.v[0].train_loss, 2.5);
	ck_assert_double_eq(s.v[0].valid_loss, 2.75);
	ck_assert_str_eq(s.v[0].dir, tu_path("m/snapshots/step-000010"));
	ck_assert_int_eq(s.v[1].step, 20);
	ck_assert_int_eq(s.v[1].tokens, 1280);
	ck_assert_double_eq(s.v[1].train_loss, 1.25);
	ck_assert(isnan(s.v[1].valid_loss));
	ck_assert_str_eq(s.v[1].dir, tu_path("m/snapshots/step-000020"));
	lms_snapshots_free(&s);
	ck_assert_ptr_null(s.v);
}
END_TEST

START_TEST(test_read_none)
{
	struct lms_snapshots s;
	ck_assert_int_eq(mkdir(tu_path("m"), 0777), 0);
	ck_assert_int_eq(lms_snapshots_read(tu_path("m"), &s), LMS_OK);
	ck_assert_int_eq(s.n, 0);
	ck_assert_int_eq(mkdir(tu_path("m/snapshots"), 0777), 0);
	ck_assert_int_eq(lms_snapshots_read(tu_path("m"), &s), LMS_OK);
	ck_assert_int_eq(s.n, 0);
	/* a model directory that is not there at all is no run */
	ck_assert_int_eq(lms_snapshots_read(tu_path("nothing"), &s), LMS_OK);
	ck_assert_int_eq(s.n, 0);
}
END_TEST

/* One entry after a good first one (or the whole file), and the message. */
static const struct {
	const char *text, *what;
} malformed[] = {
	{"[{\"step\": 10,", "index.json: line "},
	{"{\"step\": 10}", "index.json: not a list of snapshots (a JSON array)"},
	{"[{\"step\": 10, \"step\": 11}]", "index.json: line "},
	{"[3]", "index.json: entry 1: not an object"},
	{"[{\"tokens\": 1, \"train_loss\": 1, \"valid_loss\": 1, \"path\": \"step-000010\"}]",
     "index.json: entry 1: \"step\" is not a positive integer"},
	{"[{\"step\": 0, \"tokens\": 1, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
     "\"step-000010\"}]",
     "index.json: entry 1: \"step\" is not a positive integer"},
	{"[{\"step\": 2.5, \"tokens\": 1, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
     "\"step-000010\"}]",
     "index.json: entry 1: \"step\" is not a positive integer"},
	{"[{\"step\": 20, \"tokens\": 1, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
     "\"step-000020\"},"
     " {\"step\": 10, \"tokens\": 2, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
     "\"step-000010\"}]",
     "index.json: entry 2: step 10 does not follow step 20"},
	{"[{\"step\": 10, \"tokens\": 1, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
     "\"step-000010\"},"
     " {\"step\": 10, \"tokens\": 2, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
     "\"step-000020\"}]",
     "index.json: entry 2: step 10 does not follow step 10"},
	{"[{\"step\": 10, \"tokens\": -1, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
     "\"step-000010\"}]",
     "index.json: entry 1: \"tokens\" is not a count"},
	{"[{\"step\": 10, \"tokens\": 9, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
     "\"step-000010\"},"
     " {\"step\": 20, \"tokens\": 8, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
     "\"step-000020\"}]",
     "index.json: entry 2: tokens 8 are fewer than the 9 before"},
	{"[{\"step\": 10, \"tokens\": 1, \"train_loss\": \"low\", \"valid_loss\": 1, \"path\": "
     "\"step-000010\"}]",
     "index.json: entry 1: \"train_loss\" is not a loss (a number >= 0)"},
	{"[{\"step\": 10, \"tokens\": 1, \"train_loss\": -0.5, \"valid_loss\": 1, \"path\": "
     "\"step-000010\"}]",
     "index.json: entry 1: \"train_loss\" is not a loss (a number >= 0)"},
	{"[{\"step\": 10, \"tokens\": 1, \"train_loss\": 1, \"path\": \"step-000010\"}]",
     "index.json: entry 1: \"valid_loss\" is neither a loss (a number >= 0) nor null"},
	{"[{\"step\": 10, \"tokens\": 1, \"train_loss\": 1, \"valid_loss\": true, \"path\": "
     "\"step-000010\"}]",
     "index.json: entry 1: \"valid_loss\" is neither a loss (a number >= 0) nor null"},
	{"[{\"step\": 10, \"tokens\": 1, \"train_loss\": 1, \"valid_loss\": 1}]",
     "index.json: entry 1: \"path\" is not the name of a directory beside the index"},
	{"[{\"step\": 10, \"tokens\": 1, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
     "\"../step-000010\"}]",
     "index.json: entry 1: \"path\" is not the name of a directory beside the index"},
	{"[{\"step\": 10, \"tokens\": 1, \"train_loss\": 1, \"valid_loss\": 1, \"path\": \"..\"}]",
     "index.json: entry 1: \"path\" is not the name of a directory beside the index"},
	{"[{\"step\": 10, \"tokens\": 1, \"train_loss\": 1, \"valid_loss\": 1, \"path\": \"\"}]",
     "index.json: entry 1: \"path\" is not the name of a directory beside the index"},
};

START_TEST(test_read_malformed)
{
	run_dir(malformed[_i].text);
	struct lms_snapshots s;
	ck_assert_int_eq(lms_snapshots_read(tu_path("m"), &s), LMS_EFORMAT);
	ck_assert_int_eq(s.n, 0);
	ck_assert_ptr_null(s.v);
	char want[512];
	snprintf(want, sizeof want, "%s/%s", tu_path("m/snapshots"), malformed[_i].what);
	const char *msg = lms_errmsg();
	ck_assert_msg(!strncmp(msg, want, strlen(want)), "case %d: \"%s\", wanted \"%s...\"", _i, msg,
	              want);
	ck_assert_ptr_null(strchr(msg, '\n'));
}
END_TEST

START_TEST(test_read_missing_dir)
{
	run_dir("[{\"step\": 10, \"tokens\": 1, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
	        "\"step-000010\"},"
	        " {\"step\": 30, \"tokens\": 2, \"train_loss\": 1, \"valid_loss\": 1, \"path\": "
	        "\"step-000030\"}]");
	struct lms_snapshots s;
	ck_assert_int_eq(lms_snapshots_read(tu_path("m"), &s), LMS_EFORMAT);
	char want[512];
	snprintf(want, sizeof want, "%s: entry 2: step-000030: No such file or directory",
	         tu_path("m/snapshots/index.json"));
	ck_assert_str_eq(lms_errmsg(), want);
	/* a file where the directory belongs */
	tu_write_text(tu_path("m/snapshots/step-000030"), "x");
	ck_assert_int_eq(lms_snapshots_read(tu_path("m"), &s), LMS_EFORMAT);
	snprintf(want, sizeof want, "%s: entry 2: step-000030: not a directory",
	         tu_path("m/snapshots/index.json"));
	ck_assert_str_eq(lms_errmsg(), want);
}
END_TEST

/* ---- writing ---------------------------------------------------------------- */

static struct lms_model *tiny_model(unsigned seed)
{
	struct lms_model *m = tu_gpt2(11, 8, 8, 1, 2, seed);
	tu_widen(m, 0.5f, seed);
	return m;
}

static void add(const char *dir, const struct lms_model *m, long step, double valid)
{
	struct lms_snapshot meta = {step, step * 64, 3.0 / (double)step, valid, NULL};
	ck_assert_int_eq(lms_snapshot_add(dir, m, &meta), LMS_OK);
}

/* Every parameter of the snapshot is the model's rounded to F16: within
 * half an F16 unit in the last place (2^-11 relative, normal range). */
static void same_to_f16(const char *dir, const struct lms_model *m)
{
	struct lms_model *back;
	ck_assert_int_eq(lms_model_load(dir, &back), LMS_OK);
	ck_assert_int_eq(back->n_params, m->n_params);
	int inexact = 0;
	for (size_t i = 0; i < m->n_params; i++) {
		double a = m->params[i], b = back->params[i];
		ck_assert_msg(fabs(a - b) <= fabs(a) * 0x1p-11 + 0x1p-24, "param %zu: %g vs %g", i, a, b);
		inexact += a != b;
	}
	ck_assert_int_gt(inexact, 0); /* stored as F16 indeed, not F32 */
	lms_model_free(back);
}

START_TEST(test_add)
{
	const char *dir = tu_path("m");
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	struct lms_model *a = tiny_model(1), *b = tiny_model(2);
	add(dir, a, 10, 2.0);
	add(dir, b, 20, NAN);
	struct lms_snapshots s;
	ck_assert_int_eq(lms_snapshots_read(dir, &s), LMS_OK);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(s.v[0].step, 10);
	ck_assert_int_eq(s.v[0].tokens, 640);
	ck_assert_double_eq_tol(s.v[0].train_loss, 0.3, 1e-15);
	ck_assert_double_eq(s.v[0].valid_loss, 2.0);
	ck_assert_int_eq(s.v[1].step, 20);
	ck_assert(isnan(s.v[1].valid_loss));
	ck_assert_str_eq(s.v[0].dir, tu_path("m/snapshots/step-000010"));
	same_to_f16(s.v[0].dir, a);
	same_to_f16(s.v[1].dir, b);
	lms_snapshots_free(&s);
	/* weights only, and no staging directory left beside them */
	ck_assert_int_eq(tu_entries(tu_path("m/snapshots/step-000010")), 2);
	ck_assert_int_eq(tu_entries(tu_path("m/snapshots")), 3);
	/* null in the file itself, not a number */
	FILE *f = fopen(tu_path("m/snapshots/index.json"), "r");
	char text[2048];
	size_t n = fread(text, 1, sizeof text - 1, f);
	fclose(f);
	text[n] = 0;
	ck_assert_ptr_nonnull(strstr(text, "\"valid_loss\": null"));
	ck_assert_ptr_nonnull(strstr(text, "\"path\": \"step-000020\""));
	lms_model_free(a);
	lms_model_free(b);
}
END_TEST

/* A resumed run takes step 20 again: the entries from 20 on are replaced. */
START_TEST(test_add_again)
{
	const char *dir = tu_path("m");
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	struct lms_model *a = tiny_model(1), *b = tiny_model(2);
	add(dir, a, 10, 1.0);
	add(dir, a, 20, 1.0);
	add(dir, a, 30, 1.0);
	add(dir, b, 20, 0.5);
	struct lms_snapshots s;
	ck_assert_int_eq(lms_snapshots_read(dir, &s), LMS_OK);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(s.v[1].step, 20);
	ck_assert_double_eq(s.v[1].valid_loss, 0.5);
	same_to_f16(s.v[1].dir, b);
	lms_snapshots_free(&s);
	lms_model_free(a);
	lms_model_free(b);
}
END_TEST

START_TEST(test_truncate)
{
	const char *dir = tu_path("m");
	ck_assert_int_eq(lms_snapshots_truncate(dir, 5), LMS_OK); /* no index: nothing to do */
	ck_assert_int_eq(mkdir(dir, 0777), 0);
	struct lms_model *a = tiny_model(1);
	add(dir, a, 10, 1.0);
	add(dir, a, 20, 1.0);
	add(dir, a, 30, 1.0);
	ck_assert_int_eq(lms_snapshots_truncate(dir, 20), LMS_OK);
	struct lms_snapshots s;
	ck_assert_int_eq(lms_snapshots_read(dir, &s), LMS_OK);
	ck_assert_int_eq(s.n, 2);
	ck_assert_int_eq(s.v[1].step, 20);
	lms_snapshots_free(&s);
	ck_assert_int_eq(lms_snapshots_truncate(dir, 19), LMS_OK);
	ck_assert_int_eq(lms_snapshots_read(dir, &s), LMS_OK);
	ck_assert_int_eq(s.n, 1);
	ck_assert_int_eq(s.v[0].step, 10);
	lms_snapshots_free(&s);
	lms_model_free(a);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("snapshots");
	struct {
		const char *name;
		const TTest *fn;
	} cases[] = {
		{"lms_snapshots_read", test_read_good},
		{"no index", test_read_none},
		{"missing snapshot", test_read_missing_dir},
		{"lms_snapshot_add", test_add},
		{"a step again", test_add_again},
		{"lms_snapshots_truncate", test_truncate},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
		tcase_add_test(tc, cases[i].fn);
		suite_add_tcase(s, tc);
	}
	TCase *tc = tcase_create("malformed");
	tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
	tcase_add_loop_test(tc, test_read_malformed, 0, (int)(sizeof malformed / sizeof *malformed));
	suite_add_tcase(s, tc);
	return s;
}
