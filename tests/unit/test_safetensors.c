/* safetensors.c: half/bfloat16 conversions against hand-computed bit
 * patterns, reading hand-assembled files (independent of the writer),
 * writer/reader round trips, and the header validation. */
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <check.h>

#include "io/safetensors.h"
#include "testutil.h"

/* A file from a header text and raw data bytes. */
static void write_file(const char *path, const char *header, const void *data, size_t len)
{
	size_t h = strlen(header);
	unsigned char *buf = malloc(8 + h + len + 1);
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)((uint64_t)h >> (8 * i));
	memcpy(buf + 8, header, h);
	if (len)
		memcpy(buf + 8 + h, data, len);
	tu_write(path, buf, 8 + h + len);
	free(buf);
}

static uint32_t bits(float f)
{
	uint32_t x;
	memcpy(&x, &f, 4);
	return x;
}

static float from_bits(uint32_t x)
{
	float f;
	memcpy(&f, &x, 4);
	return f;
}

START_TEST(test_f16_to_f32)
{
	ck_assert_float_eq(lms_f16_to_f32(0x3c00), 1.0f);
	ck_assert_float_eq(lms_f16_to_f32(0xc000), -2.0f);
	ck_assert_float_eq(lms_f16_to_f32(0x7bff), 65504.0f);
	ck_assert_float_eq(lms_f16_to_f32(0x3555), 0.333251953125f);
	ck_assert_float_eq(lms_f16_to_f32(0x0400), ldexpf(1.0f, -14)); /* smallest normal */
	ck_assert_float_eq(lms_f16_to_f32(0x0001), ldexpf(1.0f, -24)); /* smallest subnormal */
	ck_assert_float_eq(lms_f16_to_f32(0x03ff), 1023.0f * ldexpf(1.0f, -24));
	ck_assert_uint_eq(bits(lms_f16_to_f32(0x8000)), 0x80000000u); /* -0 */
	ck_assert(isinf(lms_f16_to_f32(0x7c00)) && lms_f16_to_f32(0x7c00) > 0);
	ck_assert(isinf(lms_f16_to_f32(0xfc00)) && lms_f16_to_f32(0xfc00) < 0);
	ck_assert(isnan(lms_f16_to_f32(0x7e00)));
	ck_assert(isnan(lms_f16_to_f32(0x7c01)));
}
END_TEST

START_TEST(test_f32_to_f16)
{
	ck_assert_uint_eq(lms_f32_to_f16(1.0f), 0x3c00);
	ck_assert_uint_eq(lms_f32_to_f16(-2.0f), 0xc000);
	ck_assert_uint_eq(lms_f32_to_f16(1.0f / 3.0f), 0x3555);
	ck_assert_uint_eq(lms_f32_to_f16(65504.0f), 0x7bff);
	ck_assert_uint_eq(lms_f32_to_f16(65519.0f), 0x7bff);
	ck_assert_uint_eq(lms_f32_to_f16(65520.0f), 0x7c00); /* the tie rounds to even: Inf */
	ck_assert_uint_eq(lms_f32_to_f16(1e10f), 0x7c00);
	ck_assert_uint_eq(lms_f32_to_f16(-1e10f), 0xfc00);
	/* ties to even: 1 + 2^-11 lies between 0x3c00 and 0x3c01 */
	ck_assert_uint_eq(lms_f32_to_f16(1.0f + ldexpf(1.0f, -11)), 0x3c00);
	ck_assert_uint_eq(lms_f32_to_f16(1.0f + 3 * ldexpf(1.0f, -11)), 0x3c02);
	ck_assert_uint_eq(lms_f32_to_f16(1.0f + ldexpf(1.0f, -11) + ldexpf(1.0f, -20)), 0x3c01);
	/* subnormals and underflow */
	ck_assert_uint_eq(lms_f32_to_f16(ldexpf(1.0f, -24)), 0x0001);
	ck_assert_uint_eq(lms_f32_to_f16(ldexpf(1.0f, -25)), 0x0000); /* tie to even: 0 */
	ck_assert_uint_eq(lms_f32_to_f16(ldexpf(1.5f, -25)), 0x0001);
	ck_assert_uint_eq(lms_f32_to_f16(ldexpf(3.0f, -25)), 0x0002); /* 1.5 units: tie to even 2 */
	ck_assert_uint_eq(lms_f32_to_f16(1e-9f), 0x0000);
	ck_assert_uint_eq(lms_f32_to_f16(-1e-9f), 0x8000);
	ck_assert_uint_eq(lms_f32_to_f16(ldexpf(1023.5f, -24)),
	                  0x0400); /* rounds up into the normals */
	ck_assert_uint_eq(lms_f32_to_f16(ldexpf(1.0f, -14)), 0x0400);
	ck_assert_uint_eq(lms_f32_to_f16(INFINITY), 0x7c00);
	ck_assert_uint_eq(lms_f32_to_f16(NAN) & 0x7c00, 0x7c00);
	ck_assert_uint_ne(lms_f32_to_f16(NAN) & 0x03ff, 0);
	/* every finite half survives the round trip through float */
	for (uint32_t h = 0; h < 0x10000; h++)
		if ((h & 0x7c00) != 0x7c00)
			ck_assert_uint_eq(lms_f32_to_f16(lms_f16_to_f32((uint16_t)h)), h);
}
END_TEST

