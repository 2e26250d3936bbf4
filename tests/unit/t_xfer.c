/* Unit tests for lib/xfer (export, import, the ACL conversion) and the
 * full-node side of lib/snap/vtree.c: a tree built by hand with every
 * field set goes through lb_vsnapshot_commit_files, out through pax, back
 * in through import, and comes out the same. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/sysmacros.h>

#include <archive.h>
#include <archive_entry.h>

#include "tap.h"
#include "lifeboat/browse.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/xfer.h"
#include "snap/vtree.h"
#include "store/store.h"
#include "xfer/xfer_internal.h"

static struct lb_repo *repo;

static int pwcb(char *buf, size_t n, void *ctx)
{
	snprintf(buf, n, "%s", (const char *)ctx);
	return 0;
}

/* ---- ACLs ---- */

static size_t pacl(uint8_t *out, const uint16_t (*ents)[2], const uint32_t *ids, size_t n)
{
	out[0] = 2; out[1] = out[2] = out[3] = 0;
	for (size_t i = 0; i < n; i++) {
		uint8_t *p = out + 4 + i * 8;

		p[0] = (uint8_t)ents[i][0]; p[1] = 0;
		p[2] = (uint8_t)ents[i][1]; p[3] = 0;
		p[4] = (uint8_t)ids[i]; p[5] = (uint8_t)(ids[i] >> 8);
		p[6] = (uint8_t)(ids[i] >> 16); p[7] = (uint8_t)(ids[i] >> 24);
	}
	return 4 + n * 8;
}

static void test_acl(void)
{
	/* user::rw- user:1234:rwx group::r-- group:5678:r-- mask::rwx other::r-- */
	static const uint16_t acc[][2] = { { 1, 6 }, { 2, 7 }, { 4, 4 }, { 8, 4 }, { 0x10, 7 }, { 0x20, 4 } };
	static const uint32_t accid[] = { ~0u, 1234, ~0u, 5678, ~0u, ~0u };
	/* default: user::rwx group::r-x group:5678:r-x mask::r-x other::r-x */
	static const uint16_t def[][2] = { { 1, 7 }, { 4, 5 }, { 8, 5 }, { 0x10, 5 }, { 0x20, 5 } };
	static const uint32_t defid[] = { ~0u, ~0u, 5678, ~0u, ~0u };
	uint8_t a[128], d[128];
	size_t na = pacl(a, acc, accid, 6), nd = pacl(d, def, defid, 5);
	struct archive_entry *ae = archive_entry_new();
	struct lb_buf out;
	unsigned dropped = 0;
	int e;

	lb_buf_init(&out, 0);
	archive_entry_set_filetype(ae, AE_IFDIR);
	archive_entry_set_perm(ae, 0775); /* group bits = the mask */
	ok(lb_acl_to_archive(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, a, na) == 0, "access ACL into the entry");
	ok(lb_acl_to_archive(ae, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, d, nd) == 0, "default ACL into the entry");
	e = lb_acl_from_archive(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, &out, &dropped);
	ok(e == 1 && out.len == na && !memcmp(out.data, a, na), "access ACL comes back byte for byte");
	e = lb_acl_from_archive(ae, ARCHIVE_ENTRY_ACL_TYPE_DEFAULT, &out, &dropped);
	ok(e == 1 && out.len == nd && !memcmp(out.data, d, nd), "default ACL comes back byte for byte");
	is(dropped, 0, "no entry dropped");
	archive_entry_free(ae);

	/* the three base entries alone are the mode, not an ACL */
	ae = archive_entry_new();
	archive_entry_set_perm(ae, 0640);
	archive_entry_acl_add_entry(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 6, ARCHIVE_ENTRY_ACL_USER_OBJ, -1, NULL);
	archive_entry_acl_add_entry(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 4, ARCHIVE_ENTRY_ACL_GROUP_OBJ, -1, NULL);
	archive_entry_acl_add_entry(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 0, ARCHIVE_ENTRY_ACL_OTHER, -1, NULL);
	is(lb_acl_from_archive(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, &out, &dropped), 0, "a trivial access ACL is none");
	/* named entries without a mask get one; unknown names are dropped */
	archive_entry_acl_add_entry(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 7, ARCHIVE_ENTRY_ACL_USER, 42, NULL);
	archive_entry_acl_add_entry(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, 1, ARCHIVE_ENTRY_ACL_GROUP, -1,
				    "no-such-group-lifeboat");
	e = lb_acl_from_archive(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, &out, &dropped);
	ok(e == 1 && out.len == 4 + 5 * 8, "owner, user:42, group, mask, other");
	ok(out.len >= 36 && out.data[28] == 0x10 && out.data[30] == 7, "the mask added covers the named entries");
	is(dropped, 1, "the entry naming an unknown group is dropped and counted");
	archive_entry_free(ae);

	ae = archive_entry_new();
	a[0] = 1; /* version 1: not Linux's */
	ok(lb_acl_to_archive(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, a, na) == -LB_E_CORRUPT, "a wrong version is refused");
	ok(lb_acl_to_archive(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS, d, nd - 3) == -LB_E_CORRUPT, "a ragged length is refused");
	is(archive_entry_acl_count(ae, ARCHIVE_ENTRY_ACL_TYPE_ACCESS), 0, "and leaves the entry alone");
	archive_entry_free(ae);
	lb_buf_release(&out);
}

