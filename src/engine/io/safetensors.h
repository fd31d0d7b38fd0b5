/* The safetensors file format: an 8-byte little-endian header length N, N
 * bytes of JSON header, then the data section. The header maps each tensor
 * name to {"dtype", "shape", "data_offsets": [begin, end]} (byte offsets into
 * the data section) and may hold "__metadata__", a map of strings.
 *
 * Reading maps the file (mmap) and validates the whole header before anyone
 * looks at a tensor: the header length against the file size, the JSON
 * (UTF-8, no duplicate keys), every dtype, shape and offset pair, that each
 * tensor's byte span is exactly numel * dtype size, lies inside the data
 * section and overlaps no other tensor. Nothing is allocated beyond what the
 * header's own size justifies. Values are converted to float32 on request.
 *
 * Writing goes through atomic.h and produces F32, F16 or BF16, with the
 * header padded with spaces to a multiple of 8 bytes as the reference
 * implementation does. */
#ifndef LMS_SAFETENSORS_H
#define LMS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "lmscope/atomic.h"
#include "lmscope/status.h"

#define LMS_ST_MAX_DIM 8

enum lms_st_dtype {
	LMS_ST_F32,
	LMS_ST_F16,
	LMS_ST_BF16,
	LMS_ST_F64,
	LMS_ST_OTHER, /* a valid safetensors dtype lmscope does not convert (I64, U8, ...) */
};

struct lms_st_tensor {
	const char *name; /* owned by the file */
	enum lms_st_dtype dtype;
	const char *dtype_name; /* as written in the header ("F16", "I64", ...) */
	int ndim;
	int64_t shape[LMS_ST_MAX_DIM];
	size_t numel;
	size_t begin, end; /* bytes, into the data section */
};

struct lms_st_file {
	char *path;
	const unsigned char *map; /* the whole file */
	size_t size;
	const unsigned char *data; /* data section: map + 8 + header length */
	size_t data_size;
	struct lms_st_tensor *tensors; /* in header order */
	int n;
	void *json; /* the parsed header (owns the names) */
};

enum lms_status lms_st_open(const char *path, struct lms_st_file **out);
void lms_st_close(struct lms_st_file *f);
const struct lms_st_tensor *lms_st_find(const struct lms_st_file *f, const char *name);
/* A "__metadata__" value, or NULL. */
const char *lms_st_meta(const struct lms_st_file *f, const char *key);
/* Converts tensor t to float32 into out (t->numel floats). Fails only for a
 * dtype lmscope does not convert. */
enum lms_status lms_st_read_f32(const struct lms_st_file *f, const struct lms_st_tensor *t,
                                float *out);

/* One tensor to write: float32 values, converted to the file's dtype. */
struct lms_st_out {
	const char *name;
	int ndim;
	const int64_t *shape;
	const float *data;
};

/* Writes n tensors (data laid out in the given order) with dtype F32, F16
 * or BF16, and metadata given as NULL-terminated key, value pairs (may be
 * NULL). A value that does not fit the dtype (beyond F16's range, NaN) is an
 * LMS_ENUMERIC failure. lms_st_write_to streams into an open atomic file and
 * leaves committing to the caller. */
enum lms_status lms_st_write_to(struct lms_atomic *a, const struct lms_st_out *t, int n,
                                enum lms_st_dtype dtype, const char *const *meta);
enum lms_status lms_st_write(const char *path, const struct lms_st_out *t, int n,
                             enum lms_st_dtype dtype, const char *const *meta);

/* IEEE half and bfloat16 conversions (round to nearest even; F16 overflow
 * gives Inf, NaN stays NaN). */
float lms_f16_to_f32(uint16_t h);
uint16_t lms_f32_to_f16(float f);
float lms_bf16_to_f32(uint16_t h);
uint16_t lms_f32_to_bf16(float f);

#endif
