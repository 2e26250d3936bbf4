#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lifeboat/check.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/source.h"
#include "lifeboat/tree.h"
#include "store/store.h"

struct cpack {
	uint8_t id[LB_ID_LEN];
	struct lb_toc_entry *idx_entries; /* as the index files list it (first listing) */
	uint32_t idx_count;
	bool in_index, on_disk;
	uint64_t size;
};

struct cctx {
	struct lb_repo *r;
	const struct lb_check_opts *o;
	struct lb_check_stats *st;
	struct lb_index *packmap; /* pack id -> slot in packs (loc.offset) */
	struct cpack *packs;
	size_t npacks, cap;
	struct lb_index *seen;    /* trees already walked */
	struct lb_buf buf;
	const char *cur_index;
	pthread_mutex_t mu;       /* reports and stats while packs are read in parallel */
	size_t next_pack;         /* read-data: the next pack to take */
	const uint8_t *pick;
};

static void say(struct cctx *c, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void say(struct cctx *c, int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&c->mu);
	if (level == LB_LOG_ERROR)
		c->st->errors++;
	else if (level == LB_LOG_WARN)
		c->st->warnings++;
	if (c->o->report)
		c->o->report(c->o->ctx, level, msg);
	pthread_mutex_unlock(&c->mu);
}

static void count(struct cctx *c, uint64_t *field, uint64_t n)
{
	__atomic_add_fetch(field, n, __ATOMIC_RELAXED);
}

static struct cpack *pack_get(struct cctx *c, const uint8_t id[LB_ID_LEN], bool create)
{
	struct lb_blob_loc loc;

	if (lb_index_lookup(c->packmap, id, &loc))
		return &c->packs[loc.offset];
	if (!create)
		return NULL;
	if (c->npacks == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 256;
		void *p = realloc(c->packs, ncap * sizeof *c->packs);

		if (!p)
			return NULL;
		c->packs = p;
		c->cap = ncap;
	}
	memset(&loc, 0, sizeof loc);
	loc.offset = (uint32_t)c->npacks;
	loc.type = LB_BLOB_DATA;
	if (lb_index_add(c->packmap, id, &loc) < 0)
		return NULL;
	memset(&c->packs[c->npacks], 0, sizeof *c->packs);
	memcpy(c->packs[c->npacks].id, id, LB_ID_LEN);
	return &c->packs[c->npacks++];
}

/* ---- index files ---- */

static int index_pack_cb(const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e, uint32_t count, void *ctx)
{
	struct cctx *c = ctx;
	struct cpack *p = pack_get(c, pack_id, true);

	if (!p)
		return -ENOMEM;
	if (p->in_index)
		return 0; /* listed twice (an adopted orphan, or a concurrent writer): harmless */
	p->in_index = true;
	p->idx_entries = malloc((count ? count : 1) * sizeof *e);
	if (!p->idx_entries)
		return -ENOMEM;
	memcpy(p->idx_entries, e, count * sizeof *e);
	p->idx_count = count;
	c->st->blobs += count;
	return 0;
}

static int index_cb(const char *name, uint64_t size, void *ctx)
{
	struct cctx *c = ctx;
	int e;

	c->st->index_files++;
	e = lb_repo_get_sealed(c->r, LB_KIND_INDEX, name, &c->buf);
	if (e == 0) {
		e = lb_index_file_decode(c->buf.data, c->buf.len, index_pack_cb, c);
		if (e < 0 && e != -ENOMEM)
			lb_err_wrap(e, "index %s", name);
	}
	if (e == -ENOMEM)
		return e;
	if (e < 0)
		say(c, LB_LOG_ERROR, "%s", lb_errmsg());
	return 0;
}

/* ---- packs ---- */

static int disk_pack_cb(const char *name, uint64_t size, void *ctx)
{
	struct cctx *c = ctx;
	uint8_t id[LB_ID_LEN];
	struct cpack *p;

	if (lb_unhex(id, LB_ID_LEN, name) < 0)
		return 0;
	p = pack_get(c, id, true);
	if (!p)
		return -ENOMEM;
	p->on_disk = true;
	p->size = size;
	return 0;
}

