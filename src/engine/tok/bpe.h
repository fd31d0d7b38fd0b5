/* GPT-2 byte-level BPE, shared by its tokenizer (bpe.c) and its trainer
 * (bpe_train.c). Internal to the engine. */
#ifndef LMS_BPE_H
#define LMS_BPE_H

#include "tok/tok_impl.h"

/* GPT-2's pre-tokenization pattern, as in OpenAI's encoder.py. */
#define BPE_GPT2_PATTERN                                                                           \
	"'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

/* GPT-2's byte -> code point table: printable Latin-1 bytes stand for
 * themselves, the other 68 bytes for U+0100 onwards, in byte order. */
void bpe_byte_chars(uint32_t cp[256]);

/* Makes tok a byte-level BPE tokenizer from a vocabulary of byte-encoded
 * token strings and merges given as (left, right) ids, rank order. Takes
 * ownership of vocab (indexed or not) and of left, right. where names the
 * source in errors (the merges file, or "tokenizer"). */
enum lms_status bpe_build(struct lms_tokenizer *tok, struct tok_vocab *vocab, int *left, int *right,
                          int n_merges, const char *where);

enum lms_status bpe_train(const struct lms_tok_train_opts *opts, const char *const *texts,
                          const size_t *lens, int n, struct lms_tokenizer *tok);

#endif
