/* The terminal while the explorer owns it: curses setup and restore, stderr
 * captured into a temporary file and shown after endwin, and signal
 * handlers that restore the terminal on a crash and re-raise. */
#ifndef LMS_TUI_TERM_H
#define LMS_TUI_TERM_H

#include <signal.h>

/* Set by SIGINT/SIGTERM/SIGHUP; the main loop quits when it sees it. */
extern volatile sig_atomic_t tui_term_quit;

/* Takes over the terminal; 0 (and a message on stderr) on failure. */
int tui_term_open(void);
/* Gives the terminal back and prints what was written to stderr meanwhile. */
void tui_term_close(void);

#endif
