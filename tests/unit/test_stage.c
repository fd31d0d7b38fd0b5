/* stage.c: a model directory built beside its target, checked, and swapped
 * in whole; refusing a non-empty target without LMS_STAGE_FORCE; nothing
 * of the old directory surviving a replacement; a failed check leaving the
 * target alone; LMS_STAGE_KEEP carrying entries over as hard links; and
 * what killed writers left beside the target cleared (or put back). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "lmscope/stage.h"
#include "testutil.h"

static struct lms_model *tiny_model(int V)
{
	return tu_gpt2(V, 8, 8, 1, 2, 1);
}

static struct lms_tokenizer *tiny_tokenizer(enum lms_tok_kind kind, int vocab)
{
	const char *text = "the cat sat on the mat. the dog sat on the log.";
	size_t len = strlen(text);
	struct lms_tok_train_opts o = {kind, vocab, 1, 0, NULL, 0};
	struct lms_tokenizer *tok;
	ck_assert_int_eq(lms_tokenizer_train(&o, &text, &len, 1, &tok), LMS_OK);
	return tok;
}

static int exists(const char *path)
{
	struct stat sb;
	return lstat(path, &sb) == 0;
}

/* A model with its word tokenizer and a file of the user's, at target. */
static void old_model(const char *target)
{
	struct lms_model *m = tiny_model(20);
	struct lms_tokenizer *tok = tiny_tokenizer(LMS_TOK_WORD, 20);
	ck_assert_int_eq(lms_model_save(m, target, 0), LMS_OK);
	ck_assert_int_eq(lms_tokenizer_save(tok, target), LMS_OK);
	tu_write_text(tu_path("m/notes.txt"), "mine");
	lms_model_free(m);
	lms_tokenizer_free(tok);
}

START_TEST(test_new_target)
{
	const char *target = tu_path("m");
	struct lms_stage s;
	ck_assert_int_eq(lms_stage_begin(&s, target, 0, NULL), LMS_OK);
	ck_assert_int_eq(exists(target), 0);
	struct lms_model *m = tiny_model(300);
	struct lms_tokenizer *tok = tiny_tokenizer(LMS_TOK_BPE, 260);
	ck_assert_int_eq(lms_model_save(m, s.dir, 0), LMS_OK);
	ck_assert_int_eq(lms_tokenizer_save(tok, s.dir), LMS_OK);
	ck_assert_int_eq(lms_stage_commit(&s, m, tok), LMS_OK);
	ck_assert_ptr_null(s.dir);
	lms_stage_abort(&s); /* harmless after a commit */
	struct lms_model *back;
	ck_assert_int_eq(lms_model_load(target, &back), LMS_OK);
	ck_assert_int_eq(tu_entries(tu_dir), 1); /* nothing left beside it */
	lms_model_free(back);
	lms_model_free(m);
	lms_tokenizer_free(tok);
}
END_TEST

START_TEST(test_refuse)
{
	const char *target = tu_path("m");
	old_model(target);
	int before = tu_entries(target);
	struct lms_stage s;
	ck_assert_int_eq(lms_stage_begin(&s, target, 0, NULL), LMS_EARG);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "holds a gpt2 model ("));
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "--force"));
	ck_assert_int_eq(tu_entries(target), before);
	ck_assert_int_eq(tu_entries(tu_dir), 1);
	/* a file is never replaced by a directory */
	tu_write_text(tu_path("f"), "x");
	ck_assert_int_eq(lms_stage_begin(&s, tu_path("f"), LMS_STAGE_FORCE, NULL), LMS_EIO);
	/* an empty directory needs no --force */
	ck_assert_int_eq(mkdir(tu_path("e"), 0777), 0);
	ck_assert_int_eq(lms_stage_begin(&s, tu_path("e"), 0, NULL), LMS_OK);
	lms_stage_abort(&s);
	ck_assert_int_eq(tu_entries(tu_dir), 3);
}
END_TEST

