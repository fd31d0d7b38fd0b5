/* Per-thread error messages and the log sink (see lmscope/status.h), in
 * the user's language through gettext. */
#include <libintl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cblas.h>

#include "base/tr.h"
#include "base/utf8.h"
#include "lmscope/status.h"
#include "nn/blas.h"

static _Thread_local char errbuf[1024];
static lms_log_fn log_fn;
static void *log_ud;

/* Copies msg into out with every control character (C0, DEL, C1) and
 * every byte that is not valid UTF-8 written as \xNN: messages quote names
 * and text from files, and a terminal escape sequence in a merges.txt line
 * must reach the terminal as text, not as a command. */
static void escape(char *out, size_t size, const char *msg)
{
	const unsigned char *s = (const unsigned char *)msg;
	size_t n = strlen(msg), j = 0;
	for (size_t i = 0; i < n && j + 5 < size;) {
		uint32_t cp;
		int k = lms_utf8_decode(s + i, n - i, &cp);
		if (k && cp >= 0x20 && cp != 0x7f && !(cp >= 0x80 && cp < 0xa0)) {
			if (j + (size_t)k + 1 > size)
				break;
			memcpy(out + j, s + i, (size_t)k);
			j += (size_t)k;
			i += (size_t)k;
			continue;
		}
		for (int b = 0; b < (k ? k : 1) && j + 5 < size; b++)
			j += (size_t)snprintf(out + j, size - j, "\\x%02X", s[i + (size_t)b]);
		i += (size_t)(k ? k : 1);
	}
	out[j] = 0;
}

/* "" stays "" (its translation would be the catalog's header). */
const char *lms_tr(const char *s)
{
	return *s ? dgettext(LMS_TEXTDOMAIN, s) : s;
}

enum lms_status lms_fail(enum lms_status st, const char *fmt, ...)
{
	char raw[sizeof errbuf];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(raw, sizeof raw, lms_tr(fmt), ap);
	va_end(ap);
	escape(errbuf, sizeof errbuf, raw);
	return st;
}

const char *lms_errmsg(void)
{
	return errbuf;
}

const char *lms_status_name(enum lms_status st)
{
	const char *name = N_("unknown status");
	switch (st) {
	case LMS_OK: name = N_("ok"); break;
	case LMS_EIO: name = N_("input/output error"); break;
	case LMS_EFORMAT: name = N_("format error"); break;
	case LMS_ENOMEM: name = N_("out of memory"); break;
	case LMS_EARG: name = N_("invalid argument"); break;
	case LMS_EUNSUPPORTED: name = N_("unsupported"); break;
	case LMS_ENUMERIC: name = N_("numeric error"); break;
	case LMS_EINTR: name = N_("interrupted"); break;
	}
	return lms_tr(name);
}

void lms_set_log(lms_log_fn fn, void *userdata)
{
	log_fn = fn;
	log_ud = userdata;
}

void lms_log(const char *fmt, ...)
{
	if (!log_fn)
		return;
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, lms_tr(fmt), ap);
	va_end(ap);
	log_fn(log_ud, buf);
}

void lms_set_threads(int n)
{
	if (n <= 0) {
		const char *s = getenv("LMSCOPE_THREADS");
		n = s ? atoi(s) : 0;
	}
	if (n <= 0 && !getenv("OPENBLAS_NUM_THREADS")) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		lms_set_threads_by_size(cores > 1 ? (int)cores : 1);
		return;
	}
	if (n > 0)
		openblas_set_num_threads(n);
	lms_blas_fixed();
}

const char *lms_blas_better_core(void)
{
	if (getenv("OPENBLAS_CORETYPE"))
		return NULL;
	const char *name = openblas_get_corename();
	/* AVX2 kernels on a processor with AVX-512 (Zen 4 under OpenBLAS
	 * 0.3.21, which takes it for an older Zen): the SkylakeX kernels ran a
	 * GPT-2 forward 1.3 to 1.7 times as fast there */
	int avx2 = !strcmp(name, "Haswell") || !strcmp(name, "Zen");
	if (strcmp(name, "Prescott") != 0 && !avx2)
		return NULL;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
		return "SkylakeX";
	if (avx2)
		return NULL;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return "Haswell";
#endif
	return NULL;
}
