/* The one clock lmscope measures durations with: monotonic (never steps back
 * when the wall clock is set), in seconds. Training's log, the explorer's
 * timings and the benchmarks all read it. */
#ifndef LMSCOPE_CLOCK_H
#define LMSCOPE_CLOCK_H

/* Seconds since an arbitrary fixed point; only differences mean anything. */
double lms_now(void);
/* The same in milliseconds (the explorer's unit). */
double lms_now_ms(void);

#endif
