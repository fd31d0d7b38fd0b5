/* GPT-2 byte-level BPE and its trainer: known GPT-2 ids, round trips of
 * random byte strings, offsets, and the first merges of the trainer against
 * a naive pair count written here. (tests/tokenizer/gpt2_check.py compares
 * every id with an independent GPT-2 encoder.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "lmscope/rng.h"
#include "lmscope/tokenizer.h"
#include "testutil.h"

#define GPT2_DIR "../shared/tokenizers/gpt2"

static struct lms_tokenizer *gpt2(void)
{
	struct lms_tokenizer *tok;
	ck_assert_msg(lms_tokenizer_load(GPT2_DIR, &tok) == LMS_OK, "%s", lms_errmsg());
	ck_assert_ptr_nonnull(tok);
	return tok;
}

START_TEST(known_ids)
{
	struct lms_tokenizer *tok = gpt2();
	ck_assert_int_eq(lms_tokenizer_kind(tok), LMS_TOK_BPE);
	ck_assert_int_eq(lms_tokenizer_vocab_size(tok), 50257);
	ck_assert_int_eq(lms_tokenizer_eos(tok), 50256);
	/* The first three checked by hand in encoder.json; the others are the
	 * ids of the reference encoder of tests/tokenizer/gpt2_check.py, cases
	 * of the pattern's edges: "\s+(?!\S)" leaves the last space to the next
	 * word, contractions, digits in threes, a non-breaking space, CJK and an
	 * emoji split across byte tokens. */
	struct {
		const char *text;
		int n, ids[12];
	} cases[] = {
		{"Hello world", 2, {15496, 995}},
		{" Hello", 1, {18435}},
		{"<|endoftext|>", 7, {27, 91, 437, 1659, 5239, 91, 29}},
		{"a   b", 4, {64, 220, 220, 275}},
		{"I'll they're", 4, {40, 1183, 484, 821}},
		{"x\n\n  y", 4, {87, 628, 220, 331}},
		{"1234567", 3, {10163, 2231, 3134}},
		{"caf\xC3\xA9 \xC2\xA0\xE4\xB8\x96\xE7\x95\x8C \xF0\x9F\x98\x80",
	     11,
	     {66, 1878, 2634, 220, 1849, 10310, 244, 45911, 234, 30325, 222}},
	};
	for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
		int *ids;
		size_t n;
		ck_assert_int_eq(
			lms_tokenizer_encode(tok, cases[c].text, strlen(cases[c].text), &ids, &n, NULL, NULL),
			LMS_OK);
		ck_assert_uint_eq(n, (size_t)cases[c].n);
		for (size_t i = 0; i < n; i++)
			ck_assert_int_eq(ids[i], cases[c].ids[i]);
		free(ids);
	}
	ck_assert_str_eq(lms_tokenizer_piece(tok, 995), " world");
	ck_assert_str_eq(lms_tokenizer_piece(tok, 50256), "<|endoftext|>");
	lms_tokenizer_free(tok);
}
END_TEST

/* decode(encode(s)) == s, and the offsets tile s with each token's bytes. */
static void round_trip(struct lms_tokenizer *tok, const char *s, size_t len)
{
	int *ids;
	size_t n, *off;
	ck_assert_int_eq(lms_tokenizer_encode(tok, s, len, &ids, &n, &off, NULL), LMS_OK);
	char *out;
	size_t out_len;
	ck_assert_int_eq(lms_tokenizer_decode(tok, ids, n, &out, &out_len), LMS_OK);
	ck_assert_uint_eq(out_len, len);
	ck_assert_int_eq(memcmp(out, s, len), 0);
	ck_assert_uint_eq(off[n], len);
	for (size_t i = 0; i < n; i++) {
		char *one;
		size_t one_len;
		ck_assert_int_eq(lms_tokenizer_decode(tok, ids + i, 1, &one, &one_len), LMS_OK);
		ck_assert_uint_eq(off[i] + one_len, off[i + 1]);
		ck_assert_int_eq(memcmp(s + off[i], one, one_len), 0);
		free(one);
	}
	free(out);
	free(ids);
	free(off);
}

START_TEST(random_bytes)
{
	struct lms_tokenizer *tok = gpt2();
	struct lms_rng g;
	lms_rng_seed(&g, 42);
	char buf[512];
	static const char *const parts[] = {" ",
	                                    "  ",
	                                    "\n",
	                                    "\t",
	                                    "'s",
	                                    "a",
	                                    "Z",
	                                    "7",
	                                    "\xC3\xA9",
	                                    "\xE4\xB8\x96",
	                                    "\xF0\x9F\x98\x80",
	                                    "\xC2\xA0",
	                                    "\0",
	                                    "\xFF",
	                                    "\xC3",
	                                    "\xED\xA0\x80",
	                                    "\xF0\x9F",
	                                    "!"};
	for (int t = 0; t < 300; t++) {
		size_t len = 0, want = (uint32_t)lms_rng_u64(&g) % 200;
		while (len < want) {
			if (t % 3 == 0) { /* uniformly random bytes */
				buf[len++] = (char)((uint32_t)lms_rng_u64(&g) & 0xFF);
				continue;
			}
			const char *p = parts[(uint32_t)lms_rng_u64(&g) % (sizeof parts / sizeof *parts)];
			size_t k = *p ? strlen(p) : 1;
			if (len + k > sizeof buf)
				break;
			memcpy(buf + len, p, k);
			len += k;
		}
		round_trip(tok, buf, len);
	}
	/* A long line: one piece of 100000 letters, merged in O(n log n). */
	size_t big = 100000;
	char *s = malloc(big);
	for (size_t i = 0; i < big; i++)
		s[i] = "abcab"[i % 5];
	round_trip(tok, s, big);
	free(s);
	lms_tokenizer_free(tok);
}
END_TEST

