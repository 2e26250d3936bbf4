#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lifeboat/tree.h"
#include "store/pack.h"
#include "util/util.h"

#define TREE_MAX_NODES (1u << 24)
#define NODE_MIN_BYTES 21 /* the shortest entry: every field one byte, no content */

void lb_tree_init(struct lb_tree *t)
{
	t->nodes = NULL;
	t->n = t->cap = 0;
}

void lb_node_release(struct lb_node *n)
{
	free(n->name);
	free(n->user);
	free(n->group);
	free(n->target);
	for (size_t i = 0; i < n->nxattrs; i++) {
		free(n->xattrs[i].name);
		free(n->xattrs[i].value);
	}
	free(n->xattrs);
	free(n->extents);
	memset(n, 0, sizeof *n);
}

void lb_tree_release(struct lb_tree *t)
{
	for (size_t i = 0; i < t->n; i++)
		lb_node_release(&t->nodes[i]);
	free(t->nodes);
	lb_tree_init(t);
}

int lb_tree_add(struct lb_tree *t, struct lb_node **ret)
{
	if (t->n == t->cap) {
		size_t ncap = t->cap ? t->cap * 2 : 16;
		void *p;

		if (ncap > TREE_MAX_NODES)
			return lb_err(-EFBIG, "directory has more than %u entries", TREE_MAX_NODES);
		p = realloc(t->nodes, ncap * sizeof *t->nodes);
		if (!p)
			return -ENOMEM;
		t->nodes = p;
		t->cap = ncap;
	}
	*ret = &t->nodes[t->n++];
	memset(*ret, 0, sizeof **ret);
	return 0;
}

int lb_extent_append(struct lb_node *n, const struct lb_extent *e)
{
	if (n->nextents == n->capextents) {
		size_t ncap = n->capextents ? n->capextents * 2 : 4;
		void *p = realloc(n->extents, ncap * sizeof *n->extents);

		if (!p)
			return -ENOMEM;
		n->extents = p;
		n->capextents = ncap;
	}
	n->extents[n->nextents++] = *e;
	return 0;
}

int lb_name_cmp(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	int c = memcmp(a, b, la < lb ? la : lb);

	if (c)
		return c;
	return la < lb ? -1 : la > lb;
}

static int cmp_node(const void *a, const void *b)
{
	const struct lb_node *x = a, *y = b;

	return lb_name_cmp(x->name, x->namelen, y->name, y->namelen);
}

void lb_tree_sort(struct lb_tree *t)
{
	if (t->n > 1)
		qsort(t->nodes, t->n, sizeof *t->nodes, cmp_node);
}

struct lb_node *lb_tree_find(const struct lb_tree *t, const uint8_t *name, size_t len)
{
	size_t lo = 0, hi = t->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = lb_name_cmp(t->nodes[mid].name, t->nodes[mid].namelen, name, len);

