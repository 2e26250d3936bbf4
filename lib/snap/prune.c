/* Prune: mark, repack, plan, sweep (see lifeboat/prune.h and the prune
 * section of docs/FORMAT.md for why each step is safe to interrupt). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lifeboat/marker.h"
#include "lifeboat/prune.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/source.h"
#include "lifeboat/tree.h"
#include "store/packer.h"
#include "store/plan.h"
#include "store/store.h"

#define NS 1000000000LL
#define INDEX_FILE_ENTRIES (1u << 20)   /* split consolidated index files at ~48 MiB */
#define TEMP_MAX_AGE_S (24 * 3600)      /* writers' temporaries older than this are debris */
#define SKEW_SAME_HOST_S 60             /* a run that started this soon after a plan may not have seen it */
#define SKEW_OTHER_HOST_S 300

enum fate { KEEP = 0, DROP, REPACK, GONE };

struct newpack {
	uint8_t id[LB_ID_LEN];
	struct lb_toc_entry *e;
	uint32_t n;
};

struct pctx {
	struct lb_repo *r;
	const struct lb_prune_opts *o;
	struct lb_prune_stats *st;
	struct lb_buf buf;
	struct lb_index *seen;      /* blobs reached (mark: the used set) */
	bool sweeping;
	bool *resurrect;            /* sweep: by r->cidx pack number */
	uint32_t ncpacks;
	uint64_t missing_reported;

	pthread_mutex_t mu;         /* new packs, from the packer's committer */
	struct newpack *newp;
	size_t nnewp;
	int newp_err;
};

static void say(struct pctx *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(struct pctx *c, int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!c->o->report)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->o->report(c->o->ctx, level, msg);
}

static const char *when(int64_t t, char *buf, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;

	localtime_r(&tt, &tm);
	strftime(buf, n, "%Y-%m-%d %H:%M:%S", &tm);
	return buf;
}

/* Tests set LIFEBOAT_TEST_PRUNE_PAUSE_MS so that a SIGKILL sent at a random
 * moment lands between any two of prune's steps. */
static void step(const char *what)
{
	static long ms = -1;

	if (ms < 0) {
		const char *v = getenv("LIFEBOAT_TEST_PRUNE_PAUSE_MS");

		ms = v ? atol(v) : 0;
	}
	if (ms > 0) {
		struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

		lb_log(LB_LOG_DEBUG, "prune: %s", what);
		nanosleep(&ts, NULL);
	}
}

/* ---- names ---- */

struct names {
	char (*v)[65];
	size_t n, cap;
};

static int names_add(const char *name, uint64_t size, void *ctx)
{
	struct names *ns = ctx;

	(void)size;
	if (strlen(name) != 64)
		return 0;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;
		void *p = realloc(ns->v, cap * sizeof *ns->v);

		if (!p)
			return -ENOMEM;
		ns->v = p;
		ns->cap = cap;
	}
	memcpy(ns->v[ns->n++], name, 65);
	return 0;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool names_has(char (*v)[65], size_t n, const char *name)
{
	return n && bsearch(name, v, n, sizeof *v, cmp_name) != NULL;
}

/* ---- reaching blobs ---- */

static void note_missing(struct pctx *c, const char *snap, const uint8_t id[LB_ID_LEN])
{
	char hex[65];

	c->st->blobs_missing++;
	if (c->missing_reported++ < 10) {
		lb_hex(hex, id, LB_ID_LEN);
		say(c, LB_LOG_WARN, "snapshot %.12s: data blob %s is missing (check names the file); "
		    "prune goes on, since nothing it deletes could hold it", snap, hex);
	}
}

/* Records that a snapshot needs blob id.  Returns 1 when it was new. */
static int reach(struct pctx *c, const uint8_t id[LB_ID_LEN], const char *snap)
{
	struct lb_blob_loc loc = { 0 }, dummy = { .type = LB_BLOB_DATA };
	int e;

	if (lb_index_lookup(c->seen, id, NULL))
		return 0;
	if ((e = lb_index_add(c->seen, id, &dummy)) < 0)
		return e;
	if (lb_index_lookup(c->r->idx, id, &loc))
		return 1;
	if (c->sweeping && c->r->cidx && lb_index_lookup(c->r->cidx, id, &loc)) {
		if (loc.pack < c->ncpacks)
			c->resurrect[loc.pack] = true; /* a run that started before the plan used it */
		return 1;
	}
	note_missing(c, snap, id);
	return 1;
}

struct walk_ctx {
	struct pctx *c;
	const char *snap;
	uint8_t (*stack)[LB_ID_LEN];
	size_t n, cap;
};

