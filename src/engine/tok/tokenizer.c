/* The tokenizer dispatcher: finds which kind of tokenizer a directory holds,
 * and forwards every call to that kind's table (tok_impl.h).
 *
 * Adding a kind: write its tok_ops table in its own file and list it in
 * kinds[] below; detection runs in that order and the first match wins. */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include <jansson.h>

#include "lmscope/atomic.h"
#include "base/infile.h"
#include "lmscope/dataset.h"
#include "lmscope/llama2c.h"
#include "tok/tok_impl.h"

/* tokenizer.json comes first: a Hugging Face directory often holds
 * vocab.json and merges.txt too, and tokenizer.json is the complete
 * description (added tokens, normalizer, pre-tokenizer). lmscope's own
 * word and char tokenizers (tokenizer_config.json with a "type") keep
 * their files whatever else is beside them. */
static const struct tok_ops *const kinds[] = {
	&tok_hf_ops, &tok_word_ops, &tok_char_ops, &tok_bpe_ops, &tok_spm_ops,
};

#define N_KINDS (sizeof kinds / sizeof *kinds)

static enum lms_status load_dir(const char *dir, struct lms_tokenizer **out);

enum lms_status lms_tokenizer_load(const char *dir, struct lms_tokenizer **out)
{
	*out = NULL;
	/* a file rather than a directory: a tokenizer.json stands for its
	 * directory (tokenizer_config.json beside it counts); any other file
	 * is llama2.c's tokenizer.bin */
	struct stat fsb;
	if (stat(dir, &fsb) == 0 && S_ISREG(fsb.st_mode)) {
		const char *base = strrchr(dir, '/');
		base = base ? base + 1 : dir;
		if (strcmp(base, "tokenizer.json"))
			return lms_llama2c_tokenizer_load(dir, out);
		char *parent = base > dir ? strndup(dir, (size_t)(base - dir)) : strdup(".");
		if (!parent)
			return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
		enum lms_status st = load_dir(parent, out);
		free(parent);
		return st;
	}
	return load_dir(dir, out);
}

static enum lms_status load_dir(const char *dir, struct lms_tokenizer **out)
{
	struct stat fsb;
	/* a directory (or device) where a tokenizer file belongs is an error, not
	 * a missing file that would quietly leave the model without a tokenizer */
	static const char *const names[] = {"tokenizer.json", "tokenizer_config.json", "vocab.json",
	                                    "merges.txt",     "encoder.json",          "vocab.bpe",
	                                    "tokenizer.bin"};
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		char *p = tok_path(dir, names[i]);
		if (!p)
			return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
		int found = stat(p, &fsb) == 0, e = errno;
		enum lms_status bad = LMS_OK;
		if (found && !S_ISREG(fsb.st_mode))
			bad = lms_fail(LMS_EIO, "%s: not a regular file", p);
		else if (!found && e != ENOENT && e != ENOTDIR) /* an unreadable directory */
			bad = lms_fail(LMS_EIO, "%s: %s", e == EACCES ? dir : p, strerror(e));
		free(p);
		if (bad)
			return bad;
	}
	struct tok_config config;
	int found;
	enum lms_status st = tok_config_read(dir, &config, &found);
	if (st)
		return st;
	const struct tok_ops *ops = NULL;
	for (size_t k = 0; k < N_KINDS && !ops; k++)
		if (kinds[k]->detect(dir, found ? &config : NULL))
			ops = kinds[k];
	tok_config_free(&config);
	if (!ops)
		return LMS_OK;
	struct lms_tokenizer *tok = calloc(1, sizeof *tok);
	if (!tok)
		return lms_fail(LMS_ENOMEM, "%s: out of memory for the tokenizer", dir);
	tok->ops = ops;
	tok->unk = tok->bos = tok->eos = -1;
	st = ops->load(dir, tok);
	if (st) {
		free(tok);
		return st;
	}
	*out = tok;
	return LMS_OK;
}

