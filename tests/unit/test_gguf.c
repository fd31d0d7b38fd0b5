/* gguf.c and gguf_model.c: files assembled byte by byte here (independent
 * of the writer) read back with their values, every malformation refused
 * with its message (and every truncation of a valid file refused without a
 * crash), writer/reader round trips, and models: metadata to config, the
 * q/k row permutation against llama.cpp's formula, tied heads, refusals. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "io/gguf.h"
#include "lmscope/gguf.h"
#include "testutil.h"

/* ---- a byte builder ------------------------------------------------------------- */

struct bb {
	unsigned char p[4096];
	size_t n;
};

static void b_raw(struct bb *b, const void *s, size_t n)
{
	ck_assert_uint_le(b->n + n, sizeof b->p);
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

static void b_le(struct bb *b, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++) {
		unsigned char c = (unsigned char)(v >> (8 * i));
		b_raw(b, &c, 1);
	}
}

static void b_str(struct bb *b, const char *s)
{
	b_le(b, strlen(s), 8);
	b_raw(b, s, strlen(s));
}

static void b_key(struct bb *b, const char *k, uint32_t type)
{
	b_str(b, k);
	b_le(b, type, 4);
}

static void b_f32(struct bb *b, float f)
{
	uint32_t x;
	memcpy(&x, &f, 4);
	b_le(b, x, 4);
}

static void b_pad(struct bb *b, size_t align)
{
	while (b->n % align)
		b_le(b, 0, 1);
}

static void b_header(struct bb *b, uint32_t version, uint64_t nt, uint64_t nkv)
{
	b->n = 0;
	b_raw(b, "GGUF", 4);
	b_le(b, version, 4);
	b_le(b, nt, 8);
	b_le(b, nkv, 8);
}

static void b_tensor(struct bb *b, const char *name, uint32_t nd, const uint64_t *ne, uint32_t type,
                     uint64_t off)
{
	b_str(b, name);
	b_le(b, nd, 4);
	for (uint32_t i = 0; i < nd; i++)
		b_le(b, ne[i], 8);
	b_le(b, type, 4);
	b_le(b, off, 8);
}

/* The hand-made file: seven keys, an F32 tensor of 2 and a Q8_0 tensor of
 * 32 values (d = 0.5, q = 0 .. 31), alignment 64. */
static size_t handmade(struct bb *b)
{
	b_header(b, 3, 2, 7);
	b_key(b, "general.architecture", 8);
	b_str(b, "llama");
	b_key(b, "general.alignment", 4);
	b_le(b, 64, 4);
	b_key(b, "a.i8", 1);
	b_le(b, 0xfb, 1); /* -5 */
	b_key(b, "a.f32", 6);
	b_f32(b, 1.5f);
	b_key(b, "a.bool", 7);
	b_le(b, 1, 1);
	b_key(b, "a.ints", 9);
	b_le(b, 5, 4); /* i32 */
	b_le(b, 3, 8);
	b_le(b, 1, 4);
	b_le(b, 0xfffffffe, 4); /* -2 */
	b_le(b, 3, 4);
	b_key(b, "a.strs", 9);
	b_le(b, 8, 4);
	b_le(b, 2, 8);
	b_str(b, "x");
	b_str(b, "yz");
	uint64_t ne0[1] = {2}, ne1[2] = {32, 1};
	b_tensor(b, "t0", 1, ne0, 0, 0);
	b_tensor(b, "t1", 2, ne1, 8, 64);
	b_pad(b, 64);
	size_t data = b->n;
	b_f32(b, 0.25f);
	b_f32(b, -4.0f);
	b_pad(b, 64);
	b_le(b, 0x3800, 2); /* 0.5 */
	for (int j = 0; j < 32; j++)
		b_le(b, (uint64_t)j, 1);
	return data;
}

static struct lms_gguf *open_bytes(const struct bb *b, enum lms_status want)
{
	tu_write(tu_path("f.gguf"), b->p, b->n);
	struct lms_gguf *g = NULL;
	enum lms_status st = lms_gguf_open(tu_path("f.gguf"), &g);
	ck_assert_msg(st == want, "status %d, wanted %d: %s", st, want, lms_errmsg());
	ck_assert(want == LMS_OK ? g != NULL : g == NULL);
	return g;
}

