/* Lesson files (format in lesson.h): a line-oriented parser that names the
 * line of every error, and the writer the recorder uses. */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "front/i18n.h"
#include "lesson.h"
#include "lmscope/dataset.h"
#include "session.h"

const char *const tui_lesson_panes[LESSON_N_PANES] = {"context", "candidates", "saliency",
                                                      "attention", "lens"};
const char *const tui_lesson_views[LESSON_N_VIEWS] = {"matrix", "overview", "query"};
const char *const tui_lesson_scores[LESSON_N_SCORES] = {"entropy", "previous", "duplicate",
                                                        "induction"};
const char *const tui_lesson_sites[LESSON_N_SITES] = {"resid_pre", "attn_out", "mlp_out", "heads"};
static const char *const themes[] = {"dark", "light"};

struct parser {
	const char *name;
	int line;
	char *err;
	size_t size;
	struct lesson *ls;
	struct lesson_step *step; /* the step being read; NULL in the header */
};

static int fail(struct parser *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct parser *p, const char *fmt, ...)
{
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, _(fmt), ap);
	va_end(ap);
	/* a quoted value may hold "\n": the message stays one line */
	for (char *c = msg; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	if (p->line > 0)
		snprintf(p->err, p->size, "%s:%d: %s", p->name, p->line, msg);
	else
		snprintf(p->err, p->size, "%s: %s", p->name, msg);
	return 0;
}

/* The value of a line: a double-quoted string with \" \\ \n escapes, or
 * the text itself (already trimmed). NULL with an error set on failure. */
static char *value_of(struct parser *p, const char *v, size_t n)
{
	if (n == 0 || v[0] != '"')
		return strndup(v, n);
	char *out = malloc(n);
	if (!out) {
		fail(p, "out of memory");
		return NULL;
	}
	size_t k = 0, i = 1;
	for (; i < n && v[i] != '"'; i++) {
		if (v[i] != '\\') {
			out[k++] = v[i];
			continue;
		}
		if (++i >= n)
			break;
		if (v[i] == 'n')
			out[k++] = '\n';
		else if (v[i] == '"' || v[i] == '\\')
			out[k++] = v[i];
		else {
			free(out);
			fail(p, "unknown escape \\%c in a quoted value (\\\", \\\\ and \\n are known)", v[i]);
			return NULL;
		}
	}
	if (i >= n) {
		free(out);
		fail(p, "the quoted value has no closing \"");
		return NULL;
	}
	if (i + 1 != n) {
		free(out);
		fail(p, "text after the closing \" of a quoted value (a value starting with \" is quoted)");
		return NULL;
	}
	out[k] = '\0';
	return out;
}

static int parse_int(struct parser *p, const char *key, const char *v, int lo, int *out)
{
	char *end;
	errno = 0;
	long x = strtol(v, &end, 10);
	if (!*v || *end || errno || x < lo || x > 1000000)
		return fail(p, "%s wants a whole number >= %d, not '%s'", key, lo, v);
	*out = (int)x;
	return 1;
}

static int parse_choice(struct parser *p, const char *key, const char *v, const char *const *names,
                        int n, int *out)
{
	char list[160] = "";
	for (int i = 0; i < n; i++) {
		if (!strcmp(v, names[i])) {
			*out = i;
			return 1;
		}
		size_t l = strlen(list);
		snprintf(list + l, sizeof list - l, "%s%s", i ? ", " : "", names[i]);
	}
	return fail(p, "%s wants one of %s, not '%s'", key, list, v);
}

static int parse_onoff(struct parser *p, const char *key, const char *v, int *out)
{
	static const char *const names[] = {"off", "on"};
	return parse_choice(p, key, v, names, 2, out);
}

static int set_str(char **slot, char *v)
{
	free(*slot);
	*slot = v;
	return 1;
}

/* Appends v as a caption line. */
static int add_caption(struct parser *p, struct lesson_step *st, char *v)
{
	if (!st->caption)
		return set_str(&st->caption, v);
	size_t a = strlen(st->caption), b = strlen(v);
	char *c = realloc(st->caption, a + b + 2);
	if (!c) {
		free(v);
		return fail(p, "out of memory");
	}
	c[a] = '\n';
	memcpy(c + a + 1, v, b + 1);
	st->caption = c;
	free(v);
	return 1;
}