		if (c == 0)
			return &t->nodes[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool lb_name_valid(const uint8_t *name, size_t len)
{
	if (len == 0 || len > 255)
		return false;
	if (memchr(name, '/', len) || memchr(name, 0, len))
		return false;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return false;
	return true;
}

static int put_str(struct lb_buf *b, const char *s)
{
	return lb_buf_put_bytes(b, s ? s : "", s ? strlen(s) : 0);
}

static int encode_node(const struct lb_node *n, struct lb_buf *b)
{
	int e = 0;

#define P(x) do { if ((e = (x)) < 0) return e; } while (0)
	P(lb_buf_put_bytes(b, n->name, n->namelen));
	P(lb_buf_put_u8(b, n->type));
	P(lb_buf_put_uvarint(b, n->mode));
	P(lb_buf_put_uvarint(b, n->uid));
	P(lb_buf_put_uvarint(b, n->gid));
	P(put_str(b, n->user));
	P(put_str(b, n->group));
	P(lb_buf_put_svarint(b, n->mtime_s));
	P(lb_buf_put_uvarint(b, n->mtime_ns));
	P(lb_buf_put_svarint(b, n->atime_s));
	P(lb_buf_put_uvarint(b, n->atime_ns));
	P(lb_buf_put_svarint(b, n->ctime_s));
	P(lb_buf_put_uvarint(b, n->ctime_ns));
	P(lb_buf_put_uvarint(b, n->dev));
	P(lb_buf_put_uvarint(b, n->ino));
	P(lb_buf_put_uvarint(b, n->nlink));
	P(lb_buf_put_uvarint(b, n->size));
	P(lb_buf_put_uvarint(b, n->rdev));
	P(lb_buf_put_bytes(b, n->target, n->targetlen));
	P(lb_buf_put_uvarint(b, n->nxattrs));
	for (size_t i = 0; i < n->nxattrs; i++) {
		P(put_str(b, n->xattrs[i].name));
		P(lb_buf_put_bytes(b, n->xattrs[i].value, n->xattrs[i].len));
	}
	if (n->type == LB_NODE_FILE) {
		P(lb_buf_put_uvarint(b, n->nextents));
		for (size_t i = 0; i < n->nextents; i++) {
			P(lb_buf_put_uvarint(b, n->extents[i].len << 1 | (n->extents[i].hole ? 1 : 0)));
			if (!n->extents[i].hole)
				P(lb_buf_append(b, n->extents[i].id, 32));
		}
	} else if (n->type == LB_NODE_DIR) {
		P(lb_buf_append(b, n->subtree, 32));
	}
	P(lb_buf_put_uvarint(b, 0)); /* extension bytes: none in version 1 */
#undef P
	return 0;
}

int lb_tree_encode(const struct lb_tree *t, struct lb_buf *out)
{
	int e;

	lb_buf_reset(out);
	if ((e = lb_buf_put_u8(out, LB_TREE_VERSION)) < 0 || (e = lb_buf_put_uvarint(out, t->n)) < 0)
		return e;
	for (size_t i = 0; i < t->n; i++)
		if ((e = encode_node(&t->nodes[i], out)) < 0)
			return e;
	return 0;
}

static int dup_bytes(const uint8_t *p, size_t n, uint8_t **out)
{
	*out = malloc(n + 1);
	if (!*out)
		return -ENOMEM;
	memcpy(*out, p, n);
	(*out)[n] = 0;
	return 0;
}

static int get_str(struct lb_reader *r, size_t max, char **out)
{
	const uint8_t *p;
	size_t n;
	int e = lb_get_bytes(r, max, &p, &n);

	if (e < 0)
		return e;
	if (memchr(p, 0, n))
		return lb_err(-LB_E_CORRUPT, "string contains a NUL byte");
	return dup_bytes(p, n, (uint8_t **)out);
}

static int get_u32(struct lb_reader *r, uint32_t *v)
{
	uint64_t x;
	int e = lb_get_uvarint(r, &x);

	if (e < 0)
		return e;
	if (x > UINT32_MAX)
		return lb_err(-LB_E_CORRUPT, "value %llu out of range", (unsigned long long)x);
	*v = (uint32_t)x;
	return 0;
}

static int get_ns(struct lb_reader *r, uint32_t *v)
{
	int e = get_u32(r, v);

	if (e == 0 && *v >= 1000000000u)
		return lb_err(-LB_E_CORRUPT, "nanoseconds out of range");
	return e;
}

static int decode_node(struct lb_reader *r, struct lb_node *n)
{
	const uint8_t *p;
	uint64_t cnt, ext;
	size_t len;
	int e;

#define G(x) do { if ((e = (x)) < 0) return e; } while (0)
	G(lb_get_bytes(r, LB_NAME_MAX_STORED, &p, &len));
	G(dup_bytes(p, len, &n->name));
	n->namelen = len;
	G(lb_get_u8(r, &n->type));
	if (n->type < LB_NODE_FILE || n->type > LB_NODE_BLK)
		return lb_err(-LB_E_CORRUPT, "unknown entry type %u", n->type);
	G(get_u32(r, &n->mode));
	if (n->mode & ~07777u)
		return lb_err(-LB_E_CORRUPT, "mode %o has bits beyond 07777", n->mode);
	G(get_u32(r, &n->uid));
	G(get_u32(r, &n->gid));
	G(get_str(r, LB_OWNER_NAME_MAX, &n->user));
	G(get_str(r, LB_OWNER_NAME_MAX, &n->group));
	G(lb_get_svarint(r, &n->mtime_s));
	G(get_ns(r, &n->mtime_ns));
	G(lb_get_svarint(r, &n->atime_s));
	G(get_ns(r, &n->atime_ns));
	G(lb_get_svarint(r, &n->ctime_s));
	G(get_ns(r, &n->ctime_ns));
	G(lb_get_uvarint(r, &n->dev));
	G(lb_get_uvarint(r, &n->ino));
	G(lb_get_uvarint(r, &n->nlink));
	G(lb_get_uvarint(r, &n->size));
	G(lb_get_uvarint(r, &n->rdev));
	G(lb_get_bytes(r, LB_TARGET_MAX, &p, &len));
	G(dup_bytes(p, len, &n->target));
	n->targetlen = len;
	G(lb_get_uvarint(r, &cnt));
	if (cnt > LB_XATTRS_MAX || cnt > lb_reader_left(r) / 2)
		return lb_err(-LB_E_CORRUPT, "%llu extended attributes is more than allowed",
			      (unsigned long long)cnt);
	if (cnt) {
		n->xattrs = calloc(cnt, sizeof *n->xattrs);
		if (!n->xattrs)
			return -ENOMEM;
	}
	for (size_t i = 0; i < cnt; i++) {
		G(get_str(r, LB_XATTR_NAME_MAX, &n->xattrs[i].name));
		n->nxattrs = i + 1;
		G(lb_get_bytes(r, LB_XATTR_VALUE_MAX, &p, &len));
		G(dup_bytes(p, len, &n->xattrs[i].value));
		n->xattrs[i].len = len;
	}
	if (n->type == LB_NODE_FILE) {
		uint64_t total = 0;

		G(lb_get_uvarint(r, &cnt));
		if (cnt > lb_reader_left(r))
			return lb_err(-LB_E_CORRUPT, "%llu extents is more than the tree holds",
				      (unsigned long long)cnt);
		for (size_t i = 0; i < cnt; i++) {
			struct lb_extent x = { 0 };

			G(lb_get_uvarint(r, &ext));
			x.len = ext >> 1;
			x.hole = ext & 1;
			if (x.hole) {
				/* writers merge holes and never write empty ones: anything
				 * else would let a small tree decode into a huge array */
				if (x.len == 0 || (i > 0 && n->extents[n->nextents - 1].hole))
					return lb_err(-LB_E_CORRUPT, "empty or adjacent holes");
			} else {
				if (x.len == 0 || x.len > LB_BLOB_MAX)
					return lb_err(-LB_E_CORRUPT, "chunk length %llu out of range",
						      (unsigned long long)x.len);
				G(lb_get_raw(r, 32, &p));
				memcpy(x.id, p, 32);
			}
			if (total + x.len < total)
				return lb_err(-LB_E_CORRUPT, "file length overflows");
			total += x.len;
			G(lb_extent_append(n, &x));
		}
		if (total != n->size)
			return lb_err(-LB_E_CORRUPT, "file size %llu does not match its content (%llu bytes)",
				      (unsigned long long)n->size, (unsigned long long)total);
	} else if (n->type == LB_NODE_DIR) {
		G(lb_get_raw(r, 32, &p));
		memcpy(n->subtree, p, 32);
	}
	G(lb_get_bytes(r, lb_reader_left(r), &p, &len)); /* extensions: skipped */
#undef G
	return 0;
}

int lb_tree_decode(const uint8_t *p, size_t n, struct lb_tree *t)
{
	struct lb_reader r;
	uint64_t count;
	uint8_t ver;
	int e;

	lb_tree_init(t);
	lb_reader_init(&r, p, n);
	if ((e = lb_get_u8(&r, &ver)) < 0)
		return e;
	if (ver != LB_TREE_VERSION)
		return ver > LB_TREE_VERSION
			? lb_err(-LB_E_VERSION, "tree version %u is newer than this lifeboat supports", ver)
			: lb_err(-LB_E_CORRUPT, "bad tree version %u", ver);
	if ((e = lb_get_uvarint(&r, &count)) < 0)
		return e;
	if (count > TREE_MAX_NODES || count > lb_reader_left(&r) / NODE_MIN_BYTES)
		return lb_err(-LB_E_CORRUPT, "tree claims %llu entries, more than its size allows",
			      (unsigned long long)count);
	if (count) {
		t->nodes = calloc(count, sizeof *t->nodes);
		if (!t->nodes)
			return -ENOMEM;
		t->cap = count;
	}
	for (size_t i = 0; i < count; i++) {
		t->n = i + 1;
		if ((e = decode_node(&r, &t->nodes[i])) < 0) {
			lb_tree_release(t);
			return e;
		}
	}
	if (lb_reader_left(&r) != 0) {
		lb_tree_release(t);
		return lb_err(-LB_E_CORRUPT, "%zu stray bytes after the last entry", lb_reader_left(&r));
	}
	return 0;
}