static int push(struct walk_ctx *w, const uint8_t id[LB_ID_LEN])
{
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		void *p = realloc(w->stack, cap * sizeof *w->stack);

		if (!p)
			return -ENOMEM;
		w->stack = p;
		w->cap = cap;
	}
	memcpy(w->stack[w->n++], id, LB_ID_LEN);
	return 0;
}

/* Every tree and chunk one root reaches; a tree that cannot be read stops
 * prune, since what it names is unknown. */
static int walk_root(const uint8_t root[32], const char *what, void *ctx)
{
	struct walk_ctx *w = ctx;
	struct pctx *c = w->c;
	int e;

	(void)what;
	if ((e = push(w, root)) < 0)
		return e;
	while (w->n) {
		uint8_t id[LB_ID_LEN];
		struct lb_tree t;
		char hex[65];

		memcpy(id, w->stack[--w->n], LB_ID_LEN);
		if (lb_index_lookup(c->seen, id, NULL))
			continue;
		if ((e = reach(c, id, w->snap)) < 0)
			return e;
		e = 0;
		c->st->trees++;
		lb_hex(hex, id, LB_ID_LEN);
		e = lb_repo_read_blob(c->r, id, LB_BLOB_TREE, &c->buf);
		if (e == 0)
			e = lb_tree_decode(c->buf.data, c->buf.len, &t);
		if (e < 0) {
			if (e != -ENOMEM)
				lb_err_wrap(e, "snapshot %.12s: tree %s cannot be read, so what it needs is unknown; "
					    "prune deletes nothing (run check, then forget the damaged snapshot)",
					    w->snap, hex);
			return e;
		}
		for (size_t i = 0; e == 0 && i < t.n; i++) {
			const struct lb_node *n = &t.nodes[i];

			if (n->type == LB_NODE_FILE) {
				for (size_t k = 0; e == 0 && k < n->nextents; k++)
					if (!n->extents[k].hole && (e = reach(c, n->extents[k].id, w->snap)) > 0)
						e = 0;
			} else if (n->type == LB_NODE_DIR && !lb_index_lookup(c->seen, n->subtree, NULL)) {
				e = push(w, n->subtree);
			}
		}
		lb_tree_release(&t);
		if (e < 0)
			return e;
	}
	return 0;
}

static int walk_snapshot(struct pctx *c, const char *name)
{
	struct walk_ctx w = { .c = c, .snap = name };
	struct lb_snapshot *s;
	int e;

	if ((e = lb_snapshot_load(c->r, name, &s)) < 0) {
		if (e == -ENOENT || e == -LB_E_NOTFOUND) {
			lb_err_clear(); /* forgotten meanwhile */
			return 0;
		}
		if (e != -ENOMEM)
			lb_err_wrap(e, "what it needs is unknown; prune deletes nothing (forget it, or put the "
				    "object back)");
		return e;
	}
	c->st->snapshots++;
	e = lb_snapshot_trees(s, walk_root, &w);
	free(w.stack);
	lb_snapshot_free(s);
	return e;
}

/* ---- other runs ---- */

struct mk_ctx {
	struct pctx *c;
	const char *own_prune;
	int64_t own_start_ns;
	int64_t bound_ns;           /* runs that started before this may use condemned packs */
	bool other_prune, blocked;
	char who[512];
	bool cleanup;
};

static void describe(char *out, size_t n, const struct lb_marker_info *m)
{
	char t[64];

	snprintf(out, n, "'%s' on %s (pid %ld), running since %s", m->what, m->host, m->pid,
		 when(m->start_s, t, sizeof t));
}

static int marker_cb(const struct lb_marker_info *m, void *ctx)
{
	struct mk_ctx *k = ctx;
	struct lb_repo *r = k->c->r;

	if (!m->fresh) {
		/* a run that died: its marker holds nothing up */
		if (k->cleanup && !k->c->o->dry_run && r->be->ops->remove(r->be, LB_KIND_LOCK, m->name) == 0)
			k->c->st->markers_removed++;
		lb_err_clear();
		return 0;
	}
	if (m->own)
		return 0;
	if (k->own_prune && strcmp(m->what, "prune") == 0 &&
	    (m->start_ns < k->own_start_ns || (m->start_ns == k->own_start_ns && strcmp(m->name, k->own_prune) < 0))) {
		k->other_prune = true;
		describe(k->who, sizeof k->who, m);
		return 0;
	}
	if (k->bound_ns && m->start_ns <= k->bound_ns + (m->same_host ? 0 : SKEW_OTHER_HOST_S * NS) && !k->blocked) {
		k->blocked = true;
		describe(k->who, sizeof k->who, m);
	}
	return 0;
}

/* ---- sweep ---- */

static int rewrite_index_file(struct pctx *c, const char *name, struct lb_prune_plan *plan, const bool *del_by_plan);

struct pack_list {
	struct lb_index_pack *v;
	size_t n;
	int e;
};

