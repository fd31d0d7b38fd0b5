/* The pseudo-terminal between curses and the terminal (see pt.h).
 *
 * Why a pty and not a stream: ncurses 6 sends its output with write(2) on
 * the descriptor of the FILE given to newterm, so an fopencookie stream
 * (no descriptor) receives nothing, and a pipe is no terminal (curses could
 * neither set its modes nor read its size). A pty is a terminal to curses
 * and every byte it is sent can be read back from its master side, exactly
 * what asciinema itself records. The price: one copy of each chunk, made by
 * a thread that never touches curses.
 *
 * Order: the copy thread empties the master with non-blocking reads; a
 * read that finds nothing has first pushed through whatever the pty still
 * held (the kernel flushes its buffer work before reporting it empty). So
 * tui_tee_attach can wait until everything curses wrote before the call
 * has been copied, and a cast gets exactly the bytes written while it was
 * attached. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "lmscope/clock.h"
#include "tee.h"

static struct {
	int on;
	int real;    /* the terminal */
	int master;  /* the pty's master side (non-blocking) */
	FILE *slave; /* what curses writes to */
	int wake[2]; /* a byte: look at `want` and `closing` */
	pthread_t thread;
	pthread_mutex_t lock; /* the fields below */
	pthread_cond_t done_cv;
	struct tui_cast *cast; /* gets the output, or NULL */
	unsigned want, done;   /* drains asked for and made */
	int closing;
	int rows, cols; /* the pty's size */
} pt = {.master = -1,
        .wake = {-1, -1},
        .lock = PTHREAD_MUTEX_INITIALIZER,
        .done_cv = PTHREAD_COND_INITIALIZER};

static void write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return; /* the terminal is gone: nothing to show it on */
		p += k;
		n -= (size_t)k;
	}
}

/* Copies what the master holds; 0 once the pty is closed. */
static int drain(void)
{
	char buf[16384];
	for (;;) {
		ssize_t k = read(pt.master, buf, sizeof buf);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0 && errno == EAGAIN)
			return 1;
		if (k <= 0)
			return 0; /* EIO: every slave descriptor closed */
		write_all(pt.real, buf, (size_t)k);
		pthread_mutex_lock(&pt.lock);
		if (pt.cast)
			tui_cast_output(pt.cast, buf, (size_t)k, lms_now());
		pthread_mutex_unlock(&pt.lock);
	}
}

static void *copy_thread(void *arg)
{
	(void)arg;
	/* the terminal's signals are the main thread's (poll wakes there) */
	sigset_t set;
	sigfillset(&set);
	const int sync_sig[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT};
	for (size_t i = 0; i < sizeof sync_sig / sizeof *sync_sig; i++)
		sigdelset(&set, sync_sig[i]);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	struct pollfd pfd[2] = {{pt.master, POLLIN, 0}, {pt.wake[0], POLLIN, 0}};
	for (;;) {
		if (poll(pfd, 2, -1) < 0 && errno != EINTR)
			break;
		char b[64];
		if (pfd[1].revents && read(pt.wake[0], b, sizeof b) < 0 && errno != EAGAIN)
			break;
		pthread_mutex_lock(&pt.lock);
		unsigned want = pt.want;
		int closing = pt.closing;
		pthread_mutex_unlock(&pt.lock);
		int open = drain();
		pthread_mutex_lock(&pt.lock);
		pt.done = want;
		pthread_cond_broadcast(&pt.done_cv);
		pthread_mutex_unlock(&pt.lock);
		if (!open || closing)
			break;
	}
	pthread_mutex_lock(&pt.lock);
	pt.done = pt.want = 0; /* nobody waits for a thread that has ended */
	pt.closing = 2;
	pthread_cond_broadcast(&pt.done_cv);
	pthread_mutex_unlock(&pt.lock);
	return NULL;
}

/* Asks the thread to copy everything written so far and waits for it. */
static void wait_drained(void)
{
	pthread_mutex_lock(&pt.lock);
	unsigned ticket = ++pt.want;
	pthread_mutex_unlock(&pt.lock);
	ssize_t w = write(pt.wake[1], "d", 1);
	(void)w;
	pthread_mutex_lock(&pt.lock);
	while (pt.closing != 2 && (int)(pt.done - ticket) < 0)
		pthread_cond_wait(&pt.done_cv, &pt.lock);
	pthread_mutex_unlock(&pt.lock);
}

