/* Unit tests for lib/snap/meta.c: owner names, stat to node, extended
 * attributes and ACLs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/xattr.h>

#include "tap.h"
#include "snap/meta.h"
#include "util/util.h"

static int dfd;

static void test_owners(void)
{
	struct lb_owner_cache *c = NULL;
	const char *a, *b;
	int spill_ok = 1;

	ok(lb_owner_cache_new(&c) == 0 && c, "owner cache");
	ok(!strcmp(lb_owner_user(c, 0), "root"), "uid 0 is root");
	ok(!strcmp(lb_owner_group(c, 0), "root"), "gid 0 is root");
	a = lb_owner_user(c, 0);
	b = lb_owner_user(c, 0);
	ok(a == b, "a second lookup comes from the cache");
	ok(!strcmp(lb_owner_user(c, 3999999), ""), "an unknown uid has no name (\"\")");
	ok(!strcmp(lb_owner_group(c, 3999999), ""), "an unknown gid has no name");
	/* more ids than the table holds */
	for (uint32_t id = 5000000; id < 5002000; id++)
		if (strcmp(lb_owner_user(c, id), ""))
			spill_ok = 0;
	ok(spill_ok, "2000 distinct unknown uids (more than the table) still answer");
	ok(!strcmp(lb_owner_user(c, 0), "root") && !strcmp(lb_owner_group(c, 0), "root"), "...and earlier ones still resolve");
	lb_owner_cache_free(c);
	lb_owner_cache_free(NULL);
}