static int collect_pack(const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e, uint32_t count, void *ctx)
{
	struct pack_list *l = ctx;
	void *p = realloc(l->v, (l->n + 1) * sizeof *l->v);

	if (!p)
		return -ENOMEM;
	l->v = p;
	memcpy(l->v[l->n].id, pack_id, LB_ID_LEN);
	l->v[l->n].count = count;
	l->v[l->n].entries = malloc((count ? count : 1) * sizeof *e);
	if (!l->v[l->n].entries)
		return -ENOMEM;
	memcpy(l->v[l->n].entries, e, count * sizeof *e);
	l->n++;
	return 0;
}

static void pack_list_free(struct pack_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i].entries);
	free(l->v);
}

static int plan_pack_index(const struct lb_prune_plan *plan, const uint8_t id[LB_ID_LEN])
{
	for (size_t i = 0; i < plan->npacks; i++)
		if (!memcmp(plan->packs[i].id, id, LB_ID_LEN))
			return (int)i;
	return -1;
}

/* An index file written since the plan may still list packs the sweep
 * deletes (by a run that adopted or wrote them before the plan): rewrite
 * it without them, so no index ever names a pack that is gone. */
static int rewrite_index_file(struct pctx *c, const char *name, struct lb_prune_plan *plan, const bool *del)
{
	struct pack_list l = { 0 };
	struct lb_index_pack *keep;
	size_t nkeep = 0;
	bool touched = false;
	int e;

	e = lb_repo_get_sealed(c->r, LB_KIND_INDEX, name, &c->buf);
	if (e == 0)
		e = lb_index_file_decode(c->buf.data, c->buf.len, collect_pack, &l);
	if (e < 0) {
		pack_list_free(&l);
		if (e == -ENOMEM)
			return e;
		/* a damaged index file loads as nothing; check reports it */
		say(c, LB_LOG_WARN, "index %s: %s", name, lb_errmsg());
		lb_err_clear();
		return 0;
	}
	keep = calloc(l.n + 1, sizeof *keep);
	if (!keep) {
		pack_list_free(&l);
		return -ENOMEM;
	}
	for (size_t i = 0; i < l.n; i++) {
		int pi = plan_pack_index(plan, l.v[i].id);

		if (pi >= 0 && del[pi])
			touched = true;
		else
			keep[nkeep++] = l.v[i];
	}
	e = 0;
	if (touched) {
		if (nkeep)
			e = lb_repo_write_index(c->r, keep, nkeep, NULL);
		if (e == 0 && (e = c->r->be->ops->remove(c->r->be, LB_KIND_INDEX, name)) == -ENOENT)
			e = 0;
		if (e == 0)
			c->st->index_rewritten++;
	}
	free(keep);
	pack_list_free(&l);
	return e;
}