START_TEST(test_read_handmade)
{
	struct bb b;
	size_t data = handmade(&b);
	struct lms_gguf *g = open_bytes(&b, LMS_OK);
	ck_assert_uint_eq(g->version, 3);
	ck_assert_uint_eq(g->data_start, data);
	ck_assert_uint_eq(g->data_start % 64, 0);
	const char *s;
	size_t n;
	ck_assert_int_eq(lms_gguf_str(g, "general.architecture", 0, &s, &n), LMS_OK);
	ck_assert(n == 5 && !memcmp(s, "llama", 5));
	int64_t i = 0;
	ck_assert_int_eq(lms_gguf_int(g, "a.i8", 0, &i), LMS_OK);
	ck_assert_int_eq(i, -5);
	double f = 0;
	ck_assert_int_eq(lms_gguf_float(g, "a.f32", 0, &f), LMS_OK);
	ck_assert_double_eq(f, 1.5);
	int yes = 0;
	ck_assert_int_eq(lms_gguf_bool(g, "a.bool", 0, &yes), LMS_OK);
	ck_assert_int_eq(yes, 1);
	/* absent optional keys leave the default; absent required ones fail */
	i = 42;
	ck_assert_int_eq(lms_gguf_int(g, "nothing", 1, &i), LMS_OK);
	ck_assert_int_eq(i, 42);
	ck_assert_int_eq(lms_gguf_int(g, "nothing", 0, &i), LMS_EFORMAT);
	ck_assert_int_eq(lms_gguf_int(g, "a.f32", 0, &i), LMS_EFORMAT);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "a.f32 is of type f32, not an integer"));
	const struct lms_gguf_kv *kv;
	ck_assert_int_eq(lms_gguf_array(g, "a.ints", LMS_GV_I32, 0, &kv), LMS_OK);
	ck_assert_uint_eq(kv->count, 3);
	ck_assert_int_eq(lms_gguf_arr_i(kv, 1), -2);
	ck_assert_int_eq(lms_gguf_array(g, "a.ints", LMS_GV_STRING, 0, &kv), LMS_EFORMAT);
	ck_assert_int_eq(lms_gguf_array(g, "a.strs", LMS_GV_STRING, 0, &kv), LMS_OK);
	size_t pos = 0;
	lms_gguf_arr_next_str(kv, &pos, &s, &n);
	ck_assert(n == 1 && s[0] == 'x');
	lms_gguf_arr_next_str(kv, &pos, &s, &n);
	ck_assert(n == 2 && !memcmp(s, "yz", 2));
	const struct lms_gguf_tensor *t0 = lms_gguf_tensor(g, "t0"), *t1 = lms_gguf_tensor(g, "t1");
	ck_assert(t0 && t1 && !lms_gguf_tensor(g, "t2"));
	ck_assert_int_eq(t1->type, LMS_W_Q8_0);
	ck_assert_int_eq(t1->ne[0], 32);
	ck_assert_uint_eq(t1->bytes, 34);
	float y[32];
	lms_wtype_to_f32(y, t0->data, t0->type, 2);
	ck_assert_float_eq(y[0], 0.25f);
	ck_assert_float_eq(y[1], -4.0f);
	lms_wtype_to_f32(y, t1->data, t1->type, 32);
	for (int j = 0; j < 32; j++)
		ck_assert_float_eq(y[j], 0.5f * (float)j);
	lms_gguf_close(g);
}
END_TEST

/* Version 2 has version 3's layout (3 only added big-endian files). */
START_TEST(test_read_v2)
{
	struct bb b;
	handmade(&b);
	b.p[4] = 2;
	struct lms_gguf *g = open_bytes(&b, LMS_OK);
	ck_assert_uint_eq(g->version, 2);
	ck_assert_ptr_nonnull(lms_gguf_tensor(g, "t1"));
	lms_gguf_close(g);
}
END_TEST

/* tokenizer.ggml.* arrays reach the tokenizer: ids, merges or scores,
 * token types, BOS/EOS and add_bos_token. */
