/* Per-thread error messages and the log sink (see lmscope/status.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cblas.h>

#include "lmscope/status.h"

static _Thread_local char errbuf[1024];
static lms_log_fn log_fn;
static void *log_ud;

enum lms_status lms_fail(enum lms_status st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	return st;
}

const char *lms_errmsg(void) { return errbuf; }

const char *lms_status_name(enum lms_status st)
{
	switch (st) {
	case LMS_OK: return "ok";
	case LMS_EIO: return "input/output error";
	case LMS_EFORMAT: return "format error";
	case LMS_ENOMEM: return "out of memory";
	case LMS_EARG: return "invalid argument";
	case LMS_EUNSUPPORTED: return "unsupported";
	case LMS_ENUMERIC: return "numeric error";
	case LMS_EINTR: return "interrupted";
	}
	return "unknown status";
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
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	log_fn(log_ud, buf);
}

void lms_set_threads(int n)
{
	if (n <= 0) {
		const char *s = getenv("LMSCOPE_THREADS");
		n = s ? atoi(s) : 0;
	}
	if (n > 0)
		openblas_set_num_threads(n);
}

const char *lms_blas_better_core(void)
{
	if (getenv("OPENBLAS_CORETYPE"))
		return NULL;
	if (strcmp(openblas_get_corename(), "Prescott") != 0)
		return NULL;
#if defined(__x86_64__)
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
		return "SkylakeX";
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return "Haswell";
#endif
	return NULL;
}
