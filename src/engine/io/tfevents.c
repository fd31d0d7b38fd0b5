/* TensorBoard event files written by hand: protobuf wire format (varints,
 * 64-bit and 32-bit little-endian fields, length-delimited submessages) inside
 * TFRecord frames. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "io/tfevents.h"

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82F63B78u : c >> 1;
		crc_table[i] = c;
	}
}

uint32_t lms_crc32c(uint32_t crc, const void *data, size_t len)
{
	if (!crc_table[1])
		crc_init();
	const uint8_t *p = data;
	crc = ~crc;
	for (size_t i = 0; i < len; i++)
		crc = crc_table[(crc ^ p[i]) & 0xff] ^ (crc >> 8);
	return ~crc;
}

uint32_t lms_crc32c_mask(uint32_t crc)
{
	return ((crc >> 15) | (crc << 17)) + 0xa282ead8u;
}

static void put_le(uint8_t *out, uint64_t x, int bytes)
{
	for (int i = 0; i < bytes; i++)
		out[i] = (uint8_t)(x >> (8 * i));
}

void lms_tfrecord_frame(uint8_t *out, const uint8_t *data, size_t len)
{
	put_le(out, len, 8);
	put_le(out + 8, lms_crc32c_mask(lms_crc32c(0, out, 8)), 4);
	memmove(out + 12, data, len);
	put_le(out + 12 + len, lms_crc32c_mask(lms_crc32c(0, data, len)), 4);
}

/* ---- protobuf wire format ------------------------------------------------ */

enum { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

static size_t put_varint(uint8_t *out, uint64_t x)
{
	size_t n = 0;
	do {
		uint8_t b = x & 0x7f;
		x >>= 7;
		out[n++] = b | (x ? 0x80 : 0);
	} while (x);
	return n;
}

static size_t put_key(uint8_t *out, int field, int wire)
{
	return put_varint(out, (uint64_t)field << 3 | (uint64_t)wire);
}

static size_t put_bytes(uint8_t *out, int field, const void *data, size_t len)
{
	size_t n = put_key(out, field, WIRE_LEN);
	n += put_varint(out + n, len);
	memcpy(out + n, data, len);
	return n + len;
}

static size_t put_double(uint8_t *out, int field, double x)
{
	uint64_t bits;
	memcpy(&bits, &x, 8);
	size_t n = put_key(out, field, WIRE_I64);
	put_le(out + n, bits, 8);
	return n + 8;
}

static size_t put_float(uint8_t *out, int field, float x)
{
	uint32_t bits;
	memcpy(&bits, &x, 4);
	size_t n = put_key(out, field, WIRE_I32);
	put_le(out + n, bits, 4);
	return n + 4;
}

static size_t event_head(uint8_t *buf, double wall_time, int64_t step)
{
	size_t n = put_double(buf, 1, wall_time);
	if (step) {
		n += put_key(buf + n, 2, WIRE_VARINT);
		n += put_varint(buf + n, (uint64_t)step);
	}
	return n;
}

size_t lms_tfevent_scalar(uint8_t *buf, double wall_time, int64_t step, const char *tag,
                          float value)
{
	size_t tlen = strlen(tag);
	/* Value { tag = 1; simple_value = 2 } */
	uint8_t *val = malloc(tlen + 32);
	uint8_t *sum = malloc(tlen + 48);
	if (!val || !sum) {
		free(val);
		free(sum);
		return 0;
	}
	size_t nv = put_bytes(val, 1, tag, tlen);
	nv += put_float(val + nv, 2, value);
	/* Summary { repeated Value value = 1 } */
	size_t ns = put_bytes(sum, 1, val, nv);
	size_t n = event_head(buf, wall_time, step);
	n += put_bytes(buf + n, 5, sum, ns);
	free(val);
	free(sum);
	return n;
}

/* ---- event files ----------------------------------------------------------- */

static double now(void)
{
	struct timeval tv;
	gettimeofday(&tv, NULL);
	return (double)tv.tv_sec + tv.tv_usec * 1e-6;
}

static enum lms_status write_record(struct lms_tfevents *w, const uint8_t *data, size_t len)
{
	uint8_t *rec = malloc(len + 16);
	if (!rec)
		return lms_fail(LMS_ENOMEM, "out of memory");
	lms_tfrecord_frame(rec, data, len);
	size_t put = fwrite(rec, 1, len + 16, w->f);
	free(rec);
	if (put != len + 16)
		return lms_fail(LMS_EIO, "%s: %s", w->path, strerror(errno));
	return LMS_OK;
}

enum lms_status lms_tfevents_open(struct lms_tfevents *w, const char *dir)
{
	memset(w, 0, sizeof *w);
	char host[64] = "localhost";
	gethostname(host, sizeof host - 1);
	host[sizeof host - 1] = 0;
	long t = (long)now();
	size_t cap = strlen(dir) + strlen(host) + 96;
	w->path = malloc(cap);
	if (!w->path)
		return lms_fail(LMS_ENOMEM, "out of memory");
	int fd = -1;
	for (int k = 0; k < 1000 && fd < 0; k++) {
		if (k == 0)
			snprintf(w->path, cap, "%s/events.out.tfevents.%ld.%s", dir, t, host);
		else
			snprintf(w->path, cap, "%s/events.out.tfevents.%ld.%s.%d", dir, t, host, k);
		fd = open(w->path, O_WRONLY | O_CREAT | O_EXCL, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0 || !(w->f = fdopen(fd, "wb"))) {
		enum lms_status st = lms_fail(LMS_EIO, "%s: %s", w->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(w->path);
		w->path = NULL;
		return st;
	}
	uint8_t buf[64];
	size_t n = event_head(buf, now(), 0);
	n += put_bytes(buf + n, 3, "brain.Event:2", 13);
	enum lms_status st = write_record(w, buf, n);
	if (st)
		lms_tfevents_close(w);
	return st;
}

enum lms_status lms_tfevents_scalar(struct lms_tfevents *w, int64_t step, const char *tag,
                                    float value)
{
	uint8_t *buf = malloc(strlen(tag) + 96);
	if (!buf)
		return lms_fail(LMS_ENOMEM, "out of memory");
	size_t n = lms_tfevent_scalar(buf, now(), step, tag, value);
	enum lms_status st = n ? write_record(w, buf, n) : lms_fail(LMS_ENOMEM, "out of memory");
	free(buf);
	return st;
}

enum lms_status lms_tfevents_flush(struct lms_tfevents *w)
{
	if (w->f && fflush(w->f) != 0)
		return lms_fail(LMS_EIO, "%s: %s", w->path, strerror(errno));
	return LMS_OK;
}

void lms_tfevents_close(struct lms_tfevents *w)
{
	if (w->f)
		fclose(w->f);
	free(w->path);
	w->f = NULL;
	w->path = NULL;
}
