#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/index.h"
#include "util/util.h"

struct ientry {
	uint8_t id[LB_ID_LEN];
	uint32_t pack_type; /* pack number << 4 | blob type */
	uint32_t offset;
	uint32_t stored_len;
	uint32_t raw_len;
};
_Static_assert(sizeof(struct ientry) == 48, "index entries must stay 48 bytes");

#define DIR_BITS 16
#define DIR_SIZE (1u << DIR_BITS)
#define EMPTY UINT32_MAX

struct lb_index {
	struct ientry *main; /* sorted by id once compacted */
	size_t nmain, capmain;
	uint32_t *dir;       /* DIR_SIZE+1 bucket starts into main */
	int sorted;

	struct ientry *add;  /* entries since the last compaction */
	size_t nadd, capadd;
	uint32_t *slots;     /* open addressing over add, EMPTY when free */
	size_t nslots;

	uint8_t (*packs)[LB_ID_LEN];
	uint32_t npacks, cappacks;
	uint32_t *pslots;    /* open addressing over packs */
	size_t npslots;
};

static inline uint32_t bucket_of(const uint8_t *id)
{
	return (uint32_t)id[0] << 8 | id[1];
}

static inline uint64_t hash_of(const uint8_t *id)
{
	/* ids are keyed hashes: any 8 bytes are uniformly distributed */
	return lb_le64_get(id + 8);
}

static void to_entry(struct ientry *e, const uint8_t *id, const struct lb_blob_loc *loc)
{
	memcpy(e->id, id, LB_ID_LEN);
	e->pack_type = loc->pack << 4 | (loc->type & 15);
	e->offset = loc->offset;
	e->stored_len = loc->stored_len;
	e->raw_len = loc->raw_len;
}

static void from_entry(const struct ientry *e, struct lb_blob_loc *loc)
{
	loc->pack = e->pack_type >> 4;
	loc->type = e->pack_type & 15;
	loc->offset = e->offset;
	loc->stored_len = e->stored_len;
	loc->raw_len = e->raw_len;
}

int lb_index_new(struct lb_index **ret)
{
	struct lb_index *idx = calloc(1, sizeof *idx);

	if (!idx)
		return -ENOMEM;
	idx->dir = calloc(DIR_SIZE + 1, sizeof *idx->dir);
	if (!idx->dir) {
		free(idx);
		return -ENOMEM;
	}
	idx->sorted = 1;
	*ret = idx;
	return 0;
}

void lb_index_free(struct lb_index *idx)
{
	if (!idx)
		return;
	free(idx->main);
	free(idx->dir);
	free(idx->add);
	free(idx->slots);
	free(idx->packs);
	free(idx->pslots);
	free(idx);
}

/* ---- pack table ---- */

static int pack_rehash(struct lb_index *idx, size_t nslots)
{
	uint32_t *s = malloc(nslots * sizeof *s);

	if (!s)
		return -ENOMEM;
	memset(s, 0xff, nslots * sizeof *s);
	for (uint32_t i = 0; i < idx->npacks; i++) {
		size_t h = hash_of(idx->packs[i]) & (nslots - 1);

		while (s[h] != EMPTY)
			h = (h + 1) & (nslots - 1);
		s[h] = i;
	}
	free(idx->pslots);
	idx->pslots = s;
	idx->npslots = nslots;
	return 0;
}

int lb_index_pack_find(const struct lb_index *idx, const uint8_t id[LB_ID_LEN], uint32_t *num)
{
	size_t h;

	if (!idx->npslots)
		return 0;
	for (h = hash_of(id) & (idx->npslots - 1); idx->pslots[h] != EMPTY;
	     h = (h + 1) & (idx->npslots - 1)) {
		if (memcmp(idx->packs[idx->pslots[h]], id, LB_ID_LEN) == 0) {
			*num = idx->pslots[h];
			return 1;
		}
	}
	return 0;
}

