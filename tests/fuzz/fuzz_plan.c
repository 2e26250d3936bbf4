/* Fuzzes lb_plan_decode, the payload of locks/prune-plan: u32 JSON length,
 * JSON {time, grace, host, pid, index, snapshots}, then the condemned packs
 * in the index-file encoding.
 *
 * Invariants: a rejected input leaves the plan zeroed (nothing to release,
 * nothing leaked) and returns a negative error; an accepted plan satisfies
 * what plan.h promises (grace >= 0, names are 64 hex digits, pack entries
 * are valid TOC entries); it re-encodes with lb_plan_encode, the encoding
 * decodes to an equal plan (fields, names, packs, entries), and encoding
 * that again gives the same bytes; lb_plan_release frees everything (ASan
 * reports any leak) and zeroes the plan. */
#include <errno.h>
#include <string.h>

#include "store/plan.h"
#include "store/store.h"
#include "fuzz.h"

static int zeroed(const struct lb_prune_plan *p)
{
	static const struct lb_prune_plan zero;

	return memcmp(p, &zero, sizeof zero) == 0;
}

static void check_names(char (*v)[65], size_t n)
{
	FUZZ_ASSERT(n == 0 || v != NULL);
	for (size_t i = 0; i < n; i++) {
		uint8_t id[LB_ID_LEN];

		FUZZ_ASSERT(strlen(v[i]) == 64);
		FUZZ_ASSERT(lb_unhex(id, sizeof id, v[i]) == 0);
	}
}

static void check_plan(const struct lb_prune_plan *p)
{
	FUZZ_ASSERT(p->grace_s >= 0);
	FUZZ_ASSERT(memchr(p->host, 0, sizeof p->host) != NULL);
	check_names(p->index_files, p->nindex);
	check_names(p->snapshots, p->nsnap);
	FUZZ_ASSERT(p->npacks == 0 || p->packs != NULL);
	for (size_t i = 0; i < p->npacks; i++) {
		const struct lb_index_pack *ip = &p->packs[i];

		FUZZ_ASSERT(ip->count <= LB_PACK_MAX_BLOBS);
		FUZZ_ASSERT(ip->entries != NULL);
		for (uint32_t j = 0; j < ip->count; j++) {
			uint8_t raw[LB_TOC_ENTRY_LEN];
			struct lb_toc_entry back;

			lb_toc_entry_encode(raw, &ip->entries[j]);
			FUZZ_ASSERT(lb_toc_entry_decode(raw, &back) == 0);
		}
	}
}

static int same_entry(const struct lb_toc_entry *x, const struct lb_toc_entry *y)
{
	return memcmp(x->id, y->id, LB_ID_LEN) == 0 && x->type == y->type && x->flags == y->flags &&
	       x->offset == y->offset && x->stored_len == y->stored_len && x->raw_len == y->raw_len;
}

static void check_equal(const struct lb_prune_plan *a, const struct lb_prune_plan *b)
{
	FUZZ_ASSERT(a->time_s == b->time_s);
	FUZZ_ASSERT(a->grace_s == b->grace_s);
	FUZZ_ASSERT(a->pid == b->pid);
	FUZZ_ASSERT(strcmp(a->host, b->host) == 0);
	FUZZ_ASSERT(a->nindex == b->nindex);
	for (size_t i = 0; i < a->nindex; i++)
		FUZZ_ASSERT(strcmp(a->index_files[i], b->index_files[i]) == 0);
	FUZZ_ASSERT(a->nsnap == b->nsnap);
	for (size_t i = 0; i < a->nsnap; i++)
		FUZZ_ASSERT(strcmp(a->snapshots[i], b->snapshots[i]) == 0);
	FUZZ_ASSERT(a->npacks == b->npacks);
	for (size_t i = 0; i < a->npacks; i++) {
		FUZZ_ASSERT(memcmp(a->packs[i].id, b->packs[i].id, LB_ID_LEN) == 0);
		FUZZ_ASSERT(a->packs[i].count == b->packs[i].count);
		for (uint32_t j = 0; j < a->packs[i].count; j++)
			FUZZ_ASSERT(same_entry(&a->packs[i].entries[j], &b->packs[i].entries[j]));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_prune_plan p1, p2;
	struct lb_buf out1, out2;
	int e;

	memset(&p1, 0xa5, sizeof p1); /* the decoder must not rely on a zeroed plan */
	e = lb_plan_decode(data, size, &p1);
	lb_err_clear();
	if (e < 0) {
		FUZZ_ASSERT(zeroed(&p1));
		lb_plan_release(&p1); /* harmless on a rejected plan */
		return 0;
	}
	FUZZ_ASSERT(e == 0);
	check_plan(&p1);

	lb_buf_init(&out1, LB_INDEX_FILE_MAX);
	lb_buf_init(&out2, LB_INDEX_FILE_MAX);
	FUZZ_ASSERT(lb_plan_encode(&p1, &out1) == 0);
	memset(&p2, 0x5a, sizeof p2);
	FUZZ_ASSERT(lb_plan_decode(out1.data, out1.len, &p2) == 0);
	check_equal(&p1, &p2);
	/* the encoding is canonical: a decoded plan encodes to the same bytes */
	FUZZ_ASSERT(lb_plan_encode(&p2, &out2) == 0);
	FUZZ_ASSERT(out1.len == out2.len && memcmp(out1.data, out2.data, out1.len) == 0);
	lb_buf_release(&out1);
	lb_buf_release(&out2);

	lb_plan_release(&p1);
	FUZZ_ASSERT(zeroed(&p1));
	lb_plan_release(&p2);
	lb_plan_release(&p1); /* twice is harmless */
	return 0;
}
