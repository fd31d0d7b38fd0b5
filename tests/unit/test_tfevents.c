/* TensorBoard event files (src/engine/io/tfevents.c): CRC-32C against published
 * check values (RFC 3720 appendix B.4 and the "123456789" check), TFRecord
 * framing and the hand-written protobuf bytes of a scalar Event. The written
 * file is also read back by an independent Python decoder in
 * tests/cli/train.sh. */
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "io/tfevents.h"

START_TEST(test_crc32c)
{
	ck_assert_uint_eq(lms_crc32c(0, "123456789", 9), 0xE3069283u);
	uint8_t buf[32];
	memset(buf, 0, sizeof buf);
	ck_assert_uint_eq(lms_crc32c(0, buf, 32), 0x8A9136AAu);
	memset(buf, 0xff, sizeof buf);
	ck_assert_uint_eq(lms_crc32c(0, buf, 32), 0x62A8AB43u);
	for (int i = 0; i < 32; i++)
		buf[i] = (uint8_t)i;
	ck_assert_uint_eq(lms_crc32c(0, buf, 32), 0x46DD794Eu);
	/* continuing a CRC over a split buffer gives the CRC of the whole */
	ck_assert_uint_eq(lms_crc32c(lms_crc32c(0, buf, 10), buf + 10, 22), 0x46DD794Eu);
	ck_assert_uint_eq(lms_crc32c(0, "", 0), 0u);
}
END_TEST

START_TEST(test_mask)
{
	/* ((c >> 15) | (c << 17)) + 0xa282ead8, worked by hand for c = 0x00000001:
	 * rotate right 15 = 0x00020000, plus 0xa282ead8 = 0xa284ead8 */
	ck_assert_uint_eq(lms_crc32c_mask(1u), 0xa284ead8u);
	ck_assert_uint_eq(lms_crc32c_mask(0u), 0xa282ead8u);
	/* 0x80000000 rotated right by 15 is 0x00010000 */
	ck_assert_uint_eq(lms_crc32c_mask(0x80000000u), 0xa283ead8u);
}
END_TEST

START_TEST(test_tfrecord_frame)
{
	const uint8_t data[3] = {'a', 'b', 'c'};
	uint8_t rec[3 + 16];
	lms_tfrecord_frame(rec, data, 3);
	/* length, little-endian 64-bit */
	const uint8_t len[8] = {3, 0, 0, 0, 0, 0, 0, 0};
	ck_assert_mem_eq(rec, len, 8);
	uint32_t c1 = lms_crc32c_mask(lms_crc32c(0, len, 8));
	uint32_t c2 = lms_crc32c_mask(lms_crc32c(0, data, 3));
	uint8_t want1[4] = {c1 & 0xff, c1 >> 8 & 0xff, c1 >> 16 & 0xff, c1 >> 24};
	uint8_t want2[4] = {c2 & 0xff, c2 >> 8 & 0xff, c2 >> 16 & 0xff, c2 >> 24};
	ck_assert_mem_eq(rec + 8, want1, 4);
	ck_assert_mem_eq(rec + 12, data, 3);
	ck_assert_mem_eq(rec + 15, want2, 4);
	/* crc32c("abc") is the published 0x364B3FB7 */
	ck_assert_uint_eq(lms_crc32c(0, data, 3), 0x364B3FB7u);
}
END_TEST

START_TEST(test_event_scalar)
{
	uint8_t buf[128];
	size_t n = lms_tfevent_scalar(buf, 1.0, 5, "a", 2.0f);
	/* Event { wall_time (1, fixed64) = 1.0; step (2, varint) = 5;
	 *         summary (5, bytes) = Summary { value (1, bytes) =
	 *             Value { tag (1, bytes) = "a"; simple_value (2, fixed32) = 2.0 } } } */
	const uint8_t want[] = {
		0x09, 0,    0,    0,    0,    0,   0,    0xf0, 0x3f, 0x10, 0x05, 0x2a,
		0x0a, 0x0a, 0x08, 0x0a, 0x01, 'a', 0x15, 0x00, 0x00, 0x00, 0x40,
	};
	ck_assert_uint_eq(n, sizeof want);
	ck_assert_mem_eq(buf, want, sizeof want);
	/* a step of 300 takes a two-byte varint: 0xac 0x02 */
	n = lms_tfevent_scalar(buf, 1.0, 300, "a", 2.0f);
	ck_assert_uint_eq(n, sizeof want + 1);
	ck_assert_uint_eq(buf[9], 0x10);
	ck_assert_uint_eq(buf[10], 0xac);
	ck_assert_uint_eq(buf[11], 0x02);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("tfevents");
	TCase *t;
	t = tcase_create("crc32c");
	tcase_add_test(t, test_crc32c);
	tcase_add_test(t, test_mask);
	suite_add_tcase(s, t);
	t = tcase_create("tfrecord_frame");
	tcase_add_test(t, test_tfrecord_frame);
	suite_add_tcase(s, t);
	t = tcase_create("tfevent_scalar");
	tcase_add_test(t, test_event_scalar);
	suite_add_tcase(s, t);
	return s;
}