int lb_index_pack_add(struct lb_index *idx, const uint8_t id[LB_ID_LEN], uint32_t *num)
{
	size_t h;
	int r;

	if (lb_index_pack_find(idx, id, num))
		return 0;
	if (idx->npacks >= LB_PACK_NUM_MAX)
		return lb_err(-EFBIG, "too many packs in one repository");
	if (idx->npacks == idx->cappacks) {
		uint32_t ncap = idx->cappacks ? idx->cappacks * 2 : 64;
		void *p = realloc(idx->packs, (size_t)ncap * LB_ID_LEN);

		if (!p)
			return -ENOMEM;
		idx->packs = p;
		idx->cappacks = ncap;
	}
	if ((size_t)(idx->npacks + 1) * 2 > idx->npslots) {
		r = pack_rehash(idx, idx->npslots ? idx->npslots * 2 : 128);
		if (r < 0)
			return r;
	}
	memcpy(idx->packs[idx->npacks], id, LB_ID_LEN);
	for (h = hash_of(id) & (idx->npslots - 1); idx->pslots[h] != EMPTY; h = (h + 1) & (idx->npslots - 1))
		;
	idx->pslots[h] = idx->npacks;
	*num = idx->npacks++;
	return 0;
}

const uint8_t *lb_index_pack_id(const struct lb_index *idx, uint32_t num)
{
	return num < idx->npacks ? idx->packs[num] : NULL;
}

uint32_t lb_index_npacks(const struct lb_index *idx)
{
	return idx->npacks;
}

/* ---- the hash table of recent additions ---- */

static int add_rehash(struct lb_index *idx, size_t nslots)
{
	uint32_t *s = malloc(nslots * sizeof *s);

	if (!s)
		return -ENOMEM;
	memset(s, 0xff, nslots * sizeof *s);
	for (size_t i = 0; i < idx->nadd; i++) {
		size_t h = hash_of(idx->add[i].id) & (nslots - 1);

		while (s[h] != EMPTY)
			h = (h + 1) & (nslots - 1);
		s[h] = (uint32_t)i;
	}
	free(idx->slots);
	idx->slots = s;
	idx->nslots = nslots;
	return 0;
}

static struct ientry *add_find(const struct lb_index *idx, const uint8_t *id)
{
	size_t h;

	if (!idx->nslots)
		return NULL;
	for (h = hash_of(id) & (idx->nslots - 1); idx->slots[h] != EMPTY; h = (h + 1) & (idx->nslots - 1)) {
		struct ientry *e = &idx->add[idx->slots[h]];

		if (memcmp(e->id, id, LB_ID_LEN) == 0)
			return e;
	}
	return NULL;
}

static struct ientry *main_find(const struct lb_index *idx, const uint8_t *id)
{
	uint32_t b = bucket_of(id);
	size_t lo, hi;

	if (!idx->sorted || !idx->nmain)
		return NULL;
	lo = idx->dir[b];
	hi = idx->dir[b + 1];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(idx->main[mid].id, id, LB_ID_LEN);