static void check_pack_structure(struct cctx *c, struct cpack *p)
{
	struct lb_toc_entry *toc = NULL;
	uint8_t salt[LB_SALT_LEN];
	char name[65], bid[65];
	uint32_t n;
	uint64_t size;
	int e;

	lb_hex(name, p->id, LB_ID_LEN);
	if (!p->on_disk) {
		say(c, LB_LOG_ERROR, "pack %s: listed in the index but missing from the repository", name);
		return;
	}
	if (!p->in_index && lb_repo_pack_condemned(c->r, p->id))
		say(c, LB_LOG_INFO, "pack %s: condemned by prune, deleted at its next sweep", name);
	else if (!p->in_index)
		say(c, LB_LOG_WARN, "pack %s: not listed in any index (left by an interrupted backup; "
		    "the next backup indexes it)", name);
	e = lb_repo_read_pack_toc(c->r, name, &toc, &n, salt, &size);
	if (e < 0) {
		say(c, LB_LOG_ERROR, "%s", lb_errmsg());
		return;
	}
	if (p->in_index) {
		/* every blob the index promises must be where it says */
		for (uint32_t i = 0; i < p->idx_count; i++) {
			const struct lb_toc_entry *want = &p->idx_entries[i];
			bool found = false;
			uint32_t lo = 0, hi = n;

			/* a table of contents is in offset order (validated) */
			while (lo < hi) {
				uint32_t mid = lo + (hi - lo) / 2;

				if (toc[mid].offset < want->offset)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < n)
				found = toc[lo].offset == want->offset && !memcmp(toc[lo].id, want->id, LB_ID_LEN) &&
					toc[lo].stored_len == want->stored_len && toc[lo].raw_len == want->raw_len &&
					toc[lo].type == want->type;
			if (!found) {
				lb_hex(bid, want->id, LB_ID_LEN);
				say(c, LB_LOG_ERROR, "pack %s: blob %s: in the index but not in the pack's table of contents",
				    name, bid);
			}
		}
	}
	free(toc);
}

/* Reads a whole pack and verifies every blob: authentication, decompression,
 * and the keyed hash against the id. */
static void read_pack(struct cctx *c, struct cpack *p)
{
	struct lb_toc_entry *toc = NULL;
	const struct lb_toc_entry *list;
	struct lb_aead *aead = NULL;
	uint8_t salt[LB_SALT_LEN], key[LB_KEY_LEN], hdr[LB_PACK_HEADER_LEN];
	struct lb_buf out;
	char name[65], bid[65];
	uint8_t *data = NULL;
	uint32_t n;
	uint64_t size;
	int e, have_key = 0;

	lb_hex(name, p->id, LB_ID_LEN);
	if (!p->on_disk)
		return;
	lb_buf_init(&out, LB_BLOB_MAX);
	e = lb_repo_read_pack_toc(c->r, name, &toc, &n, salt, &size);
	if (e < 0) {
		/* the table of contents is damaged: the index still says where blobs are */
		list = p->idx_entries;
		n = p->idx_count;
		size = p->size;
	} else {
		list = toc;
	}
	count(c, &c->st->packs_read, 1);
	if (size > (uint64_t)LB_PACK_MAX_BYTES + (16u << 20)) {
		say(c, LB_LOG_ERROR, "pack %s: implausible size %llu", name, (unsigned long long)size);
		goto out;
	}
	data = malloc(size ? size : 1);
	if (!data) {
		say(c, LB_LOG_ERROR, "pack %s: out of memory reading %llu bytes", name, (unsigned long long)size);
		goto out;
	}
	lb_progress_op(c->o->progress, name);
	e = c->r->be->ops->read_at(c->r->be, LB_KIND_PACK, name, 0, data, size);
	if (e < 0) {
		say(c, LB_LOG_ERROR, "%s", lb_errmsg());
		goto out;
	}
	count(c, &c->st->bytes_read, size);
	if (c->o->progress)
		__atomic_add_fetch(&c->o->progress->bytes, size, __ATOMIC_RELAXED);
	memcpy(hdr, data, LB_MIN(size, sizeof hdr));
	if (size >= sizeof hdr && lb_pack_header_decode(hdr, salt) == 0 && lb_repo_pack_key(c->r, salt, key) == 0)
		have_key = 1;
	else
		say(c, LB_LOG_ERROR, "pack %s: header damaged; none of its %u blobs can be read", name, n);
	if (have_key && lb_aead_new(c->r->cfg.enc, key, &aead) < 0) {
		say(c, LB_LOG_ERROR, "pack %s: %s", name, lb_errmsg());
		have_key = 0;
	}
	for (uint32_t i = 0; have_key && i < n; i++) {
		const struct lb_toc_entry *te = &list[i];
		uint64_t reclen = LB_BLOB_HEADER_LEN + (uint64_t)te->stored_len + LB_TAG_LEN;

		lb_hex(bid, te->id, LB_ID_LEN);
		if ((uint64_t)te->offset + reclen > size) {
			say(c, LB_LOG_ERROR, "pack %s: blob %s: lies beyond the end of the pack", name, bid);
			continue;
		}
		e = lb_repo_open_blob_with(c->r, aead, te->offset, data + te->offset, reclen, te, &out);
		count(c, &c->st->blobs_read, 1);
		if (e < 0)
			say(c, LB_LOG_ERROR, "pack %s: blob %s (offset %u): %s", name, bid, te->offset, lb_errmsg());
	}
	if (have_key && !toc)
		say(c, LB_LOG_ERROR, "pack %s: %u blobs read through the index; its table of contents is damaged",
		    name, n);
out:
	lb_wipe(key, sizeof key);
	lb_aead_free(aead);
	lb_buf_release(&out);
	free(data);
	free(toc);
}

