/* lifeboat — finding files across snapshots (lifeboat/find.h). */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "lifeboat/browse.h"
#include "lifeboat/find.h"
#include "store/store.h"

#define FIND_HITS_MAX ((size_t)1 << 28)  /* ceiling on hits kept for one search */

/* A directory already searched: its tree id, its path, and the range of
 * hits that search produced. */
struct memo {
	uint64_t h;
	uint8_t id[32];
	uint8_t *path;  /* NULL: free slot */
	size_t pathlen;
	size_t start, end;
};

struct pathent {
	uint8_t *path;  /* NUL-terminated */
	size_t len;
	uint64_t h;
};

struct hitrec {
	uint32_t path;  /* index into paths */
	struct lb_find_hit h;
};

struct lb_find {
	struct lb_repo *r;
	char *pattern;
	bool slash;           /* pattern holds a '/': match whole paths */
	int fnflags;
	char *root_path;      /* normalised o->path, NULL for everywhere */
	bool newer, older;
	int64_t newer_s, older_s;

	struct lb_buf path;   /* the current path, NUL-terminated beyond len */
	struct lb_buf scratch;
	size_t snap;

	struct hitrec *hits;
	size_t nhits, caphits;
	struct memo *memo;    /* open addressing, capmemo a power of two */
	size_t nmemo, capmemo;
	struct pathent *paths;
	size_t npaths, cappaths;
	uint32_t *pidx;       /* open addressing over paths: index + 1, 0 free */
	size_t cappidx;

	struct lb_find_path *res;
	struct lb_find_hit *reshits;
	size_t nres;

	uint64_t trees_read, trees_reused;
};

