/* cast.c: asciinema v2 files, line by line against texts written by hand:
 * the header, JSON escapes, a character cut by a chunk's end carried to the
 * next chunk, invalid bytes (also surrogates, overlong forms, past U+10FFFF)
 * as U+FFFD, long pauses cut, resizes, and the file absent under its name
 * until finished. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "testutil.h"
#include "tui/cast.h"

/* The whole file (malloc'd), or NULL when it does not exist. */
static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *buf = calloc(1, 1 << 16);
	ck_assert_ptr_nonnull(buf);
	size_t n = fread(buf, 1, (1 << 16) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* The file's events: everything after the header line. */
static char *events_of(const char *path)
{
	char *all = slurp(path);
	ck_assert_ptr_nonnull(all);
	char *nl = strchr(all, '\n');
	ck_assert_ptr_nonnull(nl);
	memmove(all, nl + 1, strlen(nl + 1) + 1);
	return all;
}

static void start(struct tui_cast *c, const char *name, double max_pause)
{
	ck_assert(tui_cast_open(c, tu_path(name), max_pause));
	ck_assert(tui_cast_start(c, 80, 24, "t", 10.0));
}

START_TEST(test_header)
{
	struct tui_cast c;
	setenv("TERM", "xterm", 1);
	unsetenv("SHELL");
	ck_assert(tui_cast_open(&c, tu_path("h.cast"), 0));
	ck_assert(tui_cast_start(&c, 132, 43, "A \"title\" \xc3\xa9", 1.0));
	ck_assert(tui_cast_finish(&c));
	char *all = slurp(tu_path("h.cast"));
	ck_assert_ptr_nonnull(all);
	const char *head = "{\"version\": 2, \"width\": 132, \"height\": 43, \"timestamp\": ";
	ck_assert_int_eq(strncmp(all, head, strlen(head)), 0);
	const char *tail = ", \"env\": {\"TERM\": \"xterm\", \"SHELL\": null}, "
					   "\"title\": \"A \\\"title\\\" \xc3\xa9\"}\n";
	ck_assert_uint_ge(strlen(all), strlen(tail));
	ck_assert_str_eq(all + strlen(all) - strlen(tail), tail);
	long stamp = strtol(all + strlen(head), NULL, 10);
	ck_assert_int_gt(stamp, 1500000000L);
	free(all);
}
END_TEST

START_TEST(test_escapes)
{
	struct tui_cast c;
	start(&c, "e.cast", 0);
	tui_cast_output(&c, "\x1b[1m\"\\\n\r\t\x7f\x01", 11, 10.25);
	ck_assert(tui_cast_finish(&c));
	char *ev = events_of(tu_path("e.cast"));
	ck_assert_str_eq(ev, "[0.250000, \"o\", \"\\u001b[1m\\\"\\\\\\n\\r\\t\\u007f\\u0001\"]\n");
	free(ev);
}
END_TEST

START_TEST(test_utf8_cut)
{
	struct tui_cast c;
	start(&c, "u.cast", 0);
	/* U+2588 (e2 96 88) cut after its second byte, then after its first */
	tui_cast_output(&c, "a\xe2\x96", 3, 10.5);
	tui_cast_output(&c, "\x88\x62", 2, 11.0);
	tui_cast_output(&c, "\xe2", 1, 11.5); /* nothing but a held start */
	tui_cast_output(&c, "\x96\x88", 2, 12.0);
	ck_assert(tui_cast_finish(&c));
	char *ev = events_of(tu_path("u.cast"));
	ck_assert_str_eq(ev, "[0.500000, \"o\", \"a\"]\n"
	                     "[1.000000, \"o\", \"\xe2\x96\x88\x62\"]\n"
	                     "[2.000000, \"o\", \"\xe2\x96\x88\"]\n");
	free(ev);
}
END_TEST

START_TEST(test_invalid)
{
	struct tui_cast c;
	start(&c, "i.cast", 0);
	/* ff and c0 never start a character; e2 followed by 'y' is cut short;
	 * a start still held at the end is written as U+FFFD too */
	tui_cast_output(&c, "x\xff\xc0\xe2y", 5, 11.0);
	tui_cast_output(&c, "z\xf0\x9f", 3, 12.0);
	ck_assert(tui_cast_finish(&c));
	char *ev = events_of(tu_path("i.cast"));
	ck_assert_str_eq(ev, "[1.000000, \"o\", \"x\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbdy\"]\n"
	                     "[2.000000, \"o\", \"z\"]\n"
	                     "[2.000000, \"o\", \"\xef\xbf\xbd\"]\n");
	free(ev);
}
END_TEST

/* What is not UTF-8 though shaped like it: a surrogate (ed a0 80), an
 * overlong '/' (e0 80 af) and U+110000 (f4 90 80 80) are a U+FFFD for each
 * byte, so the file stays UTF-8 a strict reader accepts. */
START_TEST(test_not_characters)
{
	struct tui_cast c;
	start(&c, "n.cast", 0);
	tui_cast_output(&c,
	                "a\xed\xa0\x80"
	                "b\xe0\x80\xaf"
	                "c\xf4\x90\x80\x80"
	                "d",
	                14, 11.0);
	ck_assert(tui_cast_finish(&c));
	char *ev = events_of(tu_path("n.cast"));
#define R "\xef\xbf\xbd"
	ck_assert_str_eq(ev, "[1.000000, \"o\", \"a" R R R "b" R R R "c" R R R R "d\"]\n");
#undef R
	free(ev);
}
END_TEST

START_TEST(test_pauses_and_resize)
{
	struct tui_cast c;
	start(&c, "p.cast", 0.25);
	tui_cast_output(&c, "1", 1, 10.1); /* 0.1: kept */
	tui_cast_output(&c, "2", 1, 13.0); /* 2.9: cut to 0.25 */
	tui_cast_resize(&c, 100, 30, 13.05);
	tui_cast_output(&c, "3", 1, 14.0); /* 0.95: cut to 0.25 */
	ck_assert(tui_cast_finish(&c));
	char *ev = events_of(tu_path("p.cast"));
	ck_assert_str_eq(ev, "[0.100000, \"o\", \"1\"]\n"
	                     "[0.350000, \"o\", \"2\"]\n"
	                     "[0.400000, \"r\", \"100x30\"]\n"
	                     "[0.650000, \"o\", \"3\"]\n");
	free(ev);
}
END_TEST

START_TEST(test_atomic)
{
	struct tui_cast c;
	start(&c, "a.cast", 0);
	tui_cast_output(&c, "x", 1, 10.5);
	ck_assert_ptr_null(slurp(tu_path("a.cast"))); /* not under its name yet */
	ck_assert_int_eq(tu_entries(tu_dir), 1);      /* the temporary file */
	ck_assert_ptr_nonnull(tui_cast_temp(&c));
	tui_cast_abort(&c);
	ck_assert_int_eq(tu_entries(tu_dir), 0);
	start(&c, "a.cast", 0);
	ck_assert(tui_cast_finish(&c));
	ck_assert_int_eq(tu_entries(tu_dir), 1);
	char *all = slurp(tu_path("a.cast"));
	ck_assert_ptr_nonnull(all);
	free(all);
	/* a directory that does not exist: the message names the file */
	ck_assert(!tui_cast_open(&c, tu_path("no/x.cast"), 0));
	ck_assert_int_eq(strncmp(c.err, tu_path("no/x.cast"), strlen(tu_path("no/x.cast"))), 0);
}
END_TEST

Suite *lms_test_suite(void)
{
	Suite *s = suite_create("cast");
	TCase *tc = tcase_create("tui_cast");
	tcase_add_checked_fixture(tc, tu_dir_setup, tu_dir_teardown);
	tcase_add_test(tc, test_header);
	tcase_add_test(tc, test_escapes);
	tcase_add_test(tc, test_utf8_cut);
	tcase_add_test(tc, test_invalid);
	tcase_add_test(tc, test_not_characters);
	tcase_add_test(tc, test_pauses_and_resize);
	tcase_add_test(tc, test_atomic);
	suite_add_tcase(s, tc);
	return s;
}
