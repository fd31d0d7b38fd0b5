/* Reading and writing safetensors files (see safetensors.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/infile.h"
#include "base/mapguard.h"
#include "io/safetensors.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; this file assumes a little-endian host"
#endif

/* The reference implementation refuses headers above 100 MB; so do we. */
#define MAX_HEADER ((uint64_t)100 << 20)

/* ---- half and bfloat16 ---------------------------------------------------- */

static uint32_t bits_of(float f)
{
	uint32_t x;
	memcpy(&x, &f, sizeof x);
	return x;
}

static float float_of(uint32_t x)
{
	float f;
	memcpy(&f, &x, sizeof f);
	return f;
}

float lms_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff;
	if (exp == 0x1f) /* Inf, NaN */
		return float_of(sign | 0x7f800000u | man << 13);
	if (exp == 0) {
		if (man == 0)
			return float_of(sign);
		/* subnormal man * 2^-24: normalise so the leading 1 is bit 10 */
		uint32_t e = 113;
		while (!(man & 0x400)) {
			man <<= 1;
			e--;
		}
		return float_of(sign | e << 23 | (man & 0x3ff) << 13);
	}
	return float_of(sign | (exp + 112) << 23 | man << 13);
}

/* Shifts m right by s, rounding to nearest with ties to even. */
static uint32_t shift_rne(uint32_t m, int s)
{
	uint32_t r = m >> s, rem = m & ((1u << s) - 1), half = 1u << (s - 1);
	if (rem > half || (rem == half && (r & 1)))
		r++;
	return r;
}

