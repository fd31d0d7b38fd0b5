/* The terminal while the explorer owns it: curses setup and restore, stderr
 * captured into a temporary file and shown after endwin, and signal
 * handlers that restore the terminal on a crash and re-raise. */
#ifndef LMS_TUI_TERM_H
#define LMS_TUI_TERM_H

#include <signal.h>

/* Set by SIGINT/SIGTERM/SIGHUP; the main loop quits when it sees it. */
extern volatile sig_atomic_t tui_term_quit;

struct tui_cast;
/* Takes over the terminal; 0 (and a message on stderr) on failure. With a
 * cast (opened, cast.h): it records the screen from the first byte, under
 * the title; -1 (and "lmscope: PATH: what") when it cannot. */
int tui_term_open(struct tui_cast *cast, const char *title);
/* Gives the terminal back and prints what was written to stderr meanwhile. */
void tui_term_close(void);

/* Starts sending the screen to the cast c, opened (cast.h), which gets its
 * header (the terminal's size, title) and the whole screen with the next
 * doupdate; NULL stops (everything drawn until then is in the cast). 0
 * when no cast can be made (no pty) or the header cannot be written. */
int tui_term_cast(struct tui_cast *c, const char *title);
/* Call before reading keys: passes a change of the terminal's size on to
 * curses (KEY_RESIZE follows) and to the cast; 1 when it changed. */
int tui_term_sync_size(void);

#endif
