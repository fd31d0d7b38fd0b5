/* --ablate SPEC and --ablate-mode zero|mean, the option table explain and
 * eval add to their own. */
#include "front/i18n.h"
#include "cli.h"

static int set_mode(void *field, const char *value)
{
	struct cli_ablate *a = (struct cli_ablate *)((char *)field - offsetof(struct cli_ablate, mode));
	if (!lms_ablate_mode_from_name(value, &a->mode))
		return front_usage(_("--ablate-mode wants zero or mean, not '%s'"), value);
	a->mode_given = 1;
	return 0;
}

const struct front_opt cli_ablate_options[] = {
	FRONT_STR("ablate", 0, "L.H,...",
              N_("run with these heads (L.H) or MLPs (L.mlp) ablated;\nrecurrent models: L.U, unit "
                 "U of layer L's state"),
              struct cli_ablate, spec),
	FRONT_FN("ablate-mode", 0, "M",
             N_("zero (default), or mean: a head's output replaced by\nits mean over the context "
                "(MLPs are always zeroed)"),
             struct cli_ablate, mode, set_mode),
	FRONT_END};

int cli_ablate_make(const struct cli_ablate *a, const struct lms_model *m,
                    struct lms_intervention **iv)
{
	*iv = NULL;
	if (!a->spec) {
		if (a->mode_given)
			return front_usage(_("--ablate-mode needs --ablate"));
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
