/* A matrix of numbers as JSON, for the commands' --json outputs. */
#include <math.h>

#include "cli.h"

json_t *cli_matrix_json(const double *x, int rows, int cols)
{
	json_t *m = json_array();
	for (int i = 0; i < rows; i++) {
		json_t *row = json_array();
		for (int j = 0; j < cols; j++) {
			double v = x[(size_t)i * cols + j];
			json_array_append_new(row, isfinite(v) ? json_real(v) : json_null());
		}
		json_array_append_new(m, row);
	}
	return m;
}
