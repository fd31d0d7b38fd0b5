/* The pseudo-terminal between curses and the terminal (tee.c): curses
 * writes to a pty; a thread copies what comes out to the real terminal
 * and, while a cast is attached, into the cast (cast.h) with its time. */
#ifndef LMS_TUI_TEE_H
#define LMS_TUI_TEE_H

#include <stdio.h>

#include "cast.h"

/* Opens the pty with the terminal's modes (of in) and size (of out), and
 * starts the copying thread (to out); returns the stream curses should
 * write to, or NULL (no pty here: curses then writes to the terminal
 * itself, and casts cannot be made). in is put in raw mode: the pty's own
 * modes, which curses sets, do the work. */
FILE *tui_tee_open(int in, int out);
/* After endwin: closes the pty, lets the thread copy what is left and ends
 * it. The caller restores the terminal's modes. */
void tui_tee_close(void);
/* Whether the tee is running. */
int tui_tee_on(void);
/* Starts sending output to c (NULL: stops); once it returns, the previous
 * cast is no longer used. */
void tui_tee_attach(struct tui_cast *c);
/* Gives the pty the terminal's size when it changed (the terminal's
 * SIGWINCH does not reach curses' pty), records the change in an attached
 * cast; 1 and *rows, *cols when it changed. */
int tui_tee_sync_size(int *rows, int *cols);
/* The terminal's size now (for a cast's header). */
void tui_tee_size(int *rows, int *cols);

#endif
