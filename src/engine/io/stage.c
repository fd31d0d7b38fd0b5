/* Model directories built beside their target and swapped in whole (see
 * include/lmscope/stage.h). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "base/infile.h"
#include "base/tr.h"
#include "lmscope/stage.h"

static char *fmt_path(const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c) + 1;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s%s%s", a, b, c);
	return p;
}

/* ---- removing and copying trees ------------------------------------------------ */

static int remove_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		rmdir(path);
	else
		unlink(path);
	return 0;
}

/* rm -rf path (never following symbolic links). */
static void remove_tree(const char *path)
{
	nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* A plain copy of a regular file, for when it cannot be hard-linked. */
static int copy_file(const char *from, const char *to, mode_t mode)
{
	int in = open(from, O_RDONLY | O_CLOEXEC), out = -1, bad = in < 0;
	if (!bad)
		bad = (out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode & 07777)) < 0;
	char buf[1 << 16];
	ssize_t n = 0;
	while (!bad && (n = read(in, buf, sizeof buf)) > 0)
		bad = write(out, buf, (size_t)n) != n;
	bad |= n < 0;
	if (out >= 0 && (fsync(out) != 0 || close(out) != 0))
		bad = 1;
	if (in >= 0)
		close(in);
	return bad ? -1 : 0;
}

static int skipped(const char *name, const char *const *skip)
{
	for (int i = 0; skip && skip[i]; i++)
		if (!strcmp(name, skip[i]))
			return 1;
	return 0;
}

/* Recreates the tree from in to (an existing directory): directories made
 * anew, files hard-linked (copied when links are refused), symbolic links
 * copied; top-level names in skip left out. */
static enum lms_status link_tree(const char *from, const char *to, const char *const *skip)
{
	DIR *d = opendir(from);
	if (!d)
		return lms_fail(LMS_EIO, "%s: %s", from, strerror(errno));
	enum lms_status st = LMS_OK;
	struct dirent *e;
	while (!st && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || skipped(e->d_name, skip))
			continue;
		char *src = fmt_path(from, "/", e->d_name), *dst = fmt_path(to, "/", e->d_name);
		struct stat sb;
		char target[PATH_MAX];
		ssize_t k;
		if (!src || !dst)
			st = lms_fail(LMS_ENOMEM, "%s: out of memory", from);
		else if (lstat(src, &sb) != 0)
			st = lms_fail(LMS_EIO, "%s: %s", src, strerror(errno));
		else if (S_ISDIR(sb.st_mode)) {
			if (mkdir(dst, sb.st_mode & 07777) != 0)
				st = lms_fail(LMS_EIO, "%s: %s", dst, strerror(errno));
			else
				st = link_tree(src, dst, NULL);
		} else if (S_ISREG(sb.st_mode)) {
			if (link(src, dst) != 0 && copy_file(src, dst, sb.st_mode) != 0)
				st = lms_fail(LMS_EIO, "%s: cannot carry over: %s", src, strerror(errno));
		} else if (S_ISLNK(sb.st_mode)) {
			if ((k = readlink(src, target, sizeof target - 1)) < 0 ||
			    (target[k] = 0, symlink(target, dst) != 0))
				st = lms_fail(LMS_EIO, "%s: cannot carry over: %s", src, strerror(errno));
		}
		free(src);
		free(dst);
	}
	closedir(d);
	return st;
}

static void sync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* ---- the target ------------------------------------------------------------------- */

/* path split into its directory ("." when none) and its last component,
 * trailing slashes ignored. */
static int split(const char *path, char **parent, char **base)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t b = n;
	while (b > 0 && path[b - 1] != '/')
		b--;
	*base = strndup(path + b, n - b);
	*parent = b == 0 ? strdup(".") : b == 1 ? strdup("/") : strndup(path, b - 1);
	return *base && *parent ? 0 : -1;
}

/* "NAME.lmscope-" prefix of this target's staging names (".NAME.lmscope-PID-N"). */
static char *stage_prefix(const char *parent, const char *base)
{
	return fmt_path(parent, "/.", base);
}