static int sweep(struct pctx *c, struct lb_prune_plan *plan, int64_t bound_ns)
{
	struct lb_repo *r = c->r;
	struct mk_ctx k = { .c = c, .bound_ns = bound_ns };
	struct names snaps = { 0 }, idxs = { 0 };
	bool *del = NULL;
	char t[64], res_name[65] = "";
	int64_t now = lb_now_ns() / NS;
	int e;

	c->st->plan_pending = true;
	c->st->plan_time_s = plan->time_s;
	if (now < plan->time_s + plan->grace_s) {
		snprintf(c->st->waiting_for, sizeof c->st->waiting_for, "the grace period, until %s",
			 when(plan->time_s + plan->grace_s, t, sizeof t));
		return 0;
	}
	if ((e = lb_markers_list(r, marker_cb, &k)) < 0)
		return e;
	if (k.blocked) {
		snprintf(c->st->waiting_for, sizeof c->st->waiting_for, "%s", k.who);
		return 0;
	}
	if (c->o->dry_run) {
		snprintf(c->st->waiting_for, sizeof c->st->waiting_for, "nothing: the next prune deletes them");
		return 0;
	}
	/* the index as every new run sees it: condemned packs apart */
	if ((e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		return e;
	c->ncpacks = r->cidx ? lb_index_npacks(r->cidx) : 0;
	c->resurrect = calloc(c->ncpacks + 1, sizeof *c->resurrect);
	del = calloc(plan->npacks + 1, sizeof *del);
	if (!c->resurrect || !del) {
		e = -ENOMEM;
		goto out;
	}
	lb_index_free(c->seen);
	c->seen = NULL;
	if ((e = lb_index_new(&c->seen)) < 0)
		goto out;
	c->sweeping = true;
	/* snapshots written since the plan: their runs may have deduplicated
	 * against what the plan condemned */
	if ((e = r->be->ops->list(r->be, LB_KIND_SNAPSHOT, names_add, &snaps)) < 0)
		goto out;
	for (size_t i = 0; i < snaps.n; i++)
		if (!names_has(plan->snapshots, plan->nsnap, snaps.v[i]) && (e = walk_snapshot(c, snaps.v[i])) < 0)
			goto out;
	{
		struct lb_index_pack *res = calloc(plan->npacks + 1, sizeof *res);
		size_t nres = 0;

		if (!res) {
			e = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < plan->npacks; i++) {
			uint32_t num;
			bool back = r->cidx && lb_index_pack_find(r->cidx, plan->packs[i].id, &num) && num < c->ncpacks &&
				    c->resurrect[num];

			del[i] = !back;
			if (back)
				res[nres++] = plan->packs[i];
		}
		e = lb_repo_write_index(r, res, nres, res_name);
		step("resurrected packs indexed");
		c->st->packs_kept_back += nres;
		free(res);
		if (e < 0)
			goto out;
	}
	if ((e = r->be->ops->list(r->be, LB_KIND_INDEX, names_add, &idxs)) < 0)
		goto out;
	for (size_t i = 0; i < idxs.n; i++) {
		if (names_has(plan->index_files, plan->nindex, idxs.v[i]) || !strcmp(idxs.v[i], res_name))
			continue;
		if ((e = rewrite_index_file(c, idxs.v[i], plan, del)) < 0)
			goto out;
		step("index file checked");
	}
	for (size_t i = 0; i < plan->npacks; i++) {
		char name[65];
		uint64_t size = 0;

		if (!del[i])
			continue;
		lb_hex(name, plan->packs[i].id, LB_ID_LEN);
		if (r->be->ops->size(r->be, LB_KIND_PACK, name, &size) < 0) {
			lb_err_clear(); /* gone already: an earlier sweep was interrupted */
			continue;
		}
		if ((e = r->be->ops->remove(r->be, LB_KIND_PACK, name)) < 0 && e != -ENOENT)
			goto out;
		c->st->packs_deleted++;
		c->st->bytes_deleted += size;
		step("pack deleted");
	}
	if ((e = lb_plan_remove(r)) < 0)
		goto out;
	c->st->swept = true;
	c->st->plan_pending = false;
	c->st->waiting_for[0] = 0;
	e = 0;
out:
	c->sweeping = false;
	free(c->resurrect);
	c->resurrect = NULL;
	free(del);
	free(snaps.v);
	free(idxs.v);
	return e;
}

/* ---- mark ---- */

struct acct {
	struct pctx *c;
	uint32_t npacks;
	uint64_t *live, *nent;
	uint32_t *nlive;
	/* entries bucketed by pack */
	size_t *start;
	struct lb_toc_entry *ents;
	uint8_t *used;
	size_t *fill;
};

static int count_cb(const uint8_t id[LB_ID_LEN], const struct lb_blob_loc *loc, void *ctx)
{
	struct acct *a = ctx;

	if (loc->pack >= a->npacks)
		return 0;
	a->nent[loc->pack]++;
	if (lb_index_lookup(a->c->seen, id, NULL)) {
		a->nlive[loc->pack]++;
		a->live[loc->pack] += LB_BLOB_HEADER_LEN + (uint64_t)loc->stored_len + LB_TAG_LEN + LB_TOC_ENTRY_LEN;
	}
	return 0;
}

static int bucket_cb(const uint8_t id[LB_ID_LEN], const struct lb_blob_loc *loc, void *ctx)
{
	struct acct *a = ctx;
	size_t at;

	if (loc->pack >= a->npacks)
		return 0;
	at = a->start[loc->pack] + a->fill[loc->pack]++;
	lb_blob_loc_to_toc(id, loc, &a->ents[at]);
	a->used[at] = lb_index_lookup(a->c->seen, id, NULL) ? 1 : 0;
	return 0;
}

static int cmp_offset(const void *x, const void *y, void *ctx)
{
	const struct lb_toc_entry *e = ctx, *a = &e[*(const uint32_t *)x], *b = &e[*(const uint32_t *)y];

	return a->offset < b->offset ? -1 : a->offset > b->offset;
}

static void on_commit(const uint8_t id[LB_ID_LEN], const struct lb_toc_entry *e, uint32_t n, void *ctx)
{
	struct pctx *c = ctx;
	void *p;

	pthread_mutex_lock(&c->mu);
	p = realloc(c->newp, (c->nnewp + 1) * sizeof *c->newp);
	if (p) {
		c->newp = p;
		memcpy(c->newp[c->nnewp].id, id, LB_ID_LEN);
		c->newp[c->nnewp].n = n;
		c->newp[c->nnewp].e = malloc((n ? n : 1) * sizeof *e);
		if (c->newp[c->nnewp].e) {
			memcpy(c->newp[c->nnewp].e, e, n * sizeof *e);
			c->nnewp++;
		} else {
			c->newp_err = -ENOMEM;
		}
	} else {
		c->newp_err = -ENOMEM;
	}
	pthread_mutex_unlock(&c->mu);
}

/* How much of a pack being repacked is read at once. */
#define REPACK_WINDOW (2u << 20)

/* Moves the live blobs of one pack into the packer. */
static int repack_one(struct pctx *c, struct lb_packer *pk, uint32_t num, const struct lb_toc_entry *ents,
		      const uint8_t *used, size_t n)
{
	struct lb_repo *r = c->r;
	uint8_t key[LB_KEY_LEN], *data = NULL;
	uint32_t *ord = malloc((n ? n : 1) * sizeof *ord);
	struct lb_aead *aead = NULL;
	struct lb_buf out;
	char name[65], bid[65];
	uint64_t size, wstart = 0, wlen = 0;
	size_t wcap = 0;
	int e;

	lb_buf_init(&out, LB_BLOB_MAX);
	if (!ord) {
		e = -ENOMEM;
		goto out;
	}
	/* in pack order: blobs stored together stay together */
	for (size_t i = 0; i < n; i++)
		ord[i] = (uint32_t)i;
	qsort_r(ord, n, sizeof *ord, cmp_offset, (void *)ents);
	if ((e = lb_repo_pack_key_num(r, num, key, name)) < 0)
		goto out;
	if ((e = r->be->ops->size(r->be, LB_KIND_PACK, name, &size)) < 0)
		goto out;
	if (size > (uint64_t)LB_PACK_MAX_BYTES + (16u << 20)) {
		e = lb_err(-LB_E_CORRUPT, "pack %s: implausible size %llu", name, (unsigned long long)size);
		goto out;
	}
	if ((e = lb_aead_new(r->cfg.enc, key, &aead)) < 0)
		goto out;
	for (size_t k = 0; k < n; k++) {
		const struct lb_toc_entry *te = &ents[ord[k]];
		uint64_t reclen = LB_BLOB_HEADER_LEN + (uint64_t)te->stored_len + LB_TAG_LEN;

		if (!used[ord[k]])
			continue;
		lb_hex(bid, te->id, LB_ID_LEN);
		if ((uint64_t)te->offset + reclen > size) {
			e = lb_err(-LB_E_CORRUPT, "pack %s: blob %s lies beyond the end of the pack", name, bid);
			goto out;
		}
		/* The pack is read in windows of REPACK_WINDOW (or one blob, if
		 * larger), in offset order: a pack is never held whole. */
		if (te->offset < wstart || te->offset + reclen > wstart + wlen) {
			uint64_t want = reclen > REPACK_WINDOW ? reclen : REPACK_WINDOW;

			if (want > size - te->offset)
				want = size - te->offset;
			if (want > wcap) {
				uint8_t *nd = realloc(data, want);

				if (!nd) {
					e = -ENOMEM;
					goto out;
				}
				data = nd;
				wcap = want;
			}
			if ((e = r->be->ops->read_at(r->be, LB_KIND_PACK, name, te->offset, data, want)) < 0)
				goto out;
			wstart = te->offset;
			wlen = want;
		}
		e = lb_repo_open_blob_with(r, aead, te->offset, data + (te->offset - wstart), reclen, te, &out);
		if (e == 0)
			e = lb_packer_put_move(pk, (enum lb_blob_type)te->type, te->id, out.data, out.len);
		if (e < 0) {
			if (e != -ENOMEM)
				lb_err_wrap(e, "pack %s: blob %s, a live blob prune had to move", name, bid);
			goto out;
		}
		c->st->blobs_moved++;
		c->st->bytes_moved_raw += te->raw_len;
	}
	e = 0;
out:
	lb_wipe(key, sizeof key);
	lb_aead_free(aead);
	lb_buf_release(&out);
	free(data);
	free(ord);
	return e;
}

struct disk_ctx {
	struct lb_repo *r;
	uint64_t *size;
	uint8_t *on_disk;
	uint32_t npacks;
};

static int disk_cb(const char *name, uint64_t size, void *ctx)
{
	struct disk_ctx *d = ctx;
	uint8_t id[LB_ID_LEN];
	uint32_t num;

	if (lb_unhex(id, LB_ID_LEN, name) < 0 || !lb_index_pack_find(d->r->idx, id, &num) || num >= d->npacks)
		return 0;
	d->size[num] = size;
	d->on_disk[num] = 1;
	return 0;
}

/* Writes the consolidated index in files of at most INDEX_FILE_ENTRIES
 * entries and records their names in the plan. */
static int write_consolidated(struct pctx *c, struct lb_index_pack *packs, size_t n, struct lb_prune_plan *plan)
{
	size_t i = 0;

	while (i < n) {
		size_t j = i, entries = 0;
		char name[65];
		void *p;
		int e;

		while (j < n && (j == i || entries + packs[j].count <= INDEX_FILE_ENTRIES))
			entries += packs[j++].count;
		if ((e = lb_repo_write_index(c->r, packs + i, j - i, name)) < 0)
			return e;
		if (!(p = realloc(plan->index_files, (plan->nindex + 1) * sizeof *plan->index_files)))
			return -ENOMEM;
		plan->index_files = p;
		memcpy(plan->index_files[plan->nindex++], name, 65);
		c->st->index_files_out++;
		i = j;
	}
	return 0;
}

static int mark(struct pctx *c, int64_t *bound_ns)
{
	struct lb_repo *r = c->r;
	struct names snaps = { 0 }, idxs = { 0 };
	struct acct a = { .c = c };
	struct lb_prune_plan plan = { 0 };
	struct lb_index_pack *cons = NULL;
	uint64_t *size = NULL;
	uint8_t *on_disk = NULL, *fate = NULL;
	struct lb_packer *pk = NULL;
	size_t ncons = 0, total = 0;
	int e;

	/* names before contents: every index file deleted below is one
	 * whose packs were loaded, every snapshot walked is in the index */
	if ((e = r->be->ops->list(r->be, LB_KIND_SNAPSHOT, names_add, &snaps)) < 0 ||
	    (e = r->be->ops->list(r->be, LB_KIND_INDEX, names_add, &idxs)) < 0)
		goto out;
	c->st->index_files_in = idxs.n;
	if ((e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		goto out;
	if (r->cidx) {
		/* a plan appeared meanwhile (another prune's): leave it be */
		e = lb_err(-LB_E_BUSY, "another prune wrote a plan while this one started");
		goto out;
	}
	say(c, LB_LOG_INFO, "reading %zu snapshot%s", snaps.n, snaps.n == 1 ? "" : "s");
	lb_index_free(c->seen); /* a sweep just before this mark left its set */
	c->seen = NULL;
	if ((e = lb_index_new(&c->seen)) < 0)
		goto out;
	for (size_t i = 0; i < snaps.n; i++)
		if ((e = walk_snapshot(c, snaps.v[i])) < 0)
			goto out;
	c->st->blobs_used = lb_index_count(c->seen);

	/* what every pack holds, live and dead */
	a.npacks = lb_index_npacks(r->idx);
	size = calloc(a.npacks + 1, sizeof *size);
	on_disk = calloc(a.npacks + 1, 1);
	fate = calloc(a.npacks + 1, 1);
	a.live = calloc(a.npacks + 1, sizeof *a.live);
	a.nent = calloc(a.npacks + 1, sizeof *a.nent);
	a.nlive = calloc(a.npacks + 1, sizeof *a.nlive);
	a.start = calloc(a.npacks + 1, sizeof *a.start);
	a.fill = calloc(a.npacks + 1, sizeof *a.fill);
	if (!size || !on_disk || !fate || !a.live || !a.nent || !a.nlive || !a.start || !a.fill) {
		e = -ENOMEM;
		goto out;
	}
	{
		struct disk_ctx d = { .r = r, .size = size, .on_disk = on_disk, .npacks = a.npacks };

		if ((e = r->be->ops->list(r->be, LB_KIND_PACK, disk_cb, &d)) < 0)
			goto out;
	}
	if ((e = lb_index_foreach(r->idx, count_cb, &a)) < 0)
		goto out;
	for (uint32_t p = 0; p < a.npacks; p++) {
		a.start[p] = total;
		total += a.nent[p];
	}
	a.ents = malloc((total ? total : 1) * sizeof *a.ents);
	a.used = malloc(total ? total : 1);
	if (!a.ents || !a.used) {
		e = -ENOMEM;
		goto out;
	}
	if ((e = lb_index_foreach(r->idx, bucket_cb, &a)) < 0)
		goto out;
	/* the used set is not needed past this point: give its memory back */
	lb_index_free(c->seen);
	c->seen = NULL;

	for (uint32_t p = 0; p < a.npacks; p++) {
		uint64_t overhead = LB_PACK_HEADER_LEN + LB_TAG_LEN + LB_PACK_FOOTER_LEN;
		uint64_t dead;

		if (!on_disk[p]) {
			char name[65];

			fate[p] = GONE;
			c->st->packs_gone++;
			lb_hex(name, lb_index_pack_id(r->idx, p), LB_ID_LEN);
			say(c, LB_LOG_WARN, "pack %s: in the index but missing; its %llu blobs leave the index, so the "
			    "next backup stores them again", name, (unsigned long long)a.nent[p]);
			continue;
		}
		c->st->packs++;
		c->st->bytes += size[p];
		c->st->bytes_used += a.live[p];
		dead = size[p] > a.live[p] + overhead ? size[p] - a.live[p] - overhead : 0;
		if (a.nlive[p] == 0) {
			fate[p] = DROP;
			c->st->packs_drop++;
			c->st->bytes_condemned += size[p];
		} else if (dead > 0 && (double)dead * 100.0 >= c->o->repack_pct * (double)size[p] &&
			   c->o->repack_pct < 100) {
			fate[p] = REPACK;
			c->st->packs_repack++;
			c->st->bytes_condemned += size[p];
		}
	}
	c->st->marked = c->st->packs_drop || c->st->packs_repack || c->st->packs_gone || idxs.n > 1;
	if (c->o->dry_run || !c->st->marked)
		goto out;

	if (c->st->packs_repack) {
		say(c, LB_LOG_INFO, "repacking %llu pack%s", (unsigned long long)c->st->packs_repack,
		    c->st->packs_repack == 1 ? "" : "s");
		/* adopted orphans go into the consolidated index below, not
		 * into an index file of the packer's */
		for (size_t i = 0; i < r->norphans; i++)
			free(r->orphans[i].entries);
		free(r->orphans);
		r->orphans = NULL;
		r->norphans = 0;
		if ((e = lb_packer_new(r, 0, &pk)) < 0)
			goto out;
		lb_packer_on_commit(pk, on_commit, c);
		for (uint32_t p = 0; p < a.npacks; p++) {
			if (fate[p] != REPACK)
				continue;
			if ((e = repack_one(c, pk, p, a.ents + a.start[p], a.used + a.start[p], a.nent[p])) < 0)
				goto out;
			step("pack repacked");
		}
		if ((e = lb_packer_flush(pk)) < 0)
			goto out;
		{
			struct lb_packer_stats ps;

			lb_packer_stats(pk, &ps);
			c->st->bytes_written = ps.stored_new;
		}
		lb_packer_free(pk);
		pk = NULL;
		if ((e = c->newp_err) < 0)
			goto out;
	}

	/* the consolidated index: kept packs, then the packs repacking wrote */
	cons = calloc((size_t)a.npacks + c->nnewp + 1, sizeof *cons);
	if (!cons) {
		e = -ENOMEM;
		goto out;
	}
	for (uint32_t p = 0; p < a.npacks; p++) {
		uint32_t num;
		bool is_new = false;

		if (fate[p] != KEEP)
			continue;
		for (size_t k = 0; k < c->nnewp && !is_new; k++)
			is_new = lb_index_pack_find(r->idx, c->newp[k].id, &num) && num == p;
		if (is_new || !a.nent[p])
			continue;
		memcpy(cons[ncons].id, lb_index_pack_id(r->idx, p), LB_ID_LEN);
		cons[ncons].entries = a.ents + a.start[p];
		cons[ncons].count = (uint32_t)a.nent[p];
		ncons++;
	}
	for (size_t k = 0; k < c->nnewp; k++) {
		memcpy(cons[ncons].id, c->newp[k].id, LB_ID_LEN);
		cons[ncons].entries = c->newp[k].e;
		cons[ncons].count = c->newp[k].n;
		ncons++;
	}
	if ((e = write_consolidated(c, cons, ncons, &plan)) < 0)
		goto out;
	step("consolidated index written");

	/* the plan: what goes, with tables of contents for readers meanwhile */
	plan.packs = calloc((size_t)c->st->packs_drop + c->st->packs_repack + 1, sizeof *plan.packs);
	if (!plan.packs) {
		e = -ENOMEM;
		goto out;
	}
	for (uint32_t p = 0; p < a.npacks; p++) {
		struct lb_index_pack *ip;
		uint8_t salt[LB_SALT_LEN];
		uint64_t sz;
		char name[65];

		if (fate[p] != DROP && fate[p] != REPACK)
			continue;
		ip = &plan.packs[plan.npacks++];
		memcpy(ip->id, lb_index_pack_id(r->idx, p), LB_ID_LEN);
		lb_hex(name, ip->id, LB_ID_LEN);
		/* the pack's own table of contents lists every copy in it */
		if (lb_repo_read_pack_toc(r, name, &ip->entries, &ip->count, salt, &sz) < 0) {
			lb_err_clear();
			ip->entries = malloc((a.nent[p] ? a.nent[p] : 1) * sizeof *a.ents);
			if (!ip->entries) {
				e = -ENOMEM;
				goto out;
			}
			memcpy(ip->entries, a.ents + a.start[p], a.nent[p] * sizeof *a.ents);
			ip->count = (uint32_t)a.nent[p];
		}
	}
	if (!(plan.snapshots = calloc(snaps.n + 1, sizeof *plan.snapshots))) {
		e = -ENOMEM;
		goto out;
	}
	qsort(snaps.v, snaps.n, sizeof *snaps.v, cmp_name);
	memcpy(plan.snapshots, snaps.v, snaps.n * sizeof *snaps.v);
	plan.nsnap = snaps.n;
	qsort(plan.index_files, plan.nindex, sizeof *plan.index_files, cmp_name);
	plan.time_s = lb_now_ns() / NS;
	plan.grace_s = c->o->grace_s;
	plan.pid = (long)getpid();
	gethostname(plan.host, sizeof plan.host - 1);
	if ((e = lb_plan_write(r, &plan)) < 0)
		goto out;
	step("plan written");
	/* any run that announced itself before this instant may not have seen the plan */
	*bound_ns = lb_now_ns();
	c->st->plan_pending = true;
	c->st->plan_time_s = plan.time_s;
	/* the index files the consolidated ones replace */
	for (size_t i = 0; i < idxs.n; i++)
		if (!names_has(plan.index_files, plan.nindex, idxs.v[i]) &&
		    (e = r->be->ops->remove(r->be, LB_KIND_INDEX, idxs.v[i])) < 0 && e != -ENOENT)
			goto out;
		else
			step("old index file removed");
	e = 0;
out:
	if (pk)
		lb_packer_free(pk);
	lb_plan_release(&plan);
	free(cons);
	free(size);
	free(on_disk);
	free(fate);
	free(a.live);
	free(a.nent);
	free(a.nlive);
	free(a.start);
	free(a.fill);
	free(a.ents);
	free(a.used);
	free(snaps.v);
	free(idxs.v);
	return e;
}

/* ---- housekeeping ---- */

struct temp_ctx {
	struct lb_repo *r;
	enum lb_kind k;
	int64_t now;
	uint64_t removed;
};

static int temp_cb(const char *name, uint64_t size, int64_t mtime, void *ctx)
{
	struct temp_ctx *t = ctx;

	(void)size;
	if (t->now - mtime > TEMP_MAX_AGE_S && t->r->be->ops->remove_temp &&
	    t->r->be->ops->remove_temp(t->r->be, t->k, name) == 0)
		t->removed++;
	lb_err_clear();
	return 0;
}

int lb_prune_run(struct lb_repo *r, const struct lb_prune_opts *o, struct lb_prune_stats *st)
{
	struct pctx c = { .r = r, .o = o, .st = st };
	struct lb_marker *self = NULL;
	struct lb_prune_plan plan;
	int64_t bound_ns = 0;
	int e;

	memset(st, 0, sizeof *st);
	pthread_mutex_init(&c.mu, NULL);
	lb_buf_init(&c.buf, LB_INDEX_FILE_MAX);
	/* one prune at a time: announce, then yield to any older prune */
	if ((e = lb_marker_start(r, "prune", &self)) < 0)
		goto out;
	{
		struct mk_ctx k = { .c = &c, .own_prune = lb_marker_name(self),
				    .own_start_ns = lb_marker_start_ns(self), .cleanup = true };

		if ((e = lb_markers_list(r, marker_cb, &k)) < 0)
			goto out;
		if (k.other_prune) {
			e = lb_err(-LB_E_BUSY, "another prune is running: %s", k.who);
			goto out;
		}
	}
	e = lb_plan_read(r, &plan);
	if (e == 0) {
		char t[64];

		say(&c, LB_LOG_INFO, "a plan from %s condemns %zu pack%s", when(plan.time_s, t, sizeof t), plan.npacks,
		    plan.npacks == 1 ? "" : "s");
		e = sweep(&c, &plan, plan.time_s * NS + SKEW_SAME_HOST_S * NS);
		lb_plan_release(&plan);
		if (e < 0 || st->plan_pending)
			goto out; /* nothing new is condemned while a plan waits */
	} else if (e != -ENOENT) {
		goto out;
	}
	if ((e = mark(&c, &bound_ns)) < 0)
		goto out;
	if (!o->dry_run && st->plan_pending && o->grace_s == 0) {
		if ((e = lb_plan_read(r, &plan)) < 0)
			goto out;
		e = sweep(&c, &plan, bound_ns);
		lb_plan_release(&plan);
		if (e < 0)
			goto out;
	}
	if (!o->dry_run) {
		for (int k = 0; k < LB_KIND_COUNT; k++) {
			struct temp_ctx t = { .r = r, .k = (enum lb_kind)k, .now = lb_now_ns() / NS };

			r->be->ops->list_temp(r->be, (enum lb_kind)k, temp_cb, &t);
			st->temps_removed += t.removed;
		}
	}
	e = 0;
out:
	lb_marker_stop(self);
	lb_index_free(c.seen);
	for (size_t i = 0; i < c.nnewp; i++)
		free(c.newp[i].e);
	free(c.newp);
	lb_buf_release(&c.buf);
	pthread_mutex_destroy(&c.mu);
	return e;
}
