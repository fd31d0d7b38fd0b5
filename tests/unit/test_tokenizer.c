/* Word- and character-level tokenizers, and the dispatcher: vocabulary
 * building, encoding with offsets and counts, natural-spacing decoding,
 * saving and loading back, and malformed files. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <check.h>

#include "lmscope/llama2c.h"
#include "lmscope/rng.h"
#include "lmscope/tokenizer.h"
#include "testutil.h"

static struct lms_tokenizer *train(enum lms_tok_kind kind, const char *text, int vocab,
                                   int min_count, int lowercase, int bos_eos)
{
	struct lms_tok_train_opts o = {kind, vocab, min_count, lowercase, NULL, bos_eos};
	size_t len = strlen(text);
	struct lms_tokenizer *tok;
	ck_assert_int_eq(lms_tokenizer_train(&o, &text, &len, 1, &tok), LMS_OK);
	return tok;
}

static int id_of(const struct lms_tokenizer *tok, const char *s)
{
	for (int i = 0; i < lms_tokenizer_vocab_size(tok); i++)
		if (!strcmp(lms_tokenizer_piece(tok, i), s))
			return i;
	return -1;
}

START_TEST(word_vocabulary)
{
	/* Counts: the 4, cat 3, sat 2, . 2, dog 2, a 1, mat 1 -- ties by bytes. */
	const char *text = "the cat sat. the dog sat. the cat, a dog; the cat mat";
	struct lms_tokenizer *tok = train(LMS_TOK_WORD, text, 7, 2, 0, 1);
	ck_assert_int_eq(lms_tokenizer_vocab_size(tok), 7);
	const char *want[] = {"<unk>", "<bos>", "<eos>", "the", "cat", ".", "dog"};
	for (int i = 0; i < 7; i++)
		ck_assert_str_eq(lms_tokenizer_piece(tok, i), want[i]);
	ck_assert_int_eq(lms_tokenizer_unk(tok), 0);
	ck_assert_int_eq(lms_tokenizer_bos(tok), 1);
	ck_assert_int_eq(lms_tokenizer_eos(tok), 2);
	lms_tokenizer_free(tok);
	/* min_count leaves out what is rarer, however large the vocabulary. */
	tok = train(LMS_TOK_WORD, text, 1000, 2, 0, 0);
	ck_assert_int_eq(lms_tokenizer_vocab_size(tok), 6); /* <unk> the cat sat . dog */
	ck_assert_int_eq(id_of(tok, "mat"), -1);
	lms_tokenizer_free(tok);
}
END_TEST

START_TEST(word_encode)
{
	struct lms_tokenizer *tok =
		train(LMS_TOK_WORD, "The LORD's people don't sleep. Ça va!", 100, 1, 1, 0);
	const char *text = "the lord's PEOPLE, \xff zebra";
	int *ids;
	size_t n, *off;
	struct lms_tok_stats st;
	ck_assert_int_eq(lms_tokenizer_encode(tok, text, strlen(text), &ids, &n, &off, &st), LMS_OK);
	const char *want[] = {"the", "lord's", "people", "<unk>", "<unk>", "<unk>"};
	size_t want_off[] = {0, 4, 11, 17, 19, 21, 26};
	ck_assert_uint_eq(n, 6);
	for (size_t i = 0; i < n; i++) {
		ck_assert_str_eq(lms_tokenizer_piece(tok, ids[i]), want[i]);
		ck_assert_uint_eq(off[i], want_off[i]);
	}
	ck_assert_uint_eq(off[n], strlen(text));
	ck_assert_uint_eq(st.unk, 3);      /* ",", the invalid byte, "zebra" */
	ck_assert_uint_eq(st.replaced, 1); /* \xff */
	ck_assert_int_ne(id_of(tok, "\xc3\xa7"
	                            "a"),
	                 -1); /* "Ça" lower-cased */
	free(ids);
	free(off);
	lms_tokenizer_free(tok);
}
END_TEST

static void check_decode(struct lms_tokenizer *tok, const char *text, const char *want)
{
	int *ids;
	size_t n;
	ck_assert_int_eq(lms_tokenizer_encode(tok, text, strlen(text), &ids, &n, NULL, NULL), LMS_OK);
	char *out;
	size_t len;
	ck_assert_int_eq(lms_tokenizer_decode(tok, ids, n, &out, &len), LMS_OK);
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(len, strlen(want));
	free(out);
	free(ids);
}

