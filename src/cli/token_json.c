/* A token as a JSON string, for every command's JSON output. */
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
