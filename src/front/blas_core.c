/* Re-executes lmscope with OPENBLAS_CORETYPE set when OpenBLAS fell back to
 * its generic kernels on a processor it does not recognise (see
 * lms_blas_better_core). One exec at start-up, before anything else runs. */
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "front/front.h"

void front_pick_blas_core(char **argv)
{
	const char *core = lms_blas_better_core();
	if (!core || getenv("LMSCOPE_NO_REEXEC"))
		return;
	/* exec the binary by its real path, so that ps and pgrep still see
	 * "lmscope" rather than "exe" */
	char self[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", self, sizeof self - 1);
	if (len <= 0)
		return;
	self[len] = '\0';
	setenv("OPENBLAS_CORETYPE", core, 1);
	setenv("LMSCOPE_NO_REEXEC", "1", 1);
	execv(self, argv);
	/* exec failed: carry on with the generic kernels */
}
