/* Ctrl-C as a request: the handler only sets a flag that long loops read
 * (training, importance, generation), so they stop between steps with what
 * they have. */
#include <string.h>
#include <unistd.h>

#include "front/front.h"
#include "front/i18n.h"

volatile sig_atomic_t front_interrupted;

static void on_sigint(int sig)
{
	(void)sig;
	front_interrupted = 1;
}

void front_sigint_catch(struct sigaction *old)
{
	struct sigaction sa = {0};
	sa.sa_handler = on_sigint;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, old);
}

void front_sigint_restore(const struct sigaction *old)
{
	sigaction(SIGINT, old, NULL);
}

/* The message for a mapped model file cut short while in use, translated
 * once here: the handler below may not call gettext. */
static char shrank_msg[256];

static void put(const char *s)
{
	size_t n = strlen(s);
	while (n > 0) {
		ssize_t k = write(STDERR_FILENO, s, n);
		if (k <= 0)
			return;
		s += k;
		n -= (size_t)k;
	}
}

/* What gives the terminal back first (front_mapguard_restore). */
static void (*volatile restore)(void);

/* From the SIGBUS handler: one line, and the I/O error's exit status. */
static void on_shrunk(const char *path)
{
	void (*fn)(void) = restore;
	if (fn)
		fn();
	put("lmscope: ");
	put(path);
	put(shrank_msg);
	_exit(LMS_EXIT_IO);
}

void front_mapguard_hook(void)
{
	snprintf(shrank_msg, sizeof shrank_msg, ": %s\n",
	         _("the file shrank while in use (replaced or truncated by another program)"));
	lms_mapguard_set_hook(on_shrunk);
}

void front_mapguard_restore(void (*fn)(void))
{
	restore = fn;
}