START_TEST(test_replace_whole)
{
	const char *target = tu_path("m");
	old_model(target);
	struct lms_stage s;
	ck_assert_int_eq(lms_stage_begin(&s, target, LMS_STAGE_FORCE, NULL), LMS_OK);
	struct lms_model *m = tiny_model(300);
	struct lms_tokenizer *tok = tiny_tokenizer(LMS_TOK_BPE, 260);
	ck_assert_int_eq(lms_model_save(m, s.dir, 0), LMS_OK);
	ck_assert_int_eq(lms_tokenizer_save(tok, s.dir), LMS_OK);
	ck_assert_int_eq(lms_stage_commit(&s, m, tok), LMS_OK);
	/* the old word tokenizer's config would win over merges.txt */
	ck_assert_int_eq(exists(tu_path("m/tokenizer_config.json")), 0);
	ck_assert_int_eq(exists(tu_path("m/notes.txt")), 0);
	struct lms_tokenizer *back;
	ck_assert_int_eq(lms_tokenizer_load(target, &back), LMS_OK);
	ck_assert_int_eq(lms_tokenizer_kind(back), LMS_TOK_BPE);
	ck_assert_int_eq(tu_entries(tu_dir), 1);
	lms_tokenizer_free(back);
	lms_model_free(m);
	lms_tokenizer_free(tok);
}
END_TEST

START_TEST(test_check_fails)
{
	const char *target = tu_path("m");
	old_model(target);
	struct lms_stage s;
	ck_assert_int_eq(lms_stage_begin(&s, target, LMS_STAGE_FORCE, NULL), LMS_OK);
	struct lms_model *m = tiny_model(300);
	struct lms_tokenizer *tok = tiny_tokenizer(LMS_TOK_BPE, 260);
	ck_assert_int_eq(lms_model_save(m, s.dir, 0), LMS_OK);
	/* the tokenizer was not written: the check must fail */
	ck_assert_int_eq(lms_stage_commit(&s, m, tok), LMS_EFORMAT);
	/* a model other than the one saved */
	struct lms_model *other = tiny_model(301);
	ck_assert_int_eq(lms_stage_commit(&s, other, NULL), LMS_EFORMAT);
	ck_assert_ptr_nonnull(s.dir);
	lms_stage_abort(&s);
	ck_assert_int_eq(exists(tu_path("m/tokenizer_config.json")), 1);
	ck_assert_int_eq(exists(tu_path("m/notes.txt")), 1);
	ck_assert_int_eq(tu_entries(tu_dir), 1);
	lms_model_free(other);
	lms_model_free(m);
	lms_tokenizer_free(tok);
}
END_TEST

START_TEST(test_keep)
{
	const char *target = tu_path("m");
	old_model(target);
	ck_assert_int_eq(mkdir(tu_path("m/logs"), 0777), 0);
	tu_write_text(tu_path("m/logs/train.csv"), "step\n");
	static const char *const skip[] = {"config.json", "model.safetensors", NULL};
	struct lms_stage s;
	ck_assert_int_eq(lms_stage_begin(&s, target, LMS_STAGE_KEEP, skip), LMS_OK);
	char *p = malloc(strlen(s.dir) + 32);
	struct stat a, b;
	sprintf(p, "%s/logs/train.csv", s.dir);
	ck_assert_int_eq(stat(p, &a), 0);
	ck_assert_int_eq(stat(tu_path("m/logs/train.csv"), &b), 0);
	ck_assert(a.st_ino == b.st_ino); /* a hard link: an open log keeps growing in both */
	sprintf(p, "%s/notes.txt", s.dir);
	ck_assert_int_eq(exists(p), 1);
	sprintf(p, "%s/config.json", s.dir);
	ck_assert_int_eq(exists(p), 0);
	free(p);
	lms_stage_abort(&s);
	ck_assert_int_eq(tu_entries(tu_dir), 1);
}
END_TEST

START_TEST(test_stale)
{
	/* pids above the kernel's pid_max belong to no process */
	ck_assert_int_eq(mkdir(tu_path(".m.lmscope-999999999-0"), 0777), 0);
	tu_write_text(tu_path(".m.lmscope-999999999-0/config.json"), "{}");
	/* the old model set aside by a two-rename swap that was cut short */
	ck_assert_int_eq(mkdir(tu_path(".m.lmscope-999999998-0.old"), 0777), 0);
	tu_write_text(tu_path(".m.lmscope-999999998-0.old/notes.txt"), "mine");
	struct lms_stage s;
	ck_assert_int_eq(lms_stage_begin(&s, tu_path("m"), LMS_STAGE_FORCE, NULL), LMS_OK);
	ck_assert_int_eq(exists(tu_path(".m.lmscope-999999999-0")), 0);
	ck_assert_int_eq(exists(tu_path("m/notes.txt")), 1);
	lms_stage_abort(&s);
	ck_assert_int_eq(tu_entries(tu_dir), 1);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"lms_stage_commit", test_new_target}, {"lms_stage_begin", test_refuse},
		{"replace", test_replace_whole},       {"lms_stage_check", test_check_fails},
		{"LMS_STAGE_KEEP", test_keep},         {"stale", test_stale},
	};
	return TU_SUITE("stage", cases, 1);
}