START_TEST(test_tokenizer)
{
	/* GPT-2's byte characters (bytes_to_unicode: printable Latin-1 bytes
	 * stand for themselves, the others for U+0100 onwards) as ids 0 .. 255,
	 * then "ab" (256) and "<|endoftext|>" (257) */
	char bytes[256][4];
	const char *gtok[258];
	int32_t gtype[258];
	for (int b = 0, extra = 0; b < 256; b++) {
		int printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || b >= 174;
		int cp = printable ? b : 256 + extra++;
		if (cp < 0x80) {
			bytes[b][0] = (char)cp;
			bytes[b][1] = 0;
		} else {
			bytes[b][0] = (char)(0xc0 | cp >> 6);
			bytes[b][1] = (char)(0x80 | (cp & 0x3f));
			bytes[b][2] = 0;
		}
		gtok[b] = bytes[b];
		gtype[b] = 1;
	}
	gtok[256] = "ab";
	gtok[257] = "<|endoftext|>";
	gtype[256] = 1;
	gtype[257] = 3;
	static const char *const merges[] = {"a b"};
	static const char *const ltok[] = {"<unk>",
	                                   "<s>",
	                                   "</s>",
	                                   "\xe2\x96\x81",
	                                   "a",
	                                   "b",
	                                   "\xe2\x96\x81"
	                                   "a",
	                                   "ab",
	                                   "\xe2\x96\x81"
	                                   "ab"};
	static const float lscore[] = {0, 0, 0, -1, -2, -3, -1.5f, -0.5f, -0.2f};
	static const int32_t ltype[] = {2, 3, 3, 1, 1, 1, 1, 1, 1};
	struct lms_gguf_out_kv gpt2[] = {
		{.key = "tokenizer.ggml.model", .type = LMS_GV_STRING, .s = "gpt2"},
		{.key = "tokenizer.ggml.tokens",
	     .type = LMS_GV_ARRAY,
	     .etype = LMS_GV_STRING,
	     .count = 258,
	     .arr = gtok},
		{.key = "tokenizer.ggml.token_type",
	     .type = LMS_GV_ARRAY,
	     .etype = LMS_GV_I32,
	     .count = 258,
	     .arr = gtype},
		{.key = "tokenizer.ggml.merges",
	     .type = LMS_GV_ARRAY,
	     .etype = LMS_GV_STRING,
	     .count = 1,
	     .arr = merges},
		{.key = "tokenizer.ggml.bos_token_id", .type = LMS_GV_U32, .u = 257},
		{.key = "tokenizer.ggml.eos_token_id", .type = LMS_GV_U32, .u = 257},
	};
	struct lms_gguf_out_kv llama[] = {
		{.key = "tokenizer.ggml.model", .type = LMS_GV_STRING, .s = "llama"},
		{.key = "tokenizer.ggml.tokens",
	     .type = LMS_GV_ARRAY,
	     .etype = LMS_GV_STRING,
	     .count = 9,
	     .arr = ltok},
		{.key = "tokenizer.ggml.scores",
	     .type = LMS_GV_ARRAY,
	     .etype = LMS_GV_F32,
	     .count = 9,
	     .arr = lscore},
		{.key = "tokenizer.ggml.token_type",
	     .type = LMS_GV_ARRAY,
	     .etype = LMS_GV_I32,
	     .count = 9,
	     .arr = ltype},
		{.key = "tokenizer.ggml.bos_token_id", .type = LMS_GV_U32, .u = 1},
		{.key = "tokenizer.ggml.eos_token_id", .type = LMS_GV_U32, .u = 2},
		{.key = "tokenizer.ggml.unknown_token_id", .type = LMS_GV_U32, .u = 0},
	};
	struct lms_tokenizer *tok;
	int *ids;
	size_t n, *offs;
	struct lms_tok_stats stats;
	ck_assert_int_eq(lms_gguf_write(tu_path("g.gguf"), gpt2, 6, NULL, 0), LMS_OK);
	ck_assert_int_eq(lms_gguf_load_tokenizer(tu_path("g.gguf"), &tok), LMS_OK);
	ck_assert_int_eq(lms_tokenizer_vocab_size(tok), 258);
	ck_assert_int_eq(lms_tokenizer_bos(tok), 257);
	ck_assert_int_eq(lms_tokenizer_adds_bos(tok), 0);
	ck_assert_int_eq(lms_tokenizer_encode(tok, "abab", 4, &ids, &n, &offs, &stats), LMS_OK);
	ck_assert(n == 2 && ids[0] == 256 && ids[1] == 256);
	free(ids);
	free(offs);
	lms_tokenizer_free(tok);
	ck_assert_int_eq(lms_gguf_write(tu_path("l.gguf"), llama, 7, NULL, 0), LMS_OK);
	ck_assert_int_eq(lms_gguf_load_tokenizer(tu_path("l.gguf"), &tok), LMS_OK);
	ck_assert_int_eq(lms_tokenizer_eos(tok), 2);
	ck_assert_int_eq(lms_tokenizer_adds_bos(tok), 1); /* llama's default */
	/* dummy prefix, then the best-scoring pair first: "ab" (-0.5), "\u2581ab" (-0.2) */
	ck_assert_int_eq(lms_tokenizer_encode(tok, "ab", 2, &ids, &n, &offs, &stats), LMS_OK);
	ck_assert(n == 1 && ids[0] == 8);
	free(ids);
	free(offs);
	lms_tokenizer_free(tok);
	/* a token count disagreeing with the scores', and an unknown model */
	llama[2].count = 8;
	ck_assert_int_eq(lms_gguf_write(tu_path("l.gguf"), llama, 7, NULL, 0), LMS_OK);
	ck_assert_int_eq(lms_gguf_load_tokenizer(tu_path("l.gguf"), &tok), LMS_EFORMAT);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "tokenizer.ggml.scores has 8 entries for 9 tokens"));
	llama[0].s = "bert";
	ck_assert_int_eq(lms_gguf_write(tu_path("l.gguf"), llama, 7, NULL, 0), LMS_OK);
	ck_assert_int_eq(lms_gguf_load_tokenizer(tu_path("l.gguf"), &tok), LMS_EUNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "tokenizer.ggml.model \"bert\" is not supported"));
}
END_TEST

