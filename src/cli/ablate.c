/* --ablate SPEC and --ablate-mode zero|mean, shared by the subcommands that
 * run a model under ablation (explain, eval). */
#include <string.h>

#include "cli.h"

const char cli_ablate_usage[] =
	"  --ablate L.H[,L.H|L.mlp...]  run with these attention heads (their\n"
	"                    attention-weighted values) or MLPs (their output) ablated;\n"
	"                    recurrent models: L.U ablates unit U of layer L's state\n"
	"  --ablate-mode M   zero (default) or mean: a head's output replaced by its\n"
	"                    mean over the context's positions (MLPs are always zeroed)\n";

int cli_ablate_option(struct cli_ablate *a, int argc, char **argv, int *i)
{
	const char *opt = argv[*i];
	if (strcmp(opt, "--ablate") && strcmp(opt, "--ablate-mode"))
		return 0;
	if (*i + 1 >= argc)
		return -front_usage("%s wants a value", opt);
	const char *v = argv[++*i];
	if (!strcmp(opt, "--ablate")) {
		a->spec = v;
		return 1;
	}
	if (!lms_ablate_mode_from_name(v, &a->mode))
		return -front_usage("--ablate-mode wants zero or mean, not '%s'", v);
	a->mode_given = 1;
	return 1;
}

int cli_ablate_make(const struct cli_ablate *a, const struct lms_model *m,
                    struct lms_intervention **iv)
{
	*iv = NULL;
	if (!a->spec) {
		if (a->mode_given)
			return front_usage("--ablate-mode needs --ablate");
		return 0;
	}
	enum lms_status st = lms_intervention_new(m, iv);
	if (st)
		return front_fail(st);
	(*iv)->mode = a->mode;
	if (lms_intervention_parse(*iv, a->spec)) {
		lms_intervention_free(*iv);
		*iv = NULL;
		return front_usage("%s", lms_errmsg());
	}
	return 0;
}