/* The naive trainer: all words of a corpus of lower-case letters and single
 * spaces, as GPT-2's pattern splits it ("the", " cat", ...), counted pair
 * by pair with a plain loop after applying the merges so far. */
struct naive {
	char words[64][32][16]; /* word, symbol, bytes */
	int len[64], n;
};

static void naive_words(struct naive *nv, const char *text)
{
	nv->n = 0;
	for (const char *p = text; *p;) {
		int k = 0;
		const char *q = p;
		if (*q == ' ')
			q++;
		while (*q && *q != ' ')
			q++;
		for (; p < q; p++, k++)
			nv->words[nv->n][k][0] = *p, nv->words[nv->n][k][1] = 0;
		nv->len[nv->n++] = k;
	}
}

static void naive_best(struct naive *nv, char *a, char *b)
{
	int best = 0;
	a[0] = b[0] = 0;
	for (int w = 0; w < nv->n; w++)
		for (int i = 0; i + 1 < nv->len[w]; i++) {
			const char *x = nv->words[w][i], *y = nv->words[w][i + 1];
			int count = 0;
			for (int v = 0; v < nv->n; v++)
				for (int j = 0; j + 1 < nv->len[v]; j++)
					count += !strcmp(nv->words[v][j], x) && !strcmp(nv->words[v][j + 1], y);
			int c = strcmp(x, a);
			if (count > best || (count == best && (c < 0 || (c == 0 && strcmp(y, b) < 0)))) {
				best = count;
				strcpy(a, x);
				strcpy(b, y);
			}
		}
	/* Merge every occurrence, left to right. */
	for (int w = 0; w < nv->n; w++) {
		int k = 0;
		for (int i = 0; i < nv->len[w]; i++) {
			if (i + 1 < nv->len[w] && !strcmp(nv->words[w][i], a) &&
			    !strcmp(nv->words[w][i + 1], b)) {
				char *dst = nv->words[w][k++];
				size_t la = strlen(a);
				memmove(dst, a, la);
				strcpy(dst + la, b);
				i++;
			} else {
				memmove(nv->words[w][k++], nv->words[w][i], 16);
			}
		}
		nv->len[w] = k;
	}
}

START_TEST(train_first_merges)
{
	const char *text = "the cat sat on the mat the cat ate the hat that sat on a mat at the bath";
	struct lms_tok_train_opts o = {LMS_TOK_BPE, 256 + 12, 1, 0, NULL, 0};
	size_t len = strlen(text);
	struct lms_tokenizer *tok;
	ck_assert_int_eq(lms_tokenizer_train(&o, &text, &len, 1, &tok), LMS_OK);
	ck_assert_int_eq(lms_tokenizer_vocab_size(tok), 268);
	ck_assert_int_eq(lms_tokenizer_save(tok, tu_dir), LMS_OK);
	FILE *f = fopen(tu_path("merges.txt"), "r");
	ck_assert_ptr_nonnull(f);
	char line[128];
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
	ck_assert_str_eq(line, "#version: 0.2\n");
	static struct naive nv;
	naive_words(&nv, text);
	for (int m = 0; m < 12; m++) {
		char a[16], b[16], want[160];
		naive_best(&nv, a, b);
		/* merges.txt writes a space as GPT-2's byte character U+0120. */
		char ea[32], eb[32];
		size_t k = 0;
		for (const char *p = a; *p; p++)
			k += (size_t)(*p == ' ' ? snprintf(ea + k, 3, "\xC4\xA0")
			                        : snprintf(ea + k, 2, "%c", *p));
		k = 0;
		for (const char *p = b; *p; p++)
			k += (size_t)(*p == ' ' ? snprintf(eb + k, 3, "\xC4\xA0")
			                        : snprintf(eb + k, 2, "%c", *p));
		snprintf(want, sizeof want, "%s %s\n", ea, eb);
		ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
		ck_assert_msg(!strcmp(line, want), "merge %d: got %s want %s", m + 1, line, want);
	}
	fclose(f);
	/* The saved files load back and encode as the trained tokenizer does. */
	struct lms_tokenizer *back;
	ck_assert_int_eq(lms_tokenizer_load(tu_dir, &back), LMS_OK);
	int *x, *y;
	size_t nx, ny;
	ck_assert_int_eq(lms_tokenizer_encode(tok, text, len, &x, &nx, NULL, NULL), LMS_OK);
	ck_assert_int_eq(lms_tokenizer_encode(back, text, len, &y, &ny, NULL, NULL), LMS_OK);
	ck_assert_uint_eq(nx, ny);
	ck_assert_int_eq(memcmp(x, y, nx * sizeof *x), 0);
	ck_assert_uint_lt(nx, len / 2);
	const char *unseen = "\xFF unseen \xE4\xB8\x96 bytes";
	round_trip(back, unseen, strlen(unseen));
	free(x);
	free(y);
	lms_tokenizer_free(tok);
	lms_tokenizer_free(back);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("bpe");
	TCase *tc;
	if (tu_external("bpe known_ids, random_bytes", GPT2_DIR "/encoder.json") &&
	    tu_external("bpe known_ids, random_bytes", GPT2_DIR "/vocab.bpe")) {
		tc = tcase_create("known_ids");
		tcase_add_test(tc, known_ids);
		suite_add_tcase(s, tc);
		tc = tcase_create("random_bytes");
		tcase_add_test(tc, random_bytes);
		suite_add_tcase(s, tc);
	}
	tc = tcase_create("train_first_merges");
	tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
	tcase_add_test(tc, train_first_merges);
	suite_add_tcase(s, tc);
	return s;
}
