/* Unit tests for lib/snap/tree.c: the tree blob codec, name rules and
 * lookups. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "lifeboat/tree.h"
#include "util/util.h"

static void set_name(struct lb_node *n, const void *name, size_t len)
{
	n->name = malloc(len + 1);
	memcpy(n->name, name, len);
	n->name[len] = 0;
	n->namelen = len;
}

static void add_xattr(struct lb_node *n, const char *name, const void *val, size_t len)
{
	n->xattrs = realloc(n->xattrs, (n->nxattrs + 1) * sizeof *n->xattrs);
	n->xattrs[n->nxattrs].name = strdup(name);
	n->xattrs[n->nxattrs].value = malloc(len ? len : 1);
	memcpy(n->xattrs[n->nxattrs].value, val, len);
	n->xattrs[n->nxattrs].len = len;
	n->nxattrs++;
}

static void common(struct lb_node *n, uint8_t type, int k)
{
	n->type = type;
	n->mode = (uint32_t)(07777 - k);
	n->uid = 1000u + (uint32_t)k;
	n->gid = UINT32_MAX - (uint32_t)k;
	n->user = strdup(k % 2 ? "alice" : "");
	n->group = strdup("staff");
	n->mtime_s = 1700000000LL + k;
	n->mtime_ns = 999999999u;
	n->atime_s = -1 - k; /* before the epoch */
	n->atime_ns = 0;
	n->ctime_s = INT64_MAX - k;
	n->ctime_ns = 123456789u;
	n->dev = UINT64_MAX;
	n->ino = 1ull << 40;
	n->nlink = 1;
}

/* One node of every type, with odd names, xattrs and holes. */
static void build_tree(struct lb_tree *t)
{
	struct lb_node *n;
	struct lb_extent x;
	static const uint8_t weird[] = { 'a', '\n', 0xff, 0xfe, '\t', 'z' };

	lb_tree_init(t);

	lb_tree_add(t, &n);
	set_name(n, "file.txt", 8);
	common(n, LB_NODE_FILE, 1);
	memset(&x, 0, sizeof x);
	x.len = 4096;
	memset(x.id, 0x11, 32);
	lb_extent_append(n, &x);
	x.hole = true;
	x.len = 1ull << 40; /* a huge hole */
	memset(x.id, 0, 32);
	lb_extent_append(n, &x);
	x.hole = false;
	x.len = 64u << 20; /* the largest chunk */
	memset(x.id, 0x22, 32);
	lb_extent_append(n, &x);
	x.hole = true;
	x.len = 10;
	lb_extent_append(n, &x);
	n->size = 4096 + (1ull << 40) + (64u << 20) + 10;
	n->nlink = 3;
	add_xattr(n, "security.selinux", "system_u:object_r:etc_t:s0", 27);
	add_xattr(n, "system.posix_acl_access", "\x02\x00\x00\x00\x01\x00\x06\x00", 8);
	add_xattr(n, "user.empty", "", 0);
	add_xattr(n, "user.binary", "\x00\xff\x00", 3);

	lb_tree_add(t, &n);
	set_name(n, "dir", 3);
	common(n, LB_NODE_DIR, 2);
	memset(n->subtree, 0xab, 32);
	add_xattr(n, "system.posix_acl_default", "\x02\x00\x00\x00", 4);

	lb_tree_add(t, &n);
	set_name(n, "link", 4);
	common(n, LB_NODE_SYMLINK, 3);
	n->target = (uint8_t *)strdup("../target with spaces/\x01\x7f");
	n->targetlen = strlen((char *)n->target);

	lb_tree_add(t, &n);
	set_name(n, "fifo", 4);
	common(n, LB_NODE_FIFO, 4);

	lb_tree_add(t, &n);
	set_name(n, "chr", 3);
	common(n, LB_NODE_CHR, 5);
	n->rdev = 0x0103; /* /dev/null */

	lb_tree_add(t, &n);
	set_name(n, "blk", 3);
	common(n, LB_NODE_BLK, 6);
	n->rdev = 0x0800;

	lb_tree_add(t, &n);
	set_name(n, weird, sizeof weird); /* newline, invalid UTF-8 */
	common(n, LB_NODE_FILE, 7);
	n->size = 0; /* empty file: no extents */

	lb_tree_add(t, &n);
	{
		uint8_t longname[255];

		memset(longname, 'L', sizeof longname);
		set_name(n, longname, sizeof longname);
	}
	common(n, LB_NODE_FILE, 8);
	memset(&x, 0, sizeof x);
	x.hole = true;
	x.len = 5000; /* a file that is one hole */
	lb_extent_append(n, &x);
	n->size = 5000;

	lb_tree_sort(t);
}

