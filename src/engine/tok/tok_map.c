/* Open-addressing hash maps with linear probing (see tok_map.h). */
#include <stdlib.h>
#include <string.h>

#include "tok/tok_map.h"

static uint64_t mix(uint64_t x)
{
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	x *= 0xd6e8feb86659fd93ull;
	x ^= x >> 32;
	return x;
}

uint64_t tok_hash_bytes(const void *p, size_t len)
{
	const unsigned char *s = p;
	uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
	while (len >= 8) {
		uint64_t w;
		memcpy(&w, s, 8);
		h = (h ^ w) * 0xff51afd7ed558ccdull;
		h ^= h >> 29;
		s += 8;
		len -= 8;
	}
	uint64_t w = 0;
	memcpy(&w, s, len);
	h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
	return mix(h);
}

static size_t capacity_for(size_t expect)
{
	size_t cap = 16;
	while (cap < expect * 2)
		cap *= 2;
	return cap;
}

int tok_strmap_init(struct tok_strmap *m, size_t expect)
{
	m->cap = capacity_for(expect);
	m->n = 0;
	m->slots = calloc(m->cap, sizeof *m->slots);
	return m->slots ? 0 : -1;
}

void tok_strmap_free(struct tok_strmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

static struct tok_strmap_slot *str_find(const struct tok_strmap *m, const char *key, size_t len,
                                        uint32_t hash)
{
	size_t mask = m->cap - 1;
	for (size_t i = hash & mask;; i = (i + 1) & mask) {
		struct tok_strmap_slot *s = &m->slots[i];
		if (!s->key || (s->hash == hash && s->len == len && !memcmp(s->key, key, len)))
			return s;
	}
}

static int str_grow(struct tok_strmap *m)
{
	struct tok_strmap old = *m;
	m->cap *= 2;
	m->slots = calloc(m->cap, sizeof *m->slots);
	if (!m->slots) {
		*m = old;
		return -1;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			*str_find(m, old.slots[i].key, old.slots[i].len, old.slots[i].hash) = old.slots[i];
	free(old.slots);
	return 0;
}

int tok_strmap_get(const struct tok_strmap *m, const char *key, size_t len)
{
	const struct tok_strmap_slot *s = str_find(m, key, len, (uint32_t)tok_hash_bytes(key, len));
	return s->key ? s->val : -1;
}

struct tok_strmap_slot *tok_strmap_upsert(struct tok_strmap *m, const char *key, size_t len,
                                          int val)
{
	if (len > UINT32_MAX)
		return NULL;
	if ((m->n + 1) * 4 > m->cap * 3 && str_grow(m))
		return NULL;
	uint32_t hash = (uint32_t)tok_hash_bytes(key, len);
	struct tok_strmap_slot *s = str_find(m, key, len, hash);
	if (!s->key) {
		s->key = key ? key : "";
		s->len = (uint32_t)len;
		s->hash = hash;
		s->val = val;
		m->n++;
	}
	return s;
}

int tok_strmap_put(struct tok_strmap *m, const char *key, size_t len, int val, int *old)
{
	size_t n = m->n;
	struct tok_strmap_slot *s = tok_strmap_upsert(m, key, len, val);
	if (!s)
		return -1;
	if (m->n == n) {
		if (old)
			*old = s->val;
		return 0;
	}
	return 1;
}

int tok_intmap_init(struct tok_intmap *m, size_t expect)
{
	m->cap = capacity_for(expect);
	m->n = 0;
	m->slots = calloc(m->cap, sizeof *m->slots);
	return m->slots ? 0 : -1;
}

void tok_intmap_free(struct tok_intmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

static struct tok_intmap_slot *int_find(const struct tok_intmap *m, uint64_t stored)
{
	size_t mask = m->cap - 1;
	for (size_t i = mix(stored) & mask;; i = (i + 1) & mask)
		if (!m->slots[i].key || m->slots[i].key == stored)
			return &m->slots[i];
}

static int int_grow(struct tok_intmap *m)
{
	struct tok_intmap old = *m;
	m->cap *= 2;
	m->slots = calloc(m->cap, sizeof *m->slots);
	if (!m->slots) {
		*m = old;
		return -1;
	}
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].key)
			*int_find(m, old.slots[i].key) = old.slots[i];
	free(old.slots);
	return 0;
}

int tok_intmap_get(const struct tok_intmap *m, uint64_t key)
{
	const struct tok_intmap_slot *s = int_find(m, key + 1);
	return s->key ? s->val : -1;
}

int *tok_intmap_ref(struct tok_intmap *m, uint64_t key)
{
	if ((m->n + 1) * 4 > m->cap * 3 && int_grow(m))
		return NULL;
	struct tok_intmap_slot *s = int_find(m, key + 1);
	if (!s->key) {
		s->key = key + 1;
		s->val = 0;
		m->n++;
	}
	return &s->val;
}

int tok_intmap_set(struct tok_intmap *m, uint64_t key, int val)
{
	int *v = tok_intmap_ref(m, key);
	if (!v)
		return -1;
	*v = val;
	return 0;
}
