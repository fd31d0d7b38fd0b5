/* Token streams, the validation split and batches (src/engine/train/dataset.c):
 * every chunk once per epoch, targets shifted by one, data positions that
 * reproduce the batch sequence, and the held-out tail of each file. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lmscope/dataset.h"
#include "lmscope/llama2c.h"
#include "testutil.h"

START_TEST(test_batcher_epoch)
{
	enum { N = 1001, T = 10, B = 4 };
	int *tok = malloc(N * sizeof *tok);
	for (int i = 0; i < N; i++)
		tok[i] = i; /* a token's value is its position: chunks are easy to recognise */
	struct lms_batcher b;
	ck_assert_int_eq(lms_batcher_new(&b, tok, N, T, 7), LMS_OK);
	ck_assert_uint_eq(b.nchunks, (N - 1) / T);
	int seen[100] = {0};
	int x[B * T], y[B * T];
	for (int k = 0; k < 25; k++) { /* 25 batches of 4 = the 100 chunks of one epoch */
		lms_batcher_next(&b, B, x, y);
		for (int r = 0; r < B; r++) {
			int s = x[r * T];
			ck_assert_int_eq(s % T, 0);
			seen[s / T]++;
			for (int t = 0; t < T; t++) {
				ck_assert_int_eq(x[r * T + t], s + t);
				ck_assert_int_eq(y[r * T + t], s + t + 1);
			}
		}
	}
	for (int c = 0; c < 100; c++)
		ck_assert_int_eq(seen[c], 1);
	ck_assert_int_eq(b.epoch, 0);
	lms_batcher_next(&b, B, x, y);
	ck_assert_int_eq(b.epoch, 1);
	lms_batcher_free(&b);
	free(tok);
}
END_TEST

START_TEST(test_batcher_seek)
{
	enum { N = 500, T = 7, B = 3 };
	int tok[N];
	for (int i = 0; i < N; i++)
		tok[i] = i;
	struct lms_batcher a, b;
	ck_assert_int_eq(lms_batcher_new(&a, tok, N, T, 42), LMS_OK);
	ck_assert_int_eq(lms_batcher_new(&b, tok, N, T, 42), LMS_OK);
	int xa[B * T], ya[B * T], xb[B * T], yb[B * T];
	/* run a far, remembering the position after 30 batches (crossing epochs) */
	for (int k = 0; k < 30; k++)
		lms_batcher_next(&a, B, xa, ya);
	long epoch = a.epoch;
	size_t cursor = a.cursor;
	ck_assert_int_gt(epoch, 0);
	lms_batcher_seek(&b, epoch, cursor);
	for (int k = 0; k < 40; k++) {
		lms_batcher_next(&a, B, xa, ya);
		lms_batcher_next(&b, B, xb, yb);
		ck_assert_mem_eq(xa, xb, sizeof xa);
		ck_assert_mem_eq(ya, yb, sizeof ya);
	}
	/* another seed, another order */
	struct lms_batcher c;
	ck_assert_int_eq(lms_batcher_new(&c, tok, N, T, 43), LMS_OK);
	lms_batcher_seek(&a, 0, 0);
	int differ = 0;
	for (int k = 0; k < 5; k++) {
		lms_batcher_next(&a, B, xa, ya);
		lms_batcher_next(&c, B, xb, yb);
		differ |= memcmp(xa, xb, sizeof xa) != 0;
	}
	ck_assert(differ);
	lms_batcher_free(&a);
	lms_batcher_free(&b);
	lms_batcher_free(&c);
	/* too short for one sequence */
	ck_assert_int_eq(lms_batcher_new(&c, tok, T, T, 1), LMS_EARG);
}
END_TEST