/* ---- snapshots and trees ---- */

static void check_tree(struct cctx *c, const uint8_t id[32], const char *snap, struct lb_buf *path, int depth)
{
	struct lb_blob_loc dummy = { .type = LB_BLOB_TREE };
	struct lb_tree t;
	char hex[65];
	int e;

	if (lb_index_lookup(c->seen, id, NULL))
		return;
	lb_index_add(c->seen, id, &dummy);
	c->st->trees++;
	lb_hex(hex, id, 32);
	if (depth > 100000) {
		say(c, LB_LOG_ERROR, "snapshot %.12s: %s: tree nesting too deep", snap, (char *)path->data);
		return;
	}
	e = lb_repo_read_blob(c->r, id, LB_BLOB_TREE, &c->buf);
	if (e == 0)
		e = lb_tree_decode(c->buf.data, c->buf.len, &t);
	if (e < 0) {
		char esc[1100];

		lb_escape(esc, sizeof esc, path->data, path->len);
		say(c, LB_LOG_ERROR, "snapshot %.12s: directory %s (tree %s): %s", snap, path->len ? esc : "/", hex,
		    lb_errmsg());
		return;
	}
	for (size_t i = 0; i < t.n; i++) {
		const struct lb_node *n = &t.nodes[i];
		size_t saved = path->len;

		lb_buf_put_u8(path, '/');
		lb_buf_append(path, n->name, n->namelen);
		lb_buf_put_u8(path, 0);
		path->len--;
		if (!lb_name_valid(n->name, n->namelen)) {
			char esc[1100];

			lb_escape(esc, sizeof esc, path->data, path->len);
			say(c, LB_LOG_ERROR, "snapshot %.12s: %s (in tree %s): invalid name (restore refuses it)", snap,
			    esc, hex);
		}
		else if (i > 0 && lb_name_cmp(t.nodes[i - 1].name, t.nodes[i - 1].namelen, n->name, n->namelen) >= 0) {
			char esc[1100];

			lb_escape(esc, sizeof esc, path->data, path->len);
			say(c, LB_LOG_ERROR, "snapshot %.12s: %s: entries out of order or duplicated", snap, esc);
		}
		if (n->type == LB_NODE_FILE) {
			pthread_mutex_lock(&c->r->lock);
			for (size_t k = 0; k < n->nextents; k++) {
				struct lb_blob_loc loc;

				if (n->extents[k].hole)
					continue;
				bool found = lb_index_lookup(c->r->idx, n->extents[k].id, &loc);
				bool condemned = !found && c->r->cidx && lb_index_lookup(c->r->cidx, n->extents[k].id, &loc);

				if (condemned && loc.type == LB_BLOB_DATA && loc.raw_len == n->extents[k].len) {
					char bid[65], esc[1100];

					lb_hex(bid, n->extents[k].id, 32);
					lb_escape(esc, sizeof esc, path->data, path->len);
					pthread_mutex_unlock(&c->r->lock);
					say(c, LB_LOG_WARN, "snapshot %.12s: %s: data blob %s is only in a pack prune "
					    "condemned; the next prune keeps that pack", snap, esc, bid);
					pthread_mutex_lock(&c->r->lock);
					continue;
				}

				if (!found || loc.type != LB_BLOB_DATA || loc.raw_len != n->extents[k].len) {
					char bid[65], esc[1100];

					lb_hex(bid, n->extents[k].id, 32);
					lb_escape(esc, sizeof esc, path->data, path->len);
					pthread_mutex_unlock(&c->r->lock);
					if (!found || loc.type != LB_BLOB_DATA)
						say(c, LB_LOG_ERROR, "snapshot %.12s: %s: data blob %s is missing", snap,
						    esc, bid);
					else
						say(c, LB_LOG_ERROR, "snapshot %.12s: %s: data blob %s holds %u bytes, "
						    "the tree says %llu", snap, esc, bid, loc.raw_len,
						    (unsigned long long)n->extents[k].len);
					pthread_mutex_lock(&c->r->lock);
				}
			}
			pthread_mutex_unlock(&c->r->lock);
		} else if (n->type == LB_NODE_DIR) {
			check_tree(c, n->subtree, snap, path, depth + 1);
		}
		path->len = saved;
		path->data[saved] = 0;
	}
	lb_tree_release(&t);
}