/* Staging directories and aside copies left by processes that died: the
 * old model set aside by a fallback swap goes back when the target is
 * missing; everything else is removed. */
static void clean_stale(const char *target, const char *parent, const char *base)
{
	DIR *d = opendir(parent);
	if (!d)
		return;
	size_t bl = strlen(base);
	struct dirent *e;
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (n[0] != '.' || strncmp(n + 1, base, bl) || strncmp(n + 1 + bl, ".lmscope-", 9))
			continue;
		char *end;
		long pid = strtol(n + 1 + bl + 9, &end, 10);
		if (pid <= 0 || *end != '-' || pid == (long)getpid() || kill((pid_t)pid, 0) == 0 ||
		    errno != ESRCH)
			continue;
		char *p = fmt_path(parent, "/", n);
		struct stat sb;
		size_t len = strlen(n);
		if (p && len > 4 && !strcmp(n + len - 4, ".old") && lstat(target, &sb) != 0 &&
		    errno == ENOENT)
			rename(p, target);
		else if (p)
			remove_tree(p);
		free(p);
	}
	closedir(d);
}

/* What a non-empty directory holds, for the refusal: "a gpt2 model
 * (config.json, model.safetensors, vocab.json, ...)". */
static void describe(const char *dir, char *buf, size_t size)
{
	char names[160] = "";
	size_t j = 0;
	int count = 0;
	DIR *d = opendir(dir);
	struct dirent *e;
	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		if (count++ < 5 && j + strlen(e->d_name) + 8 < sizeof names) {
			j += (size_t)snprintf(names + j, sizeof names - j, "%s%s", j ? ", " : "", e->d_name);
		}
	}
	if (d)
		closedir(d);
	if (count > 5)
		snprintf(names + j, sizeof names - j, ", ...");
	char kind[48] = "";
	char *cpath = fmt_path(dir, "/", "config.json");
	FILE *f = NULL;
	if (cpath && lms_infile_fopen(cpath, &f) == LMS_OK) {
		json_t *o = json_loadf(f, 0, NULL);
		const char *t = json_string_value(json_object_get(o, "model_type"));
		size_t k = 0;
		for (; t && t[k] && k < 16; k++)
			kind[k] = t[k] > 0x20 && t[k] < 0x7f ? t[k] : '?';
		kind[k] = 0;
		json_decref(o);
		fclose(f);
	}
	free(cpath);
	if (*kind)
		snprintf(buf, size, lms_tr(N_("holds a %s model (%s)")), kind, names);
	else
		snprintf(buf, size, lms_tr(N_("is not empty (%s)")), names);
}

static int is_empty_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	struct dirent *e;
	int empty = 1;
	while (empty && (e = readdir(d)))
		empty = !strcmp(e->d_name, ".") || !strcmp(e->d_name, "..");
	closedir(d);
	return empty;
}

static void release(struct lms_stage *s)
{
	free(s->target);
	free(s->dir);
	s->target = s->dir = NULL;
}

