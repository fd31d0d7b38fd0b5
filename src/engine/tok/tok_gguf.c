/* Tokenizers from GGUF metadata arrays (tok_build.h). */
#include "tok/tok_build.h"
#include "tok/tok_impl.h"

enum lms_status lms_tokenizer_from_gpt2(const struct lms_tok_arrays *a, struct lms_tokenizer **out)
{
	*out = NULL;
	return lms_fail(LMS_EUNSUPPORTED, "%s: GPT-2 tokenizers from metadata are not supported yet",
	                a->where);
}

enum lms_status lms_tokenizer_from_llama(const struct lms_tok_arrays *a, struct lms_tokenizer **out)
{
	*out = NULL;
	return lms_fail(LMS_EUNSUPPORTED, "%s: llama tokenizers from metadata are not supported yet",
	                a->where);
}
