/* The engine's text in the user's language, for the parts of a message that
 * are chosen at run time and passed to lms_fail as a "%s" argument (a
 * helper's `what`, one of two phrases): lms_tr(s) is s's translation in
 * LMS_TEXTDOMAIN (lmscope/status.h), N_(s) marks a literal for xgettext
 * where it is passed on and translated later. lms_fail and lms_log
 * translate their formats themselves (base/status.c, which defines
 * lms_tr). */
#ifndef LMS_BASE_TR_H
#define LMS_BASE_TR_H

#ifndef N_
#define N_(s) s
#endif

const char *lms_tr(const char *s) __attribute__((format_arg(1)));

#endif
