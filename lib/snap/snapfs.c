/* lifeboat — every snapshot as one read-only file system (lifeboat/snapfs.h).
 * The FUSE glue is in fusefs.c; this file knows nothing of FUSE. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lifeboat/browse.h"
#include "lifeboat/snapfs.h"
#include "lifeboat/snapshot.h"
#include "store/store.h"

#define SNAPFS_TREE_CACHE_DEFAULT ((size_t)64 << 20)
#define SNAPFS_CHUNK_CACHE_DEFAULT ((size_t)32 << 20)
#define SNAPFS_BUCKETS 4096          /* per cache; ids are uniform, chains stay short */
#define SNAPFS_BLKSIZE 131072        /* st_blksize: what FUSE reads at most at once */
#define SNAPFS_DIR_MODE 0555         /* the directories the layout adds */
#define SNAPFS_NAME_MAX 96           /* a snapshot's name in its host's directory */
#define SNAPFS_LINK_MAX 128          /* the layout's symbolic links */

/* ---- caches of decoded objects by id, least recently used out ---- */

struct centry {
	uint8_t id[32];
	size_t bytes;
	unsigned refs;
	bool cached;                 /* still in the table: evicted entries live on until put */
	struct centry *hnext, *prev, *next;
	struct lb_tree tree;         /* the tree cache's */
	struct lb_buf data;          /* the chunk cache's */
};

struct cache {
	struct centry *buckets[SNAPFS_BUCKETS];
	struct centry lru;           /* sentinel: lru.next is the most recently used */
	size_t bytes, max;
};

struct snapent {
	struct lb_snapshot *s;
	char name[SNAPFS_NAME_MAX];  /* in its host's directory */
	size_t host;
};

struct hostent {
	char *name;
	size_t *snaps;               /* indices into fs->snaps, sorted by name */
	size_t n;
	ssize_t latest;              /* newest backup (not a binlog segment), -1 if none */
};

struct lb_snapfs {
	struct lb_repo *r;
	struct lb_snapfs_opts o;
	struct lb_snapshot **v;      /* as listed, oldest first */
	size_t n;
	struct snapent *snaps;       /* parallel to v */
	size_t *byid;                /* indices sorted by id */
	struct hostent *hosts;       /* sorted by name */
	size_t nhosts;
	ssize_t latest;
	uid_t uid;
	gid_t gid;
	int64_t mtime_s;             /* of the layout's directories: the newest snapshot's time */

	pthread_mutex_t lock;        /* guards both caches, the counters and open_files */
	struct cache trees, chunks;
	uint64_t chunks_read, chunks_cached;
	struct lb_snapfs_file *open_files; /* freed by lb_snapfs_free: a mount that ends with files
					    * open never gets their release */
};

struct lb_snapfs_file {
	struct lb_snapfs *fs;
	char *path;                  /* for messages */
	uint64_t size;
	struct lb_extent *ext;
	size_t n;
	uint64_t *off;               /* off[i]: where extent i starts; off[n]: where they end */
	struct lb_snapfs_file *next, **pprev; /* in fs->open_files; pprev NULL: not in it */
};

static void cache_init(struct cache *c, size_t max)
{
	memset(c, 0, sizeof *c);
	c->lru.next = c->lru.prev = &c->lru;
	c->max = max;
}

static size_t bucket(const uint8_t id[32])
{
	return ((size_t)id[0] | (size_t)id[1] << 8) & (SNAPFS_BUCKETS - 1);
}

static void centry_free(struct centry *e)
{
	lb_tree_release(&e->tree);
	lb_buf_release(&e->data);
	free(e);
}

static void lru_unlink(struct centry *e)
{
	e->prev->next = e->next;
	e->next->prev = e->prev;
}

static void lru_front(struct cache *c, struct centry *e)
{
	e->next = c->lru.next;
	e->prev = &c->lru;
	c->lru.next->prev = e;
	c->lru.next = e;
}

/* Takes e out of the table; freed now or by its last put. */
static void cache_evict(struct cache *c, struct centry *e)
{
	struct centry **pp = &c->buckets[bucket(e->id)];

	while (*pp != e)
		pp = &(*pp)->hnext;
	*pp = e->hnext;
	lru_unlink(e);
	c->bytes -= e->bytes;
	e->cached = false;
	if (e->refs == 0)
		centry_free(e);
}