START_TEST(word_decode)
{
	const char *corpus = "he said \" yes , ( maybe ) ! \" and ' no ' ; then : why ? well . . . "
						 "\xE2\x80\x9C"
						 "quoted"
						 "\xE2\x80\x9D"
						 " [ x ] 50 %";
	struct lms_tokenizer *tok = train(LMS_TOK_WORD, corpus, 100, 1, 0, 1);
	check_decode(tok, "he   said\"yes,(maybe)!\"and 'no';then:why?well...",
	             "he said \"yes, (maybe)!\" and 'no'; then: why? well...");
	check_decode(tok, "\xE2\x80\x9C quoted \xE2\x80\x9D [x] 50%",
	             "\xE2\x80\x9Cquoted\xE2\x80\x9D [x] 50%");
	/* <bos> and <eos> are not written. */
	int ids[] = {lms_tokenizer_bos(tok), id_of(tok, "yes"), id_of(tok, "!"),
	             lms_tokenizer_eos(tok)};
	char *out;
	ck_assert_int_eq(lms_tokenizer_decode(tok, ids, 4, &out, NULL), LMS_OK);
	ck_assert_str_eq(out, "yes!");
	free(out);
	int bad = 100000;
	ck_assert_int_eq(lms_tokenizer_decode(tok, &bad, 1, &out, NULL), LMS_EARG);
	lms_tokenizer_free(tok);
}
END_TEST

START_TEST(char_encode)
{
	struct lms_tokenizer *tok =
		train(LMS_TOK_CHAR, "h\xC3\xA9llo w\xF0\x9F\x98\x80rld", 100, 1, 0, 0);
	ck_assert_int_eq(lms_tokenizer_vocab_size(tok), 10); /* <unk> l o h é space w 😀 r d */
	ck_assert_str_eq(lms_tokenizer_piece(tok, 1), "l");  /* three l: the most frequent */
	const char *text = "h\xC3\xA9\xFF"
					   "z\xF0\x9F\x98\x80";
	int *ids;
	size_t n, *off;
	struct lms_tok_stats st;
	ck_assert_int_eq(lms_tokenizer_encode(tok, text, strlen(text), &ids, &n, &off, &st), LMS_OK);
	ck_assert_uint_eq(n, 5);
	size_t want_off[] = {0, 1, 3, 4, 5, 9};
	for (size_t i = 0; i <= n; i++)
		ck_assert_uint_eq(off[i], want_off[i]);
	ck_assert_str_eq(lms_tokenizer_piece(tok, ids[1]), "\xC3\xA9");
	ck_assert_int_eq(ids[2], 0);
	ck_assert_int_eq(ids[3], 0);
	ck_assert_str_eq(lms_tokenizer_piece(tok, ids[4]), "\xF0\x9F\x98\x80");
	ck_assert_uint_eq(st.replaced, 1);
	ck_assert_uint_eq(st.unk, 2);
	char *out;
	ck_assert_int_eq(lms_tokenizer_decode(tok, ids, n, &out, NULL), LMS_OK);
	ck_assert_str_eq(out, "h\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xF0\x9F\x98\x80");
	free(out);
	free(ids);
	free(off);
	lms_tokenizer_free(tok);
}
END_TEST

/* Any bytes: offsets increase within the text, counts add up, and
 * character-level decoding gives the text back when every character is
 * known and valid. */