/* Every proper prefix of the valid file fails cleanly. */
START_TEST(test_truncations)
{
	struct bb b;
	handmade(&b);
	size_t full = b.n;
	for (size_t n = 0; n < full; n++) {
		b.n = n;
		tu_write(tu_path("f.gguf"), b.p, b.n);
		struct lms_gguf *g = NULL;
		ck_assert_msg(lms_gguf_open(tu_path("f.gguf"), &g) != LMS_OK, "prefix %zu accepted", n);
		ck_assert_ptr_null(g);
		ck_assert(strlen(lms_errmsg()) > 0 && !strchr(lms_errmsg(), '\n'));
	}
}
END_TEST

/* One malformed header each, with the message it must give. */
static void bad(struct bb *b, enum lms_status want, const char *msg)
{
	open_bytes(b, want);
	ck_assert_msg(strstr(lms_errmsg(), msg), "message \"%s\" lacks \"%s\"", lms_errmsg(), msg);
}

START_TEST(test_bad_headers)
{
	struct bb b;
	uint64_t ne32[1] = {32}, ne33[1] = {33}, ne5[5] = {1, 1, 1, 1, 1};
	handmade(&b);
	b.p[0] = 'X';
	bad(&b, LMS_EFORMAT, "not a GGUF file");
	b_header(&b, 1, 0, 0);
	b_pad(&b, 32);
	bad(&b, LMS_EUNSUPPORTED, "GGUF version 1");
	b_header(&b, 0x03000000, 0, 0); /* big-endian */
	b_pad(&b, 32);
	bad(&b, LMS_EUNSUPPORTED, "GGUF version 50331648");
	b_header(&b, 3, 0, (uint64_t)1 << 60);
	b_pad(&b, 32);
	bad(&b, LMS_EFORMAT, "more than the file holds");
	b_header(&b, 3, 0, 1);
	b_le(&b, (uint64_t)1 << 62, 8); /* a key of 2^62 bytes */
	b_pad(&b, 64);
	bad(&b, LMS_EFORMAT, "claims 4611686018427387904 bytes");
	b_header(&b, 3, 0, 1);
	b_key(&b, "arr", 9);
	b_le(&b, 4, 4);
	b_le(&b, (uint64_t)1 << 40, 8);
	b_pad(&b, 64);
	bad(&b, LMS_EFORMAT, "\"arr\" claims 1099511627776 elements");
	b_header(&b, 3, 0, 1);
	b_key(&b, "arr", 9);
	b_le(&b, 9, 4);
	b_le(&b, 1, 8);
	b_pad(&b, 64);
	bad(&b, LMS_EFORMAT, "array of arrays");
	b_header(&b, 3, 0, 1);
	b_key(&b, "k", 13);
	b_pad(&b, 64);
	bad(&b, LMS_EFORMAT, "unknown value type 13");
	b_header(&b, 3, 0, 2);
	b_key(&b, "k", 4);
	b_le(&b, 1, 4);
	b_key(&b, "k", 4);
	b_le(&b, 1, 4);
	b_pad(&b, 64);
	bad(&b, LMS_EFORMAT, "key \"k\" appears twice");
	b_header(&b, 3, 0, 1);
	b_key(&b, "general.alignment", 4);
	b_le(&b, 48, 4);
	b_pad(&b, 64);
	bad(&b, LMS_EFORMAT, "not a power of two");
	b_header(&b, 3, 1, 0);
	b_tensor(&b, "q", 1, ne32, 9, 0); /* Q8_1 */
	b_pad(&b, 32);
	bad(&b, LMS_EUNSUPPORTED, "ggml type 9");
	b_header(&b, 3, 1, 0);
	b_tensor(&b, "q", 1, ne33, 8, 0);
	b_pad(&b, 32);
	b_le(&b, 0, 8);
	b_le(&b, 0, 8);
	b_le(&b, 0, 8);
	b_le(&b, 0, 8);
	b_le(&b, 0, 8);
	bad(&b, LMS_EFORMAT, "33 values per row is not a whole number of Q8_0 blocks");
	b_header(&b, 3, 1, 0);
	b_tensor(&b, "q", 5, ne5, 0, 0);
	b_pad(&b, 32);
	bad(&b, LMS_EFORMAT, "5 dimensions");
	b_header(&b, 3, 1, 0);
	b_tensor(&b, "q", 1, ne32, 0, 16);
	b_pad(&b, 32);
	bad(&b, LMS_EFORMAT, "not aligned to 32 bytes");
	b_header(&b, 3, 1, 0);
	b_tensor(&b, "q", 1, ne32, 0, 0);
	b_pad(&b, 32);
	b_le(&b, 0, 8);
	bad(&b, LMS_EFORMAT, "truncated (tensor \"q\" needs bytes 0 to 128");
	b_header(&b, 3, 2, 0);
	b_tensor(&b, "p", 1, ne32, 0, 0);
	b_tensor(&b, "q", 1, ne32, 0, 96);
	b_pad(&b, 32);
	for (int k = 0; k < 224; k += 8)
		b_le(&b, 0, 8);
	bad(&b, LMS_EFORMAT, "tensors \"p\" and \"q\" overlap");
	b_header(&b, 3, 2, 0);
	b_tensor(&b, "p", 1, ne32, 0, 0);
	b_tensor(&b, "p", 1, ne32, 0, 128);
	b_pad(&b, 32);
	for (int k = 0; k < 256; k += 8)
		b_le(&b, 0, 8);
	bad(&b, LMS_EFORMAT, "tensor \"p\" appears twice");
}
END_TEST