static const char *const header_keys[] = {"title", "model", "compare", "speed", NULL};

static int is_header_key(const char *k)
{
	for (int i = 0; header_keys[i]; i++)
		if (!strcmp(k, header_keys[i]))
			return 1;
	return 0;
}

static int header_line(struct parser *p, const char *key, char *v)
{
	struct lesson *ls = p->ls;
	if (!strcmp(key, "title"))
		return set_str(&ls->title, v);
	if (!strcmp(key, "model"))
		return set_str(&ls->model, v);
	if (!strcmp(key, "compare"))
		return set_str(&ls->compare, v);
	/* speed */
	char *end;
	double s = strtod(v, &end);
	int ok = *v && !*end && s >= 0.5 && s <= 1000.0;
	if (!ok)
		fail(p, "speed wants characters per second between 0.5 and 1000, not '%s'", v);
	else
		ls->speed = s;
	free(v);
	return ok;
}

static int method_of(struct parser *p, const char *v, int *out)
{
	const char *names[TUI_N_METHODS];
	for (int i = 0; i < TUI_N_METHODS; i++)
		names[i] = tui_methods[i].name;
	return parse_choice(p, "method", v, names, TUI_N_METHODS, out);
}

/* "L H" or "L" for head; one number for the others. */
static int parse_head(struct parser *p, struct lesson_step *st, const char *v)
{
	char a[32], b[32], extra[2];
	int k = sscanf(v, "%31s %31s %1s", a, b, extra);
	if (k != 2)
		return fail(p, "head wants a layer and a head, e.g. 'head 1 0', not '%s'", v);
	return parse_int(p, "head's layer", a, 0, &st->layer) && parse_int(p, "head", b, 0, &st->head);
}

/* An ablation as `explain --ablate` spells it: L.H, L.mlp (recurrent L.U)
 * separated by commas. Whether they exist is the model's to say. */
static int ablate_spec(struct parser *p, const char *v)
{
	for (const char *s = v;; s++) {
		int digits = 0;
		while (isdigit((unsigned char)*s))
			s++, digits++;
		int ok = digits && *s++ == '.';
		if (ok && !strncmp(s, "mlp", 3))
			s += 3;
		else
			for (digits = 0; ok && isdigit((unsigned char)*s); s++)
				digits++;
		if (!ok || (s[-1] != 'p' && !digits) || (*s && *s != ','))
			return fail(p,
			            "ablate wants heads as LAYER.HEAD (or LAYER.mlp) separated by commas, "
			            "e.g. 1.0,1.1, or off; not '%s'",
			            v);
		if (!*s)
			return 1;
	}
}

static int step_line(struct parser *p, const char *key, char *v)
{
	struct lesson_step *st = p->step;
	int ok = 1, keep = 0;
	if (!strcmp(key, "caption"))
		return add_caption(p, st, v);
	if (!strcmp(key, "context"))
		return set_str(&st->context, v);
	if (!strcmp(key, "type")) {
		if (st->type) {
			/* two type lines: typed one after the other */
			size_t a = strlen(st->type), b = strlen(v);
			char *t = realloc(st->type, a + b + 1);
			if (!t) {
				free(v);
				return fail(p, "out of memory");
			}
			memcpy(t + a, v, b + 1);
			st->type = t;
			free(v);
			return 1;
		}
		return set_str(&st->type, v);
	}
	if (!strcmp(key, "target")) {
		if (!*v)
			ok = fail(p, "target wants a candidate's token");
		keep = ok && set_str(&st->target, v);
	} else if (!strcmp(key, "contrast")) {
		if (!*v)
			ok = fail(p, "contrast wants a candidate's token, or off");
		else if (!strcmp(v, "off"))
			v[0] = '\0';
		keep = ok && set_str(&st->contrast, v);
	} else if (!strcmp(key, "ablate") || !strcmp(key, "corrupt")) {
		if (!*v)
			ok = fail(p, "%s wants a value, or off", key);
		else if (!strcmp(v, "off"))
			v[0] = '\0';
		else if (!strcmp(key, "ablate"))
			ok = ablate_spec(p, v);
		keep = ok && set_str(!strcmp(key, "ablate") ? &st->ablate : &st->corrupt, v);
	} else if (!strcmp(key, "score"))
		ok = parse_choice(p, key, v, tui_lesson_scores, LESSON_N_SCORES, &st->score);
	else if (!strcmp(key, "focus"))
		ok = parse_choice(p, key, v, tui_lesson_panes, LESSON_N_PANES, &st->focus);
	else if (!strcmp(key, "view"))
		ok = parse_choice(p, key, v, tui_lesson_views, LESSON_N_VIEWS, &st->view);
	else if (!strcmp(key, "theme"))
		ok = parse_choice(p, key, v, themes, 2, &st->theme);
	else if (!strcmp(key, "candidate"))
		ok = parse_int(p, key, v, 1, &st->candidate);
	else if (!strcmp(key, "layer")) {
		ok = parse_int(p, key, v, 0, &st->layer);
		st->head = LESSON_UNSET;
		st->layer_line = p->line;
	} else if (!strcmp(key, "head")) {
		ok = parse_head(p, st, v);
		st->layer_line = p->line;
	} else if (!strcmp(key, "query")) {
		ok = !strcmp(v, "-1") ? (st->query = -1, 1) : parse_int(p, key, v, 1, &st->query);
	} else if (!strcmp(key, "mean"))
		ok = parse_onoff(p, key, v, &st->mean);
	else if (!strcmp(key, "pin"))
		ok = parse_onoff(p, key, v, &st->pin);
	else if (!strcmp(key, "present"))
		ok = parse_onoff(p, key, v, &st->present);
	else if (!strcmp(key, "method"))
		ok = method_of(p, v, &st->method);
	else if (is_header_key(key))
		ok = fail(p, "%s belongs in the header, before the first step", key);
	else
		ok = fail(p, "unknown keyword '%s'", key);
	if (!keep)
		free(v);
	return ok;
}

