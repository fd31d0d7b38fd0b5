/* memlimit.c: the memory a model needs against the memory available, and
 * refusing a model that does not fit. The oracle for "available" is
 * /proc/meminfo read here. (Address-space limits are tested on the plain
 * build by tests/cli/limits.sh: the sanitizers reserve terabytes of
 * address space, so `ulimit -v` cannot be used under them.) */
#include <stdio.h>
#include <string.h>

#include <check.h>

#include "base/memlimit.h"

static struct lms_config gpt2(int V, int C, int L, int T)
{
	struct lms_config c;
	memset(&c, 0, sizeof c);
	c.arch = LMS_GPT2;
	c.V = V;
	c.C = C;
	c.H = 4 * C;
	c.L = L;
	c.NH = c.KV = 4;
	c.maxT = T;
	c.eps = 1e-5f;
	c.tied = 1;
	return c;
}

static size_t meminfo_available(void)
{
	FILE *f = fopen("/proc/meminfo", "r");
	ck_assert_ptr_nonnull(f);
	char line[256];
	unsigned long long kb = 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "MemAvailable: %llu kB", &kb) == 1)
			break;
	fclose(f);
	return (size_t)kb * 1024;
}

START_TEST(test_needed)
{
	struct lms_config c = gpt2(100, 64, 2, 32);
	size_t params = lms_config_n_params(&c), need = lms_memory_needed(&c);
	/* at least the parameters, and at least one row of logits per position */
	ck_assert_uint_ge(need, params * sizeof(float) + (size_t)32 * 100 * sizeof(float));
	/* and not absurdly more: under 4x for this small context */
	ck_assert_uint_lt(need, 4 * params * sizeof(float));
	/* attention grows with the square of the context: a Transformer
	 * keeps one head's T x T for the views (its forward streams the
	 * probabilities), so far less than a score and a probability per head
	 * and layer (2 x 2 layers x 4 heads x T x T) */
	struct lms_config longer = gpt2(100, 64, 2, 4096);
	size_t tt = (size_t)4096 * 4096 * sizeof(float);
	ck_assert_uint_gt(lms_memory_needed(&longer), tt);
	ck_assert_uint_lt(lms_memory_needed(&longer), 2 * tt);
	longer.arch = LMS_LLAMA;
	ck_assert_uint_gt(lms_memory_needed(&longer), tt);
	ck_assert_uint_lt(lms_memory_needed(&longer), 2 * tt);
	/* a recurrent model has no T x T at all */
	longer.arch = LMS_LSTM;
	longer.NH = 0;
	ck_assert_uint_lt(lms_memory_needed(&longer), tt);
}
END_TEST

START_TEST(test_available)
{
	size_t avail = lms_memory_available(), mi = meminfo_available();
	ck_assert_uint_gt(avail, 0);
	/* MemAvailable moves while the test runs: within 10% */
	ck_assert_uint_le(avail, mi + mi / 10);
	ck_assert_uint_ge(avail, mi - mi / 10);
}
END_TEST

START_TEST(test_check)
{
	struct lms_config small = gpt2(100, 64, 2, 32);
	ck_assert_int_eq(lms_memory_check(&small, "small"), LMS_OK);
	/* a context of a million positions needs terabytes of attention */
	struct lms_config huge = gpt2(100, 64, 2, 1 << 20);
	ck_assert_int_eq(lms_memory_check(&huge, "dir/model.safetensors"), LMS_ENOMEM);
	ck_assert_msg(!strncmp(lms_errmsg(), "dir/model.safetensors: the model needs ", 39), "%s",
	              lms_errmsg());
	/* a model of more parameters than there are bytes available */
	size_t avail = lms_memory_available();
	struct lms_config big = gpt2(1000, 4096, 1, 64);
	big.L = (int)(avail / (12 * (size_t)4096 * 4096 * sizeof(float))) + 1;
	if (big.L <= 48)
		ck_assert_int_eq(lms_memory_check(&big, "big"), LMS_ENOMEM);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("memlimit");
	TCase *t = tcase_create("needed");
	tcase_add_test(t, test_needed);
	suite_add_tcase(s, t);
	t = tcase_create("available");
	tcase_add_test(t, test_available);
	suite_add_tcase(s, t);
	t = tcase_create("check");
	tcase_add_test(t, test_check);
	suite_add_tcase(s, t);
	return s;
}