static uint64_t fnv(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static void results_drop(struct lb_find *f)
{
	free(f->res);
	free(f->reshits);
	f->res = NULL;
	f->reshits = NULL;
	f->nres = 0;
}

void lb_find_free(struct lb_find *f)
{
	if (!f)
		return;
	results_drop(f);
	for (size_t i = 0; i < f->capmemo; i++)
		free(f->memo[i].path);
	free(f->memo);
	for (size_t i = 0; i < f->npaths; i++)
		free(f->paths[i].path);
	free(f->paths);
	free(f->pidx);
	free(f->hits);
	lb_buf_release(&f->path);
	lb_buf_release(&f->scratch);
	free(f->pattern);
	free(f->root_path);
	free(f);
}

int lb_find_new(struct lb_repo *r, const struct lb_find_opts *o, struct lb_find **ret)
{
	struct lb_find *f = calloc(1, sizeof *f);
	int e = -ENOMEM;

	if (!f)
		return -ENOMEM;
	f->r = r;
	lb_buf_init(&f->path, 0);
	lb_buf_init(&f->scratch, 0);
	if (!o->pattern || !o->pattern[0]) {
		e = lb_err(-EINVAL, "an empty pattern");
		goto fail;
	}
	if (!(f->pattern = strdup(o->pattern)))
		goto fail;
	f->slash = strchr(o->pattern, '/') != NULL;
	f->fnflags = o->casefold ? FNM_CASEFOLD : 0;
	f->newer = o->newer;
	f->older = o->older;
	f->newer_s = o->newer_s;
	f->older_s = o->older_s;
	if (o->path) {
		const char *p = o->path;
		struct lb_buf b;

		lb_buf_init(&b, 0);
		while (*p == '/')
			p++;
		while (*p) {
			size_t k = strcspn(p, "/");

			if (lb_buf_put_u8(&b, '/') < 0 || lb_buf_append(&b, p, k) < 0) {
				lb_buf_release(&b);
				goto fail;
			}
			p += k;
			while (*p == '/')
				p++;
		}
		if (b.len && lb_buf_put_u8(&b, 0) < 0) {
			lb_buf_release(&b);
			goto fail;
		}
		f->root_path = (char *)b.data;  /* NULL for "/" */
	}
	f->capmemo = 1024;
	f->cappidx = 1024;
	f->memo = calloc(f->capmemo, sizeof *f->memo);
	f->pidx = calloc(f->cappidx, sizeof *f->pidx);
	if (!f->memo || !f->pidx)
		goto fail;
	*ret = f;
	return 0;
fail:
	lb_find_free(f);
	return e;
}

void lb_find_stats(const struct lb_find *f, uint64_t *trees_read, uint64_t *trees_reused)
{
	*trees_read = f->trees_read;
	*trees_reused = f->trees_reused;
}

/* ---- the memo of searched directories ---- */

static uint64_t memo_hash(const uint8_t id[32], const uint8_t *path, size_t len)
{
	return fnv(path, len, fnv(id, 32, 0xcbf29ce484222325ull));
}

static struct memo *memo_find(struct lb_find *f, uint64_t h, const uint8_t id[32])
{
	size_t mask = f->capmemo - 1;

	for (size_t i = h & mask;; i = (i + 1) & mask) {
		struct memo *m = &f->memo[i];

		if (!m->path)
			return NULL;
		if (m->h == h && memcmp(m->id, id, 32) == 0 && m->pathlen == f->path.len &&
		    memcmp(m->path, f->path.data, f->path.len) == 0)
			return m;
	}
}

static void memo_place(struct memo *tab, size_t cap, const struct memo *m)
{
	size_t i = m->h & (cap - 1);

	while (tab[i].path)
		i = (i + 1) & (cap - 1);
	tab[i] = *m;
}

static int memo_add(struct lb_find *f, uint64_t h, const uint8_t id[32], size_t start, size_t end)
{
	struct memo m = { .h = h, .pathlen = f->path.len, .start = start, .end = end };

	if ((f->nmemo + 1) * 2 > f->capmemo) {
		size_t ncap = f->capmemo * 2;
		struct memo *tab = calloc(ncap, sizeof *tab);

		if (!tab)
			return -ENOMEM;
		for (size_t i = 0; i < f->capmemo; i++)
			if (f->memo[i].path)
				memo_place(tab, ncap, &f->memo[i]);
		free(f->memo);
		f->memo = tab;
		f->capmemo = ncap;
	}
	memcpy(m.id, id, 32);
	if (!(m.path = malloc(f->path.len + 1)))
		return -ENOMEM;
	memcpy(m.path, f->path.data, f->path.len + 1);
	memo_place(f->memo, f->capmemo, &m);
	f->nmemo++;
	return 0;
}

/* ---- matching paths ---- */

/* The index of the current path in paths, added if new. */
static int path_intern(struct lb_find *f, uint32_t *ret)
{
	uint64_t h = fnv(f->path.data, f->path.len, 0xcbf29ce484222325ull);
	size_t mask, i;

	if ((f->npaths + 1) * 2 > f->cappidx) {
		size_t ncap = f->cappidx * 2;
		uint32_t *tab = calloc(ncap, sizeof *tab);

		if (!tab)
			return -ENOMEM;
		for (size_t k = 0; k < f->npaths; k++) {
			size_t j = f->paths[k].h & (ncap - 1);

			while (tab[j])
				j = (j + 1) & (ncap - 1);
			tab[j] = (uint32_t)k + 1;
		}
		free(f->pidx);
		f->pidx = tab;
		f->cappidx = ncap;
	}
	mask = f->cappidx - 1;
	for (i = h & mask; f->pidx[i]; i = (i + 1) & mask) {
		const struct pathent *p = &f->paths[f->pidx[i] - 1];

		if (p->h == h && p->len == f->path.len && memcmp(p->path, f->path.data, p->len) == 0) {
			*ret = f->pidx[i] - 1;
			return 0;
		}
	}
	if (f->npaths == f->cappaths) {
		size_t ncap = f->cappaths ? f->cappaths * 2 : 256;
		void *p = ncap > UINT32_MAX ? NULL : realloc(f->paths, ncap * sizeof *f->paths);

		if (!p)
			return -ENOMEM;
		f->paths = p;
		f->cappaths = ncap;
	}
	if (!(f->paths[f->npaths].path = malloc(f->path.len + 1)))
		return -ENOMEM;
	memcpy(f->paths[f->npaths].path, f->path.data, f->path.len + 1);
	f->paths[f->npaths].len = f->path.len;
	f->paths[f->npaths].h = h;
	f->pidx[i] = (uint32_t)f->npaths + 1;
	*ret = (uint32_t)f->npaths++;
	return 0;
}

static int hits_reserve(struct lb_find *f, size_t more)
{
	size_t ncap;
	void *p;

	if (f->nhits + more <= f->caphits)
		return 0;
	if (f->nhits + more > FIND_HITS_MAX)
		return lb_err(-EFBIG, "more than %zu matches: narrow the pattern or the path", FIND_HITS_MAX);
	ncap = f->caphits ? f->caphits * 2 : 256;
	while (ncap < f->nhits + more)
		ncap *= 2;
	if (!(p = realloc(f->hits, ncap * sizeof *f->hits)))
		return -ENOMEM;
	f->hits = p;
	f->caphits = ncap;
	return 0;
}

/* Whether the entry named at f->path.data + namepos matches. */
static bool matches(struct lb_find *f, size_t namepos, const struct lb_node *n)
{
	const char *path = (const char *)f->path.data;
	bool m = false;

	if (f->newer && n->mtime_s <= f->newer_s)
		return false;
	if (f->older && n->mtime_s >= f->older_s)
		return false;
	if (!f->slash)
		return fnmatch(f->pattern, path + namepos, f->fnflags) == 0;
	if (f->pattern[0] == '/')
		return fnmatch(f->pattern, path, f->fnflags) == 0;
	/* "site1/index.php" matches at any depth */
	for (const char *p = path; p && !m; p = strchr(p + 1, '/'))
		m = fnmatch(f->pattern, p + 1, f->fnflags) == 0;
	return m;
}

/* The keyed hash of what n holds, so that equal content compares equal. */
static int content_id(struct lb_find *f, const struct lb_node *n, uint8_t out[32])
{
	struct lb_buf *b = &f->scratch;
	int e = 0;

	lb_buf_reset(b);
	e = lb_buf_put_u8(b, n->type);
	if (n->type == LB_NODE_FILE) {
		for (size_t i = 0; i < n->nextents && e == 0; i++) {
			const struct lb_extent *x = &n->extents[i];

			if ((e = lb_buf_put_u8(b, x->hole)) == 0 && (e = lb_buf_put_le64(b, x->len)) == 0 && !x->hole)
				e = lb_buf_append(b, x->id, 32);
		}
	} else if (n->type == LB_NODE_SYMLINK) {
		e = lb_buf_append(b, n->target, n->targetlen);
	} else if (n->type == LB_NODE_DIR) {
		e = lb_buf_append(b, n->subtree, 32);
	} else if (n->type == LB_NODE_CHR || n->type == LB_NODE_BLK) {
		e = lb_buf_put_le64(b, n->rdev);
	}
	if (e == 0)
		e = lb_repo_blob_id(f->r, b->data, b->len, out);
	return e;
}

static int add_hit(struct lb_find *f, const struct lb_node *n)
{
	struct hitrec *h;
	uint32_t pi;
	int e;

	if ((e = hits_reserve(f, 1)) < 0 || (e = path_intern(f, &pi)) < 0)
		return e;
	h = &f->hits[f->nhits];
	memset(h, 0, sizeof *h);
	h->path = pi;
	h->h.snap = f->snap;
	h->h.type = n->type;
	h->h.mode = n->mode;
	h->h.uid = n->uid;
	h->h.gid = n->gid;
	h->h.size = n->size;
	h->h.mtime_s = n->mtime_s;
	h->h.mtime_ns = n->mtime_ns;
	if ((e = content_id(f, n, h->h.content)) < 0)
		return e;
	f->nhits++;
	return 0;
}

static int search_dir(struct lb_find *f, const uint8_t id[32])
{
	uint64_t h = memo_hash(id, f->path.data, f->path.len);
	struct memo *m = memo_find(f, h, id);
	size_t start = f->nhits;
	struct lb_tree t;
	int e;

	if (m) {
		size_t a = m->start, z = m->end;

		f->trees_reused++;
		if ((e = hits_reserve(f, z - a)) < 0)
			return e;
		for (size_t i = a; i < z; i++) {
			f->hits[f->nhits] = f->hits[i];
			f->hits[f->nhits++].h.snap = f->snap;
		}
		return 0;
	}
	if ((e = lb_browse_load_tree(f->r, id, &t)) < 0) {
		char where[512];

		lb_escape(where, sizeof where, f->path.len ? f->path.data : (const uint8_t *)"/",
			  f->path.len ? f->path.len : 1);
		return lb_err_wrap(e, "%s", where);
	}
	f->trees_read++;
	for (size_t i = 0; i < t.n && e == 0; i++) {
		const struct lb_node *n = &t.nodes[i];
		size_t saved = f->path.len;

		if ((e = lb_buf_put_u8(&f->path, '/')) < 0 || (e = lb_buf_append(&f->path, n->name, n->namelen)) < 0 ||
		    (e = lb_buf_put_u8(&f->path, 0)) < 0)
			break;
		f->path.len--;
		if (matches(f, saved + 1, n))
			e = add_hit(f, n);
		if (e == 0 && n->type == LB_NODE_DIR)
			e = search_dir(f, n->subtree);
		f->path.len = saved;
		f->path.data[saved] = 0;
	}
	lb_tree_release(&t);
	if (e == 0)
		e = memo_add(f, h, id, start, f->nhits);
	return e;
}

int lb_find_search(struct lb_find *f, const uint8_t root[32], size_t snap)
{
	struct lb_node n;
	int e;

	results_drop(f);
	f->snap = snap;
	lb_buf_reset(&f->path);
	if ((e = lb_buf_put_u8(&f->path, 0)) < 0)
		return e;
	f->path.len = 0;
	if (!f->root_path)
		return search_dir(f, root);
	if ((e = lb_browse_find(f->r, root, f->root_path, &n)) != 0)
		return e;
	lb_buf_reset(&f->path);
	if ((e = lb_buf_append(&f->path, f->root_path, strlen(f->root_path) + 1)) < 0)
		goto out;
	f->path.len--;
	if (matches(f, (size_t)(strrchr(f->root_path, '/') - f->root_path) + 1, &n) && (e = add_hit(f, &n)) < 0)
		goto out;
	if (n.type == LB_NODE_DIR)
		e = search_dir(f, n.subtree);
out:
	lb_node_release(&n);
	return e;
}

/* ---- results ---- */

static int cmp_path(const void *a, const void *b)
{
	const struct lb_find_path *x = a, *y = b;
	size_t k = x->pathlen < y->pathlen ? x->pathlen : y->pathlen;
	int c = memcmp(x->path, y->path, k);

	return c ? c : (x->pathlen > y->pathlen) - (x->pathlen < y->pathlen);
}

int lb_find_results(struct lb_find *f, const struct lb_find_path **paths, size_t *n)
{
	size_t *next;

	if (f->res || f->npaths == 0)
		goto done;
	f->res = calloc(f->npaths, sizeof *f->res);
	f->reshits = calloc(f->nhits ? f->nhits : 1, sizeof *f->reshits);
	next = calloc(LB_MAX(f->npaths, f->nhits), sizeof *next);
	if (!f->res || !f->reshits || !next) {
		free(next);
		results_drop(f);
		return -ENOMEM;
	}
	for (size_t i = 0; i < f->nhits; i++)
		f->res[f->hits[i].path].nhits++;
	for (size_t i = 0, off = 0; i < f->npaths; i++) {
		f->res[i].path = (const char *)f->paths[i].path;
		f->res[i].pathlen = f->paths[i].len;
		f->res[i].hits = f->reshits + off;
		next[i] = off;
		off += f->res[i].nhits;
	}
	/* hits are in search order, so each path's stay in snapshot order */
	for (size_t i = 0; i < f->nhits; i++)
		f->reshits[next[f->hits[i].path]++] = f->hits[i].h;
	/* next[] now serves as the list of each version's first hit */
	for (size_t i = 0; i < f->npaths; i++) {
		struct lb_find_path *p = &f->res[i];

		for (size_t k = 0; k < p->nhits; k++) {
			struct lb_find_hit *h = &p->hits[k];

			h->version = 0;
			for (size_t v = 0; v < p->nversions && !h->version; v++)
				if (memcmp(p->hits[next[v]].content, h->content, 32) == 0)
					h->version = (unsigned)v + 1;
			if (!h->version) {
				next[p->nversions] = k;
				h->version = ++p->nversions;
			}
		}
	}
	free(next);
	qsort(f->res, f->npaths, sizeof *f->res, cmp_path);
	f->nres = f->npaths;
done:
	*paths = f->res;
	*n = f->nres;
	return 0;
}
