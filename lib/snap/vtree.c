/* Virtual trees: files that exist only in a snapshot (a table's rows, a
 * schema), written by sources as streams.  Content goes through the same
 * chunker and packer as real files, so identical rows from night to night
 * deduplicate, and nothing is ever staged on disk. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifeboat/browse.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/version.h"
#include "snap/vtree.h"

#define VTREE_SLOTS_MIN 64u

struct vnode {
	char *name;
	size_t namelen;
	bool dir;
	bool implicit;            /* a directory made for what it holds, never described */
	struct vnode *parent;     /* NULL for the root */
	struct lb_node node;      /* metadata (no name); files: extents too */
	struct vnode **kids;      /* directories */
	size_t nkids, capkids;
};

struct lb_vtree {
	struct lb_repo *r;
	struct lb_packer *pk;
	pthread_mutex_t mu;       /* guards the node tree and the slots */
	struct vnode root;
	struct lb_vmeta dirmeta;
	uint64_t files, bytes;
	/* every vnode by (parent, name), open addressing: an archive's
	 * directory of 100 000 entries must not cost a scan per entry */
	struct vnode **slots;
	size_t nslots, nused;
};

struct lb_vfile {
	struct lb_vtree *t;
	char *path;
	struct lb_vmeta meta;
	struct lb_node *full;     /* metadata from lb_vfile_set_node(), or NULL */
	unsigned flags;           /* LB_VTREE_* */
	uint8_t *buf;             /* at least two maximum chunks, to cut in */
	size_t have, cap;
	struct lb_node node;      /* extents as they are cut */
};

int lb_vtree_new(struct lb_repo *r, struct lb_packer *pk, struct lb_vtree **ret)
{
	struct lb_vtree *t = calloc(1, sizeof *t);

	if (!t)
		return -ENOMEM;
	t->r = r;
	t->pk = pk;
	pthread_mutex_init(&t->mu, NULL);
	t->root.dir = true;
	t->dirmeta.mode = 0755;
	t->dirmeta.mtime_s = lb_now_ns() / 1000000000;
	*ret = t;
	return 0;
}

static void vnode_release(struct vnode *v)
{
	for (size_t i = 0; i < v->nkids; i++) {
		vnode_release(v->kids[i]);
		free(v->kids[i]);
	}
	free(v->kids);
	free(v->name);
	lb_node_release(&v->node);
}

void lb_vtree_free(struct lb_vtree *t)
{
	if (!t)
		return;
	vnode_release(&t->root);
	free(t->slots);
	pthread_mutex_destroy(&t->mu);
	free(t);
}

void lb_vtree_dir_meta(struct lb_vtree *t, const struct lb_vmeta *m)
{
	t->dirmeta = *m;
}

void lb_vtree_stats(struct lb_vtree *t, uint64_t *files, uint64_t *bytes)
{
	pthread_mutex_lock(&t->mu);
	*files = t->files;
	*bytes = t->bytes;
	pthread_mutex_unlock(&t->mu);
}

static void fill_meta(struct lb_node *n, const struct lb_vmeta *m, uint8_t type)
{
	n->type = type;
	n->mode = m->mode & 07777;
	n->uid = m->uid;
	n->gid = m->gid;
	n->mtime_s = n->atime_s = n->ctime_s = m->mtime_s;
	n->mtime_ns = n->atime_ns = n->ctime_ns = m->mtime_ns;
	n->nlink = 1;
	n->user = strdup("");
	n->group = strdup("");
}

static uint64_t slot_hash(const struct vnode *dir, const char *name, size_t len)
{
	uint64_t h = 1469598103934665603ull ^ ((uint64_t)(uintptr_t)dir * 0x9e3779b97f4a7c15ull);

	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)name[i];
		h *= 1099511628211ull;
	}
	return h ^ (h >> 31);
}

/* The slot of (dir, name): the vnode, or the empty slot it would take. */
static struct vnode **slot_find(struct lb_vtree *t, const struct vnode *dir, const char *name, size_t len)
{
	size_t mask = t->nslots - 1, i = (size_t)slot_hash(dir, name, len) & mask;