uint16_t lms_f32_to_f16(float f)
{
	uint32_t x = bits_of(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
	uint32_t ax = x & 0x7fffffffu;
	if (ax > 0x7f800000u) /* NaN: keep it quiet */
		return sign | 0x7e00;
	if (ax >= 0x477ff000u) /* 65520 and above round to Inf */
		return sign | 0x7c00;
	if (ax >= 0x38800000u) /* normal: rebias 127 -> 15, drop 13 bits */
		return sign | (uint16_t)shift_rne(ax - (112u << 23), 13);
	if (ax <= 0x33000000u) /* 2^-25 and below round to zero */
		return sign;
	/* subnormal: value = m * 2^(e - 150), half units are 2^-24 */
	uint32_t e = ax >> 23, m = (ax & 0x7fffffu) | 0x800000u;
	return sign | (uint16_t)shift_rne(m, (int)(126 - e));
}

float lms_bf16_to_f32(uint16_t h)
{
	return float_of((uint32_t)h << 16);
}

uint16_t lms_f32_to_bf16(float f)
{
	uint32_t x = bits_of(f);
	if ((x & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((x >> 16) | 0x40);
	return (uint16_t)shift_rne(x, 16);
}

/* ---- reading -------------------------------------------------------------- */

static const struct {
	const char *name;
	int size;
	enum lms_st_dtype dtype;
} dtypes[] = {
	{"F32", 4, LMS_ST_F32},   {"F16", 2, LMS_ST_F16},       {"BF16", 2, LMS_ST_BF16},
	{"F64", 8, LMS_ST_F64},   {"BOOL", 1, LMS_ST_OTHER},    {"U8", 1, LMS_ST_OTHER},
	{"I8", 1, LMS_ST_OTHER},  {"F8_E5M2", 1, LMS_ST_OTHER}, {"F8_E4M3", 1, LMS_ST_OTHER},
	{"I16", 2, LMS_ST_OTHER}, {"U16", 2, LMS_ST_OTHER},     {"I32", 4, LMS_ST_OTHER},
	{"U32", 4, LMS_ST_OTHER}, {"I64", 8, LMS_ST_OTHER},     {"U64", 8, LMS_ST_OTHER},
};

/* A printable, bounded copy of an untrusted string for error messages. */
static const char *printable(const char *s, char *buf, size_t size)
{
	size_t j = 0;
	for (; *s && j + 4 < size; s++)
		buf[j++] = (*s >= 0x20 && *s < 0x7f) ? *s : '?';
	if (*s)
		buf[j++] = '.', buf[j++] = '.', buf[j++] = '.';
	buf[j] = '\0';
	return buf;
}

void lms_st_close(struct lms_st_file *f)
{
	if (!f)
		return;
	if (f->map) {
		lms_mapguard_unregister(f->map);
		munmap((void *)f->map, f->size);
	}
	json_decref(f->json);
	free(f->tensors);
	free(f->path);
	free(f);
}

struct span {
	size_t begin, end;
	int i;
};

static int by_begin(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return x->end < y->end ? -1 : x->end > y->end;
}

/* Reads one header entry into t; the message names the tensor. */
static enum lms_status parse_entry(const struct lms_st_file *f, const char *name, json_t *v,
                                   struct lms_st_tensor *t)
{
	char nb[80];
	const char *pn = printable(name, nb, sizeof nb);
	if (!json_is_object(v))
		return lms_fail(LMS_EFORMAT, "%s: tensor \"%s\": header entry is not an object", f->path,
		                pn);
	json_t *dt = json_object_get(v, "dtype"), *sh = json_object_get(v, "shape"),
		   *off = json_object_get(v, "data_offsets");
	if (!json_is_string(dt) || !json_is_array(sh) || !json_is_array(off))
		return lms_fail(LMS_EFORMAT, "%s: tensor \"%s\": needs dtype, shape and data_offsets",
		                f->path, pn);
	t->name = name;
	int size = 0;
	for (size_t k = 0; k < sizeof dtypes / sizeof *dtypes; k++)
		if (!strcmp(json_string_value(dt), dtypes[k].name)) {
			t->dtype = dtypes[k].dtype;
			t->dtype_name = dtypes[k].name;
			size = dtypes[k].size;
		}
	if (!size) {
		char db[40];
		return lms_fail(LMS_EFORMAT, "%s: tensor \"%s\": unknown dtype \"%s\"", f->path, pn,
		                printable(json_string_value(dt), db, sizeof db));
	}
	if (json_array_size(sh) > LMS_ST_MAX_DIM)
		return lms_fail(LMS_EFORMAT, "%s: tensor \"%s\": %zu dimensions (at most %d)", f->path, pn,
		                json_array_size(sh), LMS_ST_MAX_DIM);
	t->ndim = (int)json_array_size(sh);
	/* numel * size must not overflow: bound it by the data section */
	size_t numel = 1;
	int overflow = 0;
	for (int d = 0; d < t->ndim; d++) {
		json_t *x = json_array_get(sh, (size_t)d);
		if (!json_is_integer(x) || json_integer_value(x) < 0)
			return lms_fail(LMS_EFORMAT, "%s: tensor \"%s\": shape is not a list of sizes", f->path,
			                pn);
		t->shape[d] = json_integer_value(x);
		if (t->shape[d] && numel > SIZE_MAX / 8 / (uint64_t)t->shape[d])
			overflow = 1;
		else
			numel *= (size_t)t->shape[d];
	}
	if (json_array_size(off) != 2 || !json_is_integer(json_array_get(off, 0)) ||
	    !json_is_integer(json_array_get(off, 1)))
		return lms_fail(LMS_EFORMAT, "%s: tensor \"%s\": data_offsets is not [begin, end]", f->path,
		                pn);
	json_int_t b = json_integer_value(json_array_get(off, 0));
	json_int_t e = json_integer_value(json_array_get(off, 1));
	if (b < 0 || e < b)
		return lms_fail(LMS_EFORMAT, "%s: tensor \"%s\": data_offsets [%lld, %lld] out of order",
		                f->path, pn, (long long)b, (long long)e);
	if ((uint64_t)e > f->data_size)
		return lms_fail(LMS_EFORMAT,
		                "%s: tensor \"%s\": data ends at byte %lld, past the end of the data (%zu "
		                "bytes; file truncated?)",
		                f->path, pn, (long long)e, f->data_size);
	t->begin = (size_t)b;
	t->end = (size_t)e;
	t->numel = numel;
	if (overflow)
		return lms_fail(LMS_EFORMAT, "%s: tensor \"%s\": shape is absurdly large", f->path, pn);
	if (numel * (size_t)size != t->end - t->begin)
		return lms_fail(LMS_EFORMAT,
		                "%s: tensor \"%s\": shape and dtype need %zu bytes, data_offsets give %zu",
		                f->path, pn, numel * (size_t)size, t->end - t->begin);
	return LMS_OK;
}

static enum lms_status parse_header(struct lms_st_file *f, const char *text, size_t len)
{
	json_error_t err;
	json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	if (!root) {
		char eb[120];
		return lms_fail(LMS_EFORMAT, "%s: header is not valid JSON: %s", f->path,
		                printable(err.text, eb, sizeof eb));
	}
	f->json = root;
	if (!json_is_object(root))
		return lms_fail(LMS_EFORMAT, "%s: header is not a JSON object", f->path);
	f->tensors = calloc(json_object_size(root) + 1, sizeof *f->tensors);
	if (!f->tensors)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", f->path);
	const char *key;
	json_t *v;
	json_object_foreach(root, key, v)
	{
		if (!strcmp(key, "__metadata__")) {
			const char *mk;
			json_t *mv;
			if (!json_is_object(v))
				return lms_fail(LMS_EFORMAT, "%s: __metadata__ is not a map of strings", f->path);
			json_object_foreach(v, mk, mv) if (!json_is_string(mv)) return lms_fail(
				LMS_EFORMAT, "%s: __metadata__ is not a map of strings", f->path);
			continue;
		}
		enum lms_status st = parse_entry(f, key, v, &f->tensors[f->n]);
		if (st)
			return st;
		f->n++;
	}
	/* no two tensors may share bytes (empty tensors share nothing) */
	struct span *sp = calloc((size_t)f->n + 1, sizeof *sp);
	if (!sp)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", f->path);
	int k = 0;
	for (int i = 0; i < f->n; i++)
		if (f->tensors[i].end > f->tensors[i].begin)
			sp[k++] = (struct span){f->tensors[i].begin, f->tensors[i].end, i};
	qsort(sp, (size_t)k, sizeof *sp, by_begin);
	for (int i = 1; i < k; i++)
		if (sp[i].begin < sp[i - 1].end) {
			char b1[80], b2[80];
			enum lms_status st =
				lms_fail(LMS_EFORMAT, "%s: tensors \"%s\" and \"%s\" overlap", f->path,
			             printable(f->tensors[sp[i - 1].i].name, b1, sizeof b1),
			             printable(f->tensors[sp[i].i].name, b2, sizeof b2));
			free(sp);
			return st;
		}
	free(sp);
	return LMS_OK;
}

/* The message for a mapped file that shrank under us (SIGBUS). */
static enum lms_status shrank(const char *path)
{
	return lms_fail(
		LMS_EIO, "%s: the file shrank while being read (replaced or truncated by another program)",
		path);
}

enum lms_status lms_st_open(const char *path, struct lms_st_file **out)
{
	*out = NULL;
	struct lms_st_file *f = calloc(1, sizeof *f);
	if (!f || !(f->path = strdup(path))) {
		free(f);
		return lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	}
	struct stat sb;
	int fd;
	char *header = NULL;
	enum lms_status st = lms_infile_open(path, &fd, &sb);
	if (st)
		goto fail;
	if (sb.st_size < 8) {
		st = lms_fail(LMS_EFORMAT, "%s: %lld bytes, too short for a safetensors file", path,
		              (long long)sb.st_size);
		goto fail;
	}
	f->size = (size_t)sb.st_size;
	void *map = mmap(NULL, f->size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		st = errno == ENOMEM
		         ? lms_fail(LMS_ENOMEM, "%s: cannot map %zu bytes: out of memory", path, f->size)
		         : lms_fail(LMS_EIO, "%s: cannot map: %s", path, strerror(errno));
		goto fail;
	}
	close(fd);
	fd = -1;
	f->map = map;
	lms_mapguard_register(f->map, f->size, f->path);
	/* the header is copied out under a guard, so that parsing never
	 * touches the mapping */
	unsigned char len8[8];
	if (lms_mapguard_copy(len8, f->map, 8) != 0) {
		st = shrank(path);
		goto fail;
	}
	uint64_t hlen = 0;
	for (int i = 7; i >= 0; i--)
		hlen = hlen << 8 | len8[i];
	if (hlen > f->size - 8) {
		st = lms_fail(LMS_EFORMAT, "%s: header length %llu past the end of the file (%zu bytes)",
		              path, (unsigned long long)hlen, f->size);
		goto fail;
	}
	if (hlen > MAX_HEADER) {
		st = lms_fail(LMS_EFORMAT, "%s: header length %llu is absurd (at most %llu)", path,
		              (unsigned long long)hlen, (unsigned long long)MAX_HEADER);
		goto fail;
	}
	if (!(header = malloc((size_t)hlen + 1))) {
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", path);
		goto fail;
	}
	if (lms_mapguard_copy(header, f->map + 8, (size_t)hlen) != 0) {
		st = shrank(path);
		goto fail;
	}
	f->data = f->map + 8 + hlen;
	f->data_size = f->size - 8 - (size_t)hlen;
	st = parse_header(f, header, (size_t)hlen);
	if (st)
		goto fail;
	free(header);
	*out = f;
	return LMS_OK;
fail:
	free(header);
	if (fd >= 0)
		close(fd);
	lms_st_close(f);
	return st;
}

const struct lms_st_tensor *lms_st_find(const struct lms_st_file *f, const char *name)
{
	for (int i = 0; i < f->n; i++)
		if (!strcmp(f->tensors[i].name, name))
			return &f->tensors[i];
	return NULL;
}

const char *lms_st_meta(const struct lms_st_file *f, const char *key)
{
	return json_string_value(json_object_get(json_object_get(f->json, "__metadata__"), key));
}

/* Converts n elements at p; the caller guards the mapping. */
static void convert(const struct lms_st_tensor *t, const unsigned char *p, size_t n, float *out)
{
	/* element by element through memcpy: the data section need not be aligned */
	switch (t->dtype) {
	case LMS_ST_F32: memcpy(out, p, n * sizeof(float)); break;
	case LMS_ST_F16:
	case LMS_ST_BF16:
		for (size_t i = 0; i < n; i++) {
			uint16_t h = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
			out[i] = t->dtype == LMS_ST_F16 ? lms_f16_to_f32(h) : lms_bf16_to_f32(h);
		}
		break;
	case LMS_ST_F64:
		for (size_t i = 0; i < n; i++) {
			double d;
			memcpy(&d, p + 8 * i, sizeof d);
			out[i] = (float)d;
		}
		break;
	case LMS_ST_OTHER: break;
	}
}

enum lms_status lms_st_read_f32(const struct lms_st_file *f, const struct lms_st_tensor *t,
                                float *out)
{
	if (t->dtype == LMS_ST_OTHER) {
		char nb[80];
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: tensor \"%s\" has dtype %s (F32, F16, BF16 or F64 needed)", f->path,
		                printable(t->name, nb, sizeof nb), t->dtype_name);
	}
	struct lms_mapguard g;
	if (LMS_MAPGUARD_ENTER(&g))
		return shrank(f->path);
	convert(t, f->data + t->begin, t->numel, out);
	lms_mapguard_leave(&g);
	return LMS_OK;
}

/* ---- writing -------------------------------------------------------------- */

static const char *dtype_name(enum lms_st_dtype d)
{
	return d == LMS_ST_F16 ? "F16" : d == LMS_ST_BF16 ? "BF16" : "F32";
}

static size_t numel_of(const struct lms_st_out *t)
{
	size_t n = 1;
	for (int d = 0; d < t->ndim; d++)
		n *= (size_t)t->shape[d];
	return n;
}

static enum lms_status put_tensor(struct lms_atomic *a, const struct lms_st_out *t,
                                  enum lms_st_dtype dtype)
{
	size_t n = numel_of(t);
	if (dtype == LMS_ST_F32)
		return lms_atomic_put(a, t->data, n * sizeof(float));
	unsigned char buf[8192];
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		float x = t->data[i];
		uint16_t h = dtype == LMS_ST_F16 ? lms_f32_to_f16(x) : lms_f32_to_bf16(x);
		if (isnan(x) || (isfinite(x) && (h & 0x7fff) == 0x7c00 && dtype == LMS_ST_F16) ||
		    (isfinite(x) && (h & 0x7fff) == 0x7f80 && dtype == LMS_ST_BF16))
			return lms_fail(LMS_ENUMERIC, "%s: tensor \"%s\": value %g does not fit %s", a->path,
			                t->name, x, dtype_name(dtype));
		buf[k++] = (unsigned char)(h & 0xff);
		buf[k++] = (unsigned char)(h >> 8);
		if (k == sizeof buf) {
			enum lms_status st = lms_atomic_put(a, buf, k);
			if (st)
				return st;
			k = 0;
		}
	}
	return lms_atomic_put(a, buf, k);
}

enum lms_status lms_st_write_to(struct lms_atomic *a, const struct lms_st_out *t, int n,
                                enum lms_st_dtype dtype, const char *const *meta)
{
	if (dtype != LMS_ST_F32 && dtype != LMS_ST_F16 && dtype != LMS_ST_BF16)
		return lms_fail(LMS_EARG, "%s: can only write F32, F16 or BF16", a->path);
	size_t esize = dtype == LMS_ST_F32 ? 4 : 2;
	json_t *root = json_object();
	int bad = !root;
	if (meta && meta[0]) {
		json_t *m = json_object();
		for (int i = 0; meta[i] && meta[i + 1]; i += 2)
			bad |= json_object_set_new(m, meta[i], json_string(meta[i + 1])) != 0;
		bad |= json_object_set_new(root, "__metadata__", m) != 0;
	}
	size_t off = 0;
	for (int i = 0; i < n && !bad; i++) {
		json_t *shape = json_array();
		for (int d = 0; d < t[i].ndim; d++)
			bad |= json_array_append_new(shape, json_integer(t[i].shape[d])) != 0;
		size_t bytes = numel_of(&t[i]) * esize;
		json_t *e = json_pack("{s:s, s:o, s:[I, I]}", "dtype", dtype_name(dtype), "shape", shape,
		                      "data_offsets", (json_int_t)off, (json_int_t)(off + bytes));
		bad |= !e || json_object_set_new(root, t[i].name, e) != 0;
		off += bytes;
	}
	char *text = bad ? NULL : json_dumps(root, JSON_COMPACT);
	json_decref(root);
	if (!text)
		return lms_fail(LMS_ENOMEM, "%s: cannot build the header", a->path);
	size_t len = strlen(text), padded = (len + 7) / 8 * 8;
	unsigned char head[8];
	for (int i = 0; i < 8; i++)
		head[i] = (unsigned char)((uint64_t)padded >> (8 * i));
	enum lms_status st = lms_atomic_put(a, head, 8);
	if (!st)
		st = lms_atomic_put(a, text, len);
	if (!st)
		st = lms_atomic_put(a, "        ", padded - len);
	free(text);
	for (int i = 0; i < n && !st; i++)
		st = put_tensor(a, &t[i], dtype);
	return st;
}

enum lms_status lms_st_write(const char *path, const struct lms_st_out *t, int n,
                             enum lms_st_dtype dtype, const char *const *meta)
{
	struct lms_atomic a;
	enum lms_status st = lms_atomic_open(&a, path);
	if (st)
		return st;
	st = lms_st_write_to(&a, t, n, dtype, meta);
	if (st) {
		lms_atomic_abort(&a);
		return st;
	}
	return lms_atomic_commit(&a);
}
