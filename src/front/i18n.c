/* The locale and the text domain (i18n.h). */
#include <glob.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>

#include "front/front.h"
#include "front/i18n.h"

/* Whether dir holds a catalog of lmscope's, in any language. */
static int has_catalog(const char *dir)
{
	char pattern[4200];
	glob_t g;
	snprintf(pattern, sizeof pattern, "%s/*/LC_MESSAGES/" FRONT_TEXTDOMAIN ".mo", dir);
	int found = glob(pattern, GLOB_NOSORT, NULL, &g) == 0;
	globfree(&g);
	return found;
}

/* $LMSCOPE_LOCALEDIR; else the compiled-in LMS_LOCALEDIR, unless an
 * installation moved or made with another PREFIX has its catalogs in
 * ../share/locale beside the binary (as the models, open.c). */
static const char *locale_dir(char *buf, size_t size)
{
	const char *env = getenv("LMSCOPE_LOCALEDIR");
	if (env && *env)
		return env;
	if (!has_catalog(LMS_LOCALEDIR) && front_beside_exe("../share/locale", buf, size) &&
	    has_catalog(buf))
		return buf;
	return LMS_LOCALEDIR;
}

void front_i18n_init(void)
{
	char buf[4096];
	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	bindtextdomain(FRONT_TEXTDOMAIN, locale_dir(buf, sizeof buf));
	textdomain(FRONT_TEXTDOMAIN);
}

const char *front_tr(const char *s)
{
	return s && *s ? gettext(s) : s;
}