/* Locked.  A referenced entry, or NULL. */
static struct centry *cache_get(struct cache *c, const uint8_t id[32])
{
	for (struct centry *e = c->buckets[bucket(id)]; e; e = e->hnext) {
		if (memcmp(e->id, id, 32) == 0) {
			e->refs++;
			lru_unlink(e);
			lru_front(c, e);
			return e;
		}
	}
	return NULL;
}

/* Locked.  Adds e (referenced once) unless another thread was first: then
 * frees e and returns that one. */
static struct centry *cache_add(struct cache *c, struct centry *e)
{
	struct centry *old = cache_get(c, e->id);

	if (old) {
		centry_free(e);
		return old;
	}
	e->refs = 1;
	e->cached = true;
	e->hnext = c->buckets[bucket(e->id)];
	c->buckets[bucket(e->id)] = e;
	lru_front(c, e);
	c->bytes += e->bytes;
	while (c->bytes > c->max && c->lru.prev != e)
		cache_evict(c, c->lru.prev);
	return e;
}

static void cache_drop_all(struct cache *c)
{
	while (c->lru.next != &c->lru)
		cache_evict(c, c->lru.next);
}

static void put(struct lb_snapfs *fs, struct centry *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&fs->lock);
	if (--e->refs == 0 && !e->cached)
		centry_free(e);
	pthread_mutex_unlock(&fs->lock);
}

/* ---- errors ---- */

/* Reports damaged or missing data for path and returns the errno the
 * caller should see. */
static int fail(struct lb_snapfs *fs, const char *path, int e)
{
	const char *m = lb_errmsg();

	if (e == -ENOMEM)
		return e;
	if (fs->o.error)
		fs->o.error(fs->o.ctx, path, m[0] ? m : lb_strerror(e));
	return -EIO;
}

static size_t tree_bytes(const struct lb_tree *t)
{
	size_t b = sizeof *t + t->cap * sizeof *t->nodes;

	for (size_t i = 0; i < t->n; i++) {
		const struct lb_node *n = &t->nodes[i];

		b += n->namelen + n->targetlen + n->capextents * sizeof *n->extents + 32;
		for (size_t k = 0; k < n->nxattrs; k++)
			b += strlen(n->xattrs[k].name) + n->xattrs[k].len + sizeof *n->xattrs;
	}
	return b;
}

