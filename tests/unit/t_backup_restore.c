/* Unit tests for lib/snap/backup.c, restore.c and check.c through the
 * library API: back up a small tree with every kind of entry, restore it,
 * compare, back up again (files cache), exclude, check. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/xattr.h>

#include "tap.h"
#include "lifeboat/backup.h"
#include "lifeboat/browse.h"
#include "lifeboat/check.h"
#include "lifeboat/restore.h"
#include "lifeboat/snapshot.h"
#include "snap/walk.h"
#include "store/store.h"

static char root[512], src[600], repo[600];
static int have_xattrs;

static int pwcb(char *buf, size_t n, void *ctx)
{
	snprintf(buf, n, "%s", (const char *)ctx);
	return 0;
}

static void put_file(const char *rel, const void *data, size_t len, mode_t mode)
{
	char p[1200];
	int fd;

	snprintf(p, sizeof p, "%s/%s", src, rel);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (len && write(fd, data, len) != (ssize_t)len)
		diag("short write to %s", p);
	fchmod(fd, mode);
	close(fd);
}

static void mkd(const char *rel, mode_t mode)
{
	char p[1200];

	snprintf(p, sizeof p, "%s/%s", src, rel);
	mkdir(p, mode);
	chmod(p, mode);
}

static void set_times(const char *rel, long sec, long nsec)
{
	char p[1200];
	struct timespec ts[2] = { { sec - 100, 12345 }, { sec, nsec } };

	snprintf(p, sizeof p, "%s/%s", src, rel);
	utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
}

static uint8_t *big_random;
#define BIG_LEN (300 * 1024)
#define WEIRD_NAME "new\nline\xff\xfe"

static void build_source(void)
{
	char p[1200], q[1200];
	int fd;

	mkdir(src, 0755);
	put_file("hello.txt", "hello, world\n", 13, 0644);
	put_file("secret", "top secret", 10, 0600);
	put_file("setgid-prog", "#!/bin/sh\n", 10, 02755);
	put_file("empty", "", 0, 0640);
	big_random = malloc(BIG_LEN);
	lb_random(big_random, BIG_LEN);
	put_file("big.bin", big_random, BIG_LEN, 0644);
	put_file(WEIRD_NAME, "weird", 5, 0644);
	mkd("a", 0750);
	mkd("a/b", 0700);
	mkd("a/b/c", 0755);
	mkd("a/b/c/d", 01777);
	put_file("a/b/c/d/deep.txt", "deep", 4, 0444);
	mkd("emptydir", 0711);

	/* sparse: 8 MiB with data at 0 and at 4 MiB, and a trailing hole */
	snprintf(p, sizeof p, "%s/sparse", src);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (pwrite(fd, "start", 5, 0) != 5 || pwrite(fd, "middle", 6, 4 << 20) != 6)
		diag("pwrite failed");
	if (ftruncate(fd, 8 << 20) != 0)
		diag("ftruncate failed");
	close(fd);

	snprintf(p, sizeof p, "%s/link-rel", src);
	symlink("hello.txt", p);
	snprintf(p, sizeof p, "%s/link-dangling", src);
	symlink("../nowhere/at all", p);
	snprintf(p, sizeof p, "%s/a/link-up", src);
	symlink("../hello.txt", p);
	snprintf(p, sizeof p, "%s/fifo", src);
	mkfifo(p, 0620);

	/* hard links: three names, one inode, across directories */
	put_file("hl1", "linked content", 14, 0640);
	snprintf(p, sizeof p, "%s/hl1", src);
	snprintf(q, sizeof q, "%s/a/hl2", src);
	link(p, q);
	snprintf(q, sizeof q, "%s/a/b/hl3", src);
	link(p, q);

	/* extended attributes, if the file system has them */
	snprintf(p, sizeof p, "%s/hello.txt", src);
	have_xattrs = lsetxattr(p, "user.note", "a note", 6, 0) == 0;
	if (have_xattrs) {
		lsetxattr(p, "user.bin", "\x00\x01\xff", 3, 0);
		snprintf(p, sizeof p, "%s/a", src);
		lsetxattr(p, "user.dir", "on a dir", 8, 0);
	}

	/* times with nanoseconds, set last (children first) */
	set_times("hello.txt", 1600000000, 123456789);
	set_times("big.bin", 1600000001, 1);
	set_times("empty", 1600000002, 999999999);
	set_times("link-rel", 1600000003, 500);
	set_times("fifo", 1600000004, 42);
	set_times("sparse", 1600000005, 0);
	set_times("a/b/c/d/deep.txt", 1500000000, 7);
	set_times("a/b/c/d", 1500000001, 8);
	set_times("a/b/c", 1500000002, 9);
	set_times("a/b", 1500000003, 10);
	set_times("a", 1500000004, 11);
	set_times("emptydir", 1500000005, 12);
}

