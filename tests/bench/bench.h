/* The benchmark program: `build/bench NAME [ARGS]` runs one workload and
 * prints "RESULT <key> <value> <unit>" lines that tests/bench/report.py sets
 * beside PyTorch's figures for the same keys. Each workload runs in its own
 * process so its peak memory is its own. */
#ifndef LMS_BENCH_H
#define LMS_BENCH_H

/* Wall time is lms_now() (lmscope/clock.h). CPU seconds of this thread, and of the whole process (every thread): on a
 * loaded machine the wall clock also counts other programs' turns. */
double bench_thread_cpu(void);
double bench_process_cpu(void);
double bench_median(double *x, int n); /* sorts x */
/* The smallest of n times: on a shared machine other programs' turns only
 * ever add time. */
double bench_best(const double *x, int n);
int bench_argmax(const float *x, int n);
long bench_peak_rss_kb(void);
void bench_result(const char *key, double value, const char *unit);

int bench_engine(int argc, char **argv);
int bench_explorer(int argc, char **argv);
int bench_timeline(int argc, char **argv);
int bench_eval(int argc, char **argv);
int bench_attribution(int argc, char **argv);
int bench_tokenizer(int argc, char **argv);
int bench_llama(int argc, char **argv);
int bench_llama_baseline(int argc, char **argv);
int bench_gguf(int argc, char **argv); /* gguf and gguf-make */
int bench_hf_llama(int argc, char **argv);
int bench_interp(int argc, char **argv);

#endif
