/* synth: the project's generator of small synthetic teaching corpora, each
 * made to show one phenomenon. One example per line, words separated by
 * spaces (lmscope's word tokenizer splits them back), deterministic for a
 * seed:
 *
 *   synth agreement  subject-verb agreement across an intervening phrase:
 *                    "the keys to the old cabinet are on the table ."
 *                    The attractor noun inside the phrase has the other
 *                    number half of the time, so only the subject tells.
 *   synth induction  a sequence of made-up syllable words, then the same
 *                    sequence twice more: "ko ta mi | ko ta mi | ko ta mi ."
 *                    The first pass is random (each word one of four given
 *                    the two before it); after it every word is predictable,
 *                    but only by copying (induction heads).
 *   synth brackets   balanced nested brackets ( [ { } ] ) with words in
 *                    between; the closing bracket is predictable only by
 *                    tracking the nesting.
 *
 * usage: synth KIND [-n LINES] [-s SEED]
 *
 * A standalone program rather than an lmscope subcommand: it is a recipe for
 * making data, uses nothing of the engine, and stays out of the user-facing
 * command set. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state;

/* splitmix64: small, good enough, the same on every machine */
static uint64_t next(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ull);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

static int below(int n)
{
	return (int)(next() % (uint64_t)n);
}

#define PICK(a) (a)[below((int)(sizeof(a) / sizeof *(a)))]

/* ---- agreement -------------------------------------------------------------- */

struct noun {
	const char *sg, *pl;
};

static const struct noun subjects[] = {
	{"key", "keys"},         {"dog", "dogs"},           {"author", "authors"},
	{"teacher", "teachers"}, {"boy", "boys"},           {"girl", "girls"},
	{"farmer", "farmers"},   {"painting", "paintings"}, {"student", "students"},
	{"letter", "letters"},   {"king", "kings"},         {"bird", "birds"},
	{"doctor", "doctors"},   {"car", "cars"},           {"book", "books"},
	{"friend", "friends"},
};
static const struct noun attractors[] = {
	{"cabinet", "cabinets"}, {"house", "houses"},     {"garden", "gardens"},
	{"city", "cities"},      {"river", "rivers"},     {"window", "windows"},
	{"school", "schools"},   {"village", "villages"}, {"tower", "towers"},
	{"table", "tables"},     {"forest", "forests"},   {"mountain", "mountains"},
};
static const char *const preps[] = {"to", "near", "behind", "of", "beside", "from", "in"};
static const char *const adjs[] = {"old", "new", "small", "big", "red", "quiet", "dark", "green"};
struct verb {
	const char *sg, *pl, *rest;
};
static const struct verb verbs[] = {
	{"is", "are", "on the table"},     {"was", "were", "here yesterday"},
	{"has", "have", "a long history"}, {"is", "are", "very good"},
	{"was", "were", "in the box"},     {"has", "have", "no name"},
};

static void agreement(void)
{
	const struct noun *s = &PICK(subjects);
	const struct noun *a = &PICK(attractors);
	const struct verb *v = &PICK(verbs);
	int plural = below(2), aplural = below(2);
	printf("the %s %s the", plural ? s->pl : s->sg, PICK(preps));
	if (below(2))
		printf(" %s", PICK(adjs));
	printf(" %s %s %s .\n", aplural ? a->pl : a->sg, plural ? v->pl : v->sg, v->rest);
}

/* ---- induction ---------------------------------------------------------------- */

static const char consonants[] = "bdfgklmnprstvz";
static const char vowels[] = "aeiou";

static void syllable_word(char *out, int id)
{
	/* id in [0, 14 * 5 * 2): consonant, vowel, and an optional final n */
	int c = id % 14, v = id / 14 % 5, n = id / 70;
	out[0] = consonants[c];
	out[1] = vowels[v];
	out[2] = n ? 'n' : 0;
	out[3] = 0;
}

static void induction(void)
{
	int len = 4 + below(7), seq[16];
	char w[4];
	/* the first two words are random, each later one is one of four that
	 * depend on the two before it: a model gains from looking one token
	 * back (a previous-token head) before it can copy, which is what an
	 * induction head is built from */
	for (int i = 0; i < len; i++)
		seq[i] = i < 2 ? below(140) : (seq[i - 2] * 31 + seq[i - 1] * 17 + below(4) * 37) % 140;
	/* the sequence three times: after its first pass every token is a copy */
	for (int rep = 0; rep < 3; rep++) {
		for (int i = 0; i < len; i++) {
			syllable_word(w, seq[i]);
			printf("%s%s", rep || i ? " " : "", w);
		}
		printf(rep < 2 ? " |" : " .\n");
	}
}

/* ---- brackets ------------------------------------------------------------------- */

static const char open_b[] = "([{", close_b[] = ")]}";
static const char *const fillers[] = {"a", "b", "c", "x", "y", "z"};

static void brackets(void)
{
	char stack[8];
	int depth = 0, steps = 6 + below(14);
	for (int i = 0; i < steps || depth > 0; i++) {
		int can_open = depth < 6 && i < steps;
		int r = below(3);
		if (depth > 0 && (!can_open || r == 0)) {
			printf("%c ", close_b[(int)stack[--depth]]);
		} else if (can_open && r == 1) {
			int k = below(3);
			stack[depth++] = (char)k;
			printf("%c ", open_b[k]);
		} else {
			printf("%s ", PICK(fillers));
		}
	}
	printf(".\n");
}

int main(int argc, char **argv)
{
	long lines = 20000;
	unsigned long long seed = 1;
	if (argc < 2) {
		fprintf(stderr, "usage: synth agreement|induction|brackets [-n LINES] [-s SEED]\n");
		return 2;
	}
	for (int i = 2; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "-n"))
			lines = strtol(argv[i + 1], NULL, 10);
		else if (!strcmp(argv[i], "-s"))
			seed = strtoull(argv[i + 1], NULL, 10);
		else {
			fprintf(stderr, "synth: unknown option %s\n", argv[i]);
			return 2;
		}
	}
	void (*gen)(void) = NULL;
	if (!strcmp(argv[1], "agreement"))
		gen = agreement;
	else if (!strcmp(argv[1], "induction"))
		gen = induction;
	else if (!strcmp(argv[1], "brackets"))
		gen = brackets;
	else {
		fprintf(stderr, "synth: unknown corpus %s\n", argv[1]);
		return 2;
	}
	rng_state = seed;
	for (long i = 0; i < lines; i++)
		gen();
	return ferror(stdout) ? 1 : 0;
}
