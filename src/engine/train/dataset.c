/* Corpus files to token streams, the validation split, and shuffled batches. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lmscope/dataset.h"
#include "lmscope/rng.h"

enum lms_status lms_read_stream(FILE *f, const char *name, size_t max, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	/* reading into a buffer of at most max + 1 bytes: filling it means
	 * there is more than max */
	size_t cap = max < (1 << 16) ? max + 1 : 1 << 16, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		n += fread(buf + n, 1, cap - n, f);
		if (n < cap)
			break;
		if (n > max) {
			free(buf);
			return lms_fail(LMS_ENOMEM, "%s: larger than %zu MiB", name, max >> 20);
		}
		size_t ncap = cap > max / 2 ? max + 1 : cap * 2;
		char *nb = realloc(buf, ncap + 1);
		if (!nb) {
			free(buf);
			buf = NULL;
			break;
		}
		buf = nb;
		cap = ncap;
	}
	int err = ferror(f) ? (errno ? errno : EIO) : 0;
	if (!buf)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", name);
	if (err) {
		free(buf);
		return lms_fail(LMS_EIO, "%s: %s", name, strerror(err));
	}
	buf[n] = 0;
	*data = buf;
	*len = n;
	return LMS_OK;
}

enum lms_status lms_read_file_max(const char *path, size_t max, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return lms_fail(LMS_EIO, "%s: %s", path, strerror(errno));
	enum lms_status st = lms_read_stream(f, path, max, data, len);
	fclose(f);
	return st;
}

enum lms_status lms_read_file(const char *path, char **data, size_t *len)
{
	return lms_read_file_max(path, LMS_READ_MAX, data, len);
}

struct stream {
	int *ids;
	size_t n, cap;
};

static enum lms_status stream_put(struct stream *s, const int *ids, size_t n)
{
	if (s->n + n > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->n + n)
			cap *= 2;
		int *ni = realloc(s->ids, cap * sizeof *ni);
		if (!ni)
			return lms_fail(LMS_ENOMEM, "out of memory for %zu tokens", s->n + n);
		s->ids = ni;
		s->cap = cap;
	}
	if (n)
		memcpy(s->ids + s->n, ids, n * sizeof *ids);
	s->n += n;
	return LMS_OK;
}

/* The streams become ds's training and validation tokens when st is LMS_OK;
 * otherwise they are freed. Returns st. */
static enum lms_status adopt(struct lms_dataset *ds, struct stream *tr, struct stream *va,
                             enum lms_status st)
{
	if (st) {
		free(tr->ids);
		free(va->ids);
		return st;
	}
	ds->train = tr->ids;
	ds->n_train = tr->n;
	ds->valid = va->ids;
	ds->n_valid = va->n;
	return LMS_OK;
}

/* Tokenizes one file as model input (a document: BOS first when the
 * tokenizer's model expects it, as explain and eval feed it); of its n text
 * tokens the last n * tail_frac go to tail (tail may be NULL when tail_frac
 * is 0), the rest, after the BOS, to head. */
static enum lms_status add_file(struct lms_dataset *ds, const struct lms_tokenizer *tok,
                                const char *path, struct stream *head, struct stream *tail,
                                double tail_frac)
{
	char *text;
	size_t len;
	enum lms_status st = lms_read_file(path, &text, &len);
	if (st)
		return st;
	int *ids = NULL;
	size_t n = 0;
	struct lms_tok_stats stats = {0};
	st = lms_tokenizer_encode_input(tok, text, len, &ids, &n, NULL, &stats);
	free(text);
	if (st)
		return st;
	ds->unk += stats.unk;
	size_t ntext = n - (size_t)lms_tokenizer_adds_bos(tok);
	size_t ntail = tail ? (size_t)((double)ntext * tail_frac) : 0;
	int eos = lms_tokenizer_eos(tok);
	st = stream_put(head, ids, n - ntail);
	if (!st && eos >= 0)
		st = stream_put(head, &eos, 1);
	if (!st && ntail) {
		st = stream_put(tail, ids + n - ntail, ntail);
		if (!st && eos >= 0)
			st = stream_put(tail, &eos, 1);
	}
	free(ids);
	return st;
}