START_TEST(test_write_roundtrip)
{
	static const char *const strs[] = {"a", "", "ccc"};
	static const int32_t ints[] = {7, -8};
	static const float fl[] = {0.5f, -1.0f};
	struct lms_gguf_out_kv kv[] = {
		{.key = "s", .type = LMS_GV_STRING, .s = "hello"},
		{.key = "u", .type = LMS_GV_U32, .u = 123456},
		{.key = "f", .type = LMS_GV_F32, .f = 0.125},
		{.key = "b", .type = LMS_GV_BOOL, .u = 1},
		{.key = "as", .type = LMS_GV_ARRAY, .etype = LMS_GV_STRING, .count = 3, .arr = strs},
		{.key = "ai", .type = LMS_GV_ARRAY, .etype = LMS_GV_I32, .count = 2, .arr = ints},
		{.key = "af", .type = LMS_GV_ARRAY, .etype = LMS_GV_F32, .count = 2, .arr = fl},
	};
	float x[3 * 64];
	/* integers in [-127, 127], 127 in every block of 32: Q8_0 stores them
	 * exactly (d = 1) */
	for (int i = 0; i < 3 * 64; i++)
		x[i] = i % 32 == 0 ? 127.0f : (float)((i * 7) % 255 - 127);
	struct lms_gguf_out_tensor t[] = {
		{"w", LMS_W_Q8_0, 2, 3, 64, x},
		{"n", LMS_W_F32, 1, 1, 5, x},
		{"h", LMS_W_F16, 2, 2, 3, x},
	};
	ck_assert_int_eq(lms_gguf_write(tu_path("w.gguf"), kv, 7, t, 3), LMS_OK);
	struct lms_gguf *g;
	ck_assert_int_eq(lms_gguf_open(tu_path("w.gguf"), &g), LMS_OK);
	const char *s;
	size_t n;
	int64_t i;
	double f;
	int yes;
	ck_assert_int_eq(lms_gguf_str(g, "s", 0, &s, &n), LMS_OK);
	ck_assert(n == 5 && !memcmp(s, "hello", 5));
	ck_assert_int_eq(lms_gguf_int(g, "u", 0, &i), LMS_OK);
	ck_assert_int_eq(i, 123456);
	ck_assert_int_eq(lms_gguf_float(g, "f", 0, &f), LMS_OK);
	ck_assert_double_eq(f, 0.125);
	ck_assert_int_eq(lms_gguf_bool(g, "b", 0, &yes), LMS_OK);
	ck_assert_int_eq(yes, 1);
	const struct lms_gguf_kv *a;
	ck_assert_int_eq(lms_gguf_array(g, "as", LMS_GV_STRING, 0, &a), LMS_OK);
	size_t pos = 0;
	for (int k = 0; k < 3; k++) {
		lms_gguf_arr_next_str(a, &pos, &s, &n);
		ck_assert(n == strlen(strs[k]) && !memcmp(s, strs[k], n));
	}
	ck_assert_int_eq(lms_gguf_array(g, "ai", LMS_GV_I32, 0, &a), LMS_OK);
	ck_assert_int_eq(lms_gguf_arr_i(a, 1), -8);
	ck_assert_int_eq(lms_gguf_array(g, "af", LMS_GV_F32, 0, &a), LMS_OK);
	ck_assert_double_eq(lms_gguf_arr_f(a, 1), -1.0);
	float y[3 * 64];
	const struct lms_gguf_tensor *w = lms_gguf_tensor(g, "w");
	ck_assert(w->ne[0] == 64 && w->ne[1] == 3 && w->ndim == 2);
	lms_wtype_to_f32(y, w->data, w->type, 3 * 64);
	for (int k = 0; k < 3 * 64; k++)
		ck_assert_float_eq(y[k], x[k]);
	const struct lms_gguf_tensor *h = lms_gguf_tensor(g, "h");
	ck_assert(h->type == LMS_W_F16 && h->ne[0] == 3 && h->ne[1] == 2);
	lms_wtype_to_f32(y, h->data, h->type, 6);
	for (int k = 0; k < 6; k++)
		ck_assert_float_eq(y[k], x[k]);
	ck_assert_uint_eq(((uintptr_t)h->data - (uintptr_t)g->map - g->data_start) % 32, 0);
	lms_gguf_close(g);
	/* F16 overflow and NaN are refused, and nothing is left behind */
	x[5] = 1e6f;
	ck_assert_int_eq(lms_gguf_write(tu_path("o.gguf"), kv, 1, t + 2, 1), LMS_ENUMERIC);
	x[5] = NAN;
	ck_assert_int_eq(lms_gguf_write(tu_path("o.gguf"), kv, 1, t, 1), LMS_ENUMERIC);
	ck_assert_int_eq(tu_entries(tu_dir), 1);
}
END_TEST

