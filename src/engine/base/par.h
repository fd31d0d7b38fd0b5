/* The engine's thread pool: the independent tasks of one loop run on the
 * calling thread and the pool's persistent workers. Internal to the engine.
 *
 * Tasks must be independent (each writes its own rows, heads or columns,
 * and nothing another task reads), so that which thread runs a task never
 * changes a result: a pooled kernel gives bitwise what its serial loop
 * gives. Reductions stay inside one task, in their serial order.
 *
 * Any thread may call lms_par_for at any time, also from inside a task.
 * One caller at a time has the workers; a call that finds them taken (by
 * another engine thread, or a nested call) runs all of its tasks itself:
 * never a wait for another caller, so never a deadlock. Idle workers
 * sleep on a condition variable. */
#ifndef LMS_PAR_H
#define LMS_PAR_H

/* One task: fn(ctx, task, slot) for task in [0, n). slot tells the thread
 * running it apart from the others of the same call, in [0, slots): a
 * task may use the slot's share of a scratch buffer. */
typedef void (*lms_par_fn)(void *ctx, int task, int slot);

/* Runs fn for every task in [0, n) on at most `slots` threads (the caller
 * included; slots <= 0: as many as the pool has) and returns when all are
 * done. Each task runs exactly once; the order among threads is free. */
void lms_par_for(int n, int slots, lms_par_fn fn, void *ctx);

/* Threads a call may use now, the caller included (1: every call is
 * serial). */
int lms_par_threads(void);

/* Sets the pool's size in threads, the caller included (n <= 0: one per
 * online processor). Stops the workers it had; new ones start on the next
 * call that needs them. */
void lms_par_set_threads(int n);

#endif
