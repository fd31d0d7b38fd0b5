/* Learning byte-level BPE merges from a corpus (`lmscope tokenizer train
 * --bpe`). The corpus is split with GPT-2's pattern (an invalid UTF-8 byte is
 * a word of its own) and each distinct word is counted once with its
 * frequency. Tokens start as the 256 bytes (id = byte value); each step
 * merges the adjacent pair with the largest count over the corpus into a new
 * token, every occurrence in every word left to right, and adds it to the
 * vocabulary. Ties go to the pair whose left token's bytes, then right
 * token's bytes, sort first, so a corpus always gives the same merges. */
#include "tok/bpe.h"
#include "base/utf8.h"

struct word_seq {
	int *sym; /* current tokens of the word */
	int n;
	int freq;
};

struct trainer {
	struct tok_strmap words; /* word bytes (in the corpus) -> index */
	struct word_seq *seq;
	size_t n_seq, cap_seq;
	const char *text;
	struct tok_vocab raw;    /* each token's bytes */
	struct tok_intmap pairs; /* left << 32 | right -> count */
};

static int add_word(struct trainer *t, const char *s, size_t n)
{
	size_t before = t->words.n;
	struct tok_strmap_slot *slot = tok_strmap_upsert(&t->words, s, n, (int)t->n_seq);
	if (!slot)
		return -1;
	if (t->words.n == before) {
		if (t->seq[slot->val].freq < INT32_MAX)
			t->seq[slot->val].freq++;
		return 0;
	}
	if (t->n_seq == t->cap_seq) {
		size_t cap = t->cap_seq ? t->cap_seq * 2 : 1024;
		struct word_seq *ns = realloc(t->seq, cap * sizeof *ns);
		if (!ns)
			return -1;
		t->seq = ns;
		t->cap_seq = cap;
	}
	struct word_seq *w = &t->seq[t->n_seq++];
	w->sym = malloc(n * sizeof *w->sym);
	if (!w->sym)
		return -1;
	for (size_t i = 0; i < n; i++)
		w->sym[i] = (unsigned char)s[i];
	w->n = (int)n;
	w->freq = 1;
	return 0;
}

static int on_word(void *ud, size_t off, size_t n)
{
	struct trainer *t = ud;
	return add_word(t, t->text + off, n);
}

static int on_byte(void *ud, size_t off)
{
	struct trainer *t = ud;
	return add_word(t, t->text + off, 1);
}

