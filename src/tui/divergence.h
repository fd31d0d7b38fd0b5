/* The divergence view of two models side by side (`lmscope MODEL_A
 * MODEL_B`, V): where B computes something else than A on A's tokens at
 * the cursor position (lmscope/divergence.h, as `explain --compare`).
 *
 * The numbers come from a thread of their own, which reads both models
 * through two work runs of its own (the sides' engine threads keep theirs):
 * the input thread posts A's ids and the position whenever they change
 * while the view is shown, and takes finished results, announced by a byte
 * on a pipe that the main loop polls with the sides' pipes. One instance:
 * an explorer shows at most two models. */
#ifndef LMS_TUI_DIVERGENCE_H
#define LMS_TUI_DIVERGENCE_H

#include <stdint.h>

#include "teach.h"

/* What the pane draws (the input thread's copy of the newest result). */
struct tui_div_result {
	int valid; /* 0 until the first result, or after an error */
	int L, NH;
	int n, pos;      /* tokens of A's view and the position compared */
	int target;      /* A's most probable token after pos */
	double *kl;      /* (L) */
	double *maxdiff; /* (L, NH) */
	double rho;
	char err[200]; /* the engine's message when computing failed */
};

/* Starts the thread for the app's two models (once; LMS_OK when it runs
 * already); LMS_EARG, with the message naming it, when their vocabulary,
 * layer count or head count differ. */
enum lms_status tui_div_start(const struct tui_app *app);
/* The wake pipe to poll (-1 before the view was first shown). */
int tui_div_fd(void);
/* After input and results in each round of the main loop: takes a finished
 * result and, while some side shows the view, posts A's ids and the active
 * side's cursor position when they changed. 1 when the screen should be
 * redrawn. */
int tui_div_update(struct tui_app *app);
/* The newest result, and whether a newer request is being computed. */
const struct tui_div_result *tui_div_shown(int *busy);
/* Stops the thread; 0 (freeing nothing) when it is still computing after
 * wait_ms (as tui_worker_stop). */
int tui_div_stop(int wait_ms);

#endif