enum lms_status lms_tokenizer_train(const struct lms_tok_train_opts *opts, const char *const *texts,
                                    const size_t *lens, int n, struct lms_tokenizer **out)
{
	*out = NULL;
	const struct tok_ops *ops = NULL;
	for (size_t k = 0; k < N_KINDS; k++)
		if (kinds[k]->kind == opts->kind && kinds[k]->train)
			ops = kinds[k];
	if (!ops)
		return lms_fail(LMS_EUNSUPPORTED, "tokenizer: this kind cannot be trained");
	if (opts->vocab_size < 1 || opts->min_count < 0 || n < 0)
		return lms_fail(LMS_EARG, "tokenizer: vocabulary size and counts must be positive");
	int specials = opts->kind == LMS_TOK_BPE ? 0 : opts->bos_eos ? 3 : 1;
	if (opts->vocab_size < specials)
		return lms_fail(LMS_EARG, "tokenizer: a vocabulary of %d cannot hold its %d special tokens",
		                opts->vocab_size, specials);
	struct lms_tokenizer *tok = calloc(1, sizeof *tok);
	if (!tok)
		return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	tok->ops = ops;
	tok->unk = tok->bos = tok->eos = -1;
	enum lms_status st = ops->train(opts, texts, lens, n, tok);
	if (st) {
		free(tok);
		return st;
	}
	*out = tok;
	return LMS_OK;
}

enum lms_status lms_tokenizer_save(const struct lms_tokenizer *tok, const char *dir)
{
	struct stat sb;
	if (stat(dir, &sb) != 0 && mkdir(dir, 0777) != 0)
		return lms_fail(LMS_EIO, "%s: %s", dir, strerror(errno));
	return tok->ops->save(tok, dir);
}

void lms_tokenizer_free(struct lms_tokenizer *tok)
{
	if (!tok)
		return;
	tok->ops->free(tok->impl);
	free(tok);
}

enum lms_tok_kind lms_tokenizer_kind(const struct lms_tokenizer *tok)
{
	return tok->ops->kind;
}
int lms_tokenizer_vocab_size(const struct lms_tokenizer *tok)
{
	return tok ? tok->vocab_size : 0;
}
int lms_tokenizer_unk(const struct lms_tokenizer *tok)
{
	return tok->unk;
}
int lms_tokenizer_bos(const struct lms_tokenizer *tok)
{
	return tok->bos;
}
int lms_tokenizer_eos(const struct lms_tokenizer *tok)
{
	return tok->eos;
}

const char *lms_tokenizer_piece(const struct lms_tokenizer *tok, int id)
{
	size_t len;
	return lms_tokenizer_piece_n(tok, id, &len);
}

const char *lms_tokenizer_piece_n(const struct lms_tokenizer *tok, int id, size_t *len)
{
	*len = 0;
	if (!tok || id < 0 || id >= tok->vocab_size)
		return "";
	return tok->ops->piece(tok, id, len);
}

enum lms_status lms_tokenizer_encode(const struct lms_tokenizer *tok, const char *text, size_t len,
                                     int **ids, size_t *n, size_t **offsets,
                                     struct lms_tok_stats *stats)
{
	struct lms_tok_stats local;
	if (!stats)
		stats = &local;
	memset(stats, 0, sizeof *stats);
	struct tok_out o = {0};
	o.want_offs = offsets != NULL;
	*ids = NULL;
	*n = 0;
	if (offsets)
		*offsets = NULL;
	enum lms_status st = LMS_OK;
	if (tok_out_grow(&o))
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	if (!st && len)
		st = tok->ops->encode(tok, text, len, &o, stats);
	/* offsets[n] == len, so that token i spans offsets[i] .. offsets[i+1]. */
	if (!st && o.want_offs && o.n == o.cap && tok_out_grow(&o))
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	if (st) {
		free(o.ids);
		free(o.offs);
		return st;
	}
	if (o.want_offs) {
		o.offs[o.n] = len;
		*offsets = o.offs;
	}
	*ids = o.ids;
	*n = o.n;
	return LMS_OK;
}

int lms_tokenizer_adds_bos(const struct lms_tokenizer *tok)
{
	return tok && tok->adds_bos && tok->bos >= 0;
}

