/* The terminal while the explorer owns it.
 *
 * Everything written to stderr while curses draws (engine log lines, library
 * warnings) goes to an unlinked temporary file and is replayed after endwin.
 * A crash signal restores the terminal with async-signal-safe calls only
 * (write, tcsetattr, dup2) from strings prepared at startup, then re-raises
 * the signal with its default action; it also removes the temporary file
 * of a cast being written (tui_term_cast), so a crash leaves no cast.
 * A mapped model file cut short (SIGBUS, the engine's handler) is restored
 * the same way before its one-line message.
 *
 * Curses writes to a pty (tee.c) whose output goes on to the terminal and
 * to a cast while one is attached; where no pty can be had, to the
 * terminal itself, and casts are refused. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "front/front.h"
#include "front/i18n.h"
#include "lmscope/clock.h"
#include "tee.h"
#include "term.h"
#include "ui.h"

volatile sig_atomic_t tui_term_quit;

static int open_;
static int saved_err = -1, capture = -1;
static struct termios saved_tio;
static int have_tio;
static char restore_seq[256];
static size_t restore_len;
static const char *volatile crash_unlink; /* a cast's temporary file */

static void add_seq(const char *cap)
{
	char *s = tigetstr((char *)cap);
	if (!s || s == (char *)-1)
		return;
	size_t k = strlen(s);
	if (restore_len + k < sizeof restore_seq) {
		memcpy(restore_seq + restore_len, s, k);
		restore_len += k;
	}
}

static void prepare_restore(void)
{
	/* mouse reporting off, attributes off, cursor on, leave the alternate screen */
	static const char mouse_off[] = "\033[?1006l\033[?1002l\033[?1000l";
	memcpy(restore_seq, mouse_off, sizeof mouse_off - 1);
	restore_len = sizeof mouse_off - 1;
	add_seq("sgr0");
	add_seq("cnorm");
	add_seq("rmcup");
	static const char nl[] = "\r\n";
	memcpy(restore_seq + restore_len, nl, 2);
	restore_len += 2;
}

/* Copies the captured stderr to fd, with async-signal-safe calls only. */
static void replay(int fd)
{
	char buf[4096];
	ssize_t k;
	if (capture < 0 || lseek(capture, 0, SEEK_SET) < 0)
		return;
	while ((k = read(capture, buf, sizeof buf)) > 0) {
		ssize_t off = 0;
		while (off < k) {
			ssize_t wr = write(fd, buf + off, (size_t)(k - off));
			if (wr <= 0)
				return;
			off += wr;
		}
	}
}

/* The terminal as it was, stderr back on it with what it got meanwhile, no
 * cast left behind: for a process about to end from a signal handler. */
static void restore_now(void)
{
	ssize_t wr = write(STDOUT_FILENO, restore_seq, restore_len);
	(void)wr;
	if (have_tio)
		tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	if (crash_unlink)
		unlink(crash_unlink);
	if (saved_err >= 0) {
		dup2(saved_err, STDERR_FILENO);
		replay(STDERR_FILENO);
	}
}

static void on_crash(int sig)
{
	restore_now();
	/* SA_RESETHAND (on_bus: signal) restored the default action: die of
	 * the same signal */
	raise(sig);
}

/* SIGBUS goes to the engine's handler first (installed before this one,
 * lmscope/status.h): a guarded read of a mapped file returns from it with
 * an error; a mapped model cut short ends the process there with its line,
 * after restore_now (front_mapguard_restore). What it leaves to the
 * default action is a crash like the others. */
static struct sigaction engine_bus;

static void on_bus(int sig, siginfo_t *si, void *uc)
{
	if ((engine_bus.sa_flags & SA_SIGINFO) && engine_bus.sa_sigaction)
		engine_bus.sa_sigaction(sig, si, uc);
	signal(sig, SIG_DFL);
	on_crash(sig);
}

static void on_quit(int sig)
{
	(void)sig;
	tui_term_quit = 1;
}

static void install_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND | SA_NODEFER;
	const int crash[] = {SIGSEGV, SIGFPE, SIGILL, SIGABRT};
	for (size_t i = 0; i < sizeof crash / sizeof *crash; i++)
		sigaction(crash[i], &sa, NULL);
	/* not reset on entry: the engine's handler may return into the
	 * guarded read, which may fault again later */
	sa.sa_sigaction = on_bus;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	struct sigaction before;
	sigaction(SIGBUS, &sa, &before);
	if (!(before.sa_flags & SA_SIGINFO) || before.sa_sigaction != on_bus)
		engine_bus = before;
	front_mapguard_restore(restore_now);
	sa.sa_handler = on_quit;
	sa.sa_flags = 0;
	const int quit[] = {SIGINT, SIGTERM, SIGHUP};
	for (size_t i = 0; i < sizeof quit / sizeof *quit; i++)
		sigaction(quit[i], &sa, NULL);
}