/* ---- comparing two trees ---- */

static int ndiff;

static void differ(const char *path, const char *what)
{
	if (ndiff++ < 20)
		diag("differs: %s: %s", path, what);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

static size_t list_names(int dfd, char ***out)
{
	int fd = dup(dfd);
	DIR *d = fdopendir(fd);
	struct dirent *de;
	size_t n = 0;
	char **v = NULL;

	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		v = realloc(v, (n + 1) * sizeof *v);
		v[n++] = strdup(de->d_name);
	}
	closedir(d);
	if (n)
		qsort(v, n, sizeof *v, cmp_str);
	*out = v;
	return n;
}

static int same_content(int a, int b, off_t size)
{
	static uint8_t ba[65536], bb[65536];
	off_t off = 0;

	while (off < size) {
		ssize_t ka = pread(a, ba, sizeof ba, off), kb = pread(b, bb, sizeof bb, off);

		if (ka <= 0 || ka != kb || memcmp(ba, bb, (size_t)ka))
			return 0;
		off += ka;
	}
	return 1;
}

static void cmp_xattrs(int adir, int bdir, const char *name, const char *path)
{
	char pa[600], pb[600], la[4096], lb[4096], va[4096], vb[4096];
	ssize_t na, nb;

	snprintf(pa, sizeof pa, "/proc/self/fd/%d/%s", adir, name);
	snprintf(pb, sizeof pb, "/proc/self/fd/%d/%s", bdir, name);
	na = llistxattr(pa, la, sizeof la);
	nb = llistxattr(pb, lb, sizeof lb);
	if (na < 0)
		na = 0;
	if (nb < 0)
		nb = 0;
	if (na != nb) {
		differ(path, "xattr lists differ");
		return;
	}
	for (ssize_t i = 0; i < na; i += (ssize_t)strlen(la + i) + 1) {
		ssize_t xa = lgetxattr(pa, la + i, va, sizeof va), xb = lgetxattr(pb, la + i, vb, sizeof vb);

		if (xa != xb || (xa > 0 && memcmp(va, vb, (size_t)xa)))
			differ(path, "an xattr value differs");
	}
}

struct inopair {
	ino_t a, b;
};
static struct inopair links[64];
static size_t nlinks;