/* ---- a tree with full nodes ---- */

static void base_node(struct lb_node *n, uint8_t type)
{
	memset(n, 0, sizeof *n);
	n->type = type;
	n->mode = type == LB_NODE_DIR ? 0750 : 0640;
	n->uid = 1234;
	n->gid = 5678;
	n->user = (char *)"alice";
	n->group = (char *)"staff";
	n->mtime_s = 1000000000;
	n->mtime_ns = 123456789;
	n->atime_s = 999999999;
	n->atime_ns = 987654321;
	n->ctime_s = 1000000001;
	n->ctime_ns = 5;
	n->nlink = 1;
}

static int write_file(struct lb_vtree *vt, const char *path, const struct lb_node *n, const char *data,
		      uint64_t hole_before, uint64_t hole_after)
{
	static const struct lb_vmeta none = { 0 };
	struct lb_vfile *f;
	int e;

	if ((e = lb_vfile_open(vt, path, &none, &f)) < 0)
		return e;
	if ((e = lb_vfile_set_node(f, n, LB_VTREE_REPLACE)) < 0 || (e = lb_vfile_hole(f, hole_before)) < 0 ||
	    (e = lb_vfile_write(f, data, strlen(data))) < 0 || (e = lb_vfile_hole(f, hole_after)) < 0) {
		lb_vfile_abort(f);
		return e;
	}
	return lb_vfile_close(f, NULL);
}

