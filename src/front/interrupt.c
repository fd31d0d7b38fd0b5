/* Ctrl-C as a request: the handler only sets a flag that long loops read
 * (training, importance, generation), so they stop between steps with what
 * they have. */
#include "front/front.h"

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