static void cmp_tree(int adir, int bdir, const char *path, int dir_times)
{
	char **na = NULL, **nb = NULL;
	size_t ca = list_names(adir, &na), cb = list_names(bdir, &nb);

	if (ca != cb) {
		differ(path, "different number of entries");
		goto out;
	}
	for (size_t i = 0; i < ca; i++) {
		struct stat sa, sb;
		char p[4096];

		snprintf(p, sizeof p, "%s/%s", path, na[i]);
		if (strcmp(na[i], nb[i])) {
			differ(p, "names differ");
			continue;
		}
		if (fstatat(adir, na[i], &sa, AT_SYMLINK_NOFOLLOW) || fstatat(bdir, nb[i], &sb, AT_SYMLINK_NOFOLLOW)) {
			differ(p, "stat failed");
			continue;
		}
		if ((sa.st_mode & S_IFMT) != (sb.st_mode & S_IFMT)) {
			differ(p, "type");
			continue;
		}
		if (!S_ISLNK(sa.st_mode) && (sa.st_mode & 07777) != (sb.st_mode & 07777))
			differ(p, "mode");
		if (sa.st_uid != sb.st_uid || sa.st_gid != sb.st_gid)
			differ(p, "owner");
		if ((!S_ISDIR(sa.st_mode) || dir_times) &&
		    (sa.st_mtim.tv_sec != sb.st_mtim.tv_sec || sa.st_mtim.tv_nsec != sb.st_mtim.tv_nsec))
			differ(p, "mtime");
		if (S_ISREG(sa.st_mode)) {
			int fa = openat(adir, na[i], O_RDONLY | O_NOATIME), fb = openat(bdir, nb[i], O_RDONLY);

			if (sa.st_size != sb.st_size || !same_content(fa, fb, sa.st_size))
				differ(p, "content");
			if (sa.st_blocks < sa.st_size / 1024 && sb.st_blocks > sa.st_blocks + 64)
				differ(p, "holes were filled in");
			close(fa);
			close(fb);
			if (sa.st_nlink > 1) {
				int found = 0;

				for (size_t k = 0; k < nlinks; k++)
					if (links[k].a == sa.st_ino) {
						found = 1;
						if (links[k].b != sb.st_ino)
							differ(p, "hard link group broken");
					}
				if (!found && nlinks < 64)
					links[nlinks++] = (struct inopair){ sa.st_ino, sb.st_ino };
				if (sa.st_nlink != sb.st_nlink)
					differ(p, "link count");
			}
		} else if (S_ISLNK(sa.st_mode)) {
			char ta[4096], tb[4096];
			ssize_t ka = readlinkat(adir, na[i], ta, sizeof ta), kb = readlinkat(bdir, nb[i], tb, sizeof tb);

			if (ka != kb || memcmp(ta, tb, (size_t)ka))
				differ(p, "symlink target");
		} else if (S_ISDIR(sa.st_mode)) {
			int da = openat(adir, na[i], O_RDONLY | O_DIRECTORY | O_NOATIME);
			int db = openat(bdir, nb[i], O_RDONLY | O_DIRECTORY);

			cmp_tree(da, db, p, dir_times);
			close(da);
			close(db);
		}
		if (!S_ISLNK(sa.st_mode))
			cmp_xattrs(adir, bdir, na[i], p);
	}
out:
	for (size_t i = 0; i < ca; i++)
		free(na[i]);
	for (size_t i = 0; i < cb; i++)
		free(nb[i]);
	free(na);
	free(nb);
}

/* Compares src with its restored copy below target; returns the number of differences. */
static int compare_restore(const char *target, int dir_times)
{
	char p[1500];
	int a, b;

	ndiff = 0;
	nlinks = 0;
	snprintf(p, sizeof p, "%s%s", target, src);
	a = open(src, O_RDONLY | O_DIRECTORY | O_NOATIME);
	b = open(p, O_RDONLY | O_DIRECTORY);
	if (a < 0 || b < 0) {
		diag("cannot open %s or %s", src, p);
		return -1;
	}
	cmp_tree(a, b, "", dir_times);
	close(a);
	close(b);
	return ndiff;
}

/* ---- callbacks ---- */

struct msgs {
	int n;
	char last[1024];
};

static void warn_cb(void *ctx, const char *path, const char *msg)
{
	struct msgs *m = ctx;

	m->n++;
	snprintf(m->last, sizeof m->last, "%s: %s", path, msg);
	diag("warning: %s: %s", path, msg);
}

static void restore_err_cb(void *ctx, const char *path, size_t pathlen, const char *msg)
{
	struct msgs *m = ctx;

	m->n++;
	snprintf(m->last, sizeof m->last, "%.*s: %s", (int)pathlen, path, msg);
	diag("restore error: %.*s: %s", (int)pathlen, path, msg);
}

static void check_cb(void *ctx, int level, const char *msg)
{
	struct msgs *m = ctx;

	if (level <= LB_LOG_WARN) {
		m->n++;
		snprintf(m->last, sizeof m->last, "%s", msg);
		diag("check: %s", msg);
	}
}

