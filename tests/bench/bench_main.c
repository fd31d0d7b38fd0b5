/* Dispatches `build/bench NAME [ARGS]` to one workload (see bench.h). */
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bench.h"
#include "lmscope/status.h"

/* the CPU-time clocks (wall time: lms_now) */
static double seconds(clockid_t clock)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

double bench_thread_cpu(void)
{
	return seconds(CLOCK_THREAD_CPUTIME_ID);
}

double bench_process_cpu(void)
{
	return seconds(CLOCK_PROCESS_CPUTIME_ID);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double bench_median(double *x, int n)
{
	qsort(x, (size_t)n, sizeof *x, cmp_double);
	return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

double bench_best(const double *x, int n)
{
	double b = x[0];
	for (int i = 1; i < n; i++)
		b = x[i] < b ? x[i] : b;
	return b;
}

int bench_argmax(const float *x, int n)
{
	int b = 0;
	for (int i = 1; i < n; i++)
		if (x[i] > x[b])
			b = i;
	return b;
}

long bench_peak_rss_kb(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

void bench_result(const char *key, double value, const char *unit)
{
	printf("RESULT %s %.6g %s\n", key, value, unit);
	fflush(stdout);
}

struct workload {
	const char *name;
	int (*run)(int argc, char **argv);
};

static const struct workload workloads[] = {
	{"engine", bench_engine},
	{"explorer", bench_explorer},
	{"timeline", bench_timeline},
	{"eval", bench_eval},
	{"attribution", bench_attribution},
	{"tokenizer", bench_tokenizer},
	{"llama", bench_llama},
	{"llama-baseline", bench_llama_baseline},
	{"gguf", bench_gguf},
	{"gguf-make", bench_gguf},
	{"hf-llama", bench_hf_llama},
	{"interp", bench_interp},
	{"hf-llama", bench_hf_llama},
};

/* Prints the OPENBLAS_CORETYPE this processor should use ("" when OpenBLAS
 * chose well itself), so run.sh gives lmscope and PyTorch the same kernels. */
static int bench_blascore(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	const char *core = lms_blas_better_core();
	printf("%s\n", core ? core : "");
	return 0;
}

/* Prints the kernel OpenBLAS runs in this process, for the report. */
static int bench_corename(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("%s\n", openblas_get_corename());
	return 0;
}

int main(int argc, char **argv)
{
	lms_set_threads(0);
	if (argc >= 2 && !strcmp(argv[1], "blascore"))
		return bench_blascore(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "corename"))
		return bench_corename(argc - 1, argv + 1);
	if (argc < 2) {
		fprintf(stderr, "usage: bench NAME [ARGS]\n");
		return 2;
	}
	for (size_t i = 0; i < sizeof workloads / sizeof *workloads; i++)
		if (!strcmp(argv[1], workloads[i].name))
			return workloads[i].run(argc - 1, argv + 1);
	fprintf(stderr, "bench: unknown workload %s\n", argv[1]);
	return 2;
}
