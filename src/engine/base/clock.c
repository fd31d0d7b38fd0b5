/* CLOCK_MONOTONIC in seconds (see clock.h). */
#include <time.h>

#include "lmscope/clock.h"

double lms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

double lms_now_ms(void)
{
	return 1e3 * lms_now();
}
