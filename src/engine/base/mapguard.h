/* Reading a memory-mapped file that another program may shrink meanwhile
 * (`cp new.safetensors model.safetensors` truncates the file in place):
 * touching a mapped page past the new end raises SIGBUS, which would kill
 * the process without a word. A guarded read turns that signal into a
 * return through sigsetjmp, so the reader fails with "<file>: ... shrank
 * while being read" like any other bad input:
 *
 *     struct lms_mapguard g;
 *     if (LMS_MAPGUARD_ENTER(&g))
 *         return lms_fail(LMS_EIO, "%s: file shrank while being read", path);
 *     ... read the mapping (no allocation, no locks: it may be abandoned) ...
 *     lms_mapguard_leave(&g);
 *
 * Guards nest and are per thread (SIGBUS from a mapped page is delivered to
 * the thread that touched it). The SIGBUS handler is installed on first use.
 *
 * A mapping that stays in use after loading (weights read in place) cannot
 * be guarded around every use; it is registered instead, and a SIGBUS on a
 * registered, unguarded page calls the hook the front end set (which may
 * only do async-signal-safe things: write a line and _exit). Without a hook,
 * or for an address no mapping claims, the signal keeps its default action. */
#ifndef LMS_MAPGUARD_H
#define LMS_MAPGUARD_H

#include <setjmp.h>
#include <stddef.h>

#include "lmscope/status.h"

struct lms_mapguard {
	sigjmp_buf env;
	struct lms_mapguard *prev;
};

void lms_mapguard_arm(struct lms_mapguard *g);
void lms_mapguard_leave(struct lms_mapguard *g);
/* Non-zero when the guarded code was abandoned because of SIGBUS (the
 * guard is then already left). */
#define LMS_MAPGUARD_ENTER(g)                                                                      \
	(sigsetjmp((g)->env, 1) ? (lms_mapguard_leave(g), 1) : (lms_mapguard_arm(g), 0))

/* memcpy under a guard: 0, or -1 when src's pages went away. */
int lms_mapguard_copy(void *dst, const void *src, size_t n);

/* A mapping in use beyond guarded reads, for the hook's message. path is
 * not copied: it must live until lms_mapguard_unregister. */
void lms_mapguard_register(const void *base, size_t len, const char *path);
void lms_mapguard_unregister(const void *base);
/* lms_mapguard_set_hook (lmscope/status.h) names the handler's hook. */

#endif