static void capture_stderr(void)
{
	const char *dir = getenv("TMPDIR");
	char path[512];
	snprintf(path, sizeof path, "%s/lmscope-stderr-XXXXXX", dir && *dir ? dir : "/tmp");
	int fd = mkstemp(path);
	if (fd < 0)
		return; /* not fatal: stderr then goes to the screen */
	unlink(path);
	fflush(stderr);
	saved_err = dup(STDERR_FILENO);
	if (saved_err < 0 || dup2(fd, STDERR_FILENO) < 0) {
		close(fd);
		if (saved_err >= 0)
			close(saved_err);
		saved_err = -1;
		return;
	}
	capture = fd;
}

static void release_stderr(void)
{
	if (saved_err < 0)
		return;
	fflush(stderr);
	dup2(saved_err, STDERR_FILENO);
	replay(STDERR_FILENO);
	close(saved_err);
	close(capture);
	saved_err = capture = -1;
}

/* Undoes tui_term_open's steps before curses started. */
static void give_back(void)
{
	tui_tee_close();
	if (have_tio)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
	release_stderr();
}

/* Attaches c (tee running), with its header; message in c->err. */
static int start_cast(struct tui_cast *c, const char *title)
{
	int rows, cols;
	if (!tui_tee_on()) {
		snprintf(c->err, sizeof c->err, _("%s: cannot record: no pseudo-terminal"), c->file.path);
		return 0;
	}
	tui_tee_size(&rows, &cols);
	if (!tui_cast_start(c, cols, rows, title, lms_now()))
		return 0;
	crash_unlink = tui_cast_temp(c);
	tui_tee_attach(c);
	return 1;
}

/* Home and End as terminals send them when terminfo says otherwise: a
 * terminal multiplexer sends \e[1~ and \e[4~ whatever TERM names inside it
 * (xterm's terminfo has \eOH and \eOF), and xterm's normal cursor mode
 * \e[H and \e[F; unknown, they would be typed into the context. */
static void home_end_keys(void)
{
	static const char *const home[] = {"\033[1~", "\033[7~", "\033[H", "\033OH"};
	static const char *const end[] = {"\033[4~", "\033[8~", "\033[F", "\033OF"};
	for (size_t i = 0; i < sizeof home / sizeof *home; i++) {
		if (key_defined(home[i]) == 0)
			define_key(home[i], KEY_HOME);
		if (key_defined(end[i]) == 0)
			define_key(end[i], KEY_END);
	}
}

int tui_term_open(struct tui_cast *cast, const char *title)
{
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		fprintf(stderr, "lmscope: %s\n",
		        _("the explorer needs a terminal (use lmscope explain for scripts)"));
		return 0;
	}
	have_tio = tcgetattr(STDIN_FILENO, &saved_tio) == 0;
	capture_stderr();
	FILE *out = have_tio ? tui_tee_open(STDIN_FILENO, STDOUT_FILENO) : NULL;
	if (cast && !start_cast(cast, title)) {
		/* before curses starts: the cast has it all, from the first byte */
		give_back();
		fprintf(stderr, "lmscope: %s\n", cast->err);
		return -1;
	}
	SCREEN *scr = newterm(NULL, out ? out : stdout, stdin);
	if (!scr) {
		give_back();
		fprintf(stderr, _("lmscope: cannot use the terminal (TERM=%s)\n"),
		        getenv("TERM") ? getenv("TERM") : "");
		return 0;
	}
	open_ = 1;
	prepare_restore();
	install_signals();
	raw();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	home_end_keys();
	nodelay(stdscr, TRUE);
	set_escdelay(25);
	mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED | BUTTON5_PRESSED, NULL);
	mouseinterval(0);
	ui_colors_init();
	return 1;
}

void tui_term_close(void)
{
	if (!open_)
		return;
	char *rmcup = tigetstr((char *)"rmcup");
	int alternate = rmcup && rmcup != (char *)-1 && *rmcup;
	front_mapguard_restore(NULL);
	endwin();
	open_ = 0;
	if (tui_tee_on()) {
		/* curses restored the pty's modes; the terminal's are ours */
		tui_tee_close();
		tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
	}
	if (!alternate) {
		/* the last screen stays: start what follows on a line of its own */
		fputc('\n', stdout);
		fflush(stdout);
	}
	release_stderr();
}

int tui_term_cast(struct tui_cast *c, const char *title)
{
	if (!c) {
		tui_tee_attach(NULL);
		crash_unlink = NULL;
		return 1;
	}
	if (!open_ || !start_cast(c, title))
		return 0;
	/* the cast starts with the whole screen, not with what changes next */
	clearok(curscr, TRUE);
	return 1;
}

int tui_term_sync_size(void)
{
	int rows, cols;
	if (!tui_tee_sync_size(&rows, &cols))
		return 0;
	resizeterm(rows, cols);
	return 1;
}