struct tree_ctx {
	struct cctx *c;
	struct lb_snapshot *s;
	struct lb_buf *path;
};

static int check_one_tree(const uint8_t tree[32], const char *what, void *ctx)
{
	struct tree_ctx *t = ctx;

	/* a source's tree shows as /@mysql/... in messages */
	lb_buf_reset(t->path);
	if (strcmp(what, "files"))
		lb_buf_append(t->path, "/@", 2), lb_buf_append(t->path, what, strlen(what));
	lb_buf_put_u8(t->path, 0);
	t->path->len--;
	check_tree(t->c, tree, t->s->id, t->path, 0);
	return 0;
}

static int check_snapshot(struct cctx *c, const char *name)
{
	struct tree_ctx tc;
	struct lb_snapshot *s;
	struct lb_buf path;
	int e;

	c->st->snapshots++;
	e = lb_snapshot_load(c->r, name, &s);
	if (e == -ENOMEM)
		return e;
	if (e < 0) {
		say(c, LB_LOG_ERROR, "%s", lb_errmsg());
		return 0;
	}
	lb_buf_init(&path, 0);
	lb_buf_put_u8(&path, 0);
	path.len = 0;
	tc.c = c;
	tc.s = s;
	tc.path = &path;
	e = lb_snapshot_trees(s, check_one_tree, &tc);
	if (e < 0 && e != -ENOMEM)
		say(c, LB_LOG_ERROR, "%s", lb_errmsg());
	lb_buf_release(&path);
	lb_snapshot_free(s);
	return e == -ENOMEM ? e : 0;
}

struct temp_ctx {
	uint64_t count, bytes;
};

static int temp_cb(const char *name, uint64_t size, int64_t mtime, void *ctx)
{
	struct temp_ctx *t = ctx;

	t->count++;
	t->bytes += size;
	return 0;
}

struct names {
	char (*v)[65];
	size_t n, cap;
};

static int name_cb(const char *name, uint64_t size, void *ctx)
{
	struct names *l = ctx;

	if (strlen(name) > 64)
		return 0;
	if (l->n == l->cap) {
		size_t ncap = l->cap ? l->cap * 2 : 64;
		void *p = realloc(l->v, ncap * sizeof *l->v);

		if (!p)
			return -ENOMEM;
		l->v = p;
		l->cap = ncap;
	}
	snprintf(l->v[l->n++], 65, "%s", name);
	return 0;
}

static bool chosen(const struct lb_check_opts *o, const struct cpack *p, size_t i, size_t n, const uint8_t *pick);

static void *read_main(void *arg)
{
	struct cctx *c = arg;

	for (;;) {
		size_t i = __atomic_fetch_add(&c->next_pack, 1, __ATOMIC_RELAXED);

		if (i >= c->npacks || (c->o->progress && c->o->progress->cancel))
			break;
		if (chosen(c->o, &c->packs[i], i, c->npacks, c->pick))
			read_pack(c, &c->packs[i]);
	}
	return NULL;
}

