/* GGUF files (see gguf.h): the checked reader over a mapping and the
 * streaming writer. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lmscope/atomic.h"
#include "base/tr.h"
#include "io/gguf.h"
#include "nn/quant.h"

#define GGUF_MAGIC "GGUF"
#define GGUF_ALIGN 32
#define MAX_NAME 4096 /* longest key or tensor name accepted */

/* ggml type codes of the storage types (ggml.h's enum ggml_type). */
static const uint32_t ggml_code[LMS_W_NTYPES] = {
	[LMS_W_F32] = 0,   [LMS_W_F16] = 1,   [LMS_W_BF16] = 30, [LMS_W_Q8_0] = 8,
	[LMS_W_Q4_0] = 2,  [LMS_W_Q4_1] = 3,  [LMS_W_Q5_0] = 6,  [LMS_W_Q5_1] = 7,
	[LMS_W_Q4_K] = 12, [LMS_W_Q5_K] = 13, [LMS_W_Q6_K] = 14,
};

int lms_gguf_wtype(uint32_t code)
{
	for (int t = 0; t < LMS_W_NTYPES; t++)
		if (ggml_code[t] == code)
			return t;
	return -1;
}

uint32_t lms_gguf_ggml_type(enum lms_wtype t)
{
	return ggml_code[t];
}

/* Bytes of one scalar of a value type; 0 for strings and arrays. */
static size_t scalar_size(uint32_t t)
{
	static const unsigned char sz[] = {1, 1, 2, 2, 4, 4, 4, 1, 0, 0, 8, 8, 8};
	return t < sizeof sz ? sz[t] : 0;
}

static const char *vtype_name(uint32_t t)
{
	static const char *const names[] = {"u8",   "i8",     "u16",   "i16", "u32", "i32", "f32",
	                                    "bool", "string", "array", "u64", "i64", "f64"};
	return t < sizeof names / sizeof names[0] ? names[t] : "unknown type";
}

/* ---- reading: a bounds-checked cursor over the mapping ------------------------ */

struct cur {
	const unsigned char *p;
	size_t pos, size;
	const char *path;
};

static enum lms_status truncated(const struct cur *c, const char *what)
{
	return lms_fail(LMS_EFORMAT, "%s: truncated (%s at byte %zu runs past the end of the file)",
	                c->path, lms_tr(what), c->pos);
}

static enum lms_status take(struct cur *c, size_t n, const char *what, const unsigned char **out)
{
	if (n > c->size - c->pos)
		return truncated(c, what);
	*out = c->p + c->pos;
	c->pos += n;
	return LMS_OK;
}