START_TEST(test_bf16)
{
	ck_assert_float_eq(lms_bf16_to_f32(0x3f80), 1.0f);
	ck_assert_float_eq(lms_bf16_to_f32(0x4049), 3.140625f);
	ck_assert_float_eq(lms_bf16_to_f32(0xc2f7), -123.5f);
	ck_assert_uint_eq(lms_f32_to_bf16(1.0f), 0x3f80);
	ck_assert_uint_eq(lms_f32_to_bf16(from_bits(0x40490fdb)), 0x4049); /* pi rounds down */
	ck_assert_uint_eq(lms_f32_to_bf16(from_bits(0x3f808000)), 0x3f80); /* tie to even */
	ck_assert_uint_eq(lms_f32_to_bf16(from_bits(0x3f818000)), 0x3f82); /* tie to even */
	ck_assert_uint_eq(lms_f32_to_bf16(from_bits(0x3f808001)), 0x3f81);
	ck_assert_uint_eq(lms_f32_to_bf16(from_bits(0x7f7fffff)), 0x7f80); /* FLT_MAX rounds to Inf */
	ck_assert(isnan(lms_bf16_to_f32(lms_f32_to_bf16(NAN))));
}
END_TEST

/* A file assembled by hand: an F16 tensor at an odd offset, a BF16 one, an
 * F32 one, metadata, an ignored I64 tensor. */
START_TEST(test_read_handmade)
{
	unsigned char data[64] = {0};
	/* a: F16 [1.0, -2.0, 65504] at bytes 1..7 */
	data[1] = 0x00;
	data[2] = 0x3c;
	data[3] = 0x00;
	data[4] = 0xc0;
	data[5] = 0xff;
	data[6] = 0x7b;
	/* b: BF16 [1.0, 3.140625] at 7..11 */
	data[7] = 0x80;
	data[8] = 0x3f;
	data[9] = 0x49;
	data[10] = 0x40;
	/* c: F32 [[0.5], [-0.25]] at 11..19 */
	float c[2] = {0.5f, -0.25f};
	memcpy(data + 11, c, 8);
	const char *h = "{\"__metadata__\":{\"format\":\"pt\"},"
					"\"a\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[1,7]},"
					"\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[7,11]},"
					"\"c\":{\"dtype\":\"F32\",\"shape\":[2,1],\"data_offsets\":[11,19]},"
					"\"i\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[24,32]},"
					"\"e\":{\"dtype\":\"F32\",\"shape\":[0,4],\"data_offsets\":[19,19]}}   ";
	write_file(tu_path("m.safetensors"), h, data, sizeof data);
	struct lms_st_file *f;
	ck_assert_int_eq(lms_st_open(tu_path("m.safetensors"), &f), LMS_OK);
	ck_assert_int_eq(f->n, 5);
	ck_assert_str_eq(lms_st_meta(f, "format"), "pt");
	ck_assert_ptr_null(lms_st_meta(f, "nothing"));
	float out[4];
	const struct lms_st_tensor *t = lms_st_find(f, "a");
	ck_assert_ptr_nonnull(t);
	ck_assert_int_eq(t->dtype, LMS_ST_F16);
	ck_assert_int_eq(lms_st_read_f32(f, t, out), LMS_OK);
	ck_assert_float_eq(out[0], 1.0f);
	ck_assert_float_eq(out[1], -2.0f);
	ck_assert_float_eq(out[2], 65504.0f);
	t = lms_st_find(f, "b");
	ck_assert_int_eq(lms_st_read_f32(f, t, out), LMS_OK);
	ck_assert_float_eq(out[0], 1.0f);
	ck_assert_float_eq(out[1], 3.140625f);
	t = lms_st_find(f, "c");
	ck_assert_int_eq(t->ndim, 2);
	ck_assert_int_eq(t->shape[0], 2);
	ck_assert_int_eq(t->shape[1], 1);
	ck_assert_int_eq(lms_st_read_f32(f, t, out), LMS_OK);
	ck_assert_float_eq(out[0], 0.5f);
	ck_assert_float_eq(out[1], -0.25f);
	ck_assert_uint_eq(lms_st_find(f, "e")->numel, 0);
	ck_assert_int_eq(lms_st_read_f32(f, lms_st_find(f, "i"), out), LMS_EUNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "tensor \"i\" has dtype I64"));
	ck_assert_ptr_null(lms_st_find(f, "zzz"));
	lms_st_close(f);
}
END_TEST

