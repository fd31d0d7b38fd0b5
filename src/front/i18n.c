/* The locale and the text domain (i18n.h). */
#include <locale.h>
#include <stdlib.h>

#include "front/i18n.h"

void front_i18n_init(void)
{
	setlocale(LC_ALL, "");
	setlocale(LC_NUMERIC, "C");
	const char *dir = getenv("LMSCOPE_LOCALEDIR");
	bindtextdomain(FRONT_TEXTDOMAIN, dir && *dir ? dir : LMS_LOCALEDIR);
	textdomain(FRONT_TEXTDOMAIN);
}

const char *front_tr(const char *s)
{
	return s && *s ? gettext(s) : s;
}