enum lms_status lms_tokenizer_encode_input(const struct lms_tokenizer *tok, const char *text,
                                           size_t len, int **ids, size_t *n, size_t **offsets,
                                           struct lms_tok_stats *stats)
{
	enum lms_status st = lms_tokenizer_encode(tok, text, len, ids, n, offsets, stats);
	if (st || !lms_tokenizer_adds_bos(tok))
		return st;
	int *i2 = realloc(*ids, (*n + 1) * sizeof **ids);
	if (i2)
		*ids = i2;
	size_t *o2 = offsets ? realloc(*offsets, (*n + 2) * sizeof **offsets) : NULL;
	if (o2)
		*offsets = o2;
	if (!i2 || (offsets && !o2)) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		if (offsets) {
			free(*offsets);
			*offsets = NULL;
		}
		return lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	}
	memmove(*ids + 1, *ids, *n * sizeof **ids);
	(*ids)[0] = tok->bos;
	if (offsets) {
		memmove(*offsets + 1, *offsets, (*n + 1) * sizeof **offsets);
		(*offsets)[0] = 0;
	}
	(*n)++;
	return LMS_OK;
}

enum lms_status lms_tokenizer_decode(const struct lms_tokenizer *tok, const int *ids, size_t n,
                                     char **text, size_t *len)
{
	*text = NULL;
	for (size_t i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= tok->vocab_size)
			return lms_fail(LMS_EARG, "tokenizer: id %d is outside the vocabulary (%d)", ids[i],
			                tok->vocab_size);
	struct tok_buf b = {0};
	enum lms_status st = LMS_OK;
	if (tok_buf_reserve(&b, 64))
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	if (!st)
		st = tok->ops->decode(tok, ids, n, &b);
	if (st) {
		free(b.p);
		return st;
	}
	b.p[b.n] = 0;
	*text = b.p;
	if (len)
		*len = b.n;
	return LMS_OK;
}

/* Shared helpers (tok_impl.h). */

int tok_out_grow(struct tok_out *o)
{
	size_t cap = o->cap ? o->cap * 2 : 256;
	int *ids = realloc(o->ids, cap * sizeof *ids);
	if (!ids)
		return -1;
	o->ids = ids;
	if (o->want_offs) {
		size_t *offs = realloc(o->offs, cap * sizeof *offs);
		if (!offs)
			return -1;
		o->offs = offs;
	}
	o->cap = cap;
	return 0;
}

int tok_buf_reserve(struct tok_buf *b, size_t more)
{
	if (b->n + more <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->n + more)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p)
		return -1;
	b->p = p;
	b->cap = cap;
	return 0;
}

int tok_buf_str(struct tok_buf *b, const char *s)
{
	return tok_buf_add(b, s, strlen(s));
}

int tok_buf_json_string(struct tok_buf *b, const char *s, size_t len)
{
	if (tok_buf_add(b, "\"", 1))
		return -1;
	size_t start = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f)
			continue;
		char esc[8];
		switch (c) {
		case '"': strcpy(esc, "\\\""); break;
		case '\\': strcpy(esc, "\\\\"); break;
		case '\n': strcpy(esc, "\\n"); break;
		case '\t': strcpy(esc, "\\t"); break;
		case '\r': strcpy(esc, "\\r"); break;
		default: snprintf(esc, sizeof esc, "\\u%04x", c); break;
		}
		if (tok_buf_add(b, s + start, i - start) || tok_buf_str(b, esc))
			return -1;
		start = i + 1;
	}
	return tok_buf_add(b, s + start, len - start) || tok_buf_add(b, "\"", 1) ? -1 : 0;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	return -1;
}

int tok_byte_piece(const char *p, size_t len)
{
	if (len != 6 || memcmp(p, "<0x", 3) != 0 || p[5] != '>')
		return -1;
	int hi = hexval(p[3]), lo = hexval(p[4]);
	return hi < 0 || lo < 0 ? -1 : hi * 16 + lo;
}

char *tok_path(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);
	if (!p)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

int tok_file_exists(const char *dir, const char *name)
{
	char *p = tok_path(dir, name);
	struct stat sb;
	int yes = p && stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
	free(p);
	return yes;
}

/* Tokenizer files beyond this are refused rather than read. */
#define TOK_FILE_MAX ((size_t)1 << 30)

enum lms_status tok_read_file(const char *path, char **data, size_t *len)
{
	*data = NULL;
	*len = 0;
	FILE *f;
	enum lms_status st = lms_infile_fopen(path, &f);
	if (st)
		return st;
	st = lms_read_stream(f, path, TOK_FILE_MAX, data, len);
	fclose(f);
	return st;
}