START_TEST(test_write_roundtrip)
{
	float a[6] = {1.0f, -0.5f, 3.14159265f, 1e-3f, -65504.0f, 1e-6f};
	float b[1] = {42.0f};
	int64_t sa[2] = {2, 3}, sb[1] = {1};
	struct lms_st_out t[2] = {{"layer.a", 2, sa, a}, {"b", 1, sb, b}};
	const char *meta[] = {"format", "pt", "note", "x", NULL};
	enum lms_st_dtype dts[3] = {LMS_ST_F32, LMS_ST_F16, LMS_ST_BF16};
	for (int k = 0; k < 3; k++) {
		const char *p = tu_path("w.safetensors");
		ck_assert_int_eq(lms_st_write(p, t, 2, dts[k], meta), LMS_OK);
		struct lms_st_file *f;
		ck_assert_int_eq(lms_st_open(p, &f), LMS_OK);
		/* the header is padded to 8 bytes, as the reference writer does */
		ck_assert_uint_eq((f->size - f->data_size) % 8, 0);
		ck_assert_uint_eq(f->data_size, (k ? 2 : 4) * 7);
		ck_assert_str_eq(lms_st_meta(f, "note"), "x");
		const struct lms_st_tensor *ta = lms_st_find(f, "layer.a");
		ck_assert_ptr_nonnull(ta);
		ck_assert_int_eq(ta->dtype, dts[k]);
		ck_assert_int_eq(ta->ndim, 2);
		ck_assert_int_eq(ta->shape[0], 2);
		ck_assert_int_eq(ta->shape[1], 3);
		float out[6];
		ck_assert_int_eq(lms_st_read_f32(f, ta, out), LMS_OK);
		for (int i = 0; i < 6; i++) {
			float want = k == 0   ? a[i]
			             : k == 1 ? lms_f16_to_f32(lms_f32_to_f16(a[i]))
			                      : lms_bf16_to_f32(lms_f32_to_bf16(a[i]));
			ck_assert_float_eq(out[i], want);
		}
		ck_assert_int_eq(lms_st_read_f32(f, lms_st_find(f, "b"), out), LMS_OK);
		ck_assert_float_eq(out[0], 42.0f);
		lms_st_close(f);
	}
}
END_TEST

START_TEST(test_write_f16_overflow)
{
	float a[2] = {1.0f, 70000.0f};
	int64_t s[1] = {2};
	struct lms_st_out t[1] = {{"a", 1, s, a}};
	const char *p = tu_path("o.safetensors");
	ck_assert_int_eq(lms_st_write(p, t, 1, LMS_ST_F16, NULL), LMS_ENUMERIC);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "does not fit F16"));
	ck_assert_int_ne(access(p, F_OK), 0); /* nothing left behind */
	ck_assert_int_eq(lms_st_write(p, t, 1, LMS_ST_BF16, NULL), LMS_OK);
}
END_TEST

/* Opens a file made from header + data and expects failure with a message
 * containing want. */
static void expect_bad(const char *header, size_t datalen, enum lms_status st, const char *want)
{
	unsigned char data[64] = {0};
	const char *p = tu_path("bad.safetensors");
	write_file(p, header, data, datalen);
	struct lms_st_file *f = (void *)1;
	ck_assert_int_eq(lms_st_open(p, &f), st);
	ck_assert_ptr_null(f);
	if (!strstr(lms_errmsg(), want) || strncmp(lms_errmsg(), p, strlen(p)) ||
	    strchr(lms_errmsg(), '\n'))
		ck_abort_msg("message \"%s\", wanted \"%s\"", lms_errmsg(), want);
}