/* A decoded tree, from the cache or the repository. */
static int tree_get(struct lb_snapfs *fs, const uint8_t id[32], const char *path, struct centry **ret)
{
	struct centry *e;
	int r;

	pthread_mutex_lock(&fs->lock);
	e = cache_get(&fs->trees, id);
	pthread_mutex_unlock(&fs->lock);
	if (e) {
		*ret = e;
		return 0;
	}
	if (!(e = calloc(1, sizeof *e)))
		return -ENOMEM;
	memcpy(e->id, id, 32);
	lb_buf_init(&e->data, 0);
	if ((r = lb_browse_load_tree(fs->r, id, &e->tree)) < 0) {
		centry_free(e);
		return fail(fs, path, r);
	}
	e->bytes = tree_bytes(&e->tree);
	pthread_mutex_lock(&fs->lock);
	*ret = cache_add(&fs->trees, e);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

/* A decoded chunk of len bytes, from the cache or the repository. */
static int chunk_get(struct lb_snapfs *fs, const uint8_t id[32], uint64_t len, const char *path, struct centry **ret)
{
	struct centry *e;
	int r;

	pthread_mutex_lock(&fs->lock);
	e = cache_get(&fs->chunks, id);
	if (e)
		fs->chunks_cached++;
	pthread_mutex_unlock(&fs->lock);
	if (!e) {
		if (!(e = calloc(1, sizeof *e)))
			return -ENOMEM;
		memcpy(e->id, id, 32);
		lb_buf_init(&e->data, LB_BLOB_MAX);
		if ((r = lb_repo_read_blob(fs->r, id, LB_BLOB_DATA, &e->data)) < 0) {
			centry_free(e);
			return fail(fs, path, r);
		}
		e->bytes = e->data.len + sizeof *e;
		pthread_mutex_lock(&fs->lock);
		fs->chunks_read++;
		e = cache_add(&fs->chunks, e);
		pthread_mutex_unlock(&fs->lock);
	}
	if (e->data.len != len) {
		char hex[65];

		lb_hex(hex, id, 32);
		r = lb_err(-LB_E_CORRUPT, "chunk %s holds %zu bytes, the tree says %llu", hex, e->data.len,
			   (unsigned long long)len);
		put(fs, e);
		return fail(fs, path, r);
	}
	*ret = e;
	return 0;
}

/* ---- the layout ---- */

enum rkind { R_ROOT, R_IDS, R_HOSTS, R_HOST, R_LINK, R_SNAP, R_NODE };

struct res {
	enum rkind kind;
	size_t snap;                 /* R_SNAP, R_NODE */
	size_t host;                 /* R_HOST */
	char link[SNAPFS_LINK_MAX];  /* R_LINK */
	struct centry *tree;         /* R_NODE: holds node */
	const struct lb_node *node;
};

static int cmp_str(const char *a, size_t la, const char *b)
{
	int c = strncmp(a, b, la);

	return c ? c : (b[la] ? -1 : 0);
}

/* The next component of *p (skipping slashes): 0 at the end. */
static size_t next_comp(const char **p, const char **name)
{
	const char *s = *p;
	size_t k;

	while (*s == '/')
		s++;
	k = strcspn(s, "/");
	*name = s;
	*p = s + k;
	return k;
}

static bool is(const char *name, size_t len, const char *word)
{
	return strlen(word) == len && memcmp(name, word, len) == 0;
}

static ssize_t find_id(const struct lb_snapfs *fs, const char *name, size_t len)
{
	size_t lo = 0, hi = fs->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_str(name, len, fs->v[fs->byid[mid]]->id);

		if (c == 0)
			return (ssize_t)fs->byid[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static ssize_t find_host(const struct lb_snapfs *fs, const char *name, size_t len)
{
	size_t lo = 0, hi = fs->nhosts;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_str(name, len, fs->hosts[mid].name);

		if (c == 0)
			return (ssize_t)mid;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

static ssize_t find_in_host(const struct lb_snapfs *fs, const struct hostent *h, const char *name, size_t len)
{
	size_t lo = 0, hi = h->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_str(name, len, fs->snaps[h->snaps[mid]].name);

		if (c == 0)
			return (ssize_t)h->snaps[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

/* Walks the rest of path p below snapshot snap. */
static int resolve_in_snap(struct lb_snapfs *fs, const char *path, const char *p, size_t snap, struct res *res)
{
	const char *name;
	size_t len = next_comp(&p, &name);
	uint8_t id[32];
	int e;

	res->snap = snap;
	if (!len) {
		res->kind = R_SNAP;
		return 0;
	}
	memcpy(id, fs->v[snap]->tree, 32);
	for (;;) {
		struct centry *t;
		const struct lb_node *n;
		const char *nextname;
		size_t nextlen;

		if ((e = tree_get(fs, id, path, &t)) < 0)
			return e;
		n = lb_tree_find(&t->tree, (const uint8_t *)name, len);
		if (!n) {
			put(fs, t);
			return -ENOENT;
		}
		nextlen = next_comp(&p, &nextname);
		if (!nextlen) {
			res->kind = R_NODE;
			res->tree = t;
			res->node = n;
			return 0;
		}
		if (n->type != LB_NODE_DIR) {
			put(fs, t);
			return -ENOTDIR;
		}
		memcpy(id, n->subtree, 32);
		put(fs, t);
		name = nextname;
		len = nextlen;
	}
}

/* What path names.  Release with res_release(). */
static int resolve(struct lb_snapfs *fs, const char *path, struct res *res)
{
	const char *p = path, *name;
	size_t len = next_comp(&p, &name);
	ssize_t k;

	memset(res, 0, sizeof *res);
	if (!len) {
		res->kind = R_ROOT;
		return 0;
	}
	if (is(name, len, "latest")) {
		if (fs->latest < 0)
			return -ENOENT;
		if (next_comp(&p, &name))
			return -ENOTDIR;
		res->kind = R_LINK;
		snprintf(res->link, sizeof res->link, "ids/%s", fs->v[fs->latest]->id);
		return 0;
	}
	if (is(name, len, "ids")) {
		if (!(len = next_comp(&p, &name))) {
			res->kind = R_IDS;
			return 0;
		}
		if ((k = find_id(fs, name, len)) < 0)
			return -ENOENT;
		return resolve_in_snap(fs, path, p, (size_t)k, res);
	}
	if (is(name, len, "hosts")) {
		const struct hostent *h;

		if (!(len = next_comp(&p, &name))) {
			res->kind = R_HOSTS;
			return 0;
		}
		if ((k = find_host(fs, name, len)) < 0)
			return -ENOENT;
		h = &fs->hosts[k];
		res->host = (size_t)k;
		if (!(len = next_comp(&p, &name))) {
			res->kind = R_HOST;
			return 0;
		}
		if (is(name, len, "latest") && h->latest >= 0) {
			if (next_comp(&p, &name))
				return -ENOTDIR;
			res->kind = R_LINK;
			snprintf(res->link, sizeof res->link, "%s", fs->snaps[h->latest].name);
			return 0;
		}
		if ((k = find_in_host(fs, h, name, len)) < 0)
			return -ENOENT;
		return resolve_in_snap(fs, path, p, (size_t)k, res);
	}
	return -ENOENT;
}

static void res_release(struct lb_snapfs *fs, struct res *res)
{
	put(fs, res->tree);
	res->tree = NULL;
	res->node = NULL;
}

/* ---- attributes ---- */

static void dir_stat(const struct lb_snapfs *fs, struct stat *st, int64_t t)
{
	memset(st, 0, sizeof *st);
	st->st_mode = S_IFDIR | SNAPFS_DIR_MODE;
	st->st_nlink = 2;
	st->st_uid = fs->uid;
	st->st_gid = fs->gid;
	st->st_blksize = SNAPFS_BLKSIZE;
	st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = (time_t)t;
}

static void link_stat(const struct lb_snapfs *fs, struct stat *st, const char *target)
{
	dir_stat(fs, st, fs->mtime_s);
	st->st_mode = S_IFLNK | 0777;
	st->st_nlink = 1;
	st->st_size = (off_t)strlen(target);
}

static void node_stat(const struct lb_node *n, struct stat *st)
{
	static const mode_t types[] = {
		[LB_NODE_FILE] = S_IFREG, [LB_NODE_DIR] = S_IFDIR, [LB_NODE_SYMLINK] = S_IFLNK,
		[LB_NODE_FIFO] = S_IFIFO, [LB_NODE_CHR] = S_IFCHR, [LB_NODE_BLK] = S_IFBLK,
	};
	uint64_t stored = 0;

	memset(st, 0, sizeof *st);
	st->st_mode = (n->type < sizeof types / sizeof types[0] && types[n->type] ? types[n->type] : S_IFREG) |
		      (n->mode & 07777);
	/* 1 for directories: "unknown", so find(1) does not count subdirectories by it */
	st->st_nlink = n->type == LB_NODE_DIR || !n->nlink ? 1 : (nlink_t)n->nlink;
	st->st_uid = n->uid;
	st->st_gid = n->gid;
	if (n->type == LB_NODE_CHR || n->type == LB_NODE_BLK)
		st->st_rdev = (dev_t)n->rdev;
	if (n->type == LB_NODE_FILE) {
		st->st_size = (off_t)n->size;
		for (size_t i = 0; i < n->nextents; i++)
			if (!n->extents[i].hole)
				stored += n->extents[i].len;
		/* fewer blocks than bytes: cp and tar look for holes */
		st->st_blocks = (blkcnt_t)((stored + 511) / 512);
	} else if (n->type == LB_NODE_SYMLINK) {
		st->st_size = (off_t)n->targetlen;
	}
	st->st_blksize = SNAPFS_BLKSIZE;
	st->st_mtim.tv_sec = (time_t)n->mtime_s;
	st->st_mtim.tv_nsec = n->mtime_ns;
	st->st_atim.tv_sec = (time_t)n->atime_s;
	st->st_atim.tv_nsec = n->atime_ns;
	st->st_ctim.tv_sec = (time_t)n->ctime_s;
	st->st_ctim.tv_nsec = n->ctime_ns;
}

static void res_stat(const struct lb_snapfs *fs, const struct res *res, struct stat *st)
{
	switch (res->kind) {
	case R_LINK:
		link_stat(fs, st, res->link);
		break;
	case R_SNAP:
		dir_stat(fs, st, fs->v[res->snap]->time_s);
		break;
	case R_NODE:
		node_stat(res->node, st);
		break;
	default:
		dir_stat(fs, st, fs->mtime_s);
	}
}

int lb_snapfs_stat(struct lb_snapfs *fs, const char *path, struct stat *st)
{
	struct res res;
	int e = resolve(fs, path, &res);

	if (e < 0)
		return e;
	res_stat(fs, &res, st);
	res_release(fs, &res);
	return 0;
}

/* ---- directories ---- */

static int list_tree(struct lb_snapfs *fs, const char *path, const uint8_t id[32],
		     int (*fn)(void *ctx, const char *name, const struct stat *st), void *ctx)
{
	struct centry *t;
	struct stat st;
	int e = tree_get(fs, id, path, &t);

	if (e < 0)
		return e;
	for (size_t i = 0; e == 0 && i < t->tree.n; i++) {
		const struct lb_node *n = &t->tree.nodes[i];

		if (!lb_name_valid(n->name, n->namelen))
			continue;
		node_stat(n, &st);
		e = fn(ctx, (const char *)n->name, &st);
	}
	put(fs, t);
	return e;
}

int lb_snapfs_readdir(struct lb_snapfs *fs, const char *path,
		      int (*fn)(void *ctx, const char *name, const struct stat *st), void *ctx)
{
	struct res res;
	struct stat st;
	int e = resolve(fs, path, &res);

	if (e < 0)
		return e;
	switch (res.kind) {
	case R_ROOT:
		dir_stat(fs, &st, fs->mtime_s);
		if ((e = fn(ctx, "ids", &st)) == 0)
			e = fn(ctx, "hosts", &st);
		if (e == 0 && fs->latest >= 0) {
			char link[SNAPFS_LINK_MAX];

			snprintf(link, sizeof link, "ids/%s", fs->v[fs->latest]->id);
			link_stat(fs, &st, link);
			e = fn(ctx, "latest", &st);
		}
		break;
	case R_IDS:
		for (size_t i = 0; e == 0 && i < fs->n; i++) {
			dir_stat(fs, &st, fs->v[fs->byid[i]]->time_s);
			e = fn(ctx, fs->v[fs->byid[i]]->id, &st);
		}
		break;
	case R_HOSTS:
		dir_stat(fs, &st, fs->mtime_s);
		for (size_t i = 0; e == 0 && i < fs->nhosts; i++)
			e = fn(ctx, fs->hosts[i].name, &st);
		break;
	case R_HOST: {
		const struct hostent *h = &fs->hosts[res.host];

		for (size_t i = 0; e == 0 && i < h->n; i++) {
			dir_stat(fs, &st, fs->v[h->snaps[i]]->time_s);
			e = fn(ctx, fs->snaps[h->snaps[i]].name, &st);
		}
		if (e == 0 && h->latest >= 0) {
			link_stat(fs, &st, fs->snaps[h->latest].name);
			e = fn(ctx, "latest", &st);
		}
		break;
	}
	case R_SNAP:
		e = list_tree(fs, path, fs->v[res.snap]->tree, fn, ctx);
		break;
	case R_NODE:
		if (res.node->type != LB_NODE_DIR)
			e = -ENOTDIR;
		else
			e = list_tree(fs, path, res.node->subtree, fn, ctx);
		break;
	case R_LINK:
		e = -ENOTDIR;
		break;
	}
	res_release(fs, &res);
	return e;
}

int lb_snapfs_readlink(struct lb_snapfs *fs, const char *path, char *buf, size_t size)
{
	struct res res;
	int e = resolve(fs, path, &res);
	const char *t = NULL;
	size_t len = 0;

	if (e < 0)
		return e;
	if (res.kind == R_LINK) {
		t = res.link;
		len = strlen(t);
	} else if (res.kind == R_NODE && res.node->type == LB_NODE_SYMLINK) {
		t = (const char *)res.node->target;
		len = res.node->targetlen;
	} else {
		e = -EINVAL;
	}
	if (t && size) {
		if (len > size - 1)
			len = size - 1;
		memcpy(buf, t, len);
		buf[len] = 0;
	}
	res_release(fs, &res);
	return e;
}

/* ---- xattrs ---- */

ssize_t lb_snapfs_getxattr(struct lb_snapfs *fs, const char *path, const char *name, void *value, size_t size)
{
	struct res res;
	ssize_t e = resolve(fs, path, &res);

	if (e < 0)
		return e;
	e = -ENODATA;
	for (size_t i = 0; res.kind == R_NODE && i < res.node->nxattrs; i++) {
		const struct lb_xattr *x = &res.node->xattrs[i];

		if (strcmp(x->name, name) != 0)
			continue;
		if (size == 0)
			e = (ssize_t)x->len;
		else if (size < x->len)
			e = -ERANGE;
		else {
			memcpy(value, x->value, x->len);
			e = (ssize_t)x->len;
		}
		break;
	}
	res_release(fs, &res);
	return e;
}

ssize_t lb_snapfs_listxattr(struct lb_snapfs *fs, const char *path, char *list, size_t size)
{
	struct res res;
	ssize_t e = resolve(fs, path, &res);
	size_t need = 0;

	if (e < 0)
		return e;
	for (size_t i = 0; res.kind == R_NODE && i < res.node->nxattrs; i++)
		need += strlen(res.node->xattrs[i].name) + 1;
	if (size && size < need) {
		e = -ERANGE;
	} else {
		if (size)
			for (size_t i = 0, w = 0; res.kind == R_NODE && i < res.node->nxattrs; i++) {
				size_t k = strlen(res.node->xattrs[i].name) + 1;

				memcpy(list + w, res.node->xattrs[i].name, k);
				w += k;
			}
		e = (ssize_t)need;
	}
	res_release(fs, &res);
	return e;
}

/* ---- files ---- */

int lb_snapfs_open(struct lb_snapfs *fs, const char *path, struct lb_snapfs_file **ret)
{
	struct lb_snapfs_file *f = NULL;
	const struct lb_node *n;
	struct res res;
	int e = resolve(fs, path, &res);

	if (e < 0)
		return e;
	if (res.kind != R_NODE) {
		e = res.kind == R_LINK ? -EINVAL : -EISDIR;
		goto out;
	}
	n = res.node;
	if (n->type != LB_NODE_FILE) {
		e = n->type == LB_NODE_DIR ? -EISDIR : -EINVAL;
		goto out;
	}
	e = -ENOMEM;
	if (!(f = calloc(1, sizeof *f)) || !(f->path = strdup(path)) ||
	    !(f->off = malloc((n->nextents + 1) * sizeof *f->off)) ||
	    (n->nextents && !(f->ext = malloc(n->nextents * sizeof *f->ext))))
		goto out;
	f->fs = fs;
	f->size = n->size;
	f->n = n->nextents;
	if (f->n)
		memcpy(f->ext, n->extents, f->n * sizeof *f->ext);
	f->off[0] = 0;
	for (size_t i = 0; i < f->n; i++)
		f->off[i + 1] = f->off[i] + f->ext[i].len;
	pthread_mutex_lock(&fs->lock);
	if ((f->next = fs->open_files))
		f->next->pprev = &f->next;
	f->pprev = &fs->open_files;
	fs->open_files = f;
	pthread_mutex_unlock(&fs->lock);
	*ret = f;
	f = NULL;
	e = 0;
out:
	lb_snapfs_close(f);
	res_release(fs, &res);
	return e;
}

void lb_snapfs_close(struct lb_snapfs_file *f)
{
	if (!f)
		return;
	if (f->pprev) {
		pthread_mutex_lock(&f->fs->lock);
		if ((*f->pprev = f->next))
			f->next->pprev = f->pprev;
		pthread_mutex_unlock(&f->fs->lock);
	}
	free(f->path);
	free(f->ext);
	free(f->off);
	free(f);
}

/* The extent holding byte pos: the first i with off[i+1] > pos; n if none. */
static size_t extent_at(const struct lb_snapfs_file *f, uint64_t pos)
{
	size_t lo = 0, hi = f->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (f->off[mid + 1] > pos)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

ssize_t lb_snapfs_read(struct lb_snapfs_file *f, void *buf, size_t len, uint64_t off)
{
	uint8_t *out = buf;
	size_t done = 0, i;

	if (off >= f->size)
		return 0;
	if (len > f->size - off)
		len = (size_t)(f->size - off);
	if (len > SSIZE_MAX)
		len = SSIZE_MAX;
	for (i = extent_at(f, off); done < len; i++) {
		uint64_t pos = off + done, within, k;
		const struct lb_extent *x;

		if (i >= f->n)
			return fail(f->fs, f->path,
				    lb_err(-LB_E_CORRUPT, "the file's chunks end at byte %llu of %llu",
					   (unsigned long long)f->off[f->n], (unsigned long long)f->size));
		x = &f->ext[i];
		within = pos - f->off[i];
		k = LB_MIN(x->len - within, (uint64_t)(len - done));
		if (x->hole) {
			memset(out + done, 0, (size_t)k);
		} else if (k) {
			struct centry *c;
			int e = chunk_get(f->fs, x->id, x->len, f->path, &c);

			if (e < 0)
				return e;
			memcpy(out + done, c->data.data + within, (size_t)k);
			put(f->fs, c);
		}
		done += (size_t)k;
	}
	return (ssize_t)done;
}

off_t lb_snapfs_seek(struct lb_snapfs_file *f, off_t off, int whence)
{
	uint64_t pos = (uint64_t)off;

	if (off < 0 || (whence != SEEK_DATA && whence != SEEK_HOLE))
		return -EINVAL;
	if (pos >= f->size)
		return -ENXIO;
	for (size_t i = extent_at(f, pos); i < f->n; i++) {
		if (f->ext[i].len == 0 || f->ext[i].hole != (whence == SEEK_HOLE))
			continue;
		return (off_t)LB_MAX(pos, f->off[i]);
	}
	/* past the last data there is only the implicit hole at the end */
	return whence == SEEK_HOLE ? (off_t)f->size : -ENXIO;
}

void lb_snapfs_stats(struct lb_snapfs *fs, uint64_t *chunks_read, uint64_t *chunks_cached)
{
	pthread_mutex_lock(&fs->lock);
	*chunks_read = fs->chunks_read;
	*chunks_cached = fs->chunks_cached;
	pthread_mutex_unlock(&fs->lock);
}

/* ---- building the layout ---- */

static const struct lb_snapfs *sort_fs;  /* for qsort only, under build's single thread */

static int cmp_byid(const void *a, const void *b)
{
	return strcmp(sort_fs->v[*(const size_t *)a]->id, sort_fs->v[*(const size_t *)b]->id);
}

static int cmp_byname(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(sort_fs->snaps[x].name, sort_fs->snaps[y].name);

	return c ? c : (x > y) - (x < y);
}

static int cmp_host(const void *a, const void *b)
{
	return strcmp(((const struct hostent *)a)->name, ((const struct hostent *)b)->name);
}

static bool is_binlog(const struct lb_snapshot *s)
{
	return json_object_get(json_object_get(s->json, "sources"), "binlog") != NULL;
}

/* A host name as a directory name: no '/', not empty, not "." or "..". */
static char *host_dirname(const char *host)
{
	size_t len = strlen(host);
	char *d = malloc(len + 2), *w = d;

	if (!d)
		return NULL;
	if (len == 0 || strcmp(host, ".") == 0 || strcmp(host, "..") == 0)
		*w++ = '_';
	for (const char *p = host; *p; p++)
		*w++ = *p == '/' ? '_' : *p;
	*w = 0;
	return d;
}

static pthread_mutex_t build_lock = PTHREAD_MUTEX_INITIALIZER;

static int build_layout(struct lb_snapfs *fs)
{
	char **names = calloc(fs->n ? fs->n : 1, sizeof *names);
	int e = -ENOMEM;

	if (!names || !(fs->snaps = calloc(fs->n ? fs->n : 1, sizeof *fs->snaps)) ||
	    !(fs->byid = calloc(fs->n ? fs->n : 1, sizeof *fs->byid)) ||
	    !(fs->hosts = calloc(fs->n ? fs->n : 1, sizeof *fs->hosts)))
		goto out;
	fs->latest = -1;
	for (size_t i = 0; i < fs->n; i++) {
		struct snapent *se = &fs->snaps[i];
		time_t t = (time_t)fs->v[i]->time_s;
		struct tm tm;
		ssize_t h = -1;

		se->s = fs->v[i];
		fs->byid[i] = i;
		if (!is_binlog(fs->v[i]))
			fs->latest = (ssize_t)i;
		if (fs->v[i]->time_s > fs->mtime_s)
			fs->mtime_s = fs->v[i]->time_s;
		if (!localtime_r(&t, &tm) || !strftime(se->name, sizeof se->name, "%Y-%m-%dT%H:%M:%S", &tm))
			snprintf(se->name, sizeof se->name, "@%lld", (long long)fs->v[i]->time_s);
		if (!(names[i] = host_dirname(fs->v[i]->host)))
			goto out;
		for (size_t k = 0; k < fs->nhosts && h < 0; k++)
			if (strcmp(fs->hosts[k].name, names[i]) == 0)
				h = (ssize_t)k;
		if (h < 0) {
			h = (ssize_t)fs->nhosts++;
			fs->hosts[h].name = names[i];
			names[i] = NULL;
		}
		fs->hosts[h].n++;
	}
	qsort(fs->hosts, fs->nhosts, sizeof *fs->hosts, cmp_host);
	for (size_t k = 0; k < fs->nhosts; k++) {
		if (!(fs->hosts[k].snaps = calloc(fs->hosts[k].n, sizeof *fs->hosts[k].snaps)))
			goto out;
		fs->hosts[k].n = 0;
		fs->hosts[k].latest = -1;
	}
	for (size_t i = 0; i < fs->n; i++) {
		char *hn = names[i] ? names[i] : NULL;
		ssize_t h;

		if (!hn && !(hn = host_dirname(fs->v[i]->host)))
			goto out;
		h = find_host(fs, hn, strlen(hn));
		if (hn != names[i])
			free(hn);
		fs->snaps[i].host = (size_t)h;
		fs->hosts[h].snaps[fs->hosts[h].n++] = i;
		if (!is_binlog(fs->v[i]))
			fs->hosts[h].latest = (ssize_t)i;
	}
	pthread_mutex_lock(&build_lock);
	sort_fs = fs;
	qsort(fs->byid, fs->n, sizeof *fs->byid, cmp_byid);
	for (size_t k = 0; k < fs->nhosts; k++) {
		struct hostent *h = &fs->hosts[k];

		qsort(h->snaps, h->n, sizeof *h->snaps, cmp_byname);
		/* two snapshots in one second: the later ones get part of their id */
		for (size_t j = 1, g = 0; j < h->n; j++) {
			const struct snapent *first = &fs->snaps[h->snaps[g]];
			struct snapent *cur = &fs->snaps[h->snaps[j]];
			size_t l = strlen(cur->name);

			if (strcmp(first->name, cur->name) == 0)
				snprintf(cur->name + l, sizeof cur->name - l, "-%.8s", cur->s->id);
			else
				g = j;
		}
		qsort(h->snaps, h->n, sizeof *h->snaps, cmp_byname);
	}
	sort_fs = NULL;
	pthread_mutex_unlock(&build_lock);
	e = 0;
out:
	for (size_t i = 0; names && i < fs->n; i++)
		free(names[i]);
	free(names);
	return e;
}

size_t lb_snapfs_count(const struct lb_snapfs *fs)
{
	return fs->n;
}

int lb_snapfs_after_fork(struct lb_snapfs *fs)
{
	return lb_repo_after_fork(fs->r);
}

void lb_snapfs_free(struct lb_snapfs *fs)
{
	if (!fs)
		return;
	while (fs->open_files)
		lb_snapfs_close(fs->open_files);
	cache_drop_all(&fs->trees);
	cache_drop_all(&fs->chunks);
	pthread_mutex_destroy(&fs->lock);
	for (size_t k = 0; fs->hosts && k < fs->nhosts; k++) {
		free(fs->hosts[k].name);
		free(fs->hosts[k].snaps);
	}
	free(fs->hosts);
	free(fs->byid);
	free(fs->snaps);
	lb_snapshot_list_free(fs->v, fs->n);
	free(fs);
}

int lb_snapfs_new(struct lb_repo *r, const struct lb_snapfs_opts *o, struct lb_snapfs **ret)
{
	struct lb_snapfs *fs = calloc(1, sizeof *fs);
	int e;

	if (!fs)
		return -ENOMEM;
	fs->r = r;
	if (o)
		fs->o = *o;
	fs->uid = getuid();
	fs->gid = getgid();
	pthread_mutex_init(&fs->lock, NULL);
	cache_init(&fs->trees, fs->o.tree_cache_bytes ? fs->o.tree_cache_bytes : SNAPFS_TREE_CACHE_DEFAULT);
	cache_init(&fs->chunks, fs->o.chunk_cache_bytes ? fs->o.chunk_cache_bytes : SNAPFS_CHUNK_CACHE_DEFAULT);
	if ((e = lb_snapshot_list(r, &fs->v, &fs->n)) < 0 || (e = build_layout(fs)) < 0) {
		lb_snapfs_free(fs);
		return e;
	}
	if (!fs->mtime_s)
		fs->mtime_s = (int64_t)time(NULL);
	*ret = fs;
	return 0;
}
