/* SIGBUS from truncated mapped files as an error return (see mapguard.h). */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "base/mapguard.h"

static _Thread_local struct lms_mapguard *current;

/* Registered mappings; slots are claimed and released with atomics so the
 * handler can read them at any time. */
#define MAX_MAPS 64
static struct {
	const char *base;
	size_t len;
	const char *path;
} maps[MAX_MAPS];
static void (*hook)(const char *path);

static void on_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (current)
		siglongjmp(current->env, 1);
	const char *addr = si ? si->si_addr : NULL;
	for (int i = 0; i < MAX_MAPS && hook; i++) {
		const char *b = __atomic_load_n(&maps[i].base, __ATOMIC_ACQUIRE);
		if (b && addr >= b && addr < b + maps[i].len)
			hook(maps[i].path);
	}
	/* not ours: the default action, on return the access faults again */
	signal(sig, SIG_DFL);
}

static void install(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigbus;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGBUS, &sa, NULL);
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

void lms_mapguard_arm(struct lms_mapguard *g)
{
	pthread_once(&once, install);
	g->prev = current;
	current = g;
}

void lms_mapguard_leave(struct lms_mapguard *g)
{
	current = g->prev;
}

int lms_mapguard_copy(void *dst, const void *src, size_t n)
{
	struct lms_mapguard g;
	if (LMS_MAPGUARD_ENTER(&g))
		return -1;
	memcpy(dst, src, n);
	lms_mapguard_leave(&g);
	return 0;
}

void lms_mapguard_register(const void *base, size_t len, const char *path)
{
	pthread_once(&once, install);
	for (int i = 0; i < MAX_MAPS; i++) {
		const char *none = NULL;
		if (__atomic_load_n(&maps[i].base, __ATOMIC_RELAXED))
			continue;
		maps[i].len = len;
		maps[i].path = path;
		if (__atomic_compare_exchange_n(&maps[i].base, &none, (const char *)base, 0,
		                                __ATOMIC_RELEASE, __ATOMIC_RELAXED))
			return;
	}
}

void lms_mapguard_unregister(const void *base)
{
	for (int i = 0; i < MAX_MAPS; i++) {
		const char *b = base;
		if (__atomic_compare_exchange_n(&maps[i].base, &b, NULL, 0, __ATOMIC_RELEASE,
		                                __ATOMIC_RELAXED))
			return;
	}
}

void lms_mapguard_set_hook(void (*fn)(const char *path))
{
	/* installed now, before a front end's own SIGBUS handler, which can
	 * then pass the signal on to it (tui/term.c) */
	pthread_once(&once, install);
	hook = fn;
}