		if (c == 0)
			return &idx->main[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

int lb_index_lookup(const struct lb_index *idx, const uint8_t id[LB_ID_LEN], struct lb_blob_loc *loc)
{
	struct ientry *e = main_find(idx, id);

	if (!e)
		e = add_find(idx, id);
	if (!e)
		return 0;
	if (loc)
		from_entry(e, loc);
	return 1;
}

int lb_index_add(struct lb_index *idx, const uint8_t id[LB_ID_LEN], const struct lb_blob_loc *loc)
{
	struct ientry *e;
	size_t h;
	int r;

	e = main_find(idx, id);
	if (!e)
		e = add_find(idx, id);
	if (e) {
		if ((e->pack_type >> 4) == LB_PACK_PENDING && loc->pack != LB_PACK_PENDING)
			to_entry(e, id, loc);
		return 0;
	}
	if (idx->nadd == idx->capadd) {
		size_t ncap = idx->capadd ? idx->capadd * 2 : 1024;
		void *p = realloc(idx->add, ncap * sizeof *idx->add);

		if (!p)
			return -ENOMEM;
		idx->add = p;
		idx->capadd = ncap;
	}
	if ((idx->nadd + 1) * 2 > idx->nslots) {
		r = add_rehash(idx, idx->nslots ? idx->nslots * 2 : 2048);
		if (r < 0)
			return r;
	}
	to_entry(&idx->add[idx->nadd], id, loc);
	for (h = hash_of(id) & (idx->nslots - 1); idx->slots[h] != EMPTY; h = (h + 1) & (idx->nslots - 1))
		;
	idx->slots[h] = (uint32_t)idx->nadd++;
	return 0;
}

static bool pending_of(const struct ientry *e, uint32_t owner)
{
	return (e->pack_type >> 4) == LB_PACK_PENDING && e->offset == owner;
}

int lb_index_drop_pending(struct lb_index *idx, uint32_t owner)
{
	size_t w = 0, dropped_main = 0;

	for (size_t i = 0; i < idx->nadd; i++)
		if (!pending_of(&idx->add[i], owner))
			idx->add[w++] = idx->add[i];
	if (w != idx->nadd) {
		idx->nadd = w;
		if (idx->nslots) {
			int e = add_rehash(idx, idx->nslots);

			if (e < 0)
				return e;
		}
	}
	w = 0;
	for (size_t i = 0; i < idx->nmain; i++) {
		if (pending_of(&idx->main[i], owner)) {
			dropped_main++;
			continue;
		}
		idx->main[w++] = idx->main[i];
	}
	idx->nmain = w;
	if (dropped_main && idx->sorted) {
		memset(idx->dir, 0, (DIR_SIZE + 1) * sizeof *idx->dir);
		for (size_t i = 0; i < idx->nmain; i++)
			idx->dir[bucket_of(idx->main[i].id) + 1]++;
		for (uint32_t b = 0; b < DIR_SIZE; b++)
			idx->dir[b + 1] += idx->dir[b];
	}
	return 0;
}

static int main_reserve(struct lb_index *idx, size_t extra)
{
	size_t ncap;
	void *p;

	if (idx->nmain + extra <= idx->capmain)
		return 0;
	ncap = idx->capmain ? idx->capmain : 4096;
	while (ncap < idx->nmain + extra)
		ncap += ncap / 2;
	p = realloc(idx->main, ncap * sizeof *idx->main);
	if (!p)
		return lb_err(-ENOMEM, "index: out of memory for %zu entries", ncap);
	idx->main = p;
	idx->capmain = ncap;
	return 0;
}

int lb_index_reserve(struct lb_index *idx, size_t n)
{
	size_t ncap;
	void *p;

	if (idx->nmain + n <= idx->capmain)
		return 0;
	ncap = idx->nmain + n;
	p = realloc(idx->main, ncap * sizeof *idx->main);
	if (!p)
		return lb_err(-ENOMEM, "index: out of memory for %zu entries", ncap);
	idx->main = p;
	idx->capmain = ncap;
	return 0;
}

int lb_index_bulk_add(struct lb_index *idx, const uint8_t id[LB_ID_LEN], const struct lb_blob_loc *loc)
{
	int r = main_reserve(idx, 1);

	if (r < 0)
		return r;
	to_entry(&idx->main[idx->nmain++], id, loc);
	idx->sorted = 0;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	return memcmp(a, b, LB_ID_LEN);
}

/* In-place American-flag sort on the first two id bytes, then a small
 * sort inside each bucket: no second copy of the array is ever needed. */
static void sort_main(struct lb_index *idx)
{
	uint32_t *next, *dir = idx->dir;

	if (idx->nmain == 0)
		return; /* compaction rebuilds the (empty) directory */
	memset(dir, 0, (DIR_SIZE + 1) * sizeof *dir);
	for (size_t i = 0; i < idx->nmain; i++)
		dir[bucket_of(idx->main[i].id) + 1]++;
	for (uint32_t b = 0; b < DIR_SIZE; b++)
		dir[b + 1] += dir[b];
	next = malloc((DIR_SIZE + 1) * sizeof *next);
	if (!next) {
		if (idx->nmain > 1)
			qsort(idx->main, idx->nmain, sizeof *idx->main, cmp_entry);
		return;
	}
	memcpy(next, dir, (DIR_SIZE + 1) * sizeof *next);
	for (uint32_t b = 0; b < DIR_SIZE; b++) {
		while (next[b] < dir[b + 1]) {
			struct ientry *e = &idx->main[next[b]];
			uint32_t k = bucket_of(e->id);

			if (k == b) {
				next[b]++;
			} else {
				struct ientry t = idx->main[next[k]];

				idx->main[next[k]++] = *e;
				*e = t;
			}
		}
	}
	free(next);
	for (uint32_t b = 0; b < DIR_SIZE; b++)
		if (dir[b + 1] - dir[b] > 1)
			qsort(idx->main + dir[b], dir[b + 1] - dir[b], sizeof *idx->main, cmp_entry);
}

int lb_index_compact(struct lb_index *idx)
{
	size_t w = 0;
	int r;

	r = main_reserve(idx, idx->nadd);
	if (r < 0)
		return r;
	if (idx->nadd)
		memcpy(idx->main + idx->nmain, idx->add, idx->nadd * sizeof *idx->add);
	idx->nmain += idx->nadd;
	idx->nadd = 0;
	free(idx->slots);
	idx->slots = NULL;
	idx->nslots = 0;
	free(idx->add);
	idx->add = NULL;
	idx->capadd = 0;
	sort_main(idx);
	/* keep one location per id; a committed one beats a pending one */
	for (size_t i = 0; i < idx->nmain; i++) {
		if (w > 0 && memcmp(idx->main[w - 1].id, idx->main[i].id, LB_ID_LEN) == 0) {
			if ((idx->main[w - 1].pack_type >> 4) == LB_PACK_PENDING)
				idx->main[w - 1] = idx->main[i];
			continue;
		}
		idx->main[w++] = idx->main[i];
	}
	idx->nmain = w;
	/* give back the growth slack: steady state is 48 bytes per blob */
	if (idx->capmain > idx->nmain + idx->nmain / 64 + 64) {
		void *p = realloc(idx->main, (idx->nmain ? idx->nmain : 1) * sizeof *idx->main);

		if (p) {
			idx->main = p;
			idx->capmain = idx->nmain ? idx->nmain : 1;
		}
	}
	memset(idx->dir, 0, (DIR_SIZE + 1) * sizeof *idx->dir);
	for (size_t i = 0; i < idx->nmain; i++)
		idx->dir[bucket_of(idx->main[i].id) + 1]++;
	for (uint32_t b = 0; b < DIR_SIZE; b++)
		idx->dir[b + 1] += idx->dir[b];
	idx->sorted = 1;
	return 0;
}

size_t lb_index_count(const struct lb_index *idx)
{
	return idx->nmain + idx->nadd;
}

size_t lb_index_memory(const struct lb_index *idx)
{
	return idx->capmain * sizeof(struct ientry) + (DIR_SIZE + 1) * sizeof(uint32_t) +
	       idx->capadd * sizeof(struct ientry) + idx->nslots * sizeof(uint32_t) +
	       (size_t)idx->cappacks * LB_ID_LEN + idx->npslots * sizeof(uint32_t);
}

int lb_index_foreach(const struct lb_index *idx, lb_index_fn fn, void *ctx)
{
	struct lb_blob_loc loc;
	int r;

	for (size_t i = 0; i < idx->nmain; i++) {
		from_entry(&idx->main[i], &loc);
		if ((r = fn(idx->main[i].id, &loc, ctx)) != 0)
			return r;
	}
	for (size_t i = 0; i < idx->nadd; i++) {
		from_entry(&idx->add[i], &loc);
		if ((r = fn(idx->add[i].id, &loc, ctx)) != 0)
			return r;
	}
	return 0;
}
