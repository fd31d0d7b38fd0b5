/* Pre-tokenization through PCRE2 (see tok_impl.h). */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "tok/tok_impl.h"
#include "base/utf8.h"

enum lms_status tok_regex_compile(struct tok_regex *r, const char *pattern, const char *where)
{
	int err;
	PCRE2_SIZE at;
	r->jit = 0;
	pcre2_code *re =
		pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	                  PCRE2_UTF | PCRE2_UCP | PCRE2_NEVER_BACKSLASH_C, &err, &at, NULL);
	if (!re && err == PCRE2_ERROR_BACKSLASH_C_CALLER_DISABLED)
		return lms_fail(LMS_EFORMAT,
		                "%s: pattern, at offset %zu: \\C would split UTF-8 characters "
		                "into tokens that are not text",
		                where, (size_t)at);
	if (!re) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(err, msg, sizeof msg);
		return lms_fail(LMS_EFORMAT, "%s: pattern, at offset %zu: %s", where, (size_t)at,
		                (const char *)msg);
	}
	r->jit = pcre2_jit_compile(re, PCRE2_JIT_COMPLETE) == 0;
	r->code = re;
	return LMS_OK;
}

void tok_regex_free(struct tok_regex *r)
{
	pcre2_code_free(r->code);
	r->code = NULL;
}

/* Splits one valid UTF-8 run [base, base + n) of text. */
static enum lms_status split_run(const struct tok_regex *r, pcre2_match_data *md,
                                 pcre2_match_context *mc, const char *text, size_t base, size_t n,
                                 const struct tok_split_cb *cb)
{
	PCRE2_SPTR s = (PCRE2_SPTR)(text + base);
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	size_t at = 0;
	while (at < n) {
		int rc = r->jit ? pcre2_jit_match(r->code, s, n, at, 0, md, mc)
		                : pcre2_match(r->code, s, n, at, PCRE2_NO_UTF_CHECK, md, mc);
		if (rc == PCRE2_ERROR_JIT_STACKLIMIT) /* the interpreter keeps its stack on the heap */
			rc = pcre2_match(r->code, s, n, at, PCRE2_NO_UTF_CHECK | PCRE2_NO_JIT, md, mc);
		size_t a, b;
		if (rc == PCRE2_ERROR_NOMATCH) {
			a = b = n; /* the rest is a gap */
		} else if (rc < 0) {
			PCRE2_UCHAR msg[128];
			pcre2_get_error_message(rc, msg, sizeof msg);
			return lms_fail(LMS_EUNSUPPORTED, "tokenizer: the pattern failed at byte %zu: %s",
			                base + at, (const char *)msg);
		} else {
			a = ov[0];
			b = ov[1];
		}
		int (*gap)(void *, size_t, size_t) = cb->gap ? cb->gap : cb->piece;
		if (a > at && cb->gaps && gap(cb->ud, base + at, a - at))
			return LMS_ENOMEM;
		if (b > a && cb->piece(cb->ud, base + a, b - a))
			return LMS_ENOMEM;
		if (b == a && a < n) {
			/* An empty match: step over one character. */
			uint32_t cp;
			int k = lms_utf8_decode(s + a, n - a, &cp);
			if (cb->gaps && gap(cb->ud, base + a, (size_t)k))
				return LMS_ENOMEM;
			b = a + (size_t)k;
		}
		at = b;
	}
	return LMS_OK;
}

enum lms_status tok_regex_split(const struct tok_regex *r, const char *text, size_t len,
                                const struct tok_split_cb *cb)
{
	/* The JIT's default 32 KiB stack is too small for some patterns on long
	 * runs; give it room to grow to 8 MiB. */
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(r->code, NULL);
	pcre2_match_context *mc = pcre2_match_context_create(NULL);
	pcre2_jit_stack *js = r->jit ? pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, NULL) : NULL;
	if (!md || !mc || (r->jit && !js)) {
		pcre2_match_data_free(md);
		pcre2_match_context_free(mc);
		pcre2_jit_stack_free(js);
		return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	}
	if (js)
		pcre2_jit_stack_assign(mc, NULL, js);
	enum lms_status st = LMS_OK;
	size_t i = 0;
	while (i < len && !st) {
		size_t valid = lms_utf8_valid_prefix((const unsigned char *)text + i, len - i);
		if (valid)
			st = split_run(r, md, mc, text, i, valid, cb);
		i += valid;
		if (!st && i < len) {
			if (cb->invalid(cb->ud, i))
				st = LMS_ENOMEM;
			i++;
		}
	}
	pcre2_match_data_free(md);
	pcre2_match_context_free(mc);
	pcre2_jit_stack_free(js);
	if (st == LMS_ENOMEM)
		return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	return st;
}