	for (;; i = (i + 1) & mask) {
		struct vnode *v = t->slots[i];

		if (!v || (v->parent == dir && v->namelen == len && !memcmp(v->name, name, len)))
			return &t->slots[i];
	}
}

static int slots_grow(struct lb_vtree *t)
{
	size_t old = t->nslots, ncap = old ? old * 2 : VTREE_SLOTS_MIN;
	struct vnode **prev = t->slots;

	if (ncap / 2 < old || !(t->slots = calloc(ncap, sizeof *t->slots))) {
		t->slots = prev;
		return -ENOMEM;
	}
	t->nslots = ncap;
	for (size_t i = 0; i < old; i++)
		if (prev[i])
			*slot_find(t, prev[i]->parent, prev[i]->name, prev[i]->namelen) = prev[i];
	free(prev);
	return 0;
}

/* Finds or makes the child name of dir (t->mu held); a new one is a
 * directory with dir_meta when mkdir, else an empty entry (type 0) for
 * the caller to fill. */
static struct vnode *child(struct lb_vtree *t, struct vnode *dir, const char *name, size_t len, bool mkdir)
{
	struct vnode *v, **slot;

	if ((t->nused + 1) * 2 > t->nslots && slots_grow(t) < 0)
		return NULL;
	slot = slot_find(t, dir, name, len);
	if (*slot)
		return *slot;
	if (dir->nkids == dir->capkids) {
		size_t ncap = dir->capkids ? dir->capkids * 2 : 8;
		void *p = realloc(dir->kids, ncap * sizeof *dir->kids);

		if (!p)
			return NULL;
		dir->kids = p;
		dir->capkids = ncap;
	}
	v = calloc(1, sizeof *v);
	if (!v || !(v->name = strndup(name, len))) {
		free(v);
		return NULL;
	}
	v->namelen = len;
	v->parent = dir;
	v->dir = mkdir;
	v->implicit = mkdir;
	if (mkdir)
		fill_meta(&v->node, &t->dirmeta, LB_NODE_DIR);
	dir->kids[dir->nkids++] = v;
	*slot = v;
	t->nused++;
	return v;
}

/* Every component of path is a name restore accepts. */
static int check_path(const char *path)
{
	const char *p = path;

	if (!*p)
		return lb_err(-EINVAL, "virtual file: empty path");
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!lb_name_valid((const uint8_t *)p, len))
			return lb_err(-EINVAL, "virtual file %s: invalid name", path);
		p += len + (slash ? 1 : 0);
	}
	return 0;
}

/* The vnode for path, made (with its parents) if missing (t->mu held): a
 * new last component is a directory when last_dir, else an empty entry. */
static int walk_path(struct lb_vtree *t, const char *path, bool last_dir, struct vnode **ret)
{
	struct vnode *dir = &t->root, *v;
	const char *p = path;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		v = child(t, dir, p, len, slash != NULL || last_dir);
		if (!v)
			return -ENOMEM;
		if (!slash)
			break;
		if (!v->dir)
			return lb_err(-ENOTDIR, "%s: a file is in the way of %.*s", path, (int)(slash - path), path);
		dir = v;
		p = slash + 1;
	}
	*ret = v;
	return 0;
}

/* Looks path up without making anything (t->mu held); NULL if absent. */
static struct vnode *find_path(struct lb_vtree *t, const char *path)
{
	struct vnode *v = &t->root, **slot;
	const char *p = path;

	while (*p && v) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);

		if (!t->nslots)
			return NULL;
		slot = slot_find(t, v, p, len);
		v = *slot;
		p += len + (slash ? 1 : 0);
	}
	return v;
}

static int cmp_xattr(const void *a, const void *b)
{
	return strcmp(((const struct lb_xattr *)a)->name, ((const struct lb_xattr *)b)->name);
}

/* A deep copy of src's metadata into dst (released first), without the
 * name; with content, a file's size and extents too. */