static int backup(struct lb_repo *r, const char *const *ex, size_t nex, struct lb_backup_stats *st, char id[65],
		  struct msgs *w)
{
	const char *paths[1] = { src };
	struct lb_backup_opts o = { .paths = paths, .npaths = 1, .excludes = ex, .nexcludes = nex, .host = "testhost",
				    .workers = 2, .warn = warn_cb, .warn_ctx = w };

	return lb_backup_run(r, &o, st, id);
}

static int restore(struct lb_repo *r, const char *id, const char *target, const char *const *incl, size_t nincl,
		   struct lb_restore_stats *st, struct msgs *m)
{
	struct lb_snapshot *s = NULL;
	struct lb_restore_opts o = { .target = target, .includes = incl, .nincludes = nincl, .error = restore_err_cb, .error_ctx = m };
	int e = lb_snapshot_find(r, id, &s);

	if (e < 0)
		return e;
	e = lb_restore_run(r, s, &o, st);
	lb_snapshot_free(s);
	return e;
}

int main(void)
{
	struct lb_init_opts io = { .encrypt = 1, .scrypt_n = 1024, .chunk_min = 4096, .chunk_avg = 16384, .chunk_max = 65536 };
	struct lb_repo *r = NULL;
	struct lb_backup_stats st, st2;
	struct lb_restore_stats rs;
	struct lb_check_stats cs;
	struct lb_check_opts co = { .read_data = true, .report = check_cb };
	struct msgs w = { 0 }, cm = { 0 };
	char id1[65] = "", id2[65] = "", id3[65] = "", target[700];
	int e;

	snprintf(root, sizeof root, "%s", tap_tmp());
	snprintf(src, sizeof src, "%s/src", root);
	snprintf(repo, sizeof repo, "%s/repo", root);
	build_source();
	if (!have_xattrs)
		diag("this file system has no user xattrs; xattr checks are vacuous");

	e = lb_repo_init(repo, &io, pwcb, "pw", &r);
	ok(e == 0, "init (chunks of 4..64 KiB so big.bin spans several)");
	if (e)
		return done_testing();

	/* first backup */
	e = backup(r, NULL, 0, &st, id1, &w);
	ok(e == 0 && strlen(id1) == 64, "first backup (%s)", e ? lb_errmsg() : id1);
	is(w.n, 0, "no warnings");
	is(st.warnings, 0, "stats.warnings 0");
	/* regular entries: hello.txt secret setgid-prog empty big.bin weird sparse hl1 a/hl2 a/b/hl3 deep.txt */
	is(st.files_new + st.files_unmodified, 11, "11 file entries (%llu new, %llu via hard link)",
	   (unsigned long long)st.files_new, (unsigned long long)st.files_unmodified);
	is(st.files_changed, 0, "nothing changed on a first backup");
	is(st.dirs, 6, "six directories below src (src itself is counted)");
	is(st.others, 4, "four others: three symlinks and a fifo");
	is(st.bytes_total, 13 + 10 + 10 + 0 + BIG_LEN + 5 + (8 << 20) + 14 + 4,
	   "bytes_total counts every file's size (a hard-linked inode once)");
	ok(st.bytes_read < 1 << 20, "the sparse file's holes are not read (%llu bytes read)", (unsigned long long)st.bytes_read);
	ok(st.blobs_new >= BIG_LEN / 65536 + 5, "several blobs (%llu)", (unsigned long long)st.blobs_new);
	ok(st.bytes_added > BIG_LEN && st.packs >= 1, "the random file's bytes reached a pack");
	ok(st.parent[0] == 0, "no parent for the first backup");

	/* restore everything */
	snprintf(target, sizeof target, "%s/restore1", root);
	memset(&w, 0, sizeof w);
	e = restore(r, id1, target, NULL, 0, &rs, &w);
	ok(e == 0, "restore (%s)", e ? lb_errmsg() : "ok");
	is(rs.errors, 0, "no restore errors");
	is(compare_restore(target, 1), 0, "the restored tree matches: types, modes, owners, mtimes (ns), content, "
					  "targets, xattrs, hard links, holes");
	ok(rs.links == 2, "two hard links re-made as links (%llu)", (unsigned long long)rs.links);
	{
		/* the comparison itself must notice damage */
		char p[1500];
		int fd;

		snprintf(p, sizeof p, "%s%s/a/b/c/d/deep.txt", target, src);
		chmod(p, 0644);
		snprintf(p, sizeof p, "%s%s/big.bin", target, src);
		fd = open(p, O_WRONLY);
		if (pwrite(fd, "X", 1, BIG_LEN / 2) != 1)
			diag("pwrite failed");
		close(fd);
		ok(compare_restore(target, 1) == 3, "(the comparison notices a changed mode, a changed byte and its mtime)");
	}
	{
		char p[1500];
		struct stat s1;

		snprintf(p, sizeof p, "%s%s/sparse", target, src);
		ok(stat(p, &s1) == 0 && s1.st_size == 8 << 20 && s1.st_blocks * 512 < (1 << 20),
		   "the sparse file comes back sparse (%lld blocks)", (long long)s1.st_blocks);
		snprintf(p, sizeof p, "%s%s/fifo", target, src);
		ok(stat(p, &s1) == 0 && S_ISFIFO(s1.st_mode), "the fifo is a fifo");
		snprintf(p, sizeof p, "%s%s/empty", target, src);
		ok(stat(p, &s1) == 0 && s1.st_size == 0 && S_ISREG(s1.st_mode), "the empty file is there and empty");
		snprintf(p, sizeof p, "%s%s/setgid-prog", target, src);
		ok(stat(p, &s1) == 0 && (s1.st_mode & 07777) == 02755, "setgid bit kept (%o)", s1.st_mode & 07777);
	}

	/* check */
	e = lb_check_run(r, &co, &cs);
	ok(e == 0 && cs.errors == 0 && cs.warnings == 0, "check --read-data: 0 errors, 0 warnings (%llu, %llu)",
	   (unsigned long long)cs.errors, (unsigned long long)cs.warnings);
	ok(cs.snapshots == 1 && cs.trees >= 7 && cs.blobs == st.blobs_new && cs.blobs_read == st.blobs_new,
	   "check saw 1 snapshot, %llu trees, %llu of %llu blobs read", (unsigned long long)cs.trees,
	   (unsigned long long)cs.blobs_read, (unsigned long long)cs.blobs);

	/* second backup: nothing changed, the files cache answers */
	memset(&w, 0, sizeof w);
	e = backup(r, NULL, 0, &st2, id2, &w);
	ok(e == 0, "second backup");
	is(st2.files_unmodified, 11, "every file comes from the files cache (files_unmodified)");
	is(st2.files_new + st2.files_changed, 0, "no file is new or changed");
	is(st2.bytes_read, 0, "no file content is read");
	ok(!strcmp(st2.parent, id1), "the first snapshot is the parent");
	ok(st2.bytes_total == st.bytes_total, "same bytes_total");

	/* change one file: only it is read */
	{
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1600000100, 5 } };
		char p[1200];

		put_file("hello.txt", "hello, changed world\n", 21, 0644);
		snprintf(p, sizeof p, "%s/hello.txt", src);
		utimensat(AT_FDCWD, p, ts, 0);
	}
	e = backup(r, NULL, 0, &st2, id3, &w);
	ok(e == 0, "third backup after changing hello.txt");
	is(st2.files_changed, 1, "one file changed");
	is(st2.files_unmodified, 10, "ten from the cache");
	is(st2.bytes_read, 21, "only the changed file is read");
	ok(!strcmp(st2.parent, id2), "parent is the second snapshot");
	/* the old snapshot still restores the old content */
	snprintf(target, sizeof target, "%s/restore-old", root);
	{
		const char *incl[1];
		char ip[700], p[1500], buf[64] = "";
		int fd;

		snprintf(ip, sizeof ip, "%s/hello.txt", src);
		incl[0] = ip;
		e = restore(r, id1, target, incl, 1, &rs, &w);
		snprintf(p, sizeof p, "%s%s/hello.txt", target, src);
		fd = open(p, O_RDONLY);
		if (fd >= 0 && read(fd, buf, sizeof buf - 1) < 0)
			buf[0] = 0;
		if (fd >= 0)
			close(fd);
		ok(e == 0 && rs.errors == 0 && !strcmp(buf, "hello, world\n"), "the first snapshot still restores the old hello.txt");
		ok(rs.files == 1, "an include restores just that file (%llu files)", (unsigned long long)rs.files);
		snprintf(p, sizeof p, "%s%s/big.bin", target, src);
		ok(access(p, F_OK) != 0, "...and not its siblings");
	}
	/* includes of a directory, and of a path that is not there */
	snprintf(target, sizeof target, "%s/restore-part", root);
	{
		const char *incl[2];
		char ip1[700], ip2[700], p[1500];

		snprintf(ip1, sizeof ip1, "%s/a/b", src);
		snprintf(ip2, sizeof ip2, "%s/no/such/thing", src);
		incl[0] = ip1;
		incl[1] = ip2;
		memset(&w, 0, sizeof w);
		e = restore(r, id3, target, incl, 2, &rs, &w);
		ok(e == 0, "restore with an include of a directory and of a missing path");
		is(rs.errors, 1, "the missing path is one error");
		ok(strstr(w.last, "no/such/thing") != NULL, "...named: %s", w.last);
		snprintf(p, sizeof p, "%s%s/a/b/c/d/deep.txt", target, src);
		ok(access(p, F_OK) == 0, "everything below the included directory is restored");
		snprintf(p, sizeof p, "%s%s/a/hl2", target, src);
		ok(access(p, F_OK) != 0, "a sibling of an ancestor is not");
	}

	/* excludes */
	{
		char pat[700], p[1500];
		const char *ex[3];
		struct lb_backup_stats se;
		char id4[65];

		snprintf(pat, sizeof pat, "%s/a/b", src);
		ex[0] = "*.bin";
		ex[1] = pat;
		ex[2] = "fif?";
		memset(&w, 0, sizeof w);
		e = backup(r, ex, 3, &se, id4, &w);
		ok(e == 0, "backup with excludes *.bin, %s/a/b and fif?", src);
		snprintf(target, sizeof target, "%s/restore-ex", root);
		e = restore(r, id4, target, NULL, 0, &rs, &w);
		ok(e == 0 && rs.errors == 0, "restore it");
		snprintf(p, sizeof p, "%s%s/big.bin", target, src);
		ok(access(p, F_OK) != 0, "*.bin excluded");
		snprintf(p, sizeof p, "%s%s/a/b", target, src);
		ok(access(p, F_OK) != 0, "the excluded directory is not there");
		snprintf(p, sizeof p, "%s%s/fifo", target, src);
		ok(access(p, F_OK) != 0, "fif? excluded");
		snprintf(p, sizeof p, "%s%s/a/hl2", target, src);
		ok(access(p, F_OK) == 0, "its sibling is");
		snprintf(p, sizeof p, "%s%s/hello.txt", target, src);
		ok(access(p, F_OK) == 0, "other files are");
		is(se.files_new + se.files_changed + se.files_unmodified, 8, "8 files backed up (big.bin, hl3 and deep.txt excluded)");
	}

	/* check again with four snapshots */
	memset(&cm, 0, sizeof cm);
	co.report = check_cb;
	co.ctx = &cm;
	e = lb_check_run(r, &co, &cs);
	ok(e == 0 && cs.errors == 0 && cs.warnings == 0 && cs.snapshots == 4, "check of four snapshots: 0 errors");

	/* a damaged pack is reported by check */
	{
		struct lb_snapshot *s = NULL;
		struct lb_node n;
		char pname[65], pp[1500], bp[800];
		struct lb_blob_loc loc;
		FILE *f;

		/* damage the first chunk of big.bin */
		lb_snapshot_find(r, id1, &s);
		lb_repo_load_index(r, 0);
		snprintf(bp, sizeof bp, "%s/big.bin", src);
		ok(lb_browse_lookup(r, s->tree, bp, &n) == 0 && n.nextents >= 2, "find big.bin's chunks");
		lb_index_lookup(r->idx, n.extents[0].id, &loc);
		lb_node_release(&n);
		lb_hex(pname, lb_index_pack_id(r->idx, loc.pack), 32);
		snprintf(pp, sizeof pp, "%s/packs/%.2s/%s", repo, pname, pname);
		f = fopen(pp, "r+b");
		fseek(f, (long)loc.offset + LB_BLOB_HEADER_LEN + 100, SEEK_SET);
		fputc(0x5a ^ 0xff, f);
		fclose(f);
		memset(&cm, 0, sizeof cm);
		e = lb_check_run(r, &co, &cs);
		ok(e == 0 && cs.errors >= 1, "check --read-data finds a flipped byte (%llu errors)", (unsigned long long)cs.errors);
		ok(strstr(cm.last, pname) != NULL, "...and names the pack: %s", cm.last);
		co.read_data = false;
		e = lb_check_run(r, &co, &cs);
		ok(e == 0 && cs.errors == 0, "a structure-only check does not read blob payloads");
		/* restore goes on past the damaged file and names it */
		snprintf(target, sizeof target, "%s/restore-damaged", root);
		memset(&w, 0, sizeof w);
		e = restore(r, id1, target, NULL, 0, &rs, &w);
		ok(e == 0 && rs.errors == 1, "restore of the damaged snapshot: one error (%llu)", (unsigned long long)rs.errors);
		ok(strstr(w.last, "big.bin") != NULL, "...naming big.bin: %s", w.last);
		{
			char p[1500];

			snprintf(p, sizeof p, "%s%s/a/b/c/d/deep.txt", target, src);
			ok(access(p, F_OK) == 0, "the rest is restored");
		}
		lb_snapshot_free(s);
	}

	/* lb_exclude_match directly */
	{
		const char *pats[] = { "*.log", "/srv/*/cache", "tmp" };

		ok(lb_exclude_match(pats, 3, "/var/log/x.log", "x.log"), "'*.log' matches a name at any depth");
		ok(!lb_exclude_match(pats, 3, "/var/log/x.log.1", "x.log.1"), "...not a longer name");
		ok(lb_exclude_match(pats, 3, "/srv/www/cache", "cache"), "'/srv/*/cache' matches that path");
		ok(!lb_exclude_match(pats, 3, "/srv/www/sub/cache", "cache"), "...'*' does not cross '/'");
		ok(!lb_exclude_match(pats, 3, "/other/www/cache", "cache"), "...anchored at /");
		ok(lb_exclude_match(pats, 3, "/home/u/tmp", "tmp"), "'tmp' matches the name tmp");
		ok(!lb_exclude_match(pats, 3, "/home/u/tmp2", "tmp2"), "...not tmp2");
		ok(!lb_exclude_match(pats, 0, "/a", "a"), "no patterns match nothing");
	}

	/* bad arguments */
	{
		struct lb_backup_opts o = { .npaths = 0 };
		const char *missing[1];
		char mp[700], id[65];

		is(lb_backup_run(r, &o, &st, id), -EINVAL, "a backup of no paths: -EINVAL");
		snprintf(mp, sizeof mp, "%s/does-not-exist", root);
		missing[0] = mp;
		o.paths = missing;
		o.npaths = 1;
		o.host = "testhost";
		e = lb_backup_run(r, &o, &st, id);
		is(e, -ENOENT, "a path that does not exist: -ENOENT");
		ok(strstr(lb_errmsg(), "does-not-exist") != NULL, "...naming it: %s", lb_errmsg());
	}
	lb_repo_close(r);
	free(big_random);
	tap_tmp_cleanup();
	return done_testing();
}
