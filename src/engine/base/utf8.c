/* UTF-8 decoding and encoding (see utf8.h). */
#include "base/utf8.h"

int lms_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	int n;
	uint32_t min, v;
	if (c >= 0xC2 && c <= 0xDF) {
		n = 2;
		min = 0x80;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 3;
		min = 0x800;
		v = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 4;
		min = 0x10000;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (len < (size_t)n)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		v = v << 6 | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return n;
}

size_t lms_utf8_valid_prefix(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		/* ASCII eight bytes at a time: the common case in any corpus. */
		while (i + 8 <= len) {
			uint64_t w = (uint64_t)s[i] | (uint64_t)s[i + 1] << 8 | (uint64_t)s[i + 2] << 16 |
			             (uint64_t)s[i + 3] << 24 | (uint64_t)s[i + 4] << 32 |
			             (uint64_t)s[i + 5] << 40 | (uint64_t)s[i + 6] << 48 |
			             (uint64_t)s[i + 7] << 56;
			if (w & 0x8080808080808080ull)
				break;
			i += 8;
		}
		if (i >= len)
			break;
		uint32_t cp;
		int k = lms_utf8_decode(s + i, len - i, &cp);
		if (!k)
			return i;
		i += (size_t)k;
	}
	return len;
}

int lms_utf8_encode(uint32_t cp, char out[4])
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

uint32_t lms_utf8_lower(uint32_t cp)
{
	if (cp < 0x80)
		return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
	if ((cp >= 0xC0 && cp <= 0xDE && cp != 0xD7) || (cp >= 0x391 && cp <= 0x3AB && cp != 0x3A2) ||
	    (cp >= 0x410 && cp <= 0x42F))
		return cp + 32;
	if (cp >= 0x400 && cp <= 0x40F)
		return cp + 80;
	if (cp >= 0x100 && cp <= 0x17F && cp != 0x130 && cp != 0x131 && cp != 0x138 && cp != 0x149 &&
	    cp != 0x17F) {
		/* Latin Extended-A pairs capital, small: even first up to U+0137,
		 * odd first from U+0139 to U+0148, even again from U+014A. */
		int odd_first = cp >= 0x139 && cp <= 0x148;
		if (cp == 0x178)
			return 0xFF;
		if (cp >= 0x179)
			odd_first = 1;
		if ((cp % 2 == 1) == odd_first)
			return cp + 1;
	}
	return cp;
}