static int build(char id[65])
{
	struct lb_vsnapshot *vs;
	struct lb_vtree *vt;
	struct lb_node n;
	struct lb_xattr xa[2] = { { (char *)"user.z", (uint8_t *)"zz", 2 }, { (char *)"user.a", (uint8_t *)"a\0b", 3 } };
	struct lb_vsnapshot_info info = { .host = "h", .time_set = true, .time_s = 1234567890 };
	int e;

	if ((e = lb_vsnapshot_begin(repo, &vs, &vt)) < 0)
		return e;
	base_node(&n, LB_NODE_FILE);
	n.xattrs = xa;
	n.nxattrs = 2;
	ok(write_file(vt, "top/dir/sparse", &n, "middle", 1 << 20, 1 << 21) == 0, "a sparse file with full metadata");
	n.nxattrs = 0;
	ok(write_file(vt, "top/plain", &n, "hello\n", 0, 0) == 0, "a plain file");
	/* a directory described after what it holds keeps it */
	base_node(&n, LB_NODE_DIR);
	n.mode = 02775;
	ok(lb_vtree_add_node(vt, "top/dir", &n, 0) == 0, "directory metadata after its contents");
	base_node(&n, LB_NODE_SYMLINK);
	n.target = (uint8_t *)"../plain";
	n.targetlen = 8;
	ok(lb_vtree_add_node(vt, "top/dir/link", &n, 0) == 0, "a symlink");
	ok(lb_vtree_add_node(vt, "top/dir/link", &n, 0) == -EEXIST, "twice without REPLACE: -EEXIST");
	base_node(&n, LB_NODE_CHR);
	n.rdev = makedev(1, 3);
	ok(lb_vtree_add_node(vt, "top/null", &n, 0) == 0, "a device");
	base_node(&n, LB_NODE_FIFO);
	ok(lb_vtree_add_node(vt, "top/plain/x", &n, 0) == -ENOTDIR, "below a file: -ENOTDIR");
	ok(lb_vtree_add_node(vt, "top/dir", &n, LB_VTREE_REPLACE) == -EEXIST, "a FIFO over a directory: -EEXIST");
	ok(lb_vtree_add_node(vt, "top/../etc", &n, 0) == -EINVAL, "a \"..\" component is refused");
	ok(lb_vtree_add_node(vt, "top/fifo", &n, 0) == 0, "a FIFO");
	/* the sources' API still works beside it */
	{
		struct lb_vmeta m = { .mode = 0600, .mtime_s = 5 };
		struct lb_vfile *f;

		ok(lb_vfile_open(vt, "top/vfile", &m, &f) == 0 && lb_vfile_write(f, "v", 1) == 0 &&
		   lb_vfile_close(f, NULL) == 0, "lb_vfile_* as sources use it");
		ok(lb_vfile_open(vt, "top/vfile", &m, &f) == 0 && lb_vfile_close(f, NULL) == -EEXIST,
		   "a virtual file written twice is still refused");
	}
	{
		uint64_t files, bytes, sparse = (1 << 20) + 6 + (1 << 21);

		lb_vtree_stats(vt, &files, &bytes);
		ok(files == 3 && bytes == sparse + 6 + 1, "totals: three files");
		base_node(&n, LB_NODE_FIFO);
		ok(lb_vtree_add_node(vt, "top/plain", &n, LB_VTREE_REPLACE) == 0, "a FIFO replaces a file");
		lb_vtree_stats(vt, &files, &bytes);
		ok(files == 2 && bytes == sparse + 1, "the replaced file leaves the totals (%llu files, %llu bytes)",
		   (unsigned long long)files, (unsigned long long)bytes);
	}
	{
		struct lb_node got;

		ok(lb_vtree_lookup(vt, "top/dir/sparse", &got) == 0 && got.nextents == 3 && got.extents[0].hole &&
		   !got.extents[1].hole && got.extents[2].hole && got.size == (1 << 20) + 6 + (1 << 21),
		   "lookup: hole, data, hole");
		ok(got.nxattrs == 2 && !strcmp(got.xattrs[0].name, "user.a"), "xattrs sorted by name");
		lb_node_release(&got);
		ok(lb_vtree_lookup(vt, "top/nothing", &got) == -LB_E_NOTFOUND, "lookup of a missing path");
	}
	e = lb_vsnapshot_commit_files(vs, &info, id);
	lb_vsnapshot_free(vs);
	return e;
}

struct collect {
	char **paths;
	struct lb_node *nodes;
	size_t n;
};

static int collect_cb(void *ctx, const char *path, size_t pathlen, const struct lb_node *n)
{
	struct collect *c = ctx;

	c->paths = realloc(c->paths, (c->n + 1) * sizeof *c->paths);
	c->nodes = realloc(c->nodes, (c->n + 1) * sizeof *c->nodes);
	c->paths[c->n] = strndup(path, pathlen);
	lb_node_copy(&c->nodes[c->n], n);
	c->n++;
	return 0;
}

static void collect_free(struct collect *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->paths[i]);
		lb_node_release(&c->nodes[i]);
	}
	free(c->paths);
	free(c->nodes);
}

static bool same_node(const struct lb_node *a, const struct lb_node *b)
{
	if (a->type != b->type || a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
	    strcmp(a->user, b->user) || strcmp(a->group, b->group) || a->mtime_s != b->mtime_s ||
	    a->mtime_ns != b->mtime_ns || a->atime_s != b->atime_s || a->atime_ns != b->atime_ns ||
	    a->ctime_s != b->ctime_s || a->ctime_ns != b->ctime_ns || a->size != b->size || a->rdev != b->rdev ||
	    a->targetlen != b->targetlen || a->nxattrs != b->nxattrs || a->nextents != b->nextents)
		return false;
	if (a->targetlen && memcmp(a->target, b->target, a->targetlen))
		return false;
	for (size_t i = 0; i < a->nxattrs; i++)
		if (strcmp(a->xattrs[i].name, b->xattrs[i].name) || a->xattrs[i].len != b->xattrs[i].len ||
		    memcmp(a->xattrs[i].value, b->xattrs[i].value, a->xattrs[i].len))
			return false;
	for (size_t i = 0; i < a->nextents; i++)
		if (a->extents[i].hole != b->extents[i].hole || a->extents[i].len != b->extents[i].len ||
		    (!a->extents[i].hole && memcmp(a->extents[i].id, b->extents[i].id, 32)))
			return false;
	return true;
}

