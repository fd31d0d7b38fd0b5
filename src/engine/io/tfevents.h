/* TensorBoard event files: TFRecord framing (length, masked CRC-32C of the
 * length, data, masked CRC-32C of the data) around Event protocol buffers,
 * each holding one scalar summary. Written by hand, no protobuf library:
 *
 *   Event    { double wall_time = 1; int64 step = 2; string file_version = 3;
 *              Summary summary = 5; }
 *   Summary  { repeated Value value = 1; }
 *   Value    { string tag = 1; float simple_value = 2; }
 *
 * The first record of a file is an Event with file_version "brain.Event:2".
 * Internal to the engine. */
#ifndef LMS_TFEVENTS_H
#define LMS_TFEVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lmscope/status.h"

/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), continuing from crc
 * (0 to start). */
uint32_t lms_crc32c(uint32_t crc, const void *data, size_t len);
/* TFRecord's masking: rotate right by 15 and add 0xa282ead8. */
uint32_t lms_crc32c_mask(uint32_t crc);

/* One framed record of len bytes into out (len + 16 bytes). */
void lms_tfrecord_frame(uint8_t *out, const uint8_t *data, size_t len);

/* Encodes an Event with one scalar into buf (at least 64 + strlen(tag)
 * bytes); returns its length. */
size_t lms_tfevent_scalar(uint8_t *buf, double wall_time, int64_t step, const char *tag,
                          float value);

struct lms_tfevents {
	FILE *f;
	char *path;
};

/* Creates dir/events.out.tfevents.<unix time>.<host>[.<n>] (a new file, never
 * an existing one) and writes the file_version record. */
enum lms_status lms_tfevents_open(struct lms_tfevents *w, const char *dir);
enum lms_status lms_tfevents_scalar(struct lms_tfevents *w, int64_t step, const char *tag,
                                    float value);
enum lms_status lms_tfevents_flush(struct lms_tfevents *w);
void lms_tfevents_close(struct lms_tfevents *w);

#endif