struct lesson_step *tui_lesson_add_step(struct lesson *ls)
{
	struct lesson_step *s = realloc(ls->steps, (size_t)(ls->n + 1) * sizeof *s);
	if (!s)
		return NULL;
	ls->steps = s;
	struct lesson_step *st = &s[ls->n++];
	memset(st, 0, sizeof *st);
	st->focus = st->candidate = st->method = st->layer = st->head = LESSON_UNSET;
	st->mean = st->view = st->query = st->pin = st->present = st->theme = LESSON_UNSET;
	st->score = LESSON_UNSET;
	return st;
}

/* ---- expect ------------------------------------------------------------------ */

/* The next word of *s (a double-quoted string with \" \\ escapes, or a run
 * of non-blanks) into a malloc'd string; *s moves past it. NULL with an
 * error set when there is none or on a bad quote. */
static char *next_word(struct parser *p, const char **s, const char *what)
{
	const char *c = *s;
	while (isspace((unsigned char)*c))
		c++;
	if (!*c) {
		fail(p, "expect: %s is missing", _(what));
		return NULL;
	}
	size_t n = 0;
	if (*c != '"') {
		while (c[n] && !isspace((unsigned char)c[n]))
			n++;
		*s = c + n;
		return strndup(c, n);
	}
	while (c[++n] && c[n] != '"')
		if (c[n] == '\\' && c[n + 1])
			n++;
	if (!c[n]) {
		fail(p, "expect: the quoted %s has no closing \"", _(what));
		return NULL;
	}
	*s = c + n + 1;
	return value_of(p, c, n + 1);
}

/* "OP X": OP < or >, X a finite number. */
static int parse_bound(struct parser *p, const char **s, struct lesson_expect *e)
{
	char *op = next_word(p, s, "the comparison (< or >)");
	if (!op)
		return 0;
	int ok = !strcmp(op, "<") || !strcmp(op, ">");
	e->greater = op[0] == '>';
	free(op);
	if (!ok)
		return fail(p, "expect: the comparison is < or >");
	char *x = next_word(p, s, "the number to compare with");
	if (!x)
		return 0;
	char *end;
	e->value = strtod(x, &end);
	ok = *x && !*end && isfinite(e->value);
	free(x);
	return ok ? 1 : fail(p, "expect: not a number after the comparison");
}

