/* Helpers for the unit tests: random data, finite-difference checks and a
 * temporary directory. */
#ifndef LMS_TESTUTIL_H
#define LMS_TESTUTIL_H

#include <stddef.h>

#include <check.h>

#include "lmscope/model.h"
#include "lmscope/rng.h"

struct lms_arch_ops;

void tu_fill_normal(float *x, size_t n, float scale, struct lms_rng *g);
/* A GPT-2 with the engine's init for seed, as the unit tests build them:
 * V tokens, context maxT, width C, L layers of NH heads, H = 4 C, tied
 * embeddings. The test fails if it cannot be made. */
struct lms_model *tu_gpt2(int V, int maxT, int C, int L, int NH, unsigned seed);
/* Every matrix (2-D tensor) of m drawn again from N(0, scale^2): the small
 * default inits leave a tiny model almost constant in its input. */
void tu_widen(struct lms_model *m, float scale, unsigned seed);
/* A GPT-2's blocks made to add nothing (attention and MLP output
 * projections zero): the prediction is a function of the last token's
 * embedding alone. */
void tu_zero_block_outputs(struct lms_model *m);
/* Largest |a - b| / max(atol_floor, |a|, |b|) over n entries. */
double tu_max_rel_err(const float *a, const float *b, size_t n, double floor);

/* Whole-model gradient check of the cross-entropy objective (all positions,
 * targets = next ids) against central differences in the parameters and in
 * the input embeddings. Checks `samples` parameters spread over every tensor
 * and every input entry of a small batch. Returns the worst relative error,
 * where a difference below abs_tol counts as zero error. */
double tu_gradcheck_xent(struct lms_model *m, int B, int T, int samples, unsigned seed, double eps,
                         double abs_tol);
/* d made for sites x n units at rate p, and its masks drawn from a
 * generator seeded with seed (the test fails if d cannot be made). */
void tu_dropout_drawn(struct lms_dropout *d, float p, int sites, size_t n, unsigned seed);
/* The same with training dropout: every forward applies drop's masks
 * (lmscope/model.h, nn/dropout.h), the same ones each time. */
double tu_gradcheck_xent_drop(struct lms_model *m, int B, int T, int samples, unsigned seed,
                              double eps, double abs_tol, const struct lms_dropout *drop);
/* The same for log p(target | x<=T-1) (contrast < 0) or the contrastive
 * difference, on the input embeddings only, with B = 1. */
double tu_gradcheck_logprob(struct lms_model *m, int T, int target, int contrast, unsigned seed,
                            double eps, double abs_tol);
/* Fails unless making each site of d keep every unit changes the mean
 * cross-entropy of a fixed batch (the masks are restored after). */
void tu_dropout_sites_matter(struct lms_model *m, int B, int T, struct lms_dropout *d);
/* Fails unless masks drawn at p = 0 for ops' dropout sites give bitwise the
 * loss, parameter gradients and input gradients of no dropout. */
void tu_dropout_zero_bitwise(struct lms_model *m, const struct lms_arch_ops *ops, int B, int T);

/* A fresh temporary directory per test, removed with its contents after:
 * tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown). */
extern char tu_dir[64];
void tu_dir_setup(void);
void tu_dir_teardown(void);
/* A suite of one test case per entry, named as the entry says; with dir,
 * each case runs in a fresh temporary directory (the fixture above). */
struct tu_case {
	const char *name;
	const TTest *fn;
};
Suite *tu_suite(const char *name, const struct tu_case *cases, size_t n, int dir);
#define TU_SUITE(name, cases, dir) tu_suite(name, cases, sizeof cases / sizeof *cases, dir)
/* "tu_dir/name", in a static buffer that stays valid for four more calls. */
const char *tu_path(const char *name);
/* Write a whole file (the test fails if it cannot). */
void tu_write(const char *path, const void *data, size_t len);
void tu_write_text(const char *path, const char *text);
/* The number of names in a directory other than . and .. */
int tu_entries(const char *path);
/* A llama2.c tokenizer.bin: <unk>, <s> (BOS, id 1), </s>, the 256 byte
 * pieces <0x00>..<0xFF> (ids 3..258), then " " 259, "a" 260, "b" 261,
 * " a" 262, "ab" 263, " ab" 264, "\xc3\xa9" 265 with scores that make the
 * merges known; truncate_by > 0 cuts that many bytes off the end. */
void tu_write_llama2c_tok(const char *path, long truncate_by);

/* Whether an external file (from ../shared beside the project: GPT-2's and
 * Llama 2's tokenizers, stories260K.bin) is there; when not, prints one line
 * "SKIP: what: path missing", which tests/run.sh counts as a skipped part.
 * Called where a suite is built, so the cases that need the file are left
 * out of it. */
int tu_external(const char *what, const char *path);

#endif
