/* Fuzz target: the training snapshots' index reader (lms_snapshots_read).
 * The input is snapshots/index.json of a directory whose snapshots/ holds
 * the directories step-000010 and step-000020 (so that valid entries can
 * name them). The reader must return a status, never crash; an index it
 * accepts must hold what the format promises (steps increasing, tokens
 * not decreasing, losses >= 0 or a missing valid loss, each directory
 * inside snapshots/); a failure leaves nothing and a message. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lmscope/snapshots.h"
#include "fuzz.h"

static void check(const struct lms_snapshots *s)
{
	char prefix[600];
	snprintf(prefix, sizeof prefix, "%s/snapshots/", fuzz_dir());
	for (int i = 0; i < s->n; i++) {
		const struct lms_snapshot *e = &s->v[i];
		if (e->step < 1 || (i && e->step <= s->v[i - 1].step))
			fuzz_die("accepted steps that do not increase");
		if (e->tokens < 0 || (i && e->tokens < s->v[i - 1].tokens))
			fuzz_die("accepted tokens that decrease");
		if (!(e->train_loss >= 0) || !(e->valid_loss >= 0 || isnan(e->valid_loss)))
			fuzz_die("accepted a loss below 0");
		if (!e->dir || strncmp(e->dir, prefix, strlen(prefix)) ||
		    strchr(e->dir + strlen(prefix), '/'))
			fuzz_die("accepted a directory outside snapshots/");
	}
}

/* The temporary directory's own cleanup removes files only: the
 * directories go first (atexit runs this before it, registered later). */
static void remove_dirs(void)
{
	rmdir(fuzz_path("snapshots/step-000010"));
	rmdir(fuzz_path("snapshots/step-000020"));
	rmdir(fuzz_path("snapshots"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int made;
	if (!made) {
		mkdir(fuzz_path("snapshots"), 0777);
		mkdir(fuzz_path("snapshots/step-000010"), 0777);
		mkdir(fuzz_path("snapshots/step-000020"), 0777);
		atexit(remove_dirs);
		made = 1;
	}
	fuzz_write("snapshots/index.json", data, size);
	struct lms_snapshots s;
	enum lms_status st = lms_snapshots_read(fuzz_dir(), &s);
	if (st == LMS_OK)
		check(&s);
	else if (s.v || s.n || !*lms_errmsg())
		fuzz_die("a failure left snapshots or no message");
	lms_snapshots_free(&s);
	unlink(fuzz_path("snapshots/index.json"));
	return 0;
}
