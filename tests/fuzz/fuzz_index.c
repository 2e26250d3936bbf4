/* Fuzzes lb_index_file_decode, the payload of every index/<id> file, and
 * feeds what it accepts to the in-memory index the way lb_repo_load_index
 * does (pack table, bulk add, compaction, lookups).
 *
 * Invariants: the callback sees only entries that passed
 * lb_toc_entry_decode; every blob added can be looked up after compaction;
 * an accepted payload re-encodes to itself (when it supersedes nothing,
 * since the encoder always writes an empty supersede list) and decodes to
 * the same packs again. */
#include <errno.h>
#include <string.h>

#include "store/store.h"
#include "fuzz.h"

struct collect {
	struct lb_index_pack *packs;
	size_t n, cap;
	size_t blobs;
};

static int collect_cb(const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e, uint32_t count,
		      void *ctx)
{
	struct collect *c = ctx;
	struct lb_index_pack *p;

	FUZZ_ASSERT(count <= LB_PACK_MAX_BLOBS);
	FUZZ_ASSERT(count == 0 || e != NULL);
	if (c->n == c->cap) {
		size_t ncap = c->cap ? 2 * c->cap : 8;
		void *np = realloc(c->packs, ncap * sizeof *c->packs);

		if (!np)
			return -ENOMEM;
		c->packs = np;
		c->cap = ncap;
	}
	p = &c->packs[c->n];
	memcpy(p->id, pack_id, LB_ID_LEN);
	p->count = count;
	p->entries = malloc((count ? count : 1) * sizeof *e);
	if (!p->entries)
		return -ENOMEM;
	for (uint32_t i = 0; i < count; i++) {
		uint8_t raw[LB_TOC_ENTRY_LEN];
		struct lb_toc_entry back;

		/* what the callback gets is what a table entry may hold */
		lb_toc_entry_encode(raw, &e[i]);
		FUZZ_ASSERT(lb_toc_entry_decode(raw, &back) == 0);
		FUZZ_ASSERT(memcmp(back.id, e[i].id, LB_ID_LEN) == 0 && back.offset == e[i].offset);
		p->entries[i] = e[i];
	}
	c->n++;
	c->blobs += count;
	return 0;
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->packs[i].entries);
	free(c->packs);
	memset(c, 0, sizeof *c);
}

/* The loader's path: pack numbers, bulk adds, one compaction, lookups. */
static void load(const struct collect *c)
{
	struct lb_index *idx;

	if (lb_index_new(&idx) < 0)
		return;
	for (size_t i = 0; i < c->n; i++) {
		uint32_t num;

		FUZZ_ASSERT(lb_index_pack_add(idx, c->packs[i].id, &num) == 0);
		FUZZ_ASSERT(memcmp(lb_index_pack_id(idx, num), c->packs[i].id, LB_ID_LEN) == 0);
		for (uint32_t j = 0; j < c->packs[i].count; j++) {
			const struct lb_toc_entry *e = &c->packs[i].entries[j];
			struct lb_blob_loc loc = {
				.pack = num, .offset = e->offset, .stored_len = e->stored_len,
				.raw_len = e->raw_len, .type = e->type,
			};

			FUZZ_ASSERT(lb_index_bulk_add(idx, e->id, &loc) == 0);
		}
	}
	FUZZ_ASSERT(lb_index_compact(idx) == 0);
	FUZZ_ASSERT(lb_index_count(idx) <= c->blobs);
	for (size_t i = 0; i < c->n; i++)
		for (uint32_t j = 0; j < c->packs[i].count; j++) {
			struct lb_blob_loc loc;

			FUZZ_ASSERT(lb_index_lookup(idx, c->packs[i].entries[j].id, &loc) == 1);
			FUZZ_ASSERT(loc.type == LB_BLOB_DATA || loc.type == LB_BLOB_TREE);
		}
	lb_index_free(idx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct collect c1 = { 0 }, c2 = { 0 };
	struct lb_buf out;
	int e;

	e = lb_index_file_decode(data, size, collect_cb, &c1);
	if (e < 0) {
		collect_free(&c1);
		return 0;
	}
	FUZZ_ASSERT(e == 0);
	load(&c1);

	lb_buf_init(&out, LB_INDEX_FILE_MAX);
	FUZZ_ASSERT(lb_index_file_encode(c1.packs, c1.n, &out) == 0);
	FUZZ_ASSERT(lb_index_file_decode(out.data, out.len, collect_cb, &c2) == 0);
	FUZZ_ASSERT(c1.n == c2.n);
	for (size_t i = 0; i < c1.n; i++) {
		FUZZ_ASSERT(memcmp(c1.packs[i].id, c2.packs[i].id, LB_ID_LEN) == 0);
		FUZZ_ASSERT(c1.packs[i].count == c2.packs[i].count);
		for (uint32_t j = 0; j < c1.packs[i].count; j++) {
			const struct lb_toc_entry *x = &c1.packs[i].entries[j], *y = &c2.packs[i].entries[j];

			FUZZ_ASSERT(memcmp(x->id, y->id, LB_ID_LEN) == 0 && x->type == y->type &&
				    x->flags == y->flags && x->offset == y->offset &&
				    x->stored_len == y->stored_len && x->raw_len == y->raw_len);
		}
	}
	/* with an empty supersede list the payload is exactly what we encode */
	if (out.len == size)
		FUZZ_ASSERT(memcmp(out.data, data, size) == 0);
	lb_buf_release(&out);
	collect_free(&c1);
	collect_free(&c2);
	return 0;
}