static uint64_t key(int a, int b)
{
	return (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
}

/* Adds sign * freq to the count of every adjacent pair of w. */
static int count_pairs(struct trainer *t, const struct word_seq *w, int sign)
{
	for (int i = 0; i + 1 < w->n; i++) {
		int *c = tok_intmap_ref(&t->pairs, key(w->sym[i], w->sym[i + 1]));
		if (!c)
			return -1;
		*c += sign * w->freq;
	}
	return 0;
}

/* < 0 when pair (a1, b1) sorts before (a2, b2) by their bytes. */
static int cmp_bytes(const struct tok_vocab *v, int x, int y)
{
	size_t nx = v->len[x], ny = v->len[y];
	int c = memcmp(tok_vocab_str(v, x), tok_vocab_str(v, y), nx < ny ? nx : ny);
	return c ? c : (nx > ny) - (nx < ny);
}

static int pair_before(const struct tok_vocab *v, int a1, int b1, int a2, int b2)
{
	int c = cmp_bytes(v, a1, a2);
	return c ? c < 0 : cmp_bytes(v, b1, b2) < 0;
}

static void free_trainer(struct trainer *t)
{
	for (size_t i = 0; i < t->n_seq; i++)
		free(t->seq[i].sym);
	free(t->seq);
	tok_strmap_free(&t->words);
	tok_vocab_free(&t->raw);
	tok_intmap_free(&t->pairs);
}

enum lms_status bpe_train(const struct lms_tok_train_opts *opts, const char *const *texts,
                          const size_t *lens, int n, struct lms_tokenizer *tok)
{
	if (opts->vocab_size < 256)
		return lms_fail(LMS_EARG, "tokenizer: a byte-level BPE needs a vocabulary of at least 256");
	struct trainer t = {0};
	enum lms_status st = LMS_OK;
	int n_merges = opts->vocab_size - 256, done = 0;
	int *left = malloc((size_t)(n_merges + 1) * sizeof *left);
	int *right = malloc((size_t)(n_merges + 1) * sizeof *right);
	struct tok_regex re = {0};
	if (!left || !right || tok_strmap_init(&t.words, 4096) || tok_intmap_init(&t.pairs, 4096))
		st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	if (!st)
		st = tok_regex_compile(&re, BPE_GPT2_PATTERN, "tokenizer");
	for (int i = 0; i < n && !st; i++) {
		t.text = texts[i];
		struct tok_split_cb cb = {on_word, on_byte, &t, 1, NULL};
		st = tok_regex_split(&re, texts[i], lens[i], &cb);
	}
	if (re.code)
		tok_regex_free(&re);
	for (int b = 0; b < 256 && !st; b++) {
		char c = (char)b;
		if (tok_vocab_add(&t.raw, &c, 1) < 0)
			st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	}
	for (size_t i = 0; i < t.n_seq && !st; i++)
		if (count_pairs(&t, &t.seq[i], 1))
			st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	struct tok_buf tmp = {0};
	while (!st && done < n_merges) {
		/* The best pair: the largest count, ties by bytes. */
		int best_a = -1, best_b = -1, best = 0;
		for (size_t i = 0; i < t.pairs.cap; i++) {
			const struct tok_intmap_slot *s = &t.pairs.slots[i];
			if (!s->key || s->val <= 0 || s->val < best)
				continue;
			int a = (int)((s->key - 1) >> 32), b = (int)(uint32_t)(s->key - 1);
			if (s->val > best || pair_before(&t.raw, a, b, best_a, best_b)) {
				best = s->val;
				best_a = a;
				best_b = b;
			}
		}
		if (best_a < 0)
			break; /* every word is one token */
		tmp.n = 0;
		int id;
		if (tok_buf_add(&tmp, tok_vocab_str(&t.raw, best_a), t.raw.len[best_a]) ||
		    tok_buf_add(&tmp, tok_vocab_str(&t.raw, best_b), t.raw.len[best_b]) ||
		    (id = tok_vocab_add(&t.raw, tmp.p, tmp.n)) < 0) {
			st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
			break;
		}
		left[done] = best_a;
		right[done] = best_b;
		done++;
		for (size_t w = 0; w < t.n_seq && !st; w++) {
			struct word_seq *s = &t.seq[w];
			int has = 0;
			for (int i = 0; i + 1 < s->n && !has; i++)
				has = s->sym[i] == best_a && s->sym[i + 1] == best_b;
			if (!has)
				continue;
			if (count_pairs(&t, s, -1)) {
				st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
				break;
			}
			int k = 0;
			for (int i = 0; i < s->n; i++) {
				if (i + 1 < s->n && s->sym[i] == best_a && s->sym[i + 1] == best_b) {
					s->sym[k++] = id;
					i++;
				} else {
					s->sym[k++] = s->sym[i];
				}
			}
			s->n = k;
			if (count_pairs(&t, s, 1))
				st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
		}
	}
	free(tmp.p);
	/* The vocabulary as GPT-2 writes it: each byte as its character. */
	struct tok_vocab vocab = {0};
	uint32_t chars[256];
	bpe_byte_chars(chars);
	struct tok_buf enc = {0};
	for (int id = 0; id < t.raw.n && !st; id++) {
		enc.n = 0;
		const unsigned char *s = (const unsigned char *)tok_vocab_str(&t.raw, id);
		for (uint32_t i = 0; i < t.raw.len[id] && !st; i++) {
			char u[4];
			if (tok_buf_add(&enc, u, (size_t)lms_utf8_encode(chars[s[i]], u)))
				st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
		}
		if (!st && tok_vocab_add(&vocab, enc.p, enc.n) < 0)
			st = lms_fail(LMS_ENOMEM, "tokenizer: out of memory");
	}
	free(enc.p);
	free_trainer(&t);
	if (st) {
		tok_vocab_free(&vocab);
		free(left);
		free(right);
		return st;
	}
	return bpe_build(tok, &vocab, left, right, done, "tokenizer");
}