/* "L.N OP X": N a head or a position (what, WHAT in the messages). */
static int parse_dotted(struct parser *p, const char **s, struct lesson_expect *e, const char *what,
                        const char *WHAT)
{
	char name[96];
	snprintf(name, sizeof name, _("the %s (LAYER.%s)"), _(what), WHAT);
	char *lh = next_word(p, s, name);
	if (!lh)
		return 0;
	char extra;
	int ok = sscanf(lh, "%d.%d%c", &e->layer, &e->head, &extra) == 2 && e->layer >= 0 &&
	         e->head >= 0 && e->layer < 1000000 && e->head < 1000000;
	free(lh);
	return ok ? parse_bound(p, s, e)
	          : fail(p, "expect: the %s is LAYER.%s, e.g. 1.0", _(what), WHAT);
}

/* "SITE L.N OP X". */
static int parse_patch(struct parser *p, const char **s, struct lesson_expect *e)
{
	char *site = next_word(p, s, "the site (resid_pre, attn_out, mlp_out or heads)");
	if (!site)
		return 0;
	e->site = 0;
	while (e->site < LESSON_N_SITES && strcmp(site, tui_lesson_sites[e->site]))
		e->site++;
	free(site);
	if (e->site == LESSON_N_SITES)
		return fail(p, "expect: the patching site is resid_pre, attn_out, mlp_out or heads");
	if (e->site == LESSON_HEADS)
		return parse_dotted(p, s, e, N_("head"), "HEAD");
	return parse_dotted(p, s, e, N_("position"), "POSITION");
}

static int parse_expect_args(struct parser *p, const char *s, struct lesson_expect *e)
{
	char *kind = next_word(p, &s,
	                       "what to check (top1, prob, head-induction-score, "
	                       "saliency-top, ppl or patch)");
	if (!kind)
		return 0;
	static const char *const kinds[] = {"top1",         "prob", "head-induction-score",
	                                    "saliency-top", "ppl",  "patch"};
	int k = 0;
	while (k < 6 && strcmp(kind, kinds[k]))
		k++;
	free(kind);
	if (k == 6)
		return fail(p, "expect: top1, prob, head-induction-score, saliency-top, ppl or patch");
	e->kind = (enum lesson_expect_kind)k;
	int ok;
	if (k == EXPECT_INDUCTION)
		ok = parse_dotted(p, &s, e, N_("head"), "HEAD");
	else if (k == EXPECT_PATCH)
		ok = parse_patch(p, &s, e);
	else if (k == EXPECT_PPL)
		ok = parse_bound(p, &s, e) && (e->file = next_word(p, &s, "the text file")) != NULL;
	else {
		ok = (e->token = next_word(p, &s, "the token")) != NULL;
		if (ok && !e->token[0])
			ok = fail(p, "expect: the token is empty");
		if (ok && k == EXPECT_PROB)
			ok = parse_bound(p, &s, e);
	}
	while (ok && isspace((unsigned char)*s))
		s++;
	if (ok && *s)
		ok = fail(p, "expect: unexpected text '%.20s'", s);
	return ok;
}

/* An `expect` line's rest (s, n bytes, trimmed) added to the step. */
static int expect_line(struct parser *p, const char *s, size_t n)
{
	struct lesson_step *st = p->step;
	if (!st)
		return fail(p, "expect before the first step (start one with a 'step' line)");
	struct lesson_expect *x = realloc(st->expect, (size_t)(st->n_expect + 1) * sizeof *x);
	if (!x)
		return fail(p, "out of memory");
	st->expect = x;
	struct lesson_expect *e = &x[st->n_expect];
	memset(e, 0, sizeof *e);
	e->line = p->line;
	e->src = strndup(s, n);
	if (!e->src)
		return fail(p, "out of memory");
	st->n_expect++; /* freed with the step whatever happens next */
	return parse_expect_args(p, e->src, e);
}