static int copy_meta(struct lb_node *dst, const struct lb_node *src, bool content)
{
	struct lb_node tmp = *src;
	int e;

	tmp.name = NULL;
	tmp.namelen = 0;
	if (!content) {
		tmp.extents = NULL;
		tmp.nextents = tmp.capextents = 0;
		tmp.size = 0;
	}
	lb_node_release(dst);
	if ((e = lb_node_copy(dst, &tmp)) < 0)
		return e;
	if (!dst->user && !(dst->user = strdup("")))
		goto nomem;
	if (!dst->group && !(dst->group = strdup("")))
		goto nomem;
	dst->mode &= 07777;
	if (dst->nxattrs > 1)
		qsort(dst->xattrs, dst->nxattrs, sizeof *dst->xattrs, cmp_xattr);
	return 0;
nomem:
	lb_node_release(dst);
	return -ENOMEM;
}

/* Takes the regular file at v (if it is one) out of t's file and byte
 * totals, before it is replaced. */
static void uncount(struct lb_vtree *t, const struct vnode *v)
{
	if (!v->dir && v->node.type == LB_NODE_FILE) {
		t->files--;
		t->bytes -= v->node.size;
	}
}

int lb_vtree_add_node(struct lb_vtree *t, const char *path, const struct lb_node *n, unsigned flags)
{
	bool isdir = n->type == LB_NODE_DIR;
	struct vnode *v;
	int e;

	if ((e = check_path(path)) < 0)
		return e;
	if (n->type < LB_NODE_FILE || n->type > LB_NODE_BLK)
		return lb_err(-EINVAL, "%s: unknown entry type %u", path, n->type);
	pthread_mutex_lock(&t->mu);
	if ((e = walk_path(t, path, isdir, &v)) < 0)
		goto out;
	if (v->dir && !isdir) {
		e = lb_err(-EEXIST, "%s: a directory is in the way", path);
		goto out;
	}
	if (!isdir && v->node.type && !(flags & LB_VTREE_REPLACE)) {
		e = lb_err(-EEXIST, "%s: added twice", path);
		goto out;
	}
	/* a file, symlink... replaced by a directory of the same name */
	if (isdir && !v->dir && v->node.type && !(flags & LB_VTREE_REPLACE)) {
		e = lb_err(-EEXIST, "%s: added twice", path);
		goto out;
	}
	uncount(t, v); /* an entry replaced is no longer in the totals */
	if (isdir)
		v->dir = true;
	if ((e = copy_meta(&v->node, n, !isdir)) < 0)
		goto out;
	v->implicit = false;
	if (isdir) {
		memset(v->node.subtree, 0, sizeof v->node.subtree);
		v->node.size = 0;
	} else if (n->type == LB_NODE_FILE) {
		t->files++;
		t->bytes += n->size;
	}
out:
	pthread_mutex_unlock(&t->mu);
	return e;
}

static void restamp(struct vnode *d, const struct lb_vmeta *m)
{
	for (size_t i = 0; i < d->nkids; i++) {
		struct vnode *k = d->kids[i];

		if (!k->dir)
			continue;
		if (k->implicit) {
			lb_node_release(&k->node);
			fill_meta(&k->node, m, LB_NODE_DIR);
		}
		restamp(k, m);
	}
}

void lb_vtree_restamp_implicit(struct lb_vtree *t, const struct lb_vmeta *m)
{
	pthread_mutex_lock(&t->mu);
	restamp(&t->root, m);
	pthread_mutex_unlock(&t->mu);
}

int lb_vtree_lookup(struct lb_vtree *t, const char *path, struct lb_node *out)
{
	struct vnode *v;
	int e;

	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&t->mu);
	v = find_path(t, path);
	if (!v || (!v->dir && !v->node.type))
		e = lb_err(-LB_E_NOTFOUND, "%s: not in the tree", path);
	else
		e = copy_meta(out, &v->node, true);
	pthread_mutex_unlock(&t->mu);
	return e;
}

