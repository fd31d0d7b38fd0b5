/* The engine's thread pool (see par.h): persistent workers that sleep on a
 * condition variable between jobs, tasks handed out one at a time from a
 * shared counter, and a flag that gives the workers to one caller at a
 * time. The workers are stopped and joined at exit, so that nothing of
 * theirs is left for valgrind to count. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/par.h"
#include "lmscope/clock.h"

/* How long a caller whose own tasks are done looks for the workers to
 * finish theirs before it sleeps (a job's last parts take about as long as
 * one part, and waking a sleeping caller would add to it). Workers do not
 * spin: a worker that looks in a loop is, to the scheduler, a thread that
 * has had its share, and is put off behind other processes' threads (on a
 * shared two-core machine GELU at 262144 floats took 234 us on two
 * threads against 122 on one); a sleeping worker that is woken runs at
 * once (61 us). */
#define SPIN_SECONDS 100e-6

#define MAX_THREADS 64

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake; /* workers: a new job, or quit */
	pthread_cond_t done; /* the caller: the last worker left the job */
	pthread_t tid[MAX_THREADS];
	unsigned long born[MAX_THREADS]; /* the job count when worker i started */
	int started;                     /* workers running (slots 1 .. started) */
	int quit;                        /* workers return */
	int closed;                      /* stopped at exit: every call serial */
	atomic_ulong gen;                /* jobs published so far (moved under mu) */
	/* the job, written by the caller that has the workers before gen moves */
	lms_par_fn fn;
	void *ctx;
	int n, slots;
	atomic_int active; /* workers not yet out of the job, counted down by each */
	atomic_int next;   /* the next task to hand out */
} pool = {.mu = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER,
          .done = PTHREAD_COND_INITIALIZER};

static atomic_int size;                     /* threads, caller included; 0: not chosen */
static atomic_flag busy = ATOMIC_FLAG_INIT; /* a caller has the workers */
static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;

static void run_tasks(lms_par_fn fn, void *ctx, int n, int slot)
{
	int i;
	while ((i = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed)) < n)
		fn(ctx, i, slot);
}

/* A pause between looks (sched_yield would hand the processor to any
 * other runnable thread, a niced one included, for its whole time slice) */
static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Whether workers are still in the job after looking for up to
 * SPIN_SECONDS */
static int spin_while_active(void)
{
	double end = lms_now() + SPIN_SECONDS;
	while (atomic_load_explicit(&pool.active, memory_order_acquire) > 0) {
		if (lms_now() > end)
			return 1;
		relax();
	}
	return 0;
}

/* Waits for a job after seen; returns the job's number, or 0 to quit. */
static unsigned long next_job(unsigned long seen)
{
	pthread_mutex_lock(&pool.mu);
	while (!pool.quit && atomic_load(&pool.gen) == seen)
		pthread_cond_wait(&pool.wake, &pool.mu);
	unsigned long gen = atomic_load(&pool.gen);
	pthread_mutex_unlock(&pool.mu);
	return gen == seen ? 0 : gen; /* the same job: quit */
}

/* A worker: the job's fields are read without the lock, published before
 * gen moves and not changed until every worker has left the job. */
static void *worker(void *arg)
{
	int slot = (int)(intptr_t)arg;
	unsigned long seen = pool.born[slot];
	while ((seen = next_job(seen)) != 0) {
		if (slot < pool.slots)
			run_tasks(pool.fn, pool.ctx, pool.n, slot);
		if (atomic_fetch_sub(&pool.active, 1) == 1) {
			pthread_mutex_lock(&pool.mu);
			pthread_cond_signal(&pool.done);
			pthread_mutex_unlock(&pool.mu);
		}
	}
	return NULL;
}

static void take_workers(void)
{
	while (atomic_flag_test_and_set_explicit(&busy, memory_order_acquire))
		sched_yield(); /* a caller's job ends in bounded time */
}

static void give_workers(void)
{
	atomic_flag_clear_explicit(&busy, memory_order_release);
}

/* Joins every worker; the caller has the workers (take_workers). */
static void stop_workers(int close)
{
	pthread_mutex_lock(&pool.mu);
	pool.quit = 1;
	pthread_cond_broadcast(&pool.wake);
	int n = pool.started;
	pthread_mutex_unlock(&pool.mu);
	for (int i = 0; i < n; i++)
		pthread_join(pool.tid[i], NULL);
	pthread_mutex_lock(&pool.mu);
	pool.started = 0;
	pool.quit = 0;
	pool.closed |= close;
	pthread_mutex_unlock(&pool.mu);
}

static void stop_at_exit(void)
{
	take_workers();
	stop_workers(1);
	give_workers();
}

/* A forked child has only the thread that forked: none of the workers, and
 * the pool's lock and flag as some other thread may have left them. */
static void forget_in_child(void)
{
	pthread_mutex_init(&pool.mu, NULL);
	pthread_cond_init(&pool.wake, NULL);
	pthread_cond_init(&pool.done, NULL);
	pool.started = 0;
	pool.quit = 0;
	atomic_flag_clear(&busy);
}

static void install_hooks(void)
{
	atexit(stop_at_exit);
	pthread_atfork(NULL, NULL, forget_in_child);
}

/* Starts workers up to want; the caller has the workers. Returns how many
 * run. */
static int start_workers(int want)
{
	pthread_once(&hooks_once, install_hooks);
	pthread_mutex_lock(&pool.mu);
	while (!pool.closed && pool.started < want) {
		int slot = pool.started + 1;
		pool.born[slot] = pool.gen;
		if (pthread_create(&pool.tid[pool.started], NULL, worker, (void *)(intptr_t)slot))
			break;
		pool.started++;
	}
	int n = pool.started;
	pthread_mutex_unlock(&pool.mu);
	return n;
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

int lms_par_threads(void)
{
	int n = atomic_load(&size);
	return n > 0 ? n : online_cpus();
}

void lms_par_set_threads(int n)
{
	n = n <= 0 ? online_cpus() : n > MAX_THREADS ? MAX_THREADS : n;
	take_workers();
	if (pool.started > n - 1)
		stop_workers(0);
	atomic_store(&size, n);
	give_workers();
}

static void serial(int n, lms_par_fn fn, void *ctx)
{
	for (int i = 0; i < n; i++)
		fn(ctx, i, 0);
}

void lms_par_for(int n, int slots, lms_par_fn fn, void *ctx)
{
	int threads = lms_par_threads();
	if (slots <= 0 || slots > threads)
		slots = threads;
	if (slots > n)
		slots = n;
	if (slots <= 1 || atomic_flag_test_and_set_explicit(&busy, memory_order_acquire)) {
		serial(n, fn, ctx);
		return;
	}
	if (start_workers(threads - 1) == 0) {
		give_workers();
		serial(n, fn, ctx);
		return;
	}
	pool.fn = fn;
	pool.ctx = ctx;
	pool.n = n;
	pool.slots = slots;
	atomic_store(&pool.next, 0);
	atomic_store(&pool.active, pool.started);
	pthread_mutex_lock(&pool.mu);
	atomic_fetch_add_explicit(&pool.gen, 1, memory_order_release);
	pthread_cond_broadcast(&pool.wake);
	pthread_mutex_unlock(&pool.mu);
	run_tasks(fn, ctx, n, 0);
	if (spin_while_active()) {
		pthread_mutex_lock(&pool.mu);
		while (atomic_load(&pool.active) > 0)
			pthread_cond_wait(&pool.done, &pool.mu);
		pthread_mutex_unlock(&pool.mu);
	}
	give_workers();
}
