/* Memory needed by a model against memory available (see memlimit.h). */
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "base/memlimit.h"

/* Floats of the activations of one sequence of T positions. */
static double activations(const struct lms_config *c, double T)
{
	double C = c->C, H = c->H, V = c->V, L = c->L, NH = c->NH;
	/* per position and layer: the residual stream, norms, q, k, v, the
	 * attention output and projection (about 8 C), the feed-forward's
	 * input and activation (2 H), and a row of attention scores and
	 * probabilities per head (2 NH T); per position: logits and their
	 * probabilities (2 V). Recurrent layers have NH = 0 and gates in H.
	 * Transformers keep no probabilities: one head's T x T for the views
	 * and the kernels' scratch of LMS_ATT_BLOCK query rows (2 x 64 x T);
	 * a Llama's feed-forward keeps three H-wide rows (gate, up, product). */
	if (c->arch == LMS_GPT2 || c->arch == LMS_LLAMA) {
		double ffn = c->arch == LMS_LLAMA ? 3.0 * H : 2.0 * H;
		return T * (L * (8.0 * C + ffn) + 2.0 * V + T + 2.0 * 64.0);
	}
	return T * (L * (8.0 * C + 2.0 * H + 2.0 * NH * T) + 2.0 * V);
}

static size_t bytes_of(double floats)
{
	double bytes = floats * sizeof(float);
	return bytes >= (double)SIZE_MAX ? SIZE_MAX : (size_t)bytes;
}

size_t lms_memory_needed(const struct lms_config *c)
{
	return lms_memory_needed_stored(c, lms_config_n_params(c) * sizeof(float));
}

size_t lms_memory_needed_stored(const struct lms_config *c, size_t weight_bytes)
{
	size_t act = bytes_of(activations(c, c->maxT));
	return act > SIZE_MAX - weight_bytes ? SIZE_MAX : act + weight_bytes;
}

/* A "Key:   N kB" line of /proc/meminfo, in bytes; 0 when absent. */
static size_t meminfo(const char *key)
{
	FILE *f = fopen("/proc/meminfo", "r");
	if (!f)
		return 0;
	char line[256];
	size_t klen = strlen(key), kb = 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, klen) && line[klen] == ':') {
			unsigned long long v;
			if (sscanf(line + klen + 1, "%llu", &v) == 1)
				kb = (size_t)v;
			break;
		}
	fclose(f);
	return kb * 1024;
}

/* Bytes this process maps now (/proc/self/statm's first field, in pages). */
static size_t mapped_now(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long long pages = 0;
	if (f) {
		if (fscanf(f, "%llu", &pages) != 1)
			pages = 0;
		fclose(f);
	}
	return (size_t)pages * (size_t)sysconf(_SC_PAGESIZE);
}

size_t lms_memory_available(void)
{
	size_t avail = meminfo("MemAvailable");
	if (!avail) {
		long pages = sysconf(_SC_AVPHYS_PAGES), size = sysconf(_SC_PAGESIZE);
		avail = pages > 0 && size > 0 ? (size_t)pages * (size_t)size : SIZE_MAX;
	}
	static const int limits[] = {RLIMIT_AS, RLIMIT_DATA};
	for (size_t i = 0; i < sizeof limits / sizeof *limits; i++) {
		struct rlimit rl;
		if (getrlimit(limits[i], &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
			continue;
		size_t used = mapped_now(), lim = (size_t)rl.rlim_cur;
		size_t left = lim > used ? lim - used : 0;
		if (left < avail)
			avail = left;
	}
	return avail;
}

enum lms_status lms_memory_check(const struct lms_config *c, const char *path)
{
	return lms_memory_check_stored(c, lms_config_n_params(c) * sizeof(float), path);
}

enum lms_status lms_memory_check_stored(const struct lms_config *c, size_t weight_bytes,
                                        const char *path)
{
	size_t need = lms_memory_needed_stored(c, weight_bytes), avail = lms_memory_available();
	if (need <= avail)
		return LMS_OK;
	const double gib = 1024.0 * 1024.0 * 1024.0;
	return lms_fail(LMS_ENOMEM,
	                "%s: the model needs %.2f GiB (%zu parameters, and activations at context %d) "
	                "but only %.2f GiB of memory is available",
	                path, need / gib, lms_config_n_params(c), c->maxT, avail / gib);
}

enum lms_status lms_memory_check_run(const struct lms_config *c, int B, int T)
{
	size_t need = bytes_of((double)B * activations(c, T)), avail = lms_memory_available();
	if (need <= avail)
		return LMS_OK;
	const double gib = 1024.0 * 1024.0 * 1024.0;
	return lms_fail(
		LMS_ENOMEM,
		"%d sequences of %d positions need %.2f GiB of activations but only %.2f GiB of "
		"memory is available",
		B, T, need / gib, avail / gib);
}

size_t lms_memory_needed_train(const struct lms_config *c, int B, int T)
{
	return bytes_of(2.0 * (double)B * activations(c, T) + 3.0 * (double)lms_config_n_params(c));
}

enum lms_status lms_memory_check_train(const struct lms_config *c, int B, int T, const char *what)
{
	size_t need = lms_memory_needed_train(c, B, T), avail = lms_memory_available();
	if (need <= avail)
		return LMS_OK;
	const double gib = 1024.0 * 1024.0 * 1024.0;
	return lms_fail(
		LMS_ENOMEM,
		"%s: batch %d x context %d needs %.2f GiB more (activations and their gradients, "
		"parameter gradients and AdamW state) but only %.2f GiB of memory is available",
		what, B, T, need / gib, avail / gib);
}