/* Reads the chosen packs on one thread per CPU. */
static int read_all_packs(struct cctx *c)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	pthread_t th[64];
	unsigned n = 0;

	for (long i = 1; i < ncpu && i < 64; i++)
		if (pthread_create(&th[n], NULL, read_main, c) == 0)
			n++;
	read_main(c);
	for (unsigned i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	if (c->o->progress && c->o->progress->cancel)
		return lb_err(-LB_E_CANCELED, "canceled");
	return 0;
}

static bool chosen(const struct lb_check_opts *o, const struct cpack *p, size_t i, size_t n, const uint8_t *pick)
{
	if (o->subset_m)
		return lb_le32_get(p->id) % o->subset_m == o->subset_n - 1;
	if (o->subset_pct > 0 && o->subset_pct < 100)
		return pick[i];
	return true;
}

int lb_check_run(struct lb_repo *r, const struct lb_check_opts *o, struct lb_check_stats *st)
{
	struct cctx c = { .r = r, .o = o, .st = st };
	struct names snaps = { 0 };
	uint8_t *pick = NULL;
	int e;

	memset(st, 0, sizeof *st);
	pthread_mutex_init(&c.mu, NULL);
	lb_buf_init(&c.buf, LB_INDEX_FILE_MAX);
	if ((e = lb_index_new(&c.packmap)) < 0 || (e = lb_index_new(&c.seen)) < 0)
		goto out;
	/* snapshots first: one a concurrent backup commits later is not
	 * checked, rather than checked against an index read before it */
	if ((e = r->be->ops->list(r->be, LB_KIND_SNAPSHOT, name_cb, &snaps)) < 0)
		goto out;
	/* every blob any pack holds, for the tree walk below */
	if ((e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		goto out;
	if ((e = r->be->ops->list(r->be, LB_KIND_INDEX, index_cb, &c)) < 0)
		goto out;
	if ((e = r->be->ops->list(r->be, LB_KIND_PACK, disk_pack_cb, &c)) < 0)
		goto out;
	st->packs = c.npacks;
	for (size_t i = 0; i < c.npacks; i++)
		check_pack_structure(&c, &c.packs[i]);
	for (size_t i = 0; i < snaps.n; i++)
		if ((e = check_snapshot(&c, snaps.v[i])) < 0)
			goto out;
	{
		struct temp_ctx t = { 0 };

		for (int k = 0; k < LB_KIND_COUNT; k++)
			r->be->ops->list_temp(r->be, (enum lb_kind)k, temp_cb, &t);
		if (t.count)
			say(&c, LB_LOG_WARN, "%llu temporary file%s (%llu bytes) left by interrupted writers; "
			    "harmless, and safe to delete while no backup runs", (unsigned long long)t.count,
			    t.count == 1 ? "" : "s", (unsigned long long)t.bytes);
	}
	if (o->read_data) {
		pick = calloc(c.npacks ? c.npacks : 1, 1);
		if (!pick) {
			e = -ENOMEM;
			goto out;
		}
		if (o->subset_pct > 0 && o->subset_pct < 100 && c.npacks) {
			size_t want = (size_t)((double)c.npacks * o->subset_pct / 100.0 + 0.999999);

			/* a random subset: over nights, every pack gets its turn */
			for (size_t k = 0; k < want && k < c.npacks;) {
				uint32_t rnd;
				size_t i;

				lb_random(&rnd, sizeof rnd);
				i = rnd % c.npacks;
				if (!pick[i]) {
					pick[i] = 1;
					k++;
				}
			}
		}
		if (o->progress) {
			uint64_t total = 0;

			for (size_t i = 0; i < c.npacks; i++)
				if (chosen(o, &c.packs[i], i, c.npacks, pick))
					total += c.packs[i].size;
			__atomic_store_n(&o->progress->bytes_total, total, __ATOMIC_RELAXED);
			__atomic_store_n(&o->progress->total_done, 1, __ATOMIC_RELAXED);
		}
		c.pick = pick;
		e = read_all_packs(&c);
		if (e < 0)
			goto out;
	}
	e = 0;
out:
	free(snaps.v);
	free(pick);
	for (size_t i = 0; i < c.npacks; i++)
		free(c.packs[i].idx_entries);
	free(c.packs);
	lb_index_free(c.packmap);
	lb_index_free(c.seen);
	lb_buf_release(&c.buf);
	pthread_mutex_destroy(&c.mu);
	return e;
}
