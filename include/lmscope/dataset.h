/* Training data: the token streams of corpus files, a train/validation split,
 * and batches of B x T in a shuffled order that is a pure function of the
 * seed and the data position (epoch, cursor), so a resumed run sees the same
 * batches as an uninterrupted one. Used by train.c and the command line.
 *
 * Validation split: when validation files are given they are the validation
 * set; otherwise the last valid_frac of each training file's tokens (its
 * held-out tail) is. Files are concatenated in order; the tokenizer's <eos>
 * (when it has one) separates them.
 *
 * Batches: the training stream is cut into non-overlapping chunks of T + 1
 * tokens starting every T tokens (inputs t[s .. s+T), targets t[s+1 .. s+T]).
 * Each epoch visits every chunk once, in a permutation drawn from
 * (seed, epoch); a batch takes the next B chunks, wrapping into the next
 * epoch. */
#ifndef LMSCOPE_DATASET_H
#define LMSCOPE_DATASET_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#include "lmscope/tokenizer.h"

struct lms_dataset {
	int *train; /* (n_train) */
	size_t n_train;
	int *valid; /* (n_valid) */
	size_t n_valid;
	size_t unk; /* tokens mapped to <unk> over all files */
};

enum lms_status lms_dataset_load(struct lms_dataset *ds, const struct lms_tokenizer *tok,
                                 const char *const *files, int nfiles,
                                 const char *const *valid_files, int nvalid, double valid_frac);
/* Adopts ready token streams (copies them); for tests and synthetic data. */
enum lms_status lms_dataset_from_ids(struct lms_dataset *ds, const int *train, size_t n_train,
                                     const int *valid, size_t n_valid);
void lms_dataset_free(struct lms_dataset *ds);

/* Reads a whole file (malloc'd, NUL-terminated); for corpora and texts.
 * Files over LMS_READ_MAX bytes are refused (LMS_ENOMEM). */
#define LMS_READ_MAX ((size_t)1 << 32)
enum lms_status lms_read_file(const char *path, char **data, size_t *len);
/* The same with a limit of max bytes (a whole number of MiB, as the message
 * says "PATH: larger than N MiB"), checked while reading. */
enum lms_status lms_read_file_max(const char *path, size_t max, char **data, size_t *len);
/* The same for an open stream (standard input); name is for messages. */
enum lms_status lms_read_stream(FILE *f, const char *name, size_t max, char **data, size_t *len);

struct lms_batcher {
	const int *tokens;
	size_t n; /* tokens in the stream */
	int T;
	size_t nchunks;
	size_t *perm; /* (nchunks) this epoch's order */
	uint64_t seed;
	long epoch; /* data position: epoch and chunk index within it */
	size_t cursor;
};

/* Needs at least T + 1 tokens. */
enum lms_status lms_batcher_new(struct lms_batcher *b, const int *tokens, size_t n, int T,
                                uint64_t seed);
void lms_batcher_free(struct lms_batcher *b);
/* Moves to a data position (as saved in a checkpoint). */
void lms_batcher_seek(struct lms_batcher *b, long epoch, size_t cursor);
/* The next B chunks: x and y are (B, T). */
void lms_batcher_next(struct lms_batcher *b, int B, int *x, int *y);

#endif