START_TEST(test_dataset_load)
{
	/* character-level: one token per character, so counts are known */
	const char *ta = "abcdefghijklmnopqrst"; /* 20 characters */
	const char *tb = "tsrqponmlk";           /* 10 */
	const char *pa = tu_path("a.txt"), *pb = tu_path("b.txt"), *pv = tu_path("v.txt");
	tu_write_text(pa, ta);
	tu_write_text(pb, tb);
	tu_write_text(pv, "abc");
	const char *texts[2] = {ta, tb};
	size_t lens[2] = {20, 10};
	struct lms_tok_train_opts to = {.kind = LMS_TOK_CHAR, .vocab_size = 64, .min_count = 1};
	struct lms_tokenizer *tok;
	ck_assert_int_eq(lms_tokenizer_train(&to, texts, lens, 2, &tok), LMS_OK);
	ck_assert_int_lt(lms_tokenizer_eos(tok), 0);
	const char *files[2] = {pa, pb};
	struct lms_dataset ds;
	/* held-out tails: 25% of 20 = 5 and 25% of 10 = 2 (rounded down) */
	ck_assert_int_eq(lms_dataset_load(&ds, tok, files, 2, NULL, 0, 0.25), LMS_OK);
	ck_assert_uint_eq(ds.n_train, 15 + 8);
	ck_assert_uint_eq(ds.n_valid, 5 + 2);
	int *ids;
	size_t n;
	ck_assert_int_eq(lms_tokenizer_encode(tok, ta, 20, &ids, &n, NULL, NULL), LMS_OK);
	ck_assert_mem_eq(ds.train, ids, 15 * sizeof *ids);     /* a's head */
	ck_assert_mem_eq(ds.valid, ids + 15, 5 * sizeof *ids); /* a's tail */
	free(ids);
	ck_assert_int_eq(lms_tokenizer_encode(tok, tb, 10, &ids, &n, NULL, NULL), LMS_OK);
	ck_assert_mem_eq(ds.train + 15, ids, 8 * sizeof *ids);
	ck_assert_mem_eq(ds.valid + 5, ids + 8, 2 * sizeof *ids);
	free(ids);
	lms_dataset_free(&ds);
	/* explicit validation files replace the split */
	const char *vfiles[1] = {pv};
	ck_assert_int_eq(lms_dataset_load(&ds, tok, files, 2, vfiles, 1, 0.25), LMS_OK);
	ck_assert_uint_eq(ds.n_train, 30);
	ck_assert_uint_eq(ds.n_valid, 3);
	lms_dataset_free(&ds);
	/* a missing file is an I/O error naming it */
	const char *missing[1] = {"/nonexistent/corpus.txt"};
	ck_assert_int_eq(lms_dataset_load(&ds, tok, missing, 1, NULL, 0, 0.1), LMS_EIO);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "/nonexistent/corpus.txt"));
	lms_tokenizer_free(tok);
}
END_TEST

/* A tokenizer whose model expects BOS (llama2.c's): each file is a document
 * that starts with BOS, in the training and the validation stream, the
 * held-out tail a fraction of the file's text tokens (BOS not counted). */
START_TEST(test_dataset_bos)
{
	const char *tp = tu_path("tokenizer.bin"), *pa = tu_path("a.txt"), *pb = tu_path("b.txt");
	tu_write_llama2c_tok(tp, 0);
	struct lms_tokenizer *tok;
	ck_assert_int_eq(lms_llama2c_tokenizer_load(tp, &tok), LMS_OK);
	ck_assert_int_eq(lms_tokenizer_adds_bos(tok), 1);
	tu_write_text(pa, "ab ab ab ab"); /* " ab" four times: 4 tokens */
	tu_write_text(pb, "ba");          /* " ", "b", "a": 3 tokens */
	int eos = lms_tokenizer_eos(tok);
	const char *files[2] = {pa, pb};
	struct lms_dataset ds;
	ck_assert_int_eq(lms_dataset_load(&ds, tok, files, 2, NULL, 0, 0.25), LMS_OK);
	/* a: BOS + 3 of its 4 tokens (+ eos), tail 1; b: BOS + 3 (tail 0) */
	int e = eos >= 0;
	int want_train[] = {1, 264, 264, 264, eos, 1, 259, 261, 260, eos};
	int want_valid[] = {264, eos};
	ck_assert_uint_eq(ds.n_train, 8 + 2 * e);
	ck_assert_uint_eq(ds.n_valid, 1 + e);
	size_t k = 0;
	for (size_t i = 0; i < sizeof want_train / sizeof *want_train; i++)
		if (want_train[i] >= 0)
			ck_assert_int_eq(ds.train[k++], want_train[i]);
	ck_assert_int_eq(ds.valid[0], want_valid[0]);
	lms_dataset_free(&ds);
	/* a validation file is a document too */
	const char *vfiles[1] = {pb};
	ck_assert_int_eq(lms_dataset_load(&ds, tok, files, 1, vfiles, 1, 0.25), LMS_OK);
	ck_assert_int_eq(ds.train[0], 1);
	ck_assert_int_eq(ds.valid[0], 1);
	ck_assert_uint_eq(ds.n_valid, 4 + e);
	lms_dataset_free(&ds);
	lms_tokenizer_free(tok);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("dataset");
	TCase *t;
	t = tcase_create("batcher_next");
	tcase_add_test(t, test_batcher_epoch);
	tcase_add_test(t, test_batcher_seek);
	suite_add_tcase(s, t);
	t = tcase_create("dataset_load");
	tcase_add_checked_fixture(t, tu_dir_setup, tu_dir_teardown);
	tcase_add_test(t, test_dataset_load);
	tcase_add_test(t, test_dataset_bos);
	suite_add_tcase(s, t);
	return s;
}