static uint64_t rd(const unsigned char *p, size_t n)
{
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static enum lms_status u32(struct cur *c, const char *what, uint32_t *v)
{
	const unsigned char *p = NULL;
	enum lms_status st = take(c, 4, what, &p);
	if (!st)
		*v = (uint32_t)rd(p, 4);
	return st;
}

static enum lms_status u64(struct cur *c, const char *what, uint64_t *v)
{
	const unsigned char *p = NULL;
	enum lms_status st = take(c, 8, what, &p);
	if (!st)
		*v = rd(p, 8);
	return st;
}

/* A string: its bytes stay in the mapping. */
static enum lms_status str(struct cur *c, const char *what, const unsigned char **s, size_t *len)
{
	uint64_t n;
	enum lms_status st = u64(c, what, &n);
	if (st)
		return st;
	if (n > c->size - c->pos)
		return lms_fail(LMS_EFORMAT,
		                "%s: %s at byte %zu claims %llu bytes, more than the file holds", c->path,
		                lms_tr(what), c->pos - 8, (unsigned long long)n);
	*len = (size_t)n;
	return take(c, (size_t)n, what, s);
}

/* A printable, bounded copy of an untrusted name for messages. */
static const char *shown(const unsigned char *s, size_t len, char *buf, size_t size)
{
	size_t j = 0, i = 0;
	for (; i < len && j + 4 < size; i++)
		buf[j++] = (s[i] >= 0x20 && s[i] < 0x7f) ? (char)s[i] : '?';
	if (i < len)
		buf[j++] = '.', buf[j++] = '.', buf[j++] = '.';
	buf[j] = '\0';
	return buf;
}

/* Keys and tensor names are printable ASCII in every GGUF writer; anything
 * else is refused (and never reaches a message). */
static int bad_name(const unsigned char *s, size_t len)
{
	if (len == 0 || len > MAX_NAME)
		return 1;
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return 1;
	return 0;
}

/* The value of kv at the cursor: checks it lies in the file and records
 * where. Arrays of arrays are refused (llama.cpp writes none). */
static enum lms_status value(struct cur *c, struct lms_gguf_kv *kv, const char *key)
{
	uint32_t t;
	enum lms_status st = u32(c, N_("a value type"), &t);
	if (st)
		return st;
	if (t > LMS_GV_F64)
		return lms_fail(LMS_EFORMAT, "%s: key \"%s\" has unknown value type %u", c->path, key, t);
	kv->type = (enum lms_gguf_vtype)t;
	kv->count = 1;
	const unsigned char *p;
	size_t len;
	if (t == LMS_GV_STRING) {
		st = str(c, N_("a string value"), &p, &len);
		kv->val = p;
		kv->size = len;
		return st;
	}
	if (t != LMS_GV_ARRAY) {
		kv->size = scalar_size(t);
		return take(c, kv->size, N_("a value"), &kv->val);
	}
	uint32_t et;
	uint64_t n;
	if ((st = u32(c, N_("an array's element type"), &et)) ||
	    (st = u64(c, N_("an array's length"), &n)))
		return st;
	if (et == LMS_GV_ARRAY || et > LMS_GV_F64)
		return lms_fail(LMS_EFORMAT, "%s: key \"%s\" is an array of %s (not supported)", c->path,
		                key, lms_tr(et == LMS_GV_ARRAY ? N_("arrays") : N_("an unknown type")));
	kv->etype = (enum lms_gguf_vtype)et;
	kv->count = n;
	size_t es = et == LMS_GV_STRING ? 8 : scalar_size(et); /* a string takes 8 bytes at least */
	if (n > (c->size - c->pos) / es)
		return lms_fail(LMS_EFORMAT,
		                "%s: key \"%s\" claims %llu elements, more than the file holds", c->path,
		                key, (unsigned long long)n);
	size_t start = c->pos;
	kv->val = c->p + start;
	if (et != LMS_GV_STRING)
		return take(c, (size_t)n * es, N_("an array"), &p);
	for (uint64_t i = 0; i < n; i++)
		if ((st = str(c, N_("a string in an array"), &p, &len)))
			return st;
	kv->size = c->pos - start;
	return LMS_OK;
}

/* A NUL-terminated copy appended to the string pool. */
static const char *keep(struct lms_gguf *g, size_t *used, const unsigned char *s, size_t len)
{
	char *d = g->strings + *used;
	memcpy(d, s, len);
	d[len] = '\0';
	*used += len + 1;
	return d;
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* No two entries of names (n, sorted) equal: else the duplicate. */
static const char *duplicate(const char **names, int n)
{
	qsort(names, (size_t)n, sizeof *names, by_name);
	for (int i = 1; i < n; i++)
		if (!strcmp(names[i - 1], names[i]))
			return names[i];
	return NULL;
}

static enum lms_status read_kvs(struct lms_gguf *g, struct cur *c, size_t *used)
{
	enum lms_status st = LMS_OK;
	for (int i = 0; i < g->n_kv && !st; i++) {
		const unsigned char *k;
		size_t len;
		if ((st = str(c, N_("a key"), &k, &len)))
			return st;
		char nb[80];
		if (bad_name(k, len))
			return lms_fail(LMS_EFORMAT, "%s: key \"%s\" is empty, too long or not printable ASCII",
			                g->path, shown(k, len, nb, sizeof nb));
		g->kv[i].key = keep(g, used, k, len);
		st = value(c, &g->kv[i], g->kv[i].key);
	}
	return st;
}

static enum lms_status tensor_info(struct lms_gguf *g, struct cur *c, size_t *used,
                                   struct lms_gguf_tensor *t)
{
	const unsigned char *s;
	size_t len;
	uint32_t nd, code;
	enum lms_status st = str(c, N_("a tensor name"), &s, &len);
	if (st)
		return st;
	char nb[80];
	if (bad_name(s, len))
		return lms_fail(LMS_EFORMAT,
		                "%s: tensor name \"%s\" is empty, too long or not printable ASCII", g->path,
		                shown(s, len, nb, sizeof nb));
	t->name = keep(g, used, s, len);
	if ((st = u32(c, N_("a tensor's dimension count"), &nd)))
		return st;
	if (nd < 1 || nd > 4)
		return lms_fail(LMS_EFORMAT, "%s: tensor \"%s\" has %u dimensions (1 to 4)", g->path,
		                shown(s, len, nb, sizeof nb), nd);
	t->ndim = (int)nd;
	uint64_t numel = 1;
	for (uint32_t d = 0; d < 4; d++) {
		uint64_t ne = 1;
		if (d < nd && (st = u64(c, N_("a tensor dimension"), &ne)))
			return st;
		if (ne == 0 || ne > ((uint64_t)1 << 40) || numel > ((uint64_t)1 << 40) / ne)
			return lms_fail(LMS_EFORMAT, "%s: tensor \"%s\" has an absurd shape", g->path, t->name);
		t->ne[d] = (int64_t)ne;
		numel *= ne;
	}
	if ((st = u32(c, N_("a tensor type"), &code)) ||
	    (st = u64(c, N_("a tensor offset"), &t->offset)))
		return st;
	int wt = lms_gguf_wtype(code);
	if (wt < 0)
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: tensor \"%s\" has ggml type %u, which lmscope does not read", g->path,
		                t->name, code);
	t->type = (enum lms_wtype)wt;
	if (t->ne[0] > (1 << 30) || !lms_wtype_row_bytes(t->type, (int)t->ne[0]))
		return lms_fail(LMS_EFORMAT,
		                "%s: tensor \"%s\": %lld values per row is not a whole number of %s blocks",
		                g->path, t->name, (long long)t->ne[0], lms_wtype_name(t->type));
	t->bytes = lms_wtype_row_bytes(t->type, (int)t->ne[0]) * (size_t)(numel / (uint64_t)t->ne[0]);
	return LMS_OK;
}

struct span {
	uint64_t begin, end;
	const char *name;
};

static int by_begin(const void *a, const void *b)
{
	const struct span *x = a, *y = b;
	return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* Alignment, spans inside the data section, no overlaps, unique names. */
static enum lms_status place_tensors(struct lms_gguf *g, uint64_t align)
{
	size_t data_size = g->size - g->data_start;
	struct span *sp = malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof *sp);
	const char **names = malloc((size_t)(g->n_tensors ? g->n_tensors : 1) * sizeof *names);
	enum lms_status st = sp && names ? LMS_OK : lms_fail(LMS_ENOMEM, "%s: out of memory", g->path);
	for (int i = 0; i < g->n_tensors && !st; i++) {
		struct lms_gguf_tensor *t = &g->tensors[i];
		if (t->offset % align)
			st = lms_fail(LMS_EFORMAT,
			              "%s: tensor \"%s\" at offset %llu is not aligned to %llu bytes", g->path,
			              t->name, (unsigned long long)t->offset, (unsigned long long)align);
		else if (t->offset > data_size || t->bytes > data_size - t->offset)
			st = lms_fail(
				LMS_EFORMAT,
				"%s: truncated (tensor \"%s\" needs bytes %llu to %llu of a data section of %zu)",
				g->path, t->name, (unsigned long long)t->offset,
				(unsigned long long)(t->offset + t->bytes), data_size);
		else {
			t->data = g->map + g->data_start + t->offset;
			sp[i] = (struct span){t->offset, t->offset + t->bytes, t->name};
			names[i] = t->name;
		}
	}
	if (!st && g->n_tensors) {
		qsort(sp, (size_t)g->n_tensors, sizeof *sp, by_begin);
		for (int i = 1; i < g->n_tensors && !st; i++)
			if (sp[i].begin < sp[i - 1].end)
				st = lms_fail(LMS_EFORMAT, "%s: tensors \"%s\" and \"%s\" overlap", g->path,
				              sp[i - 1].name, sp[i].name);
		const char *dup = st ? NULL : duplicate(names, g->n_tensors);
		if (dup)
			st = lms_fail(LMS_EFORMAT, "%s: tensor \"%s\" appears twice", g->path, dup);
	}
	free(sp);
	free(names);
	return st;
}

static enum lms_status check_keys(struct lms_gguf *g, uint64_t *align)
{
	const char **names = malloc((size_t)(g->n_kv ? g->n_kv : 1) * sizeof *names);
	if (!names)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", g->path);
	for (int i = 0; i < g->n_kv; i++)
		names[i] = g->kv[i].key;
	const char *dup = duplicate(names, g->n_kv);
	enum lms_status st = LMS_OK;
	if (dup)
		st = lms_fail(LMS_EFORMAT, "%s: key \"%s\" appears twice", g->path, dup);
	free(names);
	int64_t a = GGUF_ALIGN;
	if (!st)
		st = lms_gguf_int(g, "general.alignment", 1, &a);
	if (!st && (a <= 0 || a > 65536 || (a & (a - 1))))
		st = lms_fail(LMS_EFORMAT, "%s: general.alignment = %lld is not a power of two up to 65536",
		              g->path, (long long)a);
	*align = (uint64_t)a;
	return st;
}

static enum lms_status parse(struct lms_gguf *g)
{
	struct cur c = {g->map, 0, g->size, g->path};
	const unsigned char *magic;
	uint64_t nt, nkv;
	enum lms_status st;
	if (g->size < 4 || memcmp(g->map, GGUF_MAGIC, 4))
		return lms_fail(LMS_EFORMAT, "%s: not a GGUF file (no GGUF magic)", g->path);
	if ((st = take(&c, 4, N_("the magic"), &magic)) ||
	    (st = u32(&c, N_("the version"), &g->version)))
		return st;
	if (g->version != 2 && g->version != 3)
		return lms_fail(LMS_EUNSUPPORTED,
		                "%s: GGUF version %u (lmscope reads 2 and 3, little-endian)", g->path,
		                g->version);
	if ((st = u64(&c, N_("the tensor count"), &nt)) || (st = u64(&c, N_("the key count"), &nkv)))
		return st;
	/* each key takes >= 13 bytes and each tensor info >= 29: bound the counts by the file */
	if (nkv > g->size / 13 || nt > g->size / 29)
		return lms_fail(LMS_EFORMAT,
		                "%s: header claims %llu keys and %llu tensors, more than the file holds",
		                g->path, (unsigned long long)nkv, (unsigned long long)nt);
	g->n_kv = (int)nkv;
	g->n_tensors = (int)nt;
	g->kv = calloc(nkv ? nkv : 1, sizeof *g->kv);
	g->tensors = calloc(nt ? nt : 1, sizeof *g->tensors);
	g->strings = malloc(g->size); /* names and keys, NUL-terminated: fewer bytes than the file */
	if (!g->kv || !g->tensors || !g->strings)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", g->path);
	size_t used = 0;
	if ((st = read_kvs(g, &c, &used)))
		return st;
	uint64_t align = GGUF_ALIGN;
	if ((st = check_keys(g, &align)))
		return st;
	for (int i = 0; i < g->n_tensors; i++)
		if ((st = tensor_info(g, &c, &used, &g->tensors[i])))
			return st;
	size_t start = (c.pos + align - 1) / align * align;
	if (start > g->size)
		return lms_fail(LMS_EFORMAT, "%s: truncated (no data section after the header)", g->path);
	g->data_start = start;
	return place_tensors(g, align);
}

enum lms_status lms_gguf_open(const char *path, struct lms_gguf **out)
{
	*out = NULL;
	struct lms_gguf *g = calloc(1, sizeof *g);
	if (!g || !(g->path = strdup(path))) {
		free(g);
		return lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat sb;
	enum lms_status st = LMS_OK;
	if (fd < 0 || fstat(fd, &sb) != 0)
		st = lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		st = lms_fail(LMS_EFORMAT, "%s: not a regular file", path);
	else if (sb.st_size < 24)
		st = lms_fail(LMS_EFORMAT, "%s: too short for a GGUF header (%lld bytes)", path,
		              (long long)sb.st_size);
	if (!st) {
		g->size = (size_t)sb.st_size;
		void *m = mmap(NULL, g->size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (m == MAP_FAILED)
			st = lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
		else
			g->map = m;
	}
	if (fd >= 0)
		close(fd);
	if (!st)
		st = parse(g);
	if (st) {
		lms_gguf_close(g);
		return st;
	}
	*out = g;
	return LMS_OK;
}

void lms_gguf_close(struct lms_gguf *g)
{
	if (!g)
		return;
	if (g->map)
		munmap((void *)g->map, g->size);
	free(g->kv);
	free(g->tensors);
	free(g->strings);
	free(g->path);
	free(g);
}

/* ---- lookups -------------------------------------------------------------------- */

const struct lms_gguf_kv *lms_gguf_get(const struct lms_gguf *g, const char *key)
{
	for (int i = 0; i < g->n_kv; i++)
		if (!strcmp(g->kv[i].key, key))
			return &g->kv[i];
	return NULL;
}

const struct lms_gguf_tensor *lms_gguf_tensor(const struct lms_gguf *g, const char *name)
{
	for (int i = 0; i < g->n_tensors; i++)
		if (!strcmp(g->tensors[i].name, name))
			return &g->tensors[i];
	return NULL;
}

/* kv or the message for its absence (*kv NULL and LMS_OK when optional). */
static enum lms_status find(const struct lms_gguf *g, const char *key, int optional,
                            const struct lms_gguf_kv **kv)
{
	*kv = lms_gguf_get(g, key);
	if (!*kv && !optional)
		return lms_fail(LMS_EFORMAT, "%s: missing key %s", g->path, key);
	return LMS_OK;
}

static enum lms_status wrong(const struct lms_gguf *g, const struct lms_gguf_kv *kv,
                             const char *want)
{
	return lms_fail(LMS_EFORMAT, "%s: %s is of type %s, not %s", g->path, kv->key,
	                vtype_name(kv->type), lms_tr(want));
}

static int is_int(enum lms_gguf_vtype t)
{
	return t <= LMS_GV_I32 || t == LMS_GV_U64 || t == LMS_GV_I64;
}

/* A scalar integer at p of type t (signed types sign-extended). */
static int64_t int_at(const unsigned char *p, enum lms_gguf_vtype t, int *overflow)
{
	uint64_t v = rd(p, scalar_size(t));
	*overflow = 0;
	switch (t) {
	case LMS_GV_I8: return (int8_t)v;
	case LMS_GV_I16: return (int16_t)v;
	case LMS_GV_I32: return (int32_t)v;
	case LMS_GV_I64: return (int64_t)v;
	case LMS_GV_U64: *overflow = v > INT64_MAX; return (int64_t)v;
	default: return (int64_t)v;
	}
}

static double float_at(const unsigned char *p, enum lms_gguf_vtype t)
{
	if (t == LMS_GV_F32) {
		uint32_t b = (uint32_t)rd(p, 4);
		float f;
		memcpy(&f, &b, 4);
		return f;
	}
	uint64_t b = rd(p, 8);
	double d;
	memcpy(&d, &b, 8);
	return d;
}

enum lms_status lms_gguf_int(const struct lms_gguf *g, const char *key, int optional, int64_t *out)
{
	const struct lms_gguf_kv *kv;
	enum lms_status st = find(g, key, optional, &kv);
	if (st || !kv)
		return st;
	if (!is_int(kv->type))
		return wrong(g, kv, N_("an integer"));
	int ovf;
	int64_t v = int_at(kv->val, kv->type, &ovf);
	if (ovf)
		return lms_fail(LMS_EFORMAT, "%s: %s is out of range", g->path, key);
	*out = v;
	return LMS_OK;
}

enum lms_status lms_gguf_float(const struct lms_gguf *g, const char *key, int optional, double *out)
{
	const struct lms_gguf_kv *kv;
	enum lms_status st = find(g, key, optional, &kv);
	if (st || !kv)
		return st;
	if (kv->type != LMS_GV_F32 && kv->type != LMS_GV_F64)
		return wrong(g, kv, N_("a number"));
	double v = float_at(kv->val, kv->type);
	if (!isfinite(v))
		return lms_fail(LMS_EFORMAT, "%s: %s is not a finite number", g->path, key);
	*out = v;
	return LMS_OK;
}

enum lms_status lms_gguf_bool(const struct lms_gguf *g, const char *key, int optional, int *out)
{
	const struct lms_gguf_kv *kv;
	enum lms_status st = find(g, key, optional, &kv);
	if (st || !kv)
		return st;
	if (kv->type != LMS_GV_BOOL)
		return wrong(g, kv, N_("true or false"));
	*out = kv->val[0] != 0;
	return LMS_OK;
}

enum lms_status lms_gguf_str(const struct lms_gguf *g, const char *key, int optional,
                             const char **s, size_t *len)
{
	const struct lms_gguf_kv *kv;
	*s = NULL;
	*len = 0;
	enum lms_status st = find(g, key, optional, &kv);
	if (st || !kv)
		return st;
	if (kv->type != LMS_GV_STRING)
		return wrong(g, kv, N_("a string"));
	*s = (const char *)kv->val;
	*len = kv->size;
	return LMS_OK;
}

enum lms_status lms_gguf_array(const struct lms_gguf *g, const char *key, enum lms_gguf_vtype etype,
                               int optional, const struct lms_gguf_kv **kv)
{
	enum lms_status st = find(g, key, optional, kv);
	if (st || !*kv)
		return st;
	int ok = (*kv)->type == LMS_GV_ARRAY &&
	         ((*kv)->etype == etype || (is_int(etype) && is_int((*kv)->etype)) ||
	          (etype == LMS_GV_F32 && (*kv)->etype == LMS_GV_F64));
	if (!ok)
		return lms_fail(LMS_EFORMAT, "%s: %s is not an array of %s", g->path, key,
		                is_int(etype) ? lms_tr(N_("integers")) : vtype_name(etype));
	return LMS_OK;
}

double lms_gguf_arr_f(const struct lms_gguf_kv *kv, uint64_t i)
{
	return float_at(kv->val + i * scalar_size(kv->etype), kv->etype);
}

int64_t lms_gguf_arr_i(const struct lms_gguf_kv *kv, uint64_t i)
{
	int ovf;
	return int_at(kv->val + i * scalar_size(kv->etype), kv->etype, &ovf);
}

void lms_gguf_arr_next_str(const struct lms_gguf_kv *kv, size_t *pos, const char **s, size_t *len)
{
	uint64_t n = rd(kv->val + *pos, 8);
	*s = (const char *)kv->val + *pos + 8;
	*len = (size_t)n;
	*pos += 8 + (size_t)n;
}

/* ---- writing -------------------------------------------------------------------- */

struct wr {
	struct lms_atomic a;
	enum lms_status st;
	uint64_t pos;
};

static void put(struct wr *w, const void *p, size_t n)
{
	if (!w->st && n)
		w->st = lms_atomic_put(&w->a, p, n);
	w->pos += n;
}

static void put_u(struct wr *w, uint64_t v, size_t n)
{
	unsigned char b[8];
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	put(w, b, n);
}

static void put_str(struct wr *w, const char *s)
{
	put_u(w, strlen(s), 8);
	put(w, s, strlen(s));
}

static void put_scalar(struct wr *w, enum lms_gguf_vtype t, uint64_t u, double f)
{
	if (t == LMS_GV_F32) {
		float x = (float)f;
		uint32_t b;
		memcpy(&b, &x, 4);
		put_u(w, b, 4);
	} else if (t == LMS_GV_F64) {
		uint64_t b;
		memcpy(&b, &f, 8);
		put_u(w, b, 8);
	} else {
		put_u(w, u, scalar_size(t));
	}
}

static void put_kv(struct wr *w, const struct lms_gguf_out_kv *kv)
{
	put_str(w, kv->key);
	put_u(w, kv->type, 4);
	if (kv->type == LMS_GV_STRING) {
		put_str(w, kv->s);
		return;
	}
	if (kv->type != LMS_GV_ARRAY) {
		put_scalar(w, kv->type, kv->u, kv->f);
		return;
	}
	put_u(w, kv->etype, 4);
	put_u(w, kv->count, 8);
	for (uint64_t i = 0; i < kv->count; i++) {
		if (kv->etype == LMS_GV_STRING)
			put_str(w, ((const char *const *)kv->arr)[i]);
		else if (kv->etype == LMS_GV_F32)
			put_scalar(w, LMS_GV_F32, 0, ((const float *)kv->arr)[i]);
		else if (kv->etype == LMS_GV_I32 || kv->etype == LMS_GV_U32)
			put_u(w, (uint32_t)((const int32_t *)kv->arr)[i], 4);
		else
			put_u(w, ((const unsigned char *)kv->arr)[i], scalar_size(kv->etype));
	}
}

static size_t out_bytes(const struct lms_gguf_out_tensor *t)
{
	return lms_wtype_row_bytes(t->type, (int)t->cols) * (size_t)t->rows;
}

static void pad(struct wr *w)
{
	static const unsigned char zero[GGUF_ALIGN];
	put(w, zero, (size_t)((GGUF_ALIGN - w->pos % GGUF_ALIGN) % GGUF_ALIGN));
}

/* One tensor's data, a row at a time (rows of at most cols floats). */
static enum lms_status put_tensor(struct wr *w, const struct lms_gguf_out_tensor *t, void *buf,
                                  const char *path)
{
	size_t rb = lms_wtype_row_bytes(t->type, (int)t->cols), n = (size_t)(t->rows * t->cols);
	for (size_t i = 0; i < n; i++)
		if (!isfinite(t->data[i]))
			return lms_fail(LMS_ENUMERIC, "%s: tensor \"%s\" holds a value that is not finite",
			                path, t->name);
	for (int64_t r = 0; r < t->rows && !w->st; r++) {
		lms_quantize(buf, t->data + r * t->cols, t->type, (size_t)t->cols);
		if (t->type == LMS_W_F16)
			for (size_t j = 0; j < rb; j += 2)
				if ((((const unsigned char *)buf)[j + 1] & 0x7c) == 0x7c)
					return lms_fail(LMS_ENUMERIC,
					                "%s: tensor \"%s\" holds a value beyond float16's range", path,
					                t->name);
		put(w, buf, rb);
	}
	return w->st;
}

enum lms_status lms_gguf_write(const char *path, const struct lms_gguf_out_kv *kv, int n_kv,
                               const struct lms_gguf_out_tensor *t, int n_t)
{
	size_t maxrow = 1;
	for (int i = 0; i < n_t; i++) {
		if (!lms_wtype_row_bytes(t[i].type, (int)t[i].cols))
			return lms_fail(LMS_EARG, "%s: tensor \"%s\": %lld columns are not whole %s blocks",
			                path, t[i].name, (long long)t[i].cols, lms_wtype_name(t[i].type));
		size_t rb = lms_wtype_row_bytes(t[i].type, (int)t[i].cols);
		maxrow = rb > maxrow ? rb : maxrow;
	}
	unsigned char *buf = malloc(maxrow);
	if (!buf)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", path);
	struct wr w = {.st = LMS_OK};
	enum lms_status st = lms_atomic_open(&w.a, path);
	if (st) {
		free(buf);
		return st;
	}
	put(&w, GGUF_MAGIC, 4);
	put_u(&w, 3, 4);
	put_u(&w, (uint64_t)n_t, 8);
	put_u(&w, (uint64_t)n_kv, 8);
	for (int i = 0; i < n_kv; i++)
		put_kv(&w, &kv[i]);
	uint64_t off = 0;
	for (int i = 0; i < n_t; i++) {
		put_str(&w, t[i].name);
		put_u(&w, (uint64_t)t[i].ndim, 4);
		put_u(&w, (uint64_t)t[i].cols, 8);
		if (t[i].ndim == 2)
			put_u(&w, (uint64_t)t[i].rows, 8);
		put_u(&w, lms_gguf_ggml_type(t[i].type), 4);
		put_u(&w, off, 8);
		off += (out_bytes(&t[i]) + GGUF_ALIGN - 1) / GGUF_ALIGN * GGUF_ALIGN;
	}
	pad(&w);
	for (int i = 0; i < n_t && !w.st; i++) {
		st = put_tensor(&w, &t[i], buf, path);
		if (st && !w.st)
			w.st = st;
		pad(&w);
	}
	free(buf);
	st = w.st;
	if (!st)
		return lms_atomic_commit(&w.a);
	lms_atomic_abort(&w.a);
	return st;
}