START_TEST(random_bytes)
{
	const char *corpus = "abc d\xC3\xA9"
						 "f, gh! \"ij\" \xE4\xB8\x96 \xF0\x9F\x98\x80\n\t";
	struct lms_tokenizer *toks[2] = {train(LMS_TOK_WORD, corpus, 100, 1, 1, 0),
	                                 train(LMS_TOK_CHAR, corpus, 100, 1, 0, 0)};
	struct lms_rng g;
	lms_rng_seed(&g, 7);
	static const char *const parts[] = {
		"a",    "b",    "c", " ",   "\n", ",", "\"", "\xC3\xA9", "\xE4\xB8\x96", "\xF0\x9F\x98\x80",
		"\xFF", "\xC3", "Z", "\x00"};
	char buf[400];
	for (int t = 0; t < 400; t++) {
		size_t len = 0, want = lms_rng_below(&g, 120);
		int valid_known = 1;
		while (len < want) {
			if (t % 4 == 0) {
				buf[len++] = (char)lms_rng_below(&g, 256);
				valid_known = 0;
				continue;
			}
			size_t k = lms_rng_below(&g, sizeof parts / sizeof *parts);
			const char *p = parts[k];
			size_t n = *p ? strlen(p) : 1;
			memcpy(buf + len, p, n);
			len += n;
			if (k >= 10)
				valid_known = 0;
		}
		for (int k = 0; k < 2; k++) {
			int *ids;
			size_t n, *off;
			struct lms_tok_stats st;
			ck_assert_int_eq(lms_tokenizer_encode(toks[k], buf, len, &ids, &n, &off, &st), LMS_OK);
			for (size_t i = 0; i < n; i++) {
				ck_assert_uint_lt(off[i], off[i + 1]);
				ck_assert_int_ge(ids[i], 0);
				ck_assert_int_lt(ids[i], lms_tokenizer_vocab_size(toks[k]));
			}
			ck_assert_uint_eq(off[n], len);
			ck_assert_uint_le(st.replaced, st.unk + n);
			if (k == 1 && valid_known) {
				char *out;
				size_t out_len;
				ck_assert_int_eq(lms_tokenizer_decode(toks[k], ids, n, &out, &out_len), LMS_OK);
				ck_assert_uint_eq(out_len, len);
				ck_assert_int_eq(memcmp(out, buf, len), 0);
				ck_assert_uint_eq(st.unk + st.replaced, 0);
				free(out);
			}
			free(ids);
			free(off);
		}
	}
	lms_tokenizer_free(toks[0]);
	lms_tokenizer_free(toks[1]);
}
END_TEST

/* A pattern that keeps newlines as tokens: they are written as they are. */
START_TEST(word_whitespace_tokens)
{
	struct lms_tok_train_opts o = {LMS_TOK_WORD, 100, 1, 0, "\\w+|\\n|[^\\s\\w]", 0};
	const char *text = "one, two\nthree .\nfour";
	size_t len = strlen(text);
	struct lms_tokenizer *tok;
	ck_assert_int_eq(lms_tokenizer_train(&o, &text, &len, 1, &tok), LMS_OK);
	check_decode(tok, text, "one, two\nthree.\nfour");
	lms_tokenizer_free(tok);
}
END_TEST

START_TEST(save_load)
{
	const char *corpus = "Alpha beta, gamma! \"Delta\" alpha BETA \xCE\x91\xCE\xB2";
	for (int kind = 0; kind < 2; kind++) {
		struct lms_tokenizer *a = train(kind ? LMS_TOK_CHAR : LMS_TOK_WORD, corpus, 100, 1, 1, 1);
		const char *d = tu_path(kind ? "char" : "word");
		ck_assert_int_eq(mkdir(d, 0700), 0);
		ck_assert_int_eq(lms_tokenizer_save(a, d), LMS_OK);
		struct lms_tokenizer *b;
		ck_assert_int_eq(lms_tokenizer_load(d, &b), LMS_OK);
		ck_assert_ptr_nonnull(b);
		ck_assert_int_eq(lms_tokenizer_kind(b), kind ? LMS_TOK_CHAR : LMS_TOK_WORD);
		ck_assert_int_eq(lms_tokenizer_vocab_size(a), lms_tokenizer_vocab_size(b));
		ck_assert_int_eq(lms_tokenizer_bos(a), lms_tokenizer_bos(b));
		int *x, *y;
		size_t nx, ny;
		const char *t = "ALPHA, beta \xCE\x91 zeta";
		ck_assert_int_eq(lms_tokenizer_encode(a, t, strlen(t), &x, &nx, NULL, NULL), LMS_OK);
		ck_assert_int_eq(lms_tokenizer_encode(b, t, strlen(t), &y, &ny, NULL, NULL), LMS_OK);
		ck_assert_uint_eq(nx, ny);
		ck_assert_int_eq(memcmp(x, y, nx * sizeof *x), 0);
		free(x);
		free(y);
		lms_tokenizer_free(a);
		lms_tokenizer_free(b);
	}
}
END_TEST