int lb_vfile_open(struct lb_vtree *t, const char *path, const struct lb_vmeta *m, struct lb_vfile **ret)
{
	struct lb_vfile *f;
	int e;

	if ((e = check_path(path)) < 0)
		return e;
	f = calloc(1, sizeof *f);
	if (!f)
		return -ENOMEM;
	f->t = t;
	f->meta = *m;
	f->path = strdup(path);
	f->cap = 2 * (size_t)t->r->cfg.chunk_max;
	f->buf = malloc(f->cap);
	if (!f->path || !f->buf) {
		lb_vfile_abort(f);
		return -ENOMEM;
	}
	*ret = f;
	return 0;
}

void lb_vfile_abort(struct lb_vfile *f)
{
	if (!f)
		return;
	lb_node_release(&f->node);
	if (f->full)
		lb_node_release(f->full);
	free(f->full);
	free(f->path);
	free(f->buf);
	free(f);
}

int lb_vfile_set_node(struct lb_vfile *f, const struct lb_node *n, unsigned flags)
{
	if (!f->full && !(f->full = calloc(1, sizeof *f->full)))
		return -ENOMEM;
	f->flags = flags;
	return copy_meta(f->full, n, false);
}

static int emit(struct lb_vfile *f, const uint8_t *p, size_t n)
{
	struct lb_extent x = { .len = n };
	int e;

	if ((e = lb_repo_blob_id(f->t->r, p, n, x.id)) < 0)
		return e;
	if ((e = lb_packer_put(f->t->pk, LB_BLOB_DATA, x.id, p, n)) < 0)
		return e;
	f->node.size += n;
	return lb_extent_append(&f->node, &x);
}

/* Cuts every chunk the buffer decides; with eof, everything. */
static int cut(struct lb_vfile *f, bool eof)
{
	size_t off = 0, k;
	int e;

	while (off < f->have && (k = lb_chunker_next(&f->t->r->chunker, f->buf + off, f->have - off, eof)) > 0) {
		if ((e = emit(f, f->buf + off, k)) < 0)
			return e;
		off += k;
	}
	memmove(f->buf, f->buf + off, f->have - off);
	f->have -= off;
	return 0;
}

int lb_vfile_write(struct lb_vfile *f, const void *data, size_t n)
{
	const uint8_t *p = data;
	int e;

	while (n > 0) {
		size_t k = LB_MIN(n, f->cap - f->have);

		memcpy(f->buf + f->have, p, k);
		f->have += k;
		p += k;
		n -= k;
		if (f->have == f->cap && (e = cut(f, false)) < 0)
			return e;
	}
	return 0;
}

int lb_vfile_hole(struct lb_vfile *f, uint64_t len)
{
	struct lb_extent x = { .len = len, .hole = true };
	struct lb_node *n = &f->node;
	int e;

	if (len == 0)
		return 0;
	if ((e = cut(f, true)) < 0)
		return e;
	n->size += len;
	if (n->nextents && n->extents[n->nextents - 1].hole) {
		n->extents[n->nextents - 1].len += len;
		return 0;
	}
	return lb_extent_append(n, &x);
}

int lb_vfile_close(struct lb_vfile *f, uint64_t *size)
{
	struct lb_vtree *t = f->t;
	struct vnode *v;
	int e;

	if ((e = cut(f, true)) < 0) {
		lb_vfile_abort(f);
		return e;
	}
	if (size)
		*size = f->node.size;
	pthread_mutex_lock(&t->mu);
	if ((e = walk_path(t, f->path, false, &v)) < 0)
		goto out;
	if (v->dir && f->full) {
		e = lb_err(-EEXIST, "%s: a directory is in the way", f->path);
		goto out;
	}
	if (v->dir || (v->node.type && !(f->flags & LB_VTREE_REPLACE))) {
		e = lb_err(-EEXIST, "virtual file %s written twice", f->path);
		goto out;
	}
	uncount(t, v);
	lb_node_release(&v->node);
	if (f->full) {
		v->node = *f->full;
		memset(f->full, 0, sizeof *f->full);
	} else {
		fill_meta(&v->node, &f->meta, LB_NODE_FILE);
	}
	v->node.type = LB_NODE_FILE;
	v->node.size = f->node.size;
	v->node.extents = f->node.extents;
	v->node.nextents = f->node.nextents;
	v->node.capextents = f->node.capextents;
	f->node.extents = NULL;
	f->node.nextents = f->node.capextents = 0;
	t->files++;
	t->bytes += f->node.size;
out:
	pthread_mutex_unlock(&t->mu);
	lb_vfile_abort(f);
	return e;
}