enum lms_status lms_stage_begin(struct lms_stage *s, const char *target, int flags,
                                const char *const *skip)
{
	static unsigned counter;
	s->target = s->dir = NULL;
	char *parent = NULL, *base = NULL, *prefix = NULL;
	struct stat sb;
	enum lms_status st = LMS_OK;
	int exists = stat(target, &sb) == 0, stat_errno = errno;
	/* a symbolic link to a directory: replace what it points to */
	s->target = exists && S_ISDIR(sb.st_mode) ? realpath(target, NULL) : strdup(target);
	if (!s->target || split(s->target, &parent, &base) != 0 ||
	    !(prefix = stage_prefix(parent, base))) {
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", target);
		goto done;
	}
	if (!exists && stat_errno != ENOENT) {
		st = lms_fail(LMS_EIO, "%s: %s", target, strerror(stat_errno));
		goto done;
	}
	if (exists && !S_ISDIR(sb.st_mode)) {
		st = lms_fail(LMS_EIO, "%s: not a directory (a model directory is written there)", target);
		goto done;
	}
	if (exists && !(flags & (LMS_STAGE_FORCE | LMS_STAGE_KEEP)) && !is_empty_dir(target)) {
		char what[256];
		describe(target, what, sizeof what);
		st = lms_fail(LMS_EARG, "%s: %s; --force replaces it", target, what);
		goto done;
	}
	clean_stale(s->target, parent, base);
	char tag[64];
	unsigned k = __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
	snprintf(tag, sizeof tag, ".lmscope-%ld-%u", (long)getpid(), k);
	s->dir = fmt_path(prefix, tag, "");
	if (!s->dir) {
		st = lms_fail(LMS_ENOMEM, "%s: out of memory", target);
		goto done;
	}
	if (mkdir(s->dir, exists ? sb.st_mode & 07777 : 0777) != 0) {
		st = lms_fail(LMS_EIO, "%s: cannot create a directory beside it: %s", target,
		              strerror(errno));
		free(s->dir);
		s->dir = NULL;
		goto done;
	}
	if (exists && (flags & LMS_STAGE_KEEP))
		st = link_tree(s->target, s->dir, skip);
done:
	free(parent);
	free(base);
	free(prefix);
	if (st)
		lms_stage_abort(s);
	return st;
}

void lms_stage_abort(struct lms_stage *s)
{
	if (s->dir)
		remove_tree(s->dir);
	release(s);
}

/* ---- checking --------------------------------------------------------------------- */

/* Text every tokenizer kind can encode: words, punctuation, digits,
 * accented and non-Latin letters, and then some of the vocabulary's own
 * pieces. */
static const char sample_text[] =
	"The quick brown fox, said the LORD's servant, jumps over 12 lazy dogs!\n"
	"caf\xc3\xa9 na\xc3\xafve \xce\xbb\xcf\x8c\xce\xb3\xce\xbf\xcf\x82 \xe2\x80\x94 "
	"\xe4\xb8\xad\xe6\x96\x87 ";

static enum lms_status compare_tokenizers(const char *dir, const struct lms_tokenizer *a,
                                          const struct lms_tokenizer *b)
{
	int V = lms_tokenizer_vocab_size(a);
	if (lms_tokenizer_kind(a) != lms_tokenizer_kind(b) || V != lms_tokenizer_vocab_size(b))
		return lms_fail(LMS_EFORMAT, "%s: the tokenizer written reads back as a different one",
		                dir);
	size_t len = sizeof sample_text - 1;
	for (int id = 0; id < V; id++) {
		size_t la, lb;
		const char *pa = lms_tokenizer_piece_n(a, id, &la), *pb = lms_tokenizer_piece_n(b, id, &lb);
		if (la != lb || memcmp(pa, pb, la))
			return lms_fail(LMS_EFORMAT, "%s: token %d reads back differently", dir, id);
		if (id < 64)
			len += strlen(pa) + 1;
	}
	char *text = malloc(len + 1);
	if (!text)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	size_t j = sizeof sample_text - 1;
	memcpy(text, sample_text, j);
	for (int id = 0; id < V && id < 64; id++) {
		const char *p = lms_tokenizer_piece(a, id);
		memcpy(text + j, p, strlen(p));
		j += strlen(p);
		text[j++] = ' ';
	}
	text[j] = 0;
	int *ia = NULL, *ib = NULL;
	size_t na = 0, nb = 0;
	enum lms_status st = lms_tokenizer_encode(a, text, j, &ia, &na, NULL, NULL);
	if (!st)
		st = lms_tokenizer_encode(b, text, j, &ib, &nb, NULL, NULL);
	if (!st && (na != nb || memcmp(ia, ib, na * sizeof *ia)))
		st = lms_fail(LMS_EFORMAT, "%s: the tokenizer written encodes a sample differently", dir);
	free(ia);
	free(ib);
	free(text);
	return st;
}

