/* Errors and exit statuses, as every front end reports them:
 * "lmscope: <file>: <what is wrong>" on stderr and a distinct exit status. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "front/front.h"

int front_exit_code(enum lms_status st)
{
	switch (st) {
	case LMS_OK: return LMS_EXIT_OK;
	case LMS_EARG: return LMS_EXIT_USAGE;
	case LMS_EIO: return LMS_EXIT_IO;
	case LMS_EFORMAT: return LMS_EXIT_FORMAT;
	case LMS_ENOMEM: return LMS_EXIT_NOMEM;
	case LMS_EUNSUPPORTED: return LMS_EXIT_UNSUPPORTED;
	case LMS_ENUMERIC: return LMS_EXIT_NUMERIC;
	case LMS_EINTR: return LMS_EXIT_INTERRUPTED;
	}
	return LMS_EXIT_FAIL;
}

/* Whether msg starts with "<something without spaces>: ", a file's name
 * (or another subject) as the style "lmscope: <file>: <what>" wants. */
static int has_subject(const char *msg)
{
	size_t n = strcspn(msg, " :");
	return n > 0 && msg[n] == ':' && msg[n + 1] == ' ';
}

int front_fail(enum lms_status st)
{
	const char *msg = lms_errmsg();
	if (!has_subject(msg) && front_command)
		fprintf(stderr, "lmscope: %s: %s\n", front_command, *msg ? msg : lms_status_name(st));
	else
		fprintf(stderr, "lmscope: %s\n", *msg ? msg : lms_status_name(st));
	return front_exit_code(st);
}

const char *front_command;

int front_usage(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* "lmscope: CMD: what is wrong", whether or not the message names CMD */
	const char *c = front_command, *rest = msg;
	size_t k = c ? strlen(c) : 0;
	if (k && !strncmp(msg, c, k) && msg[k] == ' ') {
		const char *colon = strchr(msg + k + 1, ':'), *space = strchr(msg + k + 1, ' ');
		if (colon && (!space || colon < space))
			c = NULL; /* "tokenizer train: ..." */
		else
			rest = msg + k + 1; /* "train needs ..." -> "train: needs ..." */
	} else if (k && !strncmp(msg, c, k) && msg[k] == ':') {
		c = NULL;
	}
	if (c)
		fprintf(stderr, "lmscope: %s: %s\n", c, rest);
	else
		fprintf(stderr, "lmscope: %s\n", msg);
	return LMS_EXIT_USAGE;
}