/* ---- models ------------------------------------------------------------------------- */

static struct lms_model *small_llama(int tied)
{
	struct lms_config c = {.arch = LMS_LLAMA,
	                       .V = 40,
	                       .maxT = 16,
	                       .C = 64,
	                       .H = 96,
	                       .L = 2,
	                       .NH = 4,
	                       .KV = 2,
	                       .eps = 1e-5f,
	                       .rope_theta = 5000.0f,
	                       .tied = tied};
	struct lms_model *m;
	ck_assert_int_eq(lms_model_create(&c, 3, &m), LMS_OK);
	tu_widen(m, 0.5f, 4);
	return m;
}

START_TEST(test_model_roundtrip)
{
	for (int tied = 0; tied < 2; tied++) {
		struct lms_model *m = small_llama(tied), *r;
		ck_assert_int_eq(lms_gguf_save(m, tu_path("m.gguf"), "F32"), LMS_OK);
		ck_assert(lms_gguf_is(tu_path("m.gguf")));
		struct lms_gguf *g;
		ck_assert_int_eq(lms_gguf_open(tu_path("m.gguf"), &g), LMS_OK);
		ck_assert((lms_gguf_tensor(g, "output.weight") == NULL) == tied);
		/* llama.cpp's permute: GGUF row h hs + 2i + j is Hugging Face's row
		 * h hs + j hs/2 + i (hs = 16, 4 query heads, 2 key heads) */
		const struct lms_tensor *q = lms_model_tensor(m, "model.layers.1.self_attn.q_proj.weight");
		const struct lms_tensor *k = lms_model_tensor(m, "model.layers.1.self_attn.k_proj.weight");
		const float *gq = lms_gguf_tensor(g, "blk.1.attn_q.weight")->data;
		const float *gk = lms_gguf_tensor(g, "blk.1.attn_k.weight")->data;
		for (int h = 0; h < 4; h++)
			for (int i = 0; i < 8; i++)
				for (int j = 0; j < 2; j++)
					for (int col = 0; col < 64; col += 13) {
						ck_assert_float_eq(
							gq[(h * 16 + 2 * i + j) * 64 + col],
							m->params[q->offset + (size_t)(h * 16 + j * 8 + i) * 64 + col]);
						if (h < 2)
							ck_assert_float_eq(
								gk[(h * 16 + 2 * i + j) * 64 + col],
								m->params[k->offset + (size_t)(h * 16 + j * 8 + i) * 64 + col]);
					}
		lms_gguf_close(g);
		ck_assert_int_eq(lms_gguf_load(tu_path("m.gguf"), &r, NULL), LMS_OK);
		ck_assert_mem_eq(&r->cfg, &m->cfg, sizeof m->cfg);
		ck_assert_uint_eq(r->n_params, m->n_params);
		ck_assert_mem_eq(r->params, m->params, m->n_params * sizeof(float));
		lms_model_free(r);
		lms_model_free(m);
	}
}
END_TEST