START_TEST(malformed)
{
	const char *d = tu_dir;
	struct lms_tokenizer *tok;
	/* No tokenizer files: LMS_OK with no tokenizer. */
	ck_assert_int_eq(lms_tokenizer_load(d, &tok), LMS_OK);
	ck_assert_ptr_null(tok);
	tu_write_text(tu_path("tokenizer_config.json"),
	              "{\"type\": \"word\", \"pattern\": \"\\\\w+\", \"unk_token\": \"<unk>\"}\n");
	const char *bad[][2] = {
		{"{\n  \"<unk>\": 0,\n  \"a\": 1,\n  \"b\" 2\n}\n", "line 4: expected ':'"},
		{"{\n  \"<unk>\": 0,\n  \"a\": 2\n}\n", "ids are not 0..1"},
		{"{\n  \"<unk>\": 0,\n  \"a\": 1,\n  \"b\": 1\n}\n",
	     "line 4: id 1 already given on line 3"},
		{"{\n  \"<unk>\": 0,\n  \"a\": 1,\n  \"a\": 2\n}\n",
	     "line 4: token already given on line 3"},
		{"{\n  \"<unk>\": 0,\n  \"\\ud800\": 1\n}\n", "line 3: unpaired surrogate"},
		{"{\n  \"<unk>\": 0,\n  \"\xff\": 1\n}\n", "line 3: invalid UTF-8"},
		{"{\n  \"x\": 0\n}\n", "\"<unk>\" is not in the vocabulary"},
		{"", "line 1: expected a JSON object"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		tu_write_text(tu_path("vocab.json"), bad[i][0]);
		ck_assert_int_eq(lms_tokenizer_load(d, &tok), LMS_EFORMAT);
		ck_assert_msg(strstr(lms_errmsg(), bad[i][1]) != NULL, "case %zu: %s", i, lms_errmsg());
		ck_assert_ptr_null(strchr(lms_errmsg(), '\n'));
	}
	tu_write_text(tu_path("vocab.json"), "{\"<unk>\": 0}");
	tu_write_text(tu_path("tokenizer_config.json"), "{\"type\": \"word\", \"pattern\": \"(\"}");
	ck_assert_int_eq(lms_tokenizer_load(d, &tok), LMS_EFORMAT);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "pattern"));
	tu_write_text(tu_path("tokenizer_config.json"), "{\"type\": \"word\",\n \"pattern\": }");
	ck_assert_int_eq(lms_tokenizer_load(d, &tok), LMS_EFORMAT);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "tokenizer_config.json: line 2"));
}
END_TEST

/* Truncated and mutated vocab.json and merges.txt files: loading fails with
 * a one-line format error naming the file, or succeeds; never a crash. */
START_TEST(mutated_files)
{
	const char *d = tu_dir;
	const char *corpus = "the cat sat on the mat; \"the\" \xC3\xA9t\xC3\xA9 \xF0\x9F\x98\x80";
	size_t len = strlen(corpus);
	struct lms_tok_train_opts o = {LMS_TOK_BPE, 280, 1, 0, NULL, 0};
	struct lms_tokenizer *tok;
	ck_assert_int_eq(lms_tokenizer_train(&o, &corpus, &len, 1, &tok), LMS_OK);
	ck_assert_int_eq(lms_tokenizer_save(tok, d), LMS_OK);
	lms_tokenizer_free(tok);
	struct lms_rng g;
	lms_rng_seed(&g, 99);
	const char *names[] = {"vocab.json", "merges.txt"};
	for (int f = 0; f < 2; f++) {
		char path[512], *orig;
		snprintf(path, sizeof path, "%s/%s", d, names[f]);
		FILE *fp = fopen(path, "rb");
		ck_assert_ptr_nonnull(fp);
		orig = malloc(1 << 16);
		size_t n = fread(orig, 1, 1 << 16, fp);
		fclose(fp);
		for (int t = 0; t < 150; t++) {
			char *m = malloc(n + 1);
			memcpy(m, orig, n);
			size_t mn = t % 3 == 0 ? lms_rng_below(&g, n + 1) : n;
			for (int k = 0; t % 3 && k < 1 + t % 4; k++)
				m[lms_rng_below(&g, n)] = "\"{}:,\\ 0123456789\n\xff#"[lms_rng_below(&g, 20)];
			fp = fopen(path, "wb");
			fwrite(m, 1, mn, fp);
			fclose(fp);
			enum lms_status st = lms_tokenizer_load(d, &tok);
			if (st == LMS_OK) {
				int *ids;
				size_t ni;
				ck_assert_int_eq(lms_tokenizer_encode(tok, corpus, len, &ids, &ni, NULL, NULL),
				                 LMS_OK);
				free(ids);
				lms_tokenizer_free(tok);
			} else {
				ck_assert_int_eq(st, LMS_EFORMAT);
				ck_assert_msg(strstr(lms_errmsg(), d) != NULL, "%s", lms_errmsg());
				ck_assert_ptr_null(strchr(lms_errmsg(), '\n'));
			}
			free(m);
		}
		fp = fopen(path, "wb");
		fwrite(orig, 1, n, fp);
		fclose(fp);
		free(orig);
	}
}
END_TEST