enum lms_status tok_write_file(const char *dir, const char *name, const char *data, size_t len)
{
	char *path = tok_path(dir, name);
	if (!path)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	enum lms_status st = lms_atomic_write(path, data, len);
	free(path);
	return st;
}

/* tokenizer_config.json */

static enum lms_status config_string(json_t *root, const char *key, const char *path, char **out)
{
	*out = NULL;
	json_t *v = json_object_get(root, key);
	if (!v || json_is_null(v))
		return LMS_OK;
	if (!json_is_string(v))
		return lms_fail(LMS_EFORMAT, "%s: \"%s\" must be a string", path, key);
	*out = strdup(json_string_value(v));
	return *out ? LMS_OK : lms_fail(LMS_ENOMEM, "%s: out of memory", path);
}

enum lms_status tok_config_read(const char *dir, struct tok_config *c, int *found)
{
	memset(c, 0, sizeof *c);
	*found = 0;
	if (!tok_file_exists(dir, "tokenizer_config.json"))
		return LMS_OK;
	char *path = tok_path(dir, "tokenizer_config.json");
	if (!path)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	json_error_t err;
	char *text;
	size_t len;
	enum lms_status st = tok_read_file(path, &text, &len);
	json_t *root = NULL;
	if (st)
		goto done;
	/* integers as reals: Hugging Face's configs hold a model_max_length of
	 * 1e30 written as an integer, which jansson refuses otherwise */
	root = json_loadb(text, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &err);
	free(text);
	if (!root) {
		st = lms_fail(LMS_EFORMAT, "%s: line %d: %s", path, err.line, err.text);
		goto done;
	}
	if (!json_is_object(root)) {
		st = lms_fail(LMS_EFORMAT, "%s: line 1: not a JSON object", path);
		goto done;
	}
	json_t *type = json_object_get(root, "type");
	if (!type || !json_is_string(type))
		goto done; /* someone else's config, such as Hugging Face's */
	const char *t = json_string_value(type);
	if (!strcmp(t, "word"))
		c->kind = LMS_TOK_WORD;
	else if (!strcmp(t, "char"))
		c->kind = LMS_TOK_CHAR;
	else
		goto done;
	*found = 1;
	json_t *lc = json_object_get(root, "lowercase");
	if (lc && !json_is_boolean(lc)) {
		st = lms_fail(LMS_EFORMAT, "%s: \"lowercase\" must be true or false", path);
		goto done;
	}
	c->lowercase = lc && json_is_true(lc);
	if ((st = config_string(root, "pattern", path, &c->pattern)) ||
	    (st = config_string(root, "unk_token", path, &c->unk)) ||
	    (st = config_string(root, "bos_token", path, &c->bos)) ||
	    (st = config_string(root, "eos_token", path, &c->eos)))
		goto done;
	if (c->kind == LMS_TOK_WORD && !c->pattern)
		st = lms_fail(LMS_EFORMAT, "%s: a word-level tokenizer needs a \"pattern\"", path);
done:
	if (st) {
		tok_config_free(c);
		*found = 0;
	}
	json_decref(root);
	free(path);
	return st;
}

enum lms_status tok_config_write(const struct tok_config *c, const char *dir)
{
	json_t *root = json_object();
	json_object_set_new(root, "type", json_string(c->kind == LMS_TOK_WORD ? "word" : "char"));
	if (c->kind == LMS_TOK_WORD)
		json_object_set_new(root, "pattern", json_string(c->pattern));
	json_object_set_new(root, "lowercase", json_boolean(c->lowercase));
	if (c->unk)
		json_object_set_new(root, "unk_token", json_string(c->unk));
	if (c->bos)
		json_object_set_new(root, "bos_token", json_string(c->bos));
	if (c->eos)
		json_object_set_new(root, "eos_token", json_string(c->eos));
	char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (!s)
		return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	size_t n = strlen(s);
	char *t = realloc(s, n + 2);
	if (!t) {
		free(s);
		return lms_fail(LMS_ENOMEM, "%s: out of memory", dir);
	}
	t[n] = '\n';
	enum lms_status st = tok_write_file(dir, "tokenizer_config.json", t, n + 1);
	free(t);
	return st;
}

void tok_config_free(struct tok_config *c)
{
	free(c->pattern);
	free(c->unk);
	free(c->bos);
	free(c->eos);
	memset(c, 0, sizeof *c);
}