static int cmp_vnode(const void *a, const void *b)
{
	const struct vnode *x = *(struct vnode * const *)a, *y = *(struct vnode * const *)b;

	return lb_name_cmp((const uint8_t *)x->name, x->namelen, (const uint8_t *)y->name, y->namelen);
}

static int store_dir(struct lb_vtree *t, struct vnode *d, struct lb_buf *b, uint8_t id[32])
{
	struct lb_tree tr;
	int e = 0;

	lb_tree_init(&tr);
	if (d->nkids > 1)
		qsort(d->kids, d->nkids, sizeof *d->kids, cmp_vnode);
	for (size_t i = 0; i < d->nkids && e == 0; i++) {
		struct vnode *k = d->kids[i];
		struct lb_node *n;

		if (!k->dir && !k->node.type)
			continue; /* made by a failed add: nothing to store */
		if (k->dir && (e = store_dir(t, k, b, k->node.subtree)) < 0)
			break;
		if ((e = lb_tree_add(&tr, &n)) < 0)
			break;
		*n = k->node; /* borrowed for the encoding */
		n->name = (uint8_t *)k->name;
		n->namelen = k->namelen;
	}
	if (e == 0)
		e = lb_tree_encode(&tr, b);
	if (e == 0)
		e = lb_repo_blob_id(t->r, b->data, b->len, id);
	if (e == 0) {
		e = lb_packer_put(t->pk, LB_BLOB_TREE, id, b->data, b->len);
		e = e < 0 ? e : 0;
	}
	free(tr.nodes); /* the nodes' contents belong to the vnodes */
	return e;
}

int lb_vtree_store(struct lb_vtree *t, uint8_t root[32])
{
	struct lb_buf b;
	int e;

	lb_buf_init(&b, LB_BLOB_MAX);
	pthread_mutex_lock(&t->mu);
	e = store_dir(t, &t->root, &b, root);
	pthread_mutex_unlock(&t->mu);
	lb_buf_release(&b);
	return e;
}

/* ---- reading back ---- */

int lb_snapshot_source_tree(const struct lb_snapshot *s, const char *source, uint8_t tree[32])
{
	json_t *sec = json_object_get(json_object_get(s->json, "sources"), source);
	const char *hex = json_string_value(json_object_get(sec, "tree"));

	if (!hex)
		return lb_err(-LB_E_NOTFOUND, "snapshot %.12s has no %s data", s->id, source);
	if (lb_unhex(tree, 32, hex) < 0)
		return lb_err(-LB_E_CORRUPT, "snapshot %.12s: the %s tree id is malformed", s->id, source);
	return 0;
}

int lb_snapshot_trees(const struct lb_snapshot *s, int (*fn)(const uint8_t tree[32], const char *what, void *ctx),
		      void *ctx)
{
	json_t *sources = json_object_get(s->json, "sources"), *v;
	const char *key;
	uint8_t id[32];
	int e = fn(s->tree, "files", ctx);

	if (e)
		return e;
	json_object_foreach(sources, key, v) {
		const char *hex = json_string_value(json_object_get(v, "tree"));

		if (!hex)
			continue;
		if (lb_unhex(id, 32, hex) < 0)
			return lb_err(-LB_E_CORRUPT, "snapshot %.12s: the %s tree id is malformed", s->id, key);
		if ((e = fn(id, key, ctx)) != 0)
			return e;
	}
	return 0;
}