static void test_from_stat(void)
{
	struct lb_owner_cache *c = NULL;
	struct lb_node n;
	struct stat st;
	int fd;

	lb_owner_cache_new(&c);
	fd = openat(dfd, "f", O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (write(fd, "12345", 5) != 5)
		diag("write failed");
	fchmod(fd, 04751);
	futimens(fd, (struct timespec[]){ { 1600000000, 111 }, { 1600000001, 999999999 } });
	close(fd);
	fstatat(dfd, "f", &st, AT_SYMLINK_NOFOLLOW);
	memset(&n, 0, sizeof n);
	lb_node_from_stat(&n, &st, c);
	ok(n.type == LB_NODE_FILE && n.mode == 04751 && n.size == 5, "a file: type, mode with setuid, size");
	ok(n.mtime_s == 1600000001 && n.mtime_ns == 999999999 && n.atime_s == 1600000000 && n.atime_ns == 111,
	   "times with nanoseconds");
	ok(n.uid == st.st_uid && n.gid == st.st_gid && !strcmp(n.user, lb_owner_user(c, st.st_uid)), "owner and its name");
	ok(n.ino == st.st_ino && n.dev == st.st_dev && n.nlink == 1 && n.rdev == 0, "ino, dev, nlink; no rdev");
	lb_node_from_stat(&n, &st, c); /* again: must not leak the names */
	lb_node_release(&n);

	mkdirat(dfd, "d", 01755);
	fchmodat(dfd, "d", 01755, 0);
	fstatat(dfd, "d", &st, AT_SYMLINK_NOFOLLOW);
	memset(&n, 0, sizeof n);
	lb_node_from_stat(&n, &st, NULL);
	ok(n.type == LB_NODE_DIR && n.mode == 01755 && n.size == 0, "a directory: sticky bit kept, size 0");
	ok(n.user && !strcmp(n.user, "") && n.group && !strcmp(n.group, ""), "without a cache the names are \"\"");
	lb_node_release(&n);

	symlinkat("f", dfd, "l");
	fstatat(dfd, "l", &st, AT_SYMLINK_NOFOLLOW);
	memset(&n, 0, sizeof n);
	lb_node_from_stat(&n, &st, c);
	ok(n.type == LB_NODE_SYMLINK && n.size == 0, "a symlink");
	lb_node_release(&n);

	mkfifoat(dfd, "p", 0640);
	fstatat(dfd, "p", &st, AT_SYMLINK_NOFOLLOW);
	memset(&n, 0, sizeof n);
	lb_node_from_stat(&n, &st, c);
	ok(n.type == LB_NODE_FIFO && n.mode == 0640, "a fifo");
	lb_node_release(&n);

	if (stat("/dev/null", &st) == 0) {
		memset(&n, 0, sizeof n);
		lb_node_from_stat(&n, &st, c);
		ok(n.type == LB_NODE_CHR && n.rdev == st.st_rdev && n.rdev != 0, "/dev/null: a character device with its rdev");
		lb_node_release(&n);
	} else {
		skip("no /dev/null");
	}
	{
		int s = socket(AF_UNIX, SOCK_STREAM, 0);
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		snprintf(a.sun_path, sizeof a.sun_path, "%s/sock", tap_tmp());
		bind(s, (struct sockaddr *)&a, sizeof a);
		fstatat(dfd, "sock", &st, AT_SYMLINK_NOFOLLOW);
		memset(&n, 0, sizeof n);
		lb_node_from_stat(&n, &st, c);
		ok(S_ISSOCK(st.st_mode) && n.type == 0, "a socket has no node type (backup skips it)");
		lb_node_release(&n);
		close(s);
	}
	lb_owner_cache_free(c);
}

static int xattrs_supported(void)
{
	int fd = openat(dfd, "probe", O_WRONLY | O_CREAT, 0600);
	int r = fsetxattr(fd, "user.probe", "1", 1, 0) == 0;

	close(fd);
	unlinkat(dfd, "probe", 0);
	return r;
}

static void test_xattrs(void)
{
	struct lb_node n, m;
	char path[600];
	char big[3000];
	int fd;

	if (!xattrs_supported()) {
		skip("no user xattrs on this file system");
		return;
	}
	fd = openat(dfd, "x", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	fsetxattr(fd, "user.b", "bee", 3, 0);
	fsetxattr(fd, "user.a", "a\0b", 3, 0);
	fsetxattr(fd, "user.empty", "", 0, 0);
	memset(big, 'z', sizeof big);
	fsetxattr(fd, "user.big", big, sizeof big, 0);
	fsetxattr(fd, "trusted.t", "T", 1, 0); /* root only */
	close(fd);
	memset(&n, 0, sizeof n);
	ok(lb_xattrs_read(dfd, "x", &n) == 0, "read xattrs");
	{
		int found_t = 0, sorted = 1, a_ok = 0, e_ok = 0, big_ok = 0;

		for (size_t i = 0; i < n.nxattrs; i++) {
			if (i && strcmp(n.xattrs[i - 1].name, n.xattrs[i].name) >= 0)
				sorted = 0;
			if (!strcmp(n.xattrs[i].name, "trusted.t"))
				found_t = 1;
			if (!strcmp(n.xattrs[i].name, "user.a"))
				a_ok = n.xattrs[i].len == 3 && !memcmp(n.xattrs[i].value, "a\0b", 3);
			if (!strcmp(n.xattrs[i].name, "user.empty"))
				e_ok = n.xattrs[i].len == 0;
			if (!strcmp(n.xattrs[i].name, "user.big"))
				big_ok = n.xattrs[i].len == sizeof big && !memcmp(n.xattrs[i].value, big, sizeof big);
		}
		ok(n.nxattrs >= 5, "all five attributes (%zu)", n.nxattrs);
		ok(sorted, "sorted by name");
		ok(a_ok, "a value with a NUL byte is kept whole");
		ok(e_ok, "an empty value is kept");
		ok(big_ok, "a 3000-byte value is kept");
		ok(found_t || geteuid() != 0, "trusted.* is read (as root)");
	}

	/* apply onto a fresh file */
	fd = openat(dfd, "y", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	close(fd);
	is(lb_xattrs_apply(dfd, "y", &n), 0, "apply them to another file: no failures");
	memset(&m, 0, sizeof m);
	lb_xattrs_read(dfd, "y", &m);
	{
		int same = m.nxattrs == n.nxattrs;

		for (size_t i = 0; same && i < n.nxattrs; i++)
			same = !strcmp(m.xattrs[i].name, n.xattrs[i].name) && m.xattrs[i].len == n.xattrs[i].len &&
			       !memcmp(m.xattrs[i].value, n.xattrs[i].value, n.xattrs[i].len);
		ok(same, "...and they read back the same");
	}
	lb_node_release(&m);
	lb_node_release(&n);

	/* a symlink is not followed */
	symlinkat("x", dfd, "lx");
	memset(&n, 0, sizeof n);
	ok(lb_xattrs_read(dfd, "lx", &n) == 0 && n.nxattrs == 0, "reading a symlink does not follow it to x's xattrs");
	lb_node_release(&n);

	/* nothing to read */
	fd = openat(dfd, "plain", O_WRONLY | O_CREAT | O_TRUNC, 0644);
	close(fd);
	memset(&n, 0, sizeof n);
	ok(lb_xattrs_read(dfd, "plain", &n) == 0 && n.nxattrs == 0, "a file without xattrs: none");
	lb_node_release(&n);
	memset(&n, 0, sizeof n);
	ok(lb_xattrs_read(dfd, "missing", &n) < 0, "a missing file: an error");
	lb_node_release(&n);

	/* failures are counted, the rest applied */
	memset(&n, 0, sizeof n);
	n.xattrs = calloc(2, sizeof *n.xattrs);
	n.xattrs[0].name = strdup("bogusns.x");
	n.xattrs[0].value = (uint8_t *)strdup("1");
	n.xattrs[0].len = 1;
	n.xattrs[1].name = strdup("user.good");
	n.xattrs[1].value = (uint8_t *)strdup("2");
	n.xattrs[1].len = 1;
	n.nxattrs = 2;
	is(lb_xattrs_apply(dfd, "plain", &n), 1, "an attribute in an unknown namespace fails: 1 failure");
	ok(strstr(lb_errmsg(), "bogusns.x") != NULL, "...named in the message: %s", lb_errmsg());
	snprintf(path, sizeof path, "%s/plain", tap_tmp());
	ok(getxattr(path, "user.good", big, sizeof big) == 1, "...the other is applied");
	lb_node_release(&n);

	/* POSIX ACLs travel as system.posix_acl_* */
	if (access("/usr/bin/setfacl", X_OK) == 0) {
		char cmd[800];
		int have_acl = 0, have_def = 0;

		mkdirat(dfd, "acl", 0755);
		snprintf(cmd, sizeof cmd, "setfacl -m u:12345:r-x '%s/acl' && setfacl -d -m g:54321:rw '%s/acl'", tap_tmp(),
			 tap_tmp());
		if (system(cmd) == 0) {
			memset(&n, 0, sizeof n);
			lb_xattrs_read(dfd, "acl", &n);
			for (size_t i = 0; i < n.nxattrs; i++) {
				have_acl |= !strcmp(n.xattrs[i].name, "system.posix_acl_access");
				have_def |= !strcmp(n.xattrs[i].name, "system.posix_acl_default");
			}
			ok(have_acl && have_def, "a directory's access and default ACLs are read");
			mkdirat(dfd, "acl2", 0755);
			is(lb_xattrs_apply(dfd, "acl2", &n), 0, "...and applied to another directory");
			lb_node_release(&n);
			snprintf(cmd, sizeof cmd, "getfacl -p '%s/acl2' 2>/dev/null | grep -q 'default:group:54321:rw-' && "
				 "getfacl -p '%s/acl2' 2>/dev/null | grep -q '^user:12345:r-x'", tap_tmp(), tap_tmp());
			ok(system(cmd) == 0, "getfacl shows both ACLs on the copy");
		} else {
			skip("setfacl failed (no ACL support)");
		}
	} else {
		skip("no setfacl");
	}
}

int main(void)
{
	dfd = open(tap_tmp(), O_RDONLY | O_DIRECTORY);
	test_owners();
	test_from_stat();
	test_xattrs();
	close(dfd);
	tap_tmp_cleanup();
	return done_testing();
}
