/* The checks every tokenizer's encoder target makes (fuzz_tok.c). */
#ifndef LMS_FUZZ_TOK_H
#define LMS_FUZZ_TOK_H

#include "lmscope/tokenizer.h"
#include "fuzz.h"

/* Encodes the input with tok and checks: a status, never a crash; ids inside
 * the vocabulary; offsets rising to size; every piece readable; decode
 * succeeds, and when exact is set gives back the input byte for byte. */
void fuzz_encode(const struct lms_tokenizer *tok, const uint8_t *data, size_t size, int exact);

/* A word- or character-level tokenizer trained on a small fixed corpus. */
struct lms_tokenizer *fuzz_trained(enum lms_tok_kind kind);
/* A tokenizer loaded from a path (a directory, or a tokenizer.bin); aborts
 * when it cannot be loaded (run from the project root). */
struct lms_tokenizer *fuzz_loaded(const char *path);

#endif