START_TEST(test_open_bad)
{
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", 8, LMS_EFORMAT,
	           "not valid JSON");
	expect_bad("[]", 0, LMS_EFORMAT, "not a JSON object");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	           "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
	           8, LMS_EFORMAT, "duplicate");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, LMS_EFORMAT,
	           "past the end of the data");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, LMS_EFORMAT,
	           "need 12 bytes, data_offsets give 8");
	expect_bad("{\"a\":{\"dtype\":\"Q4\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, LMS_EFORMAT,
	           "unknown dtype \"Q4\"");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, LMS_EFORMAT,
	           "shape is not a list of sizes");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, LMS_EFORMAT,
	           "out of order");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0]}}", 8, LMS_EFORMAT,
	           "not [begin, end]");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
	           "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
	           16, LMS_EFORMAT, "overlap");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_"
	           "offsets\":[0,8]}}",
	           8, LMS_EFORMAT, "absurdly large");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
	           4, LMS_EFORMAT, "9 dimensions");
	expect_bad("{\"__metadata__\":{\"format\":1}}", 0, LMS_EFORMAT, "__metadata__");
	expect_bad("{\"a\":[1,2]}", 0, LMS_EFORMAT, "not an object");
	expect_bad("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, LMS_EFORMAT,
	           "needs dtype, shape and data_offsets");
	expect_bad("{\"\xff\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
	           LMS_EFORMAT, "unable to decode byte 0xff");
}
END_TEST

START_TEST(test_open_bad_size)
{
	const char *p = tu_path("s.safetensors");
	struct lms_st_file *f;
	tu_write(p, "", 0);
	ck_assert_int_eq(lms_st_open(p, &f), LMS_EFORMAT);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "too short"));
	unsigned char h[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}'};
	tu_write(p, h, sizeof h);
	ck_assert_int_eq(lms_st_open(p, &f), LMS_EFORMAT);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "past the end of the file (10 bytes)"));
	/* a header length the file could hold but no sane file has: a sparse
	 * 200 MB file, refused before anything reads or allocates that much */
	int fd = open(p, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	uint64_t len = (uint64_t)150 << 20;
	unsigned char lb[8];
	for (int i = 0; i < 8; i++)
		lb[i] = (unsigned char)(len >> (8 * i));
	ck_assert_int_eq(write(fd, lb, 8), 8);
	ck_assert_int_eq(ftruncate(fd, (off_t)200 << 20), 0);
	close(fd);
	ck_assert_int_eq(lms_st_open(p, &f), LMS_EFORMAT);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "is absurd"));
	ck_assert_int_eq(lms_st_open(tu_path("absent"), &f), LMS_EIO);
	ck_assert_int_eq(lms_st_open(tu_dir, &f), LMS_EIO);
	ck_assert_ptr_nonnull(strstr(lms_errmsg(), "not a regular file"));
}
END_TEST

/* Random corruptions of a valid file (flipped bytes, header bytes, cut
 * lengths): every open either succeeds, with every tensor readable, or fails
 * with a one-line message naming the file. Under the sanitizers this also
 * shows that no corruption reads out of bounds. */
