/* Open-addressing hash maps used by the tokenizers. Internal to the engine.
 *
 * tok_strmap maps byte strings to ints; it does not copy keys, so the caller
 * keeps each key alive as long as the map. tok_intmap maps 64-bit keys to
 * ints. Both grow by doubling and never shrink. */
#ifndef LMS_TOK_MAP_H
#define LMS_TOK_MAP_H

#include <stddef.h>
#include <stdint.h>

struct tok_strmap_slot {
	const char *key; /* NULL when empty */
	uint32_t len;
	uint32_t hash;
	int val;
};

struct tok_strmap {
	struct tok_strmap_slot *slots; /* (cap) */
	size_t cap, n;                 /* cap is a power of two */
};

uint64_t tok_hash_bytes(const void *p, size_t len);

/* Returns 0, or -1 when out of memory. */
int tok_strmap_init(struct tok_strmap *m, size_t expect);
void tok_strmap_free(struct tok_strmap *m);
/* The value of key, or -1 when absent. */
int tok_strmap_get(const struct tok_strmap *m, const char *key, size_t len);
/* Inserts key -> val. Returns 1 when inserted, 0 when the key was present
 * (*old gets its value, the map is unchanged), -1 when out of memory. */
int tok_strmap_put(struct tok_strmap *m, const char *key, size_t len, int val, int *old);
/* The slot of key, inserting it with val when absent (NULL when out of memory).
 * The pointer is valid until the next insertion. */
struct tok_strmap_slot *tok_strmap_upsert(struct tok_strmap *m, const char *key, size_t len,
                                          int val);

struct tok_intmap_slot {
	uint64_t key; /* stored as key + 1; 0 when empty */
	int val;
};

struct tok_intmap {
	struct tok_intmap_slot *slots;
	size_t cap, n;
};

int tok_intmap_init(struct tok_intmap *m, size_t expect);
void tok_intmap_free(struct tok_intmap *m);
int tok_intmap_get(const struct tok_intmap *m, uint64_t key); /* -1 when absent */
/* Sets key -> val (replacing). Returns 0, or -1 when out of memory. */
int tok_intmap_set(struct tok_intmap *m, uint64_t key, int val);
/* The value slot of key, inserting 0 when absent (NULL when out of memory). */
int *tok_intmap_ref(struct tok_intmap *m, uint64_t key);

#endif
