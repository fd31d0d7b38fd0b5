/* JSON pieces the subcommands' --json outputs share. */
#include <math.h>
#include <stdio.h>

#include "cli.h"

json_t *cli_token_json(const struct front_model *cm, int id)
{
	char buf[32];
	json_t *s = json_string(front_token_str(cm, id, buf, sizeof buf));
	if (!s) { /* not valid UTF-8: show the id instead */
		snprintf(buf, sizeof buf, "#%d", id);
		s = json_string(buf);
	}
	return s;
}

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