int lb_tree_stream_file(struct lb_repo *r, const uint8_t tree[32], const char *path,
			int (*fn)(const uint8_t *data, size_t len, void *ctx), void *ctx)
{
	struct lb_node n;
	struct lb_buf b;
	int e;

	if ((e = lb_browse_lookup(r, tree, path, &n)) < 0)
		return e;
	if (n.type != LB_NODE_FILE) {
		lb_node_release(&n);
		return lb_err(-EISDIR, "%s: not a file", path);
	}
	lb_buf_init(&b, LB_BLOB_MAX);
	for (size_t i = 0; i < n.nextents && e == 0; i++) {
		if (n.extents[i].hole) {
			/* virtual files have no holes; a real file's holes are zeros */
			static const uint8_t zeros[65536];
			uint64_t left = n.extents[i].len;

			while (left > 0 && e == 0) {
				size_t k = (size_t)LB_MIN(left, (uint64_t)sizeof zeros);

				e = fn(zeros, k, ctx);
				left -= k;
			}
			continue;
		}
		if ((e = lb_repo_read_blob(r, n.extents[i].id, LB_BLOB_DATA, &b)) < 0)
			break;
		e = fn(b.data, b.len, ctx);
	}
	lb_buf_release(&b);
	lb_node_release(&n);
	return e;
}

struct slurp {
	struct lb_buf b;
};

static int slurp_cb(const uint8_t *data, size_t len, void *ctx)
{
	return lb_buf_append(&((struct slurp *)ctx)->b, data, len);
}

int lb_tree_read_file(struct lb_repo *r, const uint8_t tree[32], const char *path, size_t max, uint8_t **data,
		      size_t *len)
{
	struct slurp s;
	int e;

	lb_buf_init(&s.b, max);
	e = lb_tree_stream_file(r, tree, path, slurp_cb, &s);
	if (e < 0 || lb_buf_put_u8(&s.b, 0) < 0) {
		lb_buf_release(&s.b);
		return e < 0 ? e : -ENOMEM;
	}
	*data = s.b.data;
	*len = s.b.len - 1;
	return 0;
}

/* ---- snapshots made only of a virtual tree ---- */

struct lb_vsnapshot {
	struct lb_repo *r;
	struct lb_packer *pk;
	struct lb_vtree *vt;
	int64_t start_ns;
};

int lb_vsnapshot_begin(struct lb_repo *r, struct lb_vsnapshot **ret, struct lb_vtree **vt)
{
	return lb_vsnapshot_begin_workers(r, 1, ret, vt);
}

int lb_vsnapshot_begin_workers(struct lb_repo *r, unsigned nworkers, struct lb_vsnapshot **ret,
			       struct lb_vtree **vt)
{
	struct lb_vsnapshot *v = calloc(1, sizeof *v);
	int e;

