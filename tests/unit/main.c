/* Runs the one check suite a unit-test file defines. Tests fork, so a crash
 * fails only its own test. */
#include <stdlib.h>

#include <check.h>

Suite *lms_test_suite(void);

int main(void)
{
	SRunner *sr = srunner_create(lms_test_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