static int one_line(struct parser *p, const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	if (n == 0 || s[0] == '#')
		return 1;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '\0' || ((unsigned char)s[i] < 32 && s[i] != '\t'))
			return fail(p, "a control character (byte %d) in the line", (unsigned char)s[i]);
	size_t k = 0;
	while (k < n && !isspace((unsigned char)s[k]))
		k++;
	char key[32];
	if (k >= sizeof key)
		return fail(p, "unknown keyword '%.*s...'", 20, s);
	memcpy(key, s, k);
	key[k] = '\0';
	const char *v = s + k;
	size_t vn = n - k;
	while (vn && isspace((unsigned char)*v))
		v++, vn--;
	if (!strcmp(key, "expect")) /* several words, each may be quoted */
		return expect_line(p, v, vn);
	char *val = value_of(p, v, vn);
	if (!val)
		return p->err[0] ? 0 : fail(p, "out of memory");
	if (!strcmp(key, "step")) {
		p->step = tui_lesson_add_step(p->ls);
		if (!p->step) {
			free(val);
			return fail(p, "out of memory");
		}
		p->step->line = p->line;
		p->step->title = val;
		return 1;
	}
	int empty_ok = !strcmp(key, "caption") || !strcmp(key, "context") || !strcmp(key, "title");
	if (!*val && !empty_ok) {
		free(val);
		return fail(p, "%s wants a value", key);
	}
	if (!p->step) {
		if (is_header_key(key))
			return header_line(p, key, val);
		if (!strcmp(key, "theme")) {
			int ok = parse_choice(p, key, val, themes, 2, &p->ls->theme);
			free(val);
			return ok;
		}
		int known = !strcmp(key, "caption") || !strcmp(key, "context") || !strcmp(key, "type") ||
		            !strcmp(key, "focus") || !strcmp(key, "candidate") || !strcmp(key, "target") ||
		            !strcmp(key, "contrast") || !strcmp(key, "method") || !strcmp(key, "layer") ||
		            !strcmp(key, "head") || !strcmp(key, "mean") || !strcmp(key, "view") ||
		            !strcmp(key, "query") || !strcmp(key, "pin") || !strcmp(key, "present") ||
		            !strcmp(key, "ablate") || !strcmp(key, "score") || !strcmp(key, "corrupt");
		free(val);
		if (known)
			return fail(p, "%s before the first step (start one with a 'step' line)", key);
		return fail(p, "unknown keyword '%s'", key);
	}
	return step_line(p, key, val);
}

int tui_lesson_parse(const char *name, const char *text, size_t len, struct lesson *ls, char *err,
                     size_t size)
{
	memset(ls, 0, sizeof *ls);
	ls->theme = LESSON_UNSET;
	ls->speed = 12.0;
	struct parser p = {name, 0, err, size, ls, NULL};
	err[0] = '\0';
	size_t i = 0;
	if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3))
		i = 3; /* a UTF-8 byte order mark, as some editors write one */
	while (i < len) {
		size_t j = i;
		while (j < len && text[j] != '\n')
			j++;
		p.line++;
		size_t n = j - i;
		if (n && text[i + n - 1] == '\r')
			n--;
		if (!one_line(&p, text + i, n)) {
			tui_lesson_free(ls);
			return 0;
		}
		i = j + 1;
	}
	p.line = 0;
	if (ls->n == 0) {
		fail(&p, "no steps (a step starts with a line 'step TITLE')");
		tui_lesson_free(ls);
		return 0;
	}
	return 1;
}

int tui_lesson_check(const struct lesson *ls, const char *name, int L, int NH, char *err,
                     size_t size)
{
	for (int i = 0; i < ls->n; i++) {
		const struct lesson_step *st = &ls->steps[i];
		struct parser p = {name, st->layer_line, err, size, NULL, NULL};
		if (st->layer != LESSON_UNSET && st->layer >= L)
			return fail(&p, "layer %d does not exist: the model has %d layer%s (0 to %d)",
			            st->layer, L, L == 1 ? "" : "s", L - 1);
		/* a recurrent model (NH 0) ignores heads: they are the other side's */
		if (st->head != LESSON_UNSET && NH && st->head >= NH)
			return fail(&p, "head %d does not exist: the model has %d heads (0 to %d)", st->head,
			            NH, NH - 1);
	}
	return 1;
}

int tui_lesson_load(const char *path, struct lesson *ls, char *err, size_t size)
{
	memset(ls, 0, sizeof *ls);
	char *buf;
	size_t n;
	if (lms_read_file_max(path, (size_t)64 << 20, &buf, &n)) {
		snprintf(err, size, "%s", lms_errmsg());
		return 0;
	}
	int ok = tui_lesson_parse(path, buf, n, ls, err, size);
	free(buf);
	return ok;
}

void tui_lesson_free(struct lesson *ls)
{
	for (int i = 0; i < ls->n; i++) {
		struct lesson_step *st = &ls->steps[i];
		free(st->title);
		free(st->caption);
		free(st->context);
		free(st->type);
		free(st->target);
		free(st->contrast);
		for (int k = 0; k < st->n_expect; k++) {
			free(st->expect[k].src);
			free(st->expect[k].token);
			free(st->expect[k].file);
		}
		free(st->expect);
		free(st->ablate);
		free(st->corrupt);
	}
	free(ls->steps);
	free(ls->title);
	free(ls->model);
	free(ls->compare);
	memset(ls, 0, sizeof *ls);
}