static int bytes_eq(const void *a, size_t la, const void *b, size_t lb)
{
	return la == lb && (la == 0 || !memcmp(a, b, la));
}

static int str_eq(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static int node_eq(const struct lb_node *a, const struct lb_node *b)
{
	if (!bytes_eq(a->name, a->namelen, b->name, b->namelen) || a->type != b->type || a->mode != b->mode ||
	    a->uid != b->uid || a->gid != b->gid || !str_eq(a->user, b->user) || !str_eq(a->group, b->group) ||
	    a->mtime_s != b->mtime_s || a->mtime_ns != b->mtime_ns || a->atime_s != b->atime_s ||
	    a->atime_ns != b->atime_ns || a->ctime_s != b->ctime_s || a->ctime_ns != b->ctime_ns || a->dev != b->dev ||
	    a->ino != b->ino || a->nlink != b->nlink || a->size != b->size || a->rdev != b->rdev ||
	    !bytes_eq(a->target, a->targetlen, b->target, b->targetlen) || a->nxattrs != b->nxattrs)
		return 0;
	for (size_t i = 0; i < a->nxattrs; i++)
		if (strcmp(a->xattrs[i].name, b->xattrs[i].name) ||
		    !bytes_eq(a->xattrs[i].value, a->xattrs[i].len, b->xattrs[i].value, b->xattrs[i].len))
			return 0;
	if (a->type == LB_NODE_FILE) {
		if (a->nextents != b->nextents)
			return 0;
		for (size_t i = 0; i < a->nextents; i++)
			if (a->extents[i].len != b->extents[i].len || a->extents[i].hole != b->extents[i].hole ||
			    (!a->extents[i].hole && memcmp(a->extents[i].id, b->extents[i].id, 32)))
				return 0;
	}
	if (a->type == LB_NODE_DIR && memcmp(a->subtree, b->subtree, 32))
		return 0;
	return 1;
}

static void test_roundtrip(void)
{
	struct lb_tree t, d;
	struct lb_buf b, b2;
	int e, same = 1;

	build_tree(&t);
	lb_buf_init(&b, 0);
	lb_buf_init(&b2, 0);
	ok(lb_tree_encode(&t, &b) == 0, "encode a tree with every entry type");
	is(b.data[0], LB_TREE_VERSION, "first byte is the version");
	e = lb_tree_decode(b.data, b.len, &d);
	ok(e == 0, "decode it (%s)", e ? lb_errmsg() : "ok");
	is(d.n, t.n, "same number of entries");
	for (size_t i = 0; i < t.n && i < d.n; i++)
		if (!node_eq(&t.nodes[i], &d.nodes[i])) {
			same = 0;
			diag("entry %zu differs", i);
		}
	ok(same, "every field of every entry survives (names with newline and 0xff, xattrs, holes, devices)");
	ok(d.nodes[0].name[d.nodes[0].namelen] == 0, "decoded names are NUL-terminated for convenience");
	lb_tree_encode(&d, &b2);
	ok(b.len == b2.len && !memcmp(b.data, b2.data, b.len), "re-encoding the decoded tree gives the same bytes");

	/* every strict prefix must fail, cleanly */
	{
		int all = 1;

		for (size_t k = 0; k < b.len; k++) {
			struct lb_tree x;

			e = lb_tree_decode(b.data, k, &x);
			if (e >= 0) {
				all = 0;
				diag("prefix of %zu bytes decoded", k);
				lb_tree_release(&x);
			} else if (x.nodes || x.n) {
				all = 0;
				diag("prefix of %zu bytes left a half-built tree", k);
			}
		}
		ok(all, "truncation at each of %zu byte offsets is rejected and frees what it built", b.len);
	}
	/* a stray byte after the end */
	{
		struct lb_tree x;

		lb_buf_put_u8(&b, 0);
		is(lb_tree_decode(b.data, b.len, &x), -LB_E_CORRUPT, "a stray byte after the last entry: -LB_E_CORRUPT");
	}
	lb_tree_release(&d);
	lb_tree_release(&t);

	/* the empty tree */
	lb_tree_init(&t);
	lb_tree_encode(&t, &b);
	ok(b.len == 2 && lb_tree_decode(b.data, b.len, &d) == 0 && d.n == 0, "an empty directory is 2 bytes and decodes");
	lb_tree_release(&d);
	lb_buf_release(&b);
	lb_buf_release(&b2);
}

/* Encodes a one-entry tree after letting fix() spoil the node. */
static int decode_spoiled(void (*fix)(struct lb_node *), const char *what)
{
	struct lb_tree t, d;
	struct lb_node *n;
	struct lb_buf b;
	int e;

	lb_tree_init(&t);
	lb_tree_add(&t, &n);
	set_name(n, "x", 1);
	common(n, LB_NODE_FILE, 0);
	{
		struct lb_extent x = { .len = 100 };

		lb_extent_append(n, &x);
		n->size = 100;
	}
	fix(n);
	lb_buf_init(&b, 0);
	lb_tree_encode(&t, &b);
	e = lb_tree_decode(b.data, b.len, &d);
	if (e == 0)
		lb_tree_release(&d);
	else
		diag("%s: %s", what, lb_errmsg());
	lb_tree_release(&t);
	lb_buf_release(&b);
	return e;
}

static void fix_none(struct lb_node *n) { (void)n; }
static void fix_size_big(struct lb_node *n) { n->size = 101; }
static void fix_size_small(struct lb_node *n) { n->size = 99; }
static void fix_mtime_ns(struct lb_node *n) { n->mtime_ns = 1000000000u; }
static void fix_atime_ns(struct lb_node *n) { n->atime_ns = UINT32_MAX; }
static void fix_ctime_ns(struct lb_node *n) { n->ctime_ns = 1000000000u; }
static void fix_mode(struct lb_node *n) { n->mode = 0100644; }
static void fix_type0(struct lb_node *n) { n->type = 0; }
static void fix_type7(struct lb_node *n) { n->type = 7; }
static void fix_zero_chunk(struct lb_node *n) { n->extents[0].len = 0; n->size = 0; }
static void fix_huge_chunk(struct lb_node *n) { n->extents[0].len = (64u << 20) + 1; n->size = n->extents[0].len; }
static void fix_longname(struct lb_node *n)
{
	free(n->name);
	n->name = malloc(LB_NAME_MAX_STORED + 1);
	memset(n->name, 'n', LB_NAME_MAX_STORED + 1);
	n->namelen = LB_NAME_MAX_STORED + 1;
}
static void fix_maxname(struct lb_node *n)
{
	free(n->name);
	n->name = malloc(LB_NAME_MAX_STORED);
	memset(n->name, 'n', LB_NAME_MAX_STORED);
	n->namelen = LB_NAME_MAX_STORED;
}
static void fix_longuser(struct lb_node *n)
{
	free(n->user);
	n->user = malloc(LB_OWNER_NAME_MAX + 2);
	memset(n->user, 'u', LB_OWNER_NAME_MAX + 1);
	n->user[LB_OWNER_NAME_MAX + 1] = 0;
}
static void fix_longxname(struct lb_node *n)
{
	char name[LB_XATTR_NAME_MAX + 2];

	memset(name, 'x', sizeof name - 1);
	name[sizeof name - 1] = 0;
	add_xattr(n, name, "v", 1);
}
static void fix_bigxval(struct lb_node *n)
{
	uint8_t *v = calloc(1, LB_XATTR_VALUE_MAX + 1);

	add_xattr(n, "user.big", v, LB_XATTR_VALUE_MAX + 1);
	free(v);
}
static void fix_maxxval(struct lb_node *n)
{
	uint8_t *v = calloc(1, LB_XATTR_VALUE_MAX);

	add_xattr(n, "user.big", v, LB_XATTR_VALUE_MAX);
	free(v);
}
static void fix_longtarget(struct lb_node *n)
{
	n->type = LB_NODE_SYMLINK;
	n->target = calloc(1, LB_TARGET_MAX + 1);
	memset(n->target, 't', LB_TARGET_MAX + 1);
	n->targetlen = LB_TARGET_MAX + 1;
}
static void fix_overflow(struct lb_node *n)
{
	struct lb_extent x = { .len = UINT64_MAX >> 1, .hole = true };

	lb_extent_append(n, &x);
	lb_extent_append(n, &x);
	n->size = 99; /* whatever: the sum wraps */
}
static void fix_big_uid(struct lb_node *n) { n->uid = UINT32_MAX; n->gid = 0; }

static void test_rejects(void)
{
	is(decode_spoiled(fix_none, "none"), 0, "the unspoiled one-entry tree decodes");
	is(decode_spoiled(fix_size_big, "size"), -LB_E_CORRUPT, "size larger than the extents: -LB_E_CORRUPT");
	is(decode_spoiled(fix_size_small, "size"), -LB_E_CORRUPT, "size smaller than the extents: -LB_E_CORRUPT");
	is(decode_spoiled(fix_overflow, "overflow"), -LB_E_CORRUPT, "extents whose lengths overflow: -LB_E_CORRUPT");
	is(decode_spoiled(fix_mtime_ns, "mtime_ns"), -LB_E_CORRUPT, "mtime nanoseconds 10^9: -LB_E_CORRUPT");
	is(decode_spoiled(fix_atime_ns, "atime_ns"), -LB_E_CORRUPT, "atime nanoseconds 2^32-1: -LB_E_CORRUPT");
	is(decode_spoiled(fix_ctime_ns, "ctime_ns"), -LB_E_CORRUPT, "ctime nanoseconds 10^9: -LB_E_CORRUPT");
	is(decode_spoiled(fix_mode, "mode"), -LB_E_CORRUPT, "mode with file-type bits: -LB_E_CORRUPT");
	is(decode_spoiled(fix_type0, "type"), -LB_E_CORRUPT, "entry type 0: -LB_E_CORRUPT");
	is(decode_spoiled(fix_type7, "type"), -LB_E_CORRUPT, "entry type 7: -LB_E_CORRUPT");
	is(decode_spoiled(fix_zero_chunk, "chunk"), -LB_E_CORRUPT, "a chunk extent of length 0: -LB_E_CORRUPT");
	is(decode_spoiled(fix_huge_chunk, "chunk"), -LB_E_CORRUPT, "a chunk extent over 64 MiB: -LB_E_CORRUPT");
	is(decode_spoiled(fix_longname, "name"), -LB_E_CORRUPT, "a name over 4096 bytes: -LB_E_CORRUPT");
	is(decode_spoiled(fix_maxname, "name"), 0, "a name of exactly 4096 bytes decodes");
	is(decode_spoiled(fix_longuser, "user"), -LB_E_CORRUPT, "a user name over 256 bytes: -LB_E_CORRUPT");
	is(decode_spoiled(fix_longxname, "xattr"), -LB_E_CORRUPT, "an xattr name over 255 bytes: -LB_E_CORRUPT");
	is(decode_spoiled(fix_bigxval, "xattr"), -LB_E_CORRUPT, "an xattr value over 64 KiB: -LB_E_CORRUPT");
	is(decode_spoiled(fix_maxxval, "xattr"), 0, "an xattr value of exactly 64 KiB decodes");
	is(decode_spoiled(fix_longtarget, "target"), -LB_E_CORRUPT, "a symlink target over 64 KiB: -LB_E_CORRUPT");
	is(decode_spoiled(fix_big_uid, "uid"), 0, "uid 2^32-1 decodes");
}

static void test_handmade(void)
{
	struct lb_buf b;
	struct lb_tree d;
	int e;

	lb_buf_init(&b, 0);
	/* versions */
	lb_buf_put_u8(&b, 0);
	lb_buf_put_uvarint(&b, 0);
	is(lb_tree_decode(b.data, b.len, &d), -LB_E_CORRUPT, "version 0: -LB_E_CORRUPT");
	b.data[0] = 2;
	is(lb_tree_decode(b.data, b.len, &d), -LB_E_VERSION, "version 2: -LB_E_VERSION");
	ok(strstr(lb_errmsg(), "newer") != NULL, "...saying it is newer: %s", lb_errmsg());
	b.data[0] = 255;
	is(lb_tree_decode(b.data, b.len, &d), -LB_E_VERSION, "version 255: -LB_E_VERSION");
	is(lb_tree_decode(b.data, 0, &d), -LB_E_CORRUPT, "no bytes at all: -LB_E_CORRUPT");

	/* entry counts that cannot fit */
	lb_buf_reset(&b);
	lb_buf_put_u8(&b, 1);
	lb_buf_put_uvarint(&b, UINT64_MAX);
	is(lb_tree_decode(b.data, b.len, &d), -LB_E_CORRUPT, "2^64-1 entries: -LB_E_CORRUPT (no allocation)");
	lb_buf_reset(&b);
	lb_buf_put_u8(&b, 1);
	lb_buf_put_uvarint(&b, (1u << 24) + 1);
	for (int i = 0; i < 1000; i++)
		lb_buf_put_u8(&b, 0);
	is(lb_tree_decode(b.data, b.len, &d), -LB_E_CORRUPT, "2^24+1 entries: -LB_E_CORRUPT");
	lb_buf_reset(&b);
	lb_buf_put_u8(&b, 1);
	lb_buf_put_uvarint(&b, 1000);
	for (int i = 0; i < 100; i++)
		lb_buf_put_u8(&b, 0);
	is(lb_tree_decode(b.data, b.len, &d), -LB_E_CORRUPT, "1000 entries in 100 bytes: -LB_E_CORRUPT");

	/* extension bytes (field 24) are skipped, whatever they hold */
	{
		struct lb_tree t;
		struct lb_node *n;

		lb_tree_init(&t);
		lb_tree_add(&t, &n);
		set_name(n, "f", 1);
		common(n, LB_NODE_FIFO, 0);
		lb_tree_encode(&t, &b);
		lb_tree_release(&t);
		ok(b.data[b.len - 1] == 0, "an entry ends with an empty extension field");
		b.len--;
		lb_buf_put_bytes(&b, "future", 6);
		e = lb_tree_decode(b.data, b.len, &d);
		ok(e == 0 && d.n == 1 && d.nodes[0].type == LB_NODE_FIFO, "extension bytes from a later version are skipped");
		if (e == 0)
			lb_tree_release(&d);
		/* a NUL in the user name */
		lb_tree_init(&t);
		lb_tree_add(&t, &n);
		set_name(n, "f", 1);
		common(n, LB_NODE_FIFO, 1); /* user "alice" */
		lb_tree_encode(&t, &b);
		lb_tree_release(&t);
		{
			uint8_t *p = memmem(b.data, b.len, "alice", 5);

			p[2] = 0;
			is(lb_tree_decode(b.data, b.len, &d), -LB_E_CORRUPT, "a NUL inside the user name: -LB_E_CORRUPT");
		}
	}
	/* too many xattrs */
	{
		struct lb_tree t;
		struct lb_node *n;

		lb_tree_init(&t);
		lb_tree_add(&t, &n);
		set_name(n, "f", 1);
		common(n, LB_NODE_FIFO, 0);
		for (int i = 0; i <= LB_XATTRS_MAX; i++) {
			char xn[32];

			snprintf(xn, sizeof xn, "user.%d", i);
			add_xattr(n, xn, "", 0);
		}
		lb_tree_encode(&t, &b);
		lb_tree_release(&t);
		is(lb_tree_decode(b.data, b.len, &d), -LB_E_CORRUPT, "4097 xattrs: -LB_E_CORRUPT");
		ok(strstr(lb_errmsg(), "extended attributes") != NULL, "...for that reason: %s", lb_errmsg());
	}
	lb_buf_release(&b);
}

static void test_names(void)
{
	uint8_t n255[255], n256[256];

	memset(n255, 'a', sizeof n255);
	memset(n256, 'a', sizeof n256);
	ok(lb_name_valid((const uint8_t *)"a", 1), "'a' is valid");
	ok(lb_name_valid((const uint8_t *)"...", 3), "'...' is valid");
	ok(lb_name_valid((const uint8_t *)".hidden", 7), "'.hidden' is valid");
	ok(lb_name_valid((const uint8_t *)"a\nb", 3), "a newline is valid");
	ok(lb_name_valid((const uint8_t *)"\xff\xfe", 2), "invalid UTF-8 is valid");
	ok(lb_name_valid((const uint8_t *)"\\", 1), "a backslash is valid");
	ok(lb_name_valid(n255, 255), "255 bytes is valid");
	ok(!lb_name_valid(n256, 256), "256 bytes is not");
	ok(!lb_name_valid((const uint8_t *)"", 0), "the empty name is not");
	ok(!lb_name_valid((const uint8_t *)".", 1), "'.' is not");
	ok(!lb_name_valid((const uint8_t *)"..", 2), "'..' is not");
	ok(!lb_name_valid((const uint8_t *)"/", 1), "'/' is not");
	ok(!lb_name_valid((const uint8_t *)"a/b", 3), "'a/b' is not");
	ok(!lb_name_valid((const uint8_t *)"../x", 4), "'../x' is not");
	ok(!lb_name_valid((const uint8_t *)"a\0b", 3), "a NUL byte is not");
	ok(!lb_name_valid((const uint8_t *)"ab/", 3), "a trailing slash is not");

	ok(lb_name_cmp((const uint8_t *)"a", 1, (const uint8_t *)"b", 1) < 0, "a < b");
	ok(lb_name_cmp((const uint8_t *)"b", 1, (const uint8_t *)"a", 1) > 0, "b > a");
	ok(lb_name_cmp((const uint8_t *)"a", 1, (const uint8_t *)"ab", 2) < 0, "a shorter prefix sorts first");
	ok(lb_name_cmp((const uint8_t *)"ab", 2, (const uint8_t *)"a", 1) > 0, "...and the longer after");
	is(lb_name_cmp((const uint8_t *)"abc", 3, (const uint8_t *)"abc", 3), 0, "equal names compare 0");
	ok(lb_name_cmp((const uint8_t *)"\x7f", 1, (const uint8_t *)"\x80", 1) < 0, "bytes compare unsigned (0x7f < 0x80)");
	ok(lb_name_cmp((const uint8_t *)"B", 1, (const uint8_t *)"a", 1) < 0, "byte order, not locale: 'B' < 'a'");
	ok(lb_name_cmp((const uint8_t *)"a\0", 2, (const uint8_t *)"a", 1) > 0, "an embedded NUL counts as a byte");
	is(lb_name_cmp((const uint8_t *)"", 0, (const uint8_t *)"", 0), 0, "two empty names are equal");
}

static void test_find(void)
{
	static const char *names[] = { "zeta", "a", "ab", "B", "abc", "\xc3\xa9t\xc3\xa9", "a b", "_", "0" };
	struct lb_tree t;
	struct lb_node *n;
	int all = 1, sorted = 1;

	lb_tree_init(&t);
	ok(lb_tree_find(&t, (const uint8_t *)"a", 1) == NULL, "find in an empty tree");
	for (size_t i = 0; i < LB_ARRAY_SIZE(names); i++) {
		lb_tree_add(&t, &n);
		set_name(n, names[i], strlen(names[i]));
		n->ino = i;
	}
	lb_tree_sort(&t);
	for (size_t i = 1; i < t.n; i++)
		if (lb_name_cmp(t.nodes[i - 1].name, t.nodes[i - 1].namelen, t.nodes[i].name, t.nodes[i].namelen) >= 0)
			sorted = 0;
	ok(sorted, "lb_tree_sort puts entries in lb_name_cmp order");
	ok(!memcmp(t.nodes[0].name, "0", 1) && !memcmp(t.nodes[1].name, "B", 1), "'0' then 'B' first (byte order)");
	for (size_t i = 0; i < LB_ARRAY_SIZE(names); i++) {
		n = lb_tree_find(&t, (const uint8_t *)names[i], strlen(names[i]));
		if (!n || n->ino != i)
			all = 0;
	}
	ok(all, "every name is found");
	ok(lb_tree_find(&t, (const uint8_t *)"abcd", 4) == NULL, "a longer name is not found");
	ok(lb_tree_find(&t, (const uint8_t *)"ab", 1) != NULL && lb_tree_find(&t, (const uint8_t *)"ab", 1)->namelen == 1,
	   "the length decides, not the NUL: 'ab' with length 1 finds 'a'");
	ok(lb_tree_find(&t, (const uint8_t *)"A", 1) == NULL, "case matters");
	ok(lb_tree_find(&t, (const uint8_t *)"", 0) == NULL, "the empty name is not found");
	ok(lb_tree_find(&t, (const uint8_t *)"zz", 2) == NULL, "a name past the last is not found");
	lb_tree_release(&t);
	ok(t.n == 0 && t.nodes == NULL, "release empties the tree");
}

int main(void)
{
	test_roundtrip();
	test_rejects();
	test_handmade();
	test_names();
	test_find();
	return done_testing();
}