static int open_pty(const struct termios *tio, const struct winsize *ws, int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	char name[128];
	if (m < 0)
		return -1;
	if (grantpt(m) || unlockpt(m) || ptsname_r(m, name, sizeof name) ||
	    (*slave = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC)) < 0) {
		close(m);
		return -1;
	}
	/* the terminal's modes and size: curses on the pty sees the terminal */
	tcsetattr(*slave, TCSANOW, tio);
	ioctl(*slave, TIOCSWINSZ, ws);
	fcntl(m, F_SETFL, fcntl(m, F_GETFL) | O_NONBLOCK);
	return m;
}

FILE *tui_tee_open(int in, int out)
{
	struct termios tio, raw;
	struct winsize ws;
	int slave = -1;
	if (pt.on || tcgetattr(in, &tio) != 0 || ioctl(out, TIOCGWINSZ, &ws) != 0)
		return NULL;
	int m = open_pty(&tio, &ws, &slave);
	if (m < 0)
		return NULL;
	pt.slave = fdopen(slave, "w");
	if (!pt.slave || pipe2(pt.wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		if (pt.slave)
			fclose(pt.slave);
		else
			close(slave);
		close(m);
		return NULL;
	}
	pt.master = m;
	pt.real = out;
	pt.rows = ws.ws_row;
	pt.cols = ws.ws_col;
	pt.closing = 0;
	pt.want = pt.done = 0;
	if (pthread_create(&pt.thread, NULL, copy_thread, NULL) != 0) {
		fclose(pt.slave);
		close(m);
		close(pt.wake[0]);
		close(pt.wake[1]);
		return NULL;
	}
	/* what curses asks of its terminal (raw input, no echo) it now asks of
	 * the pty, which also does the output processing: the terminal itself
	 * passes bytes through either way */
	raw = tio;
	cfmakeraw(&raw);
	tcsetattr(in, TCSANOW, &raw);
	pt.on = 1;
	return pt.slave;
}

void tui_tee_close(void)
{
	if (!pt.on)
		return;
	wait_drained();
	fclose(pt.slave); /* the master reads EIO once it is empty */
	pthread_mutex_lock(&pt.lock);
	if (pt.closing != 2)
		pt.closing = 1;
	pthread_mutex_unlock(&pt.lock);
	ssize_t w = write(pt.wake[1], "c", 1);
	(void)w;
	pthread_join(pt.thread, NULL);
	close(pt.master);
	close(pt.wake[0]);
	close(pt.wake[1]);
	pt.master = pt.wake[0] = pt.wake[1] = -1;
	pt.slave = NULL;
	pt.cast = NULL;
	pt.on = 0;
}

int tui_tee_on(void)
{
	return pt.on;
}

void tui_tee_attach(struct tui_cast *c)
{
	if (!pt.on)
		return;
	wait_drained(); /* what was written before belongs to the cast before */
	pthread_mutex_lock(&pt.lock);
	pt.cast = c;
	pthread_mutex_unlock(&pt.lock);
}

int tui_tee_sync_size(int *rows, int *cols)
{
	struct winsize ws;
	if (!pt.on || ioctl(pt.real, TIOCGWINSZ, &ws) != 0)
		return 0;
	if (ws.ws_row == pt.rows && ws.ws_col == pt.cols)
		return 0;
	ioctl(fileno(pt.slave), TIOCSWINSZ, &ws);
	pt.rows = *rows = ws.ws_row;
	pt.cols = *cols = ws.ws_col;
	pthread_mutex_lock(&pt.lock);
	if (pt.cast)
		tui_cast_resize(pt.cast, pt.cols, pt.rows, lms_now());
	pthread_mutex_unlock(&pt.lock);
	return 1;
}

void tui_tee_size(int *rows, int *cols)
{
	*rows = pt.rows;
	*cols = pt.cols;
}