/* Quantized files load as typed models: matrices in their stored type
 * (q and k permuted back, still quantized), norms as float32; the float32
 * copy equals the float32 model of the same file. Qwen2 (q, k, v biases)
 * is written unpermuted under its own architecture name; linear rope
 * scaling survives the round trip. */
START_TEST(test_model_typed)
{
	struct lms_config c = {.arch = LMS_LLAMA,
	                       .V = 40,
	                       .maxT = 16,
	                       .C = 64,
	                       .H = 96,
	                       .L = 2,
	                       .NH = 4,
	                       .KV = 2,
	                       .eps = 1e-5f,
	                       .rope_theta = 5000.0f,
	                       .qkv_bias = 1,
	                       .rope = {.kind = LMS_ROPE_LINEAR, .factor = 2.0f}};
	for (int qwen = 0; qwen < 2; qwen++) {
		c.qkv_bias = qwen;
		struct lms_model *m, *q, *f, *f32;
		ck_assert_int_eq(lms_model_create(&c, 5, &m), LMS_OK);
		tu_widen(m, 0.5f, 6);
		ck_assert_int_eq(lms_gguf_save(m, tu_path("q.gguf"), "Q8_0"), LMS_OK);
		ck_assert_int_eq(lms_gguf_load(tu_path("q.gguf"), &q, NULL), LMS_OK);
		ck_assert_mem_eq(&q->cfg, &m->cfg, sizeof m->cfg);
		ck_assert(q->typed);
		for (int i = 0; i < q->n_tensors; i++)
			ck_assert_int_eq(q->wm[i].type, q->tensors[i].ndim == 2 ? LMS_W_Q8_0 : LMS_W_F32);
		ck_assert_int_eq(lms_model_to_f32(q, &f), LMS_OK);
		ck_assert_int_eq(lms_gguf_save(q, tu_path("f.gguf"), "F32"), LMS_OK);
		ck_assert_int_eq(lms_gguf_load(tu_path("f.gguf"), &f32, NULL), LMS_OK);
		ck_assert(!f32->typed);
		ck_assert_mem_eq(f->params, f32->params, f->n_params * sizeof(float));
		/* and close to the original (Q8_0: half a step, amax / 254, of weights of about 0.5) */
		ck_assert_double_le(tu_max_rel_err(f->params, m->params, m->n_params, 0.5), 0.03);
		struct lms_gguf *g;
		ck_assert_int_eq(lms_gguf_open(tu_path("f.gguf"), &g), LMS_OK);
		const char *arch;
		size_t n;
		ck_assert_int_eq(lms_gguf_str(g, "general.architecture", 0, &arch, &n), LMS_OK);
		ck_assert(n == 5 && !memcmp(arch, qwen ? "qwen2" : "llama", 5));
		ck_assert(!qwen == !lms_gguf_tensor(g, "blk.0.attn_q.bias"));
		if (qwen) { /* stored as Hugging Face stores it */
			const struct lms_tensor *t =
				lms_model_tensor(f, "model.layers.0.self_attn.q_proj.weight");
			ck_assert_mem_eq(lms_gguf_tensor(g, "blk.0.attn_q.weight")->data, f->params + t->offset,
			                 t->numel * sizeof(float));
		}
		lms_gguf_close(g);
		lms_model_free(f32);
		lms_model_free(f);
		lms_model_free(q);
		lms_model_free(m);
	}
}
END_TEST

/* A model file edited one key or tensor at a time. */
static void model_bad(const struct lms_gguf_out_kv *kv, int nk, const struct lms_gguf_out_tensor *t,
                      int nt, enum lms_status want, const char *msg)
{
	ck_assert_int_eq(lms_gguf_write(tu_path("b.gguf"), kv, nk, t, nt), LMS_OK);
	struct lms_model *m = NULL;
	ck_assert_int_eq(lms_gguf_load(tu_path("b.gguf"), &m, NULL), want);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(lms_errmsg(), msg), "message \"%s\" lacks \"%s\"", lms_errmsg(), msg);
}