	if (!v)
		return -ENOMEM;
	v->r = r;
	v->start_ns = lb_now_ns();
	if ((!r->index_loaded && (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0) ||
	    (e = lb_packer_new(r, nworkers, &v->pk)) < 0 || (e = lb_vtree_new(r, v->pk, &v->vt)) < 0) {
		lb_vsnapshot_free(v);
		return e;
	}
	*vt = v->vt;
	*ret = v;
	return 0;
}

int lb_vsnapshot_commit(struct lb_vsnapshot *v, const char *host, const char *const *tags, size_t ntags,
			const char *source, json_t *section, char id[65])
{
	struct lb_tree empty;
	struct lb_buf b;
	struct lb_snapshot s = { 0 };
	uint8_t files[32], tid[32];
	char hex[65];
	json_t *sec = json_deep_copy(section), *sources = json_object();
	int e;

	lb_tree_init(&empty);
	lb_buf_init(&b, 1024);
	if (!sec || !sources) {
		e = -ENOMEM;
		goto out;
	}
	if ((e = lb_tree_encode(&empty, &b)) < 0 || (e = lb_repo_blob_id(v->r, b.data, b.len, files)) < 0 ||
	    (e = lb_packer_put(v->pk, LB_BLOB_TREE, files, b.data, b.len)) < 0)
		goto out;
	if ((e = lb_vtree_store(v->vt, tid)) < 0)
		goto out;
	/* packs and index before the manifest, as always */
	if ((e = lb_packer_flush(v->pk)) < 0)
		goto out;
	lb_hex(hex, tid, 32);
	json_object_set_new(sec, "tree", json_string(hex));
	json_object_set_new(sources, source, sec);
	sec = NULL;
	s.json = json_pack("{s:O, s:s}", "sources", sources, "program", "lifeboat " LB_VERSION);
	s.time_s = v->start_ns / 1000000000;
	s.time_ns = v->start_ns % 1000000000;
	s.host = (char *)host;
	s.user = (char *)"";
	s.tags = (char **)tags;
	s.ntags = ntags;
	memcpy(s.tree, files, 32);
	if (!s.json) {
		e = -ENOMEM;
		goto out;
	}
	if ((e = lb_snapshot_save(v->r, &s)) == 0)
		snprintf(id, 65, "%s", s.id);
out:
	json_decref(s.json);
	json_decref(sec);
	json_decref(sources);
	lb_buf_release(&b);
	return e;
}

/* "/" + each top-level entry, as a backup of those paths would list them. */
static int top_paths(struct lb_vtree *t, char ***out, size_t *n)
{
	struct vnode *root = &t->root;
	char **v = calloc(root->nkids + 1, sizeof *v);
	size_t k = 0;

	if (!v)
		return -ENOMEM;
	if (root->nkids > 1)
		qsort(root->kids, root->nkids, sizeof *root->kids, cmp_vnode);
	for (size_t i = 0; i < root->nkids; i++) {
		struct vnode *c = root->kids[i];

		if (!c->dir && !c->node.type)
			continue;
		if (!(v[k] = malloc(c->namelen + 2))) {
			while (k > 0)
				free(v[--k]);
			free(v);
			return -ENOMEM;
		}
		v[k][0] = '/';
		memcpy(v[k] + 1, c->name, c->namelen + 1);
		k++;
	}
	*out = v;
	*n = k;
	return 0;
}

int lb_vsnapshot_commit_files(struct lb_vsnapshot *v, const struct lb_vsnapshot_info *info, char id[65])
{
	struct lb_snapshot s = { 0 };
	char **paths = NULL;
	size_t npaths = 0;
	uint8_t tid[32];
	int e;

	if ((e = lb_vtree_store(v->vt, tid)) < 0)
		goto out;
	/* packs and index before the manifest, as always */
	if ((e = lb_packer_flush(v->pk)) < 0)
		goto out;
	if (!info->npaths && (e = top_paths(v->vt, &paths, &npaths)) < 0)
		goto out;
	s.json = json_pack("{s:s}", "program", "lifeboat " LB_VERSION);
	if (!s.json) {
		e = -ENOMEM;
		goto out;
	}
	if (info->section && info->value && json_object_set(s.json, info->section, info->value) < 0) {
		e = -ENOMEM;
		goto out;
	}
	s.time_s = info->time_set ? info->time_s : v->start_ns / 1000000000;
	s.time_ns = info->time_set ? info->time_ns : v->start_ns % 1000000000;
	s.host = (char *)(info->host ? info->host : "");
	s.user = (char *)"";
	s.paths = info->npaths ? (char **)info->paths : paths;
	s.npaths = info->npaths ? info->npaths : npaths;
	s.tags = (char **)info->tags;
	s.ntags = info->ntags;
	memcpy(s.tree, tid, 32);
	if ((e = lb_snapshot_save(v->r, &s)) == 0)
		snprintf(id, 65, "%s", s.id);
out:
	json_decref(s.json);
	for (size_t i = 0; i < npaths; i++)
		free(paths[i]);
	free(paths);
	return e;
}

void lb_vsnapshot_packer_stats(struct lb_vsnapshot *v, struct lb_packer_stats *st)
{
	lb_packer_stats(v->pk, st);
}

void lb_vsnapshot_free(struct lb_vsnapshot *v)
{
	if (!v)
		return;
	lb_vtree_free(v->vt);
	lb_packer_free(v->pk);
	free(v);
}