static void test_roundtrip(void)
{
	struct lb_snapshot *s = NULL, *s2 = NULL;
	struct lb_export_opts eo = { .format = LB_EXPORT_PAX };
	struct lb_export_stats est;
	struct lb_import_opts io = { .host = "imported" };
	struct lb_import_stats ist;
	struct collect a = { 0 }, b = { 0 };
	char id[65], id2[65], path[600];
	bool same;
	int e;

	e = build(id);
	ok(e == 0, "commit_files: %s", e ? lb_errmsg() : "ok");
	if (e)
		return;
	ok(lb_snapshot_load(repo, id, &s) == 0, "the snapshot loads");
	ok(s && s->npaths == 1 && !strcmp(s->paths[0], "/top") && s->time_s == 1234567890, "paths and time");
	ok(s && lb_browse_walk(repo, s->tree, "/", true, collect_cb, &a) == 0 && a.n == 8, "8 entries in its tree");

	snprintf(path, sizeof path, "%s/out.tar", tap_tmp());
	eo.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	e = lb_export_run(repo, s, &eo, &est);
	close(eo.fd);
	ok(e == 0 && est.entries == 8 && est.skipped == 0 && est.lost_meta == 0, "export to pax");
	io.archive = path;
	e = lb_import_run(repo, &io, &ist, id2);
	ok(e == 0 && ist.entries == 8 && ist.skipped == 0 && ist.warnings == 0, "import of it: %s",
	   e ? lb_errmsg() : "ok");
	/* at most the root and "top", made anew with the run's time */
	ok(ist.blobs_new <= 2, "no content is new (%llu new blobs)", (unsigned long long)ist.blobs_new);
	ok(lb_snapshot_load(repo, id2, &s2) == 0 && lb_browse_walk(repo, s2->tree, "/", true, collect_cb, &b) == 0,
	   "the imported snapshot walks");
	same = a.n == b.n;
	for (size_t i = 0; same && i < a.n; i++) {
		/* the implicit "top" directory: made by import with the run's time */
		if (!strcmp(a.paths[i], "/top"))
			continue;
		same = !strcmp(a.paths[i], b.paths[i]) && same_node(&a.nodes[i], &b.nodes[i]);
		if (!same)
			diag("%s differs", a.paths[i]);
	}
	ok(same, "every entry comes back the same: metadata, xattrs, holes, chunk ids");
	{
		int64_t newest = 0;

		for (size_t i = 0; i < a.n; i++)
			newest = a.nodes[i].mtime_s > newest ? a.nodes[i].mtime_s : newest;
		ok(s2 && s2->time_s == newest, "the snapshot time is the newest mtime in the archive");
	}
	collect_free(&a);
	collect_free(&b);
	lb_snapshot_free(s);
	lb_snapshot_free(s2);

	/* a damaged archive: no snapshot */
	{
		size_t before, after;
		struct lb_snapshot **v;
		int fd = open(path, O_WRONLY);

		lb_snapshot_list(repo, &v, &before);
		lb_snapshot_list_free(v, before);
		ftruncate(fd, 1500);
		close(fd);
		e = lb_import_run(repo, &io, &ist, id2);
		ok(e == -LB_E_CORRUPT && strstr(lb_errmsg(), "at byte 1") && strstr(lb_errmsg(), "reading"),
		   "a truncated archive: %s", lb_errmsg());
		lb_snapshot_list(repo, &v, &after);
		lb_snapshot_list_free(v, after);
		is(after, before, "and no snapshot");
	}
}

int main(void)
{
	struct lb_init_opts o = { .encrypt = 0 };
	char path[600];
	int e;

	test_acl();
	snprintf(path, sizeof path, "%s/repo", tap_tmp());
	e = lb_repo_init(path, &o, pwcb, "pw", &repo);
	ok(e == 0, "init");
	if (e == 0) {
		test_roundtrip();
		lb_repo_close(repo);
	}
	tap_tmp_cleanup();
	return done_testing();
}