START_TEST(test_mutations)
{
	float a[24];
	for (int i = 0; i < 24; i++)
		a[i] = (float)i - 7.5f;
	int64_t s1[2] = {4, 6}, s2[1] = {3};
	struct lms_st_out t[3] = {{"h.0.w", 2, s1, a}, {"h.0.b", 1, s2, a + 2}, {"ln.w", 1, s2, a + 5}};
	const char *good = tu_path("good.safetensors");
	/* the corrupted copies live in memory: creating thousands of files on
	 * disk takes seconds on some file systems */
	int mfd = memfd_create("mut.safetensors", 0);
	ck_assert_int_ge(mfd, 0);
	char p[64];
	snprintf(p, sizeof p, "/proc/self/fd/%d", mfd);
	ck_assert_int_eq(lms_st_write(good, t, 3, LMS_ST_F16, NULL), LMS_OK);
	FILE *f = fopen(good, "rb");
	unsigned char orig[4096];
	size_t len = fread(orig, 1, sizeof orig, f);
	fclose(f);
	size_t hlen = orig[0] | (size_t)orig[1] << 8;
	uint64_t state = 12345;
	int opened = 0;
	for (int round = 0; round < 3000; round++) {
		unsigned char buf[4096];
		memcpy(buf, orig, len);
		size_t n = len;
		state = state * 6364136223846793005ull + 1442695040888963407ull;
		unsigned r = (unsigned)(state >> 33);
		int flips = 1 + (int)(r % 4);
		for (int k = 0; k < flips; k++) {
			state = state * 6364136223846793005ull + 1442695040888963407ull;
			unsigned q = (unsigned)(state >> 33);
			/* mostly in the header, where the structure is */
			size_t at = q % 4 ? 8 + q / 4 % hlen : q / 4 % len;
			static const char chars[] = "0123456789[]{},:\"\\ -eE.FBI";
			buf[at] = q % 3 ? (unsigned char)chars[(q >> 8) % (sizeof chars - 1)]
			                : (unsigned char)(q >> 8);
		}
		if (r % 7 == 0)
			n = r / 7 % len; /* cut */
		ck_assert_int_eq(ftruncate(mfd, 0), 0);
		ck_assert_int_eq(pwrite(mfd, buf, n, 0), (ssize_t)n);
		struct lms_st_file *sf;
		enum lms_status st = lms_st_open(p, &sf);
		if (st) {
			ck_assert_int_eq(strncmp(lms_errmsg(), p, strlen(p)), 0);
			ck_assert_ptr_null(strchr(lms_errmsg(), '\n'));
			continue;
		}
		opened++;
		for (int i = 0; i < sf->n; i++) {
			float *out = malloc((sf->tensors[i].numel + 1) * sizeof(float));
			lms_st_read_f32(sf, &sf->tensors[i], out);
			free(out);
		}
		lms_st_close(sf);
	}
	ck_assert_int_gt(opened, 0); /* some corruptions only touch values */
	close(mfd);
}
END_TEST

/* A file cut short after it was opened (cp of another model over it): the
 * pages past the new end raise SIGBUS when touched, which must come back
 * as an error naming the file, for every dtype's conversion. */
START_TEST(test_truncated_after_open)
{
	enum { N = 1 << 18 }; /* 1 MiB of F32: many pages past the cut */
	float *a = calloc(N, sizeof *a);
	int64_t shape[1] = {N};
	struct lms_st_out t[1] = {{"w", 1, shape, a}};
	enum lms_st_dtype dts[3] = {LMS_ST_F32, LMS_ST_F16, LMS_ST_BF16};
	for (int k = 0; k < 3; k++) {
		const char *p = tu_path("t.safetensors");
		ck_assert_int_eq(lms_st_write(p, t, 1, dts[k], NULL), LMS_OK);
		struct lms_st_file *f;
		ck_assert_int_eq(lms_st_open(p, &f), LMS_OK);
		ck_assert_int_eq(truncate(p, 4096), 0);
		ck_assert_int_eq(lms_st_read_f32(f, lms_st_find(f, "w"), a), LMS_EIO);
		ck_assert_ptr_nonnull(
			strstr(lms_errmsg(), "t.safetensors: the file shrank while being read"));
		lms_st_close(f);
		/* and it still works on a whole file afterwards */
		ck_assert_int_eq(lms_st_write(p, t, 1, dts[k], NULL), LMS_OK);
		ck_assert_int_eq(lms_st_open(p, &f), LMS_OK);
		ck_assert_int_eq(lms_st_read_f32(f, lms_st_find(f, "w"), a), LMS_OK);
		lms_st_close(f);
	}
	free(a);
}
END_TEST

Suite *lms_test_suite(void)
{
	const struct tu_case cases[] = {
		{"lms_f16_to_f32", test_f16_to_f32},
		{"lms_f32_to_f16", test_f32_to_f16},
		{"bf16", test_bf16},
		{"lms_st_read_f32", test_read_handmade},
		{"lms_st_write", test_write_roundtrip},
		{"lms_st_write_f16", test_write_f16_overflow},
		{"lms_st_open", test_open_bad},
		{"lms_st_open_size", test_open_bad_size},
		{"mutations", test_mutations},
		{"truncated", test_truncated_after_open},
	};
	return TU_SUITE("safetensors", cases, 1);
}