enum lms_status lms_stage_check(const struct lms_stage *s, const struct lms_model *m,
                                const struct lms_tokenizer *tok)
{
	char *cpath = fmt_path(s->dir, "/", "config.json");
	if (!cpath)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", s->target);
	struct stat sb;
	int has_model = stat(cpath, &sb) == 0;
	free(cpath);
	struct lms_config c;
	enum lms_status st = LMS_OK;
	if (has_model || m)
		st = lms_model_probe(s->dir, &c);
	if (!st && m &&
	    (c.arch != m->cfg.arch || lms_config_n_params(&c) != m->n_params || c.V != m->cfg.V))
		st = lms_fail(LMS_EFORMAT, "%s: the model written reads back as a different one", s->dir);
	struct lms_tokenizer *back = NULL;
	if (!st)
		st = lms_tokenizer_load(s->dir, &back);
	if (!st && !tok != !back)
		st = lms_fail(LMS_EFORMAT, "%s: %s", s->dir,
		              lms_tr(tok ? N_("the tokenizer written does not read back")
		                         : N_("an unexpected tokenizer is there")));
	if (!st && tok)
		st = compare_tokenizers(s->dir, tok, back);
	if (!st && tok && has_model && lms_tokenizer_vocab_size(tok) > c.V)
		st = lms_fail(LMS_EFORMAT, "%s: tokenizer has more tokens than the model's vocabulary",
		              s->dir);
	lms_tokenizer_free(back);
	return st;
}

/* ---- swapping ---------------------------------------------------------------------- */

/* Puts s->dir in place of s->target; old gets the path where the previous
 * directory now is (NULL when there was none). */
static enum lms_status swap_in(struct lms_stage *s, char **old)
{
	*old = NULL;
	if (rename(s->dir, s->target) == 0)
		return LMS_OK; /* there was no target, or an empty directory */
	if (errno != EEXIST && errno != ENOTEMPTY)
		return lms_fail(LMS_EIO, "%s: cannot rename into place: %s", s->target, strerror(errno));
#ifdef RENAME_EXCHANGE
	if (renameat2(AT_FDCWD, s->dir, AT_FDCWD, s->target, RENAME_EXCHANGE) == 0) {
		*old = s->dir;
		s->dir = NULL;
		return LMS_OK;
	}
	if (errno != EINVAL && errno != ENOSYS)
		return lms_fail(LMS_EIO, "%s: cannot swap into place: %s", s->target, strerror(errno));
#endif
	/* two renames: a crash between them leaves the old directory aside,
	 * which clean_stale puts back */
	char *aside = fmt_path(s->dir, ".old", "");
	if (!aside)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", s->target);
	if (rename(s->target, aside) != 0) {
		enum lms_status st =
			lms_fail(LMS_EIO, "%s: cannot move aside: %s", s->target, strerror(errno));
		free(aside);
		return st;
	}
	if (rename(s->dir, s->target) != 0) {
		enum lms_status st =
			lms_fail(LMS_EIO, "%s: cannot rename into place: %s", s->target, strerror(errno));
		rename(aside, s->target);
		free(aside);
		return st;
	}
	*old = aside;
	return LMS_OK;
}

enum lms_status lms_stage_commit(struct lms_stage *s, const struct lms_model *m,
                                 const struct lms_tokenizer *tok)
{
	if (!s->dir)
		return lms_fail(LMS_EARG, "%s: nothing to commit", s->target ? s->target : "?");
	enum lms_status st = lms_stage_check(s, m, tok);
	if (st)
		return st;
	/* the files are synced by their writers; the entries need their directory synced */
	sync_dir(s->dir);
	char *old;
	if ((st = swap_in(s, &old)))
		return st;
	char *parent, *base;
	if (split(s->target, &parent, &base) == 0)
		sync_dir(parent);
	free(parent);
	free(base);
	if (old)
		remove_tree(old);
	free(old);
	release(s);
	return LMS_OK;
}
