/* Status codes and error reporting of the lmscope engine.
 *
 * Library code never prints and never exits. A failing call returns a status
 * and leaves a one-line message ("<file>: <what is wrong>") that the caller
 * reads with lms_errmsg(); the front end adds the "lmscope: " prefix. The
 * message is per thread, so the explorer's engine thread cannot clobber the
 * message of the input thread.
 *
 * Messages are in the user's language: lms_fail and lms_log look their
 * format up in the catalog of the text domain LMS_TEXTDOMAIN (dgettext)
 * before formatting, and lms_status_name its name. The engine never sets
 * the locale or binds the domain; the front end does (with numbers kept in
 * the C locale's notation), and a program that does neither gets English. */
#ifndef LMSCOPE_STATUS_H
#define LMSCOPE_STATUS_H

/* The gettext text domain of the engine's messages (the front end's too). */
#define LMS_TEXTDOMAIN "lmscope"

enum lms_status {
	LMS_OK = 0,
	LMS_EIO = 1,          /* a file cannot be opened, read or written */
	LMS_EFORMAT = 2,      /* a file is malformed or disagrees with itself */
	LMS_ENOMEM = 3,       /* an allocation failed or would exceed a limit */
	LMS_EARG = 4,         /* a caller passed something impossible */
	LMS_EUNSUPPORTED = 5, /* valid, but not something lmscope handles */
	LMS_ENUMERIC = 6,     /* NaN or Inf where a number was needed */
	LMS_EINTR = 7,        /* interrupted on request (Ctrl-C) */
};

/* Sets this thread's message from a printf format (translated) and returns
 * st, so that a failure path reads
 * `return lms_fail(LMS_EFORMAT, "%s: bad header", path);`. The format must be
 * a literal for xgettext to collect it (the Makefile's XGETTEXT); a
 * translation keeps "<file>: " at its start. */
enum lms_status lms_fail(enum lms_status st, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Weights kept memory-mapped after loading (16-bit and quantized tensors)
 * are read on every forward, outside any guard: a file truncated by another
 * program meanwhile raises SIGBUS on the next read. The engine then calls
 * fn with the file's path from the signal handler; fn may only do
 * async-signal-safe things (write a line, _exit). Without fn the signal
 * keeps its default action. The engine's SIGBUS handler is installed here
 * (if not before): a handler the caller installs later must pass SIGBUS on
 * to the one it replaced, or guarded reads of mapped files die of it. */
void lms_mapguard_set_hook(void (*fn)(const char *path));

/* The message of this thread's most recent failure ("" when none). */
const char *lms_errmsg(void);

/* A short name for a status ("format error", ...), translated. */
const char *lms_status_name(enum lms_status st);

/* Optional log sink for progress and warnings (lms_log's format is
 * translated as lms_fail's); by default messages are dropped. The front end routes them (stderr, or a status line under curses). */
typedef void (*lms_log_fn)(void *userdata, const char *msg);
void lms_set_log(lms_log_fn fn, void *userdata);
void lms_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* OpenBLAS threads: n for every product; n <= 0 reads LMSCOPE_THREADS,
 * else leaves OPENBLAS_NUM_THREADS's count when that is set, else gives
 * each product one thread or every core by its size
 * (lms_set_threads_by_size). */
void lms_set_threads(int n);
/* Each product on the threads its size deserves (nn/blas.c): those large
 * enough for a second core to pay on `most` threads, the rest on one (as
 * the explorer runs, where a keystroke's products range from one head's
 * 64-element vectors to GPT-2 small's 154 MB unembedding). most <= 1: one
 * thread for all. Until lms_set_threads is called again. */
void lms_set_threads_by_size(int most);

/* OpenBLAS picks its kernels when the library loads. On processors newer
 * than the OpenBLAS build knows, it falls back to its generic SSE3
 * ("Prescott") kernels, several times slower than the AVX2/AVX-512 ones the
 * processor can run, or to its AVX2 kernels on an AVX-512 processor it
 * takes for an older one (Zen 4 under OpenBLAS 0.3.21). Returns the OPENBLAS_CORETYPE that matches this
 * processor when that happened and the user has not chosen one, else NULL.
 * Front ends set it in the environment and re-execute themselves (the
 * library cannot: OpenBLAS reads the variable only at load time). */
const char *lms_blas_better_core(void);

#endif