START_TEST(test_model_bad)
{
	struct lms_model *m = small_llama(1);
	ck_assert_int_eq(lms_gguf_save(m, tu_path("m.gguf"), "Q8_0"), LMS_OK);
	struct lms_gguf *g;
	ck_assert_int_eq(lms_gguf_open(tu_path("m.gguf"), &g), LMS_OK);
	/* rebuild the file's keys and tensors (as float) to edit them */
	struct lms_gguf_out_kv kv[40];
	struct lms_gguf_out_tensor t[40];
	float *vals[40];
	int nk = g->n_kv, nt = g->n_tensors;
	ck_assert(nk < 38 && nt < 38);
	for (int i = 0; i < nk; i++) {
		const struct lms_gguf_kv *k = &g->kv[i];
		kv[i] = (struct lms_gguf_out_kv){.key = k->key, .type = k->type};
		if (k->type == LMS_GV_STRING)
			kv[i].s = strndup((const char *)k->val, k->size);
		else if (k->type == LMS_GV_F32)
			lms_gguf_float(g, k->key, 0, &kv[i].f);
		else
			kv[i].u = k->val[0] | (uint64_t)k->val[1] << 8 | (uint64_t)k->val[2] << 16;
	}
	for (int i = 0; i < nt; i++) {
		const struct lms_gguf_tensor *s = &g->tensors[i];
		size_t n = (size_t)(s->ne[0] * s->ne[1]);
		vals[i] = malloc(n * sizeof(float));
		lms_wtype_to_f32(vals[i], s->data, s->type, n);
		t[i] = (struct lms_gguf_out_tensor){s->name, s->type, s->ndim, s->ne[1], s->ne[0], vals[i]};
	}
	int arch = -1, heads = -1, emb = -1;
	for (int i = 0; i < nk; i++) {
		arch = strcmp(kv[i].key, "general.architecture") ? arch : i;
		heads = strcmp(kv[i].key, "llama.attention.head_count") ? heads : i;
	}
	for (int i = 0; i < nt; i++)
		emb = strcmp(t[i].name, "token_embd.weight") ? emb : i;
	ck_assert(arch >= 0 && heads >= 0 && emb >= 0);
	/* unchanged, the rebuilt file loads */
	ck_assert_int_eq(lms_gguf_write(tu_path("b.gguf"), kv, nk, t, nt), LMS_OK);
	struct lms_model *r;
	ck_assert_int_eq(lms_gguf_load(tu_path("b.gguf"), &r, NULL), LMS_OK);
	lms_model_free(r);
	const char *a = kv[arch].s;
	kv[arch].s = "gpt2";
	model_bad(kv, nk, t, nt, LMS_EUNSUPPORTED, "architecture \"gpt2\" is not supported");
	kv[arch].s = a;
	kv[heads].type = LMS_GV_STRING;
	kv[heads].s = "four";
	model_bad(kv, nk, t, nt, LMS_EFORMAT, "llama.attention.head_count is of type string");
	kv[heads].type = LMS_GV_U32;
	kv[heads].u = 3;
	model_bad(kv, nk, t, nt, LMS_EFORMAT, "3 heads do not divide width 64");
	kv[heads].u = 4;
	kv[nk] = (struct lms_gguf_out_kv){
		.key = "llama.rope.scaling.type", .type = LMS_GV_STRING, .s = "yarn"};
	model_bad(kv, nk + 1, t, nt, LMS_EUNSUPPORTED,
	          "llama.rope.scaling.type \"yarn\" is not supported");
	struct lms_gguf_out_kv last = kv[nk - 1], ctx = kv[2];
	kv[2] = last; /* llama.context_length dropped */
	model_bad(kv, nk - 1, t, nt, LMS_EFORMAT, "missing key llama.context_length");
	kv[2] = ctx;
	model_bad(kv, nk, t, nt - 1, LMS_EFORMAT, "missing tensor");
	t[nt] = t[0];
	t[nt].name = "blk.9.attn_q.weight";
	model_bad(kv, nk, t, nt + 1, LMS_EUNSUPPORTED, "unexpected tensor \"blk.9.attn_q.weight\"");
	t[emb].cols = 32;
	model_bad(kv, nk, t, nt, LMS_EFORMAT, "has shape [32, 40], the metadata implies [64, 40]");
	t[emb].cols = 64;
	lms_gguf_close(g);
	for (int i = 0; i < nk; i++)
		if (kv[i].type == LMS_GV_STRING && i != arch)
			free((char *)kv[i].s);
	free((char *)a);
	for (int i = 0; i < nt; i++)
		free(vals[i]);
	lms_model_free(m);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"lms_gguf_open", test_read_handmade},   {"version2", test_read_v2},
		{"truncations", test_truncations},       {"tokenizer", test_tokenizer},
		{"bad_headers", test_bad_headers},       {"lms_gguf_write", test_write_roundtrip},
		{"lms_gguf_save", test_model_roundtrip}, {"typed", test_model_typed},
		{"lms_gguf_load_bad", test_model_bad},
	};
	return TU_SUITE("gguf", cases, 1);
}