/* ---- writing ----------------------------------------------------------------- */

/* A value as the parser reads it back: quoted when blanks at either end, a
 * leading quote, or a newline would be lost otherwise. */
static void put_value(FILE *f, const char *key, const char *v)
{
	size_t n = strlen(v);
	int quote = n && (isspace((unsigned char)v[0]) || isspace((unsigned char)v[n - 1]) ||
	                  v[0] == '"' || strchr(v, '\n'));
	quote |= n == 0 && strcmp(key, "caption") && strcmp(key, "context");
	fprintf(f, "%s ", key);
	if (!quote) {
		fprintf(f, "%s\n", v);
		return;
	}
	fputc('"', f);
	for (; *v; v++) {
		if (*v == '"' || *v == '\\')
			fputc('\\', f), fputc(*v, f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
	fputs("\"\n", f);
}

static void put_onoff(FILE *f, const char *key, int v)
{
	if (v != LESSON_UNSET)
		fprintf(f, "%s %s\n", key, v ? "on" : "off");
}

int tui_lesson_write(FILE *f, const struct lesson *ls)
{
	if (ls->title)
		put_value(f, "title", ls->title);
	if (ls->model)
		put_value(f, "model", ls->model);
	if (ls->compare)
		put_value(f, "compare", ls->compare);
	if (ls->theme != LESSON_UNSET)
		fprintf(f, "theme %s\n", themes[ls->theme]);
	fprintf(f, "speed %g\n", ls->speed);
	for (int i = 0; i < ls->n; i++) {
		const struct lesson_step *st = &ls->steps[i];
		fputc('\n', f);
		if (st->title && st->title[0])
			put_value(f, "step", st->title); /* quoted when it has outer blanks */
		else
			fprintf(f, "step\n");
		if (st->caption) {
			/* a caption line each */
			const char *c = st->caption;
			for (;;) {
				const char *e = strchr(c, '\n');
				size_t n = e ? (size_t)(e - c) : strlen(c);
				char *line = strndup(c, n);
				if (line)
					put_value(f, "caption", line);
				free(line);
				if (!e)
					break;
				c = e + 1;
			}
		}
		if (st->context)
			put_value(f, "context", st->context);
		if (st->type)
			put_value(f, "type", st->type);
		if (st->focus != LESSON_UNSET)
			fprintf(f, "focus %s\n", tui_lesson_panes[st->focus]);
		if (st->method != LESSON_UNSET)
			fprintf(f, "method %s\n", tui_methods[st->method].name);
		if (st->layer != LESSON_UNSET && st->head != LESSON_UNSET)
			fprintf(f, "head %d %d\n", st->layer, st->head);
		else if (st->layer != LESSON_UNSET)
			fprintf(f, "layer %d\n", st->layer);
		put_onoff(f, "mean", st->mean);
		if (st->view != LESSON_UNSET)
			fprintf(f, "view %s\n", tui_lesson_views[st->view]);
		if (st->query != LESSON_UNSET)
			fprintf(f, "query %d\n", st->query);
		if (st->candidate != LESSON_UNSET)
			fprintf(f, "candidate %d\n", st->candidate);
		if (st->target)
			put_value(f, "target", st->target);
		if (st->contrast)
			put_value(f, "contrast", st->contrast[0] ? st->contrast : "off");
		put_onoff(f, "pin", st->pin);
		put_onoff(f, "present", st->present);
		if (st->ablate)
			put_value(f, "ablate", st->ablate[0] ? st->ablate : "off");
		if (st->score != LESSON_UNSET)
			fprintf(f, "score %s\n", tui_lesson_scores[st->score]);
		if (st->corrupt)
			put_value(f, "corrupt", st->corrupt[0] ? st->corrupt : "off");
		if (st->theme != LESSON_UNSET)
			fprintf(f, "theme %s\n", themes[st->theme]);
		for (int k = 0; k < st->n_expect; k++)
			fprintf(f, "expect %s\n", st->expect[k].src);
	}
	return !ferror(f);
}
