/* Translations of what the front ends show, through gettext (GNU libc's
 * libintl): _("text") is the text in the user's language, N_("text") marks
 * a string in a static table for xgettext and leaves it as it is (the code
 * that prints it calls _() then). The catalogs are po/LANG.po, compiled to
 * LOCALEDIR/LANG/LC_MESSAGES/lmscope.mo; `make pot` collects the marked
 * strings of the files listed in po/POTFILES. The engine's messages share
 * the domain: lms_fail translates its format (lmscope/status.h), so its
 * messages and the front ends' arrive in the user's language. */
#ifndef LMS_FRONT_I18N_H
#define LMS_FRONT_I18N_H

#include <libintl.h>

#include "lmscope/status.h"

#define _(s) gettext(s)
#define N_(s) s

/* The domain's name, and the catalogs' root when the environment does not
 * name one (the Makefile's LOCALEDIR, PREFIX/share/locale). */
#define FRONT_TEXTDOMAIN LMS_TEXTDOMAIN
#ifndef LMS_LOCALEDIR
#define LMS_LOCALEDIR "/usr/local/share/locale"
#endif

/* Sets the locale from the environment (numbers stay in the C locale's
 * notation: output files and JSON must not depend on LANG) and binds the
 * text domain to $LMSCOPE_LOCALEDIR, else LMS_LOCALEDIR (or, when that has
 * no catalog of ours, ../share/locale beside the binary). */
void front_i18n_init(void);

/* _(s), except that "" stays "" (gettext("") is the catalog's header). */
const char *front_tr(const char *s);

#endif
