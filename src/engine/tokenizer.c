/* PLACEHOLDER until the tokenizer modules land: no tokenizer is ever found. */
#include "lmscope/tokenizer.h"

enum lms_status lms_tokenizer_load(const char *dir, struct lms_tokenizer **out) { (void)dir; *out = 0; return LMS_OK; }
void lms_tokenizer_free(struct lms_tokenizer *tok) { (void)tok; }
int lms_tokenizer_vocab_size(const struct lms_tokenizer *tok) { (void)tok; return 0; }
const char *lms_tokenizer_piece(const struct lms_tokenizer *tok, int id) { (void)tok; (void)id; return ""; }
