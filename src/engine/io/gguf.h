/* The GGUF file format (llama.cpp's), versions 2 and 3, little-endian:
 *
 *   "GGUF" u32 version  u64 n_tensors  u64 n_kv
 *   n_kv times:      string key, u32 value type, value
 *   n_tensors times: string name, u32 n_dims, u64 ne[n_dims], u32 ggml type,
 *                    u64 offset (into the data section, a multiple of the
 *                    alignment)
 *   padding to general.alignment (u32, default 32), then the data section.
 * A string is a u64 byte length and the bytes (no NUL); an array is a u32
 * element type, a u64 count and the elements. ne[0] varies fastest: a matrix
 * of (rows, cols) = (out, in) has ne = {cols, rows}.
 *
 * Reading maps the file and checks everything before anyone looks at a
 * value: every length and count against the bytes that remain (so an absurd
 * count fails without allocating), every value type, keys unique, every
 * tensor's dimensions, type, alignment and byte span inside the data section
 * with no two tensors overlapping. Tensor data stays in the mapping.
 *
 * Writing streams through atomic.h: metadata, then tensor infos, then each
 * tensor converted from float32 to its storage type (lms_quantize). */
#ifndef LMS_GGUF_H
#define LMS_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "lmscope/status.h"
#include "nn/wmat.h"

enum lms_gguf_vtype {
	LMS_GV_U8 = 0,
	LMS_GV_I8 = 1,
	LMS_GV_U16 = 2,
	LMS_GV_I16 = 3,
	LMS_GV_U32 = 4,
	LMS_GV_I32 = 5,
	LMS_GV_F32 = 6,
	LMS_GV_BOOL = 7,
	LMS_GV_STRING = 8,
	LMS_GV_ARRAY = 9,
	LMS_GV_U64 = 10,
	LMS_GV_I64 = 11,
	LMS_GV_F64 = 12,
};

struct lms_gguf_kv {
	const char *key; /* NUL-terminated copy */
	enum lms_gguf_vtype type;
	enum lms_gguf_vtype etype; /* arrays: the element type */
	uint64_t count;            /* arrays: elements; else 1 */
	const unsigned char *val;  /* into the mapping: the value (arrays: the first element) */
	size_t size;               /* bytes of the value (arrays: of all elements) */
};

struct lms_gguf_tensor {
	const char *name; /* NUL-terminated copy */
	enum lms_wtype type;
	int ndim;
	int64_t ne[4];   /* ne[0] fastest */
	uint64_t offset; /* into the data section */
	size_t bytes;
	const void *data; /* into the mapping */
};

struct lms_gguf {
	char *path;
	const unsigned char *map;
	size_t size;
	uint32_t version;
	struct lms_gguf_kv *kv;
	int n_kv;
	struct lms_gguf_tensor *tensors;
	int n_tensors;
	size_t data_start; /* offset of the data section in the file */
	char *strings;     /* the keys' and names' copies */
};

enum lms_status lms_gguf_open(const char *path, struct lms_gguf **out);
void lms_gguf_close(struct lms_gguf *g);

const struct lms_gguf_kv *lms_gguf_get(const struct lms_gguf *g, const char *key);
const struct lms_gguf_tensor *lms_gguf_tensor(const struct lms_gguf *g, const char *name);

/* Typed reads of a key: LMS_OK and *out set; absent keys leave *out and
 * return LMS_OK when optional, else fail; a key of another type fails
 * ("<path>: KEY is a string, not an integer"). Integers of any width and
 * sign are accepted when the value fits. */
enum lms_status lms_gguf_int(const struct lms_gguf *g, const char *key, int optional, int64_t *out);
enum lms_status lms_gguf_float(const struct lms_gguf *g, const char *key, int optional,
                               double *out);
enum lms_status lms_gguf_bool(const struct lms_gguf *g, const char *key, int optional, int *out);
/* A string value: pointer into the mapping and its length (not
 * NUL-terminated); NULL and 0 when optional and absent. */
enum lms_status lms_gguf_str(const struct lms_gguf *g, const char *key, int optional,
                             const char **s, size_t *len);
/* An array key of the given element type; *kv NULL when optional and
 * absent. */
enum lms_status lms_gguf_array(const struct lms_gguf *g, const char *key, enum lms_gguf_vtype etype,
                               int optional, const struct lms_gguf_kv **kv);
/* Element i of a numeric array as double / int64. */
double lms_gguf_arr_f(const struct lms_gguf_kv *kv, uint64_t i);
int64_t lms_gguf_arr_i(const struct lms_gguf_kv *kv, uint64_t i);
/* Walks a string array: *pos starts at 0; each call yields the next
 * string (pointer, length) and advances *pos. The array was checked when
 * the file was opened, so this cannot run past it. */
void lms_gguf_arr_next_str(const struct lms_gguf_kv *kv, size_t *pos, const char **s, size_t *len);

/* ggml type code <-> storage type; -1 for codes lmscope does not read. */
int lms_gguf_wtype(uint32_t ggml_type);
uint32_t lms_gguf_ggml_type(enum lms_wtype t);

/* ---- writing ----------------------------------------------------------------- */

/* One metadata entry to write. Scalars use u/i/f/s; arrays point at
 * count elements of etype (strings: an array of NUL-terminated char *). */
struct lms_gguf_out_kv {
	const char *key;
	enum lms_gguf_vtype type;
	uint64_t u;
	double f;
	const char *s;
	enum lms_gguf_vtype etype;
	uint64_t count;
	const void *arr;
};

/* One tensor: rows x cols float32 values (1-D: rows = 1), stored as type
 * (cols a multiple of its block). */
struct lms_gguf_out_tensor {
	const char *name;
	enum lms_wtype type;
	int ndim; /* 1 or 2 */
	int64_t rows, cols;
	const float *data;
};

/* Writes a version-3 file with alignment 32. Values that do not fit the
 * storage type (NaN, F16 overflow) are an LMS_ENUMERIC failure. */
enum lms_status lms_gguf_write(const char *path, const struct lms_gguf_out_kv *kv, int n_kv,
                               const struct lms_gguf_out_tensor *t, int n_t);

/* ---- tokenizers (gguf_tok.c) ------------------------------------------------- */

struct lms_tokenizer;

/* The tokenizer that tokenizer.ggml.* describes ("gpt2" or "llama"); *out
 * NULL when the file has none (no tokenizer.ggml.model, or "none"). */
enum lms_status lms_gguf_tokenizer(const struct lms_gguf *g, struct lms_tokenizer **out);

#endif