#define LLAMA2_TOK "../shared/tokenizers/llama2/tokenizer.bin"

/* Model input: llama2.c's tokenizer puts BOS (id 1) first, on a zero-width
 * span at byte 0, over the ids Llama 2's own sentencepiece model gives. */
START_TEST(encode_input_llama2)
{
	int *ids;
	size_t n, *off;
	struct lms_tokenizer *spm;
	ck_assert_msg(lms_llama2c_tokenizer_load(LLAMA2_TOK, &spm) == LMS_OK, "%s", lms_errmsg());
	ck_assert_int_eq(lms_tokenizer_adds_bos(spm), 1);
	ck_assert_int_eq(lms_tokenizer_encode_input(spm, "Hello world", 11, &ids, &n, &off, NULL),
	                 LMS_OK);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(ids[0], 1);
	ck_assert_int_eq(ids[1], 15043);
	ck_assert_int_eq(ids[2], 3186);
	ck_assert_uint_eq(off[0], 0);
	ck_assert_uint_eq(off[1], 0);
	ck_assert_uint_eq(off[2], 5);
	ck_assert_uint_eq(off[3], 11);
	free(ids);
	free(off);
	/* an empty context is BOS alone; without offsets too */
	ck_assert_int_eq(lms_tokenizer_encode_input(spm, "", 0, &ids, &n, NULL, NULL), LMS_OK);
	ck_assert_uint_eq(n, 1);
	ck_assert_int_eq(ids[0], 1);
	free(ids);
	/* the raw encoding stays without BOS */
	ck_assert_int_eq(lms_tokenizer_encode(spm, "Hello world", 11, &ids, &n, NULL, NULL), LMS_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ids[0], 15043);
	free(ids);
	lms_tokenizer_free(spm);
}
END_TEST

/* A word-level tokenizer (even one with <bos>) adds nothing to the model
 * input. */
START_TEST(encode_input)
{
	int *ids;
	size_t n, *off;
	struct lms_tokenizer *word = train(LMS_TOK_WORD, "a b c a b", 10, 1, 0, 1);
	ck_assert_int_ge(lms_tokenizer_bos(word), 0);
	ck_assert_int_eq(lms_tokenizer_adds_bos(word), 0);
	ck_assert_int_eq(lms_tokenizer_encode_input(word, "a b", 3, &ids, &n, &off, NULL), LMS_OK);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(ids[0], id_of(word, "a"));
	ck_assert_uint_eq(off[0], 0);
	ck_assert_uint_eq(off[2], 3);
	free(ids);
	free(off);
	lms_tokenizer_free(word);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("tokenizer");
	struct {
		const char *name;
		const TTest *test;
	} cases[] = {
		{"word_vocabulary", word_vocabulary},
		{"word_encode", word_encode},
		{"word_decode", word_decode},
		{"char_encode", char_encode},
		{"save_load", save_load},
		{"malformed", malformed},
		{"random_bytes", random_bytes},
		{"word_whitespace_tokens", word_whitespace_tokens},
		{"mutated_files", mutated_files},
		{"encode_input", encode_input},
		{"encode_input_llama2", encode_input_llama2},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		if (cases[i].test == encode_input_llama2 &&
		    !tu_external("tokenizer encode_input_llama2", LLAMA2_TOK))
			continue;
		TCase *tc = tcase_create(cases[i].name);
		tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
		tcase_add_test(tc, cases[i].test);
		suite_add_tcase(s, tc);
	}
	return s;
}
