/* UTF-8 decoding and encoding, strict: no overlong forms, no surrogates,
 * nothing above U+10FFFF. Internal to the engine. */
#ifndef LMS_UTF8_H
#define LMS_UTF8_H

#include <stddef.h>
#include <stdint.h>

#define LMS_UTF8_REPLACEMENT 0xFFFDu

/* Decodes the code point at s (len > 0 bytes available) into *cp and returns
 * its length in bytes (1-4), or 0 when s does not start a valid sequence. */
int lms_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp);

/* Length of the longest valid UTF-8 prefix of s. */
size_t lms_utf8_valid_prefix(const unsigned char *s, size_t len);

/* Writes cp (<= U+10FFFF) as UTF-8 into out and returns its length (1-4). */
int lms_utf8_encode(uint32_t cp, char out[4]);

/* Simple lower-casing of one code point (ASCII, Latin-1, Latin Extended-A,
 * Greek, Cyrillic); each mapping keeps the UTF-8 length, so byte offsets in
 * lower-cased text are offsets in the original. */
uint32_t lms_utf8_lower(uint32_t cp);

#endif
