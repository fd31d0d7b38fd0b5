/* PLACEHOLDER until model directories land. */
#include "lmscope/model.h"

enum lms_status lms_model_load(const char *dir, struct lms_model **out) { *out = 0; return lms_fail(LMS_EUNSUPPORTED, "%s: cannot load models yet", dir); }
enum lms_status lms_model_save(const struct lms_model *m, const char *dir, int f16) { (void)m; (void)f16; return lms_fail(LMS_EUNSUPPORTED, "%s: cannot save models yet", dir); }