enum lms_status lms_dataset_load(struct lms_dataset *ds, const struct lms_tokenizer *tok,
                                 const char *const *files, int nfiles,
                                 const char *const *valid_files, int nvalid, double valid_frac)
{
	memset(ds, 0, sizeof *ds);
	struct stream tr = {0}, va = {0};
	enum lms_status st = LMS_OK;
	if (!(valid_frac >= 0.0 && valid_frac < 1.0))
		return lms_fail(LMS_EARG, "validation fraction %g outside [0, 1)", valid_frac);
	for (int i = 0; i < nfiles && !st; i++)
		st = add_file(ds, tok, files[i], &tr, nvalid ? NULL : &va, valid_frac);
	for (int i = 0; i < nvalid && !st; i++)
		st = add_file(ds, tok, valid_files[i], &va, NULL, 0.0);
	return adopt(ds, &tr, &va, st);
}

enum lms_status lms_dataset_from_ids(struct lms_dataset *ds, const int *train, size_t n_train,
                                     const int *valid, size_t n_valid)
{
	memset(ds, 0, sizeof *ds);
	struct stream tr = {0}, va = {0};
	enum lms_status st = stream_put(&tr, train, n_train);
	if (!st)
		st = stream_put(&va, valid, n_valid);
	return adopt(ds, &tr, &va, st);
}

void lms_dataset_free(struct lms_dataset *ds)
{
	free(ds->train);
	free(ds->valid);
	memset(ds, 0, sizeof *ds);
}

/* ---- batches ----------------------------------------------------------------- */

static void shuffle(struct lms_batcher *b)
{
	struct lms_rng g;
	/* one independent stream per epoch: the order depends on nothing else */
	lms_rng_seed(&g, b->seed * 0x9E3779B97F4A7C15ull + (uint64_t)b->epoch + 1);
	for (size_t i = 0; i < b->nchunks; i++)
		b->perm[i] = i;
	for (size_t i = b->nchunks; i > 1; i--) {
		size_t j = lms_rng_below(&g, i);
		size_t t = b->perm[i - 1];
		b->perm[i - 1] = b->perm[j];
		b->perm[j] = t;
	}
}

enum lms_status lms_batcher_new(struct lms_batcher *b, const int *tokens, size_t n, int T,
                                uint64_t seed)
{
	memset(b, 0, sizeof *b);
	if (T <= 0 || n < (size_t)T + 1)
		return lms_fail(LMS_EARG, "%zu tokens are too few for one sequence of %d", n, T + 1);
	b->tokens = tokens;
	b->n = n;
	b->T = T;
	b->nchunks = (n - 1) / (size_t)T;
	b->seed = seed;
	b->perm = malloc(b->nchunks * sizeof *b->perm);
	if (!b->perm)
		return lms_fail(LMS_ENOMEM, "out of memory");
	shuffle(b);
	return LMS_OK;
}

void lms_batcher_free(struct lms_batcher *b)
{
	free(b->perm);
	b->perm = NULL;
}

void lms_batcher_seek(struct lms_batcher *b, long epoch, size_t cursor)
{
	b->epoch = epoch;
	b->cursor = cursor < b->nchunks ? cursor : 0;
	shuffle(b);
}

void lms_batcher_next(struct lms_batcher *b, int B, int *x, int *y)
{
	int T = b->T;
	for (int r = 0; r < B; r++) {
		if (b->cursor >= b->nchunks) {
			b->epoch++;
			b->cursor = 0;
			shuffle(b);
		}
		const int *s = b->tokens + b->perm[b->cursor++] * (size_t)T;
		memcpy(x + (size_t)r * T, s, (size_t)T * sizeof *x);
		memcpy(y + (size_t)r * T, s + 1, (size_t)T * sizeof *y);
	}
}
