#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/xattr.h>

#include "snap/meta.h"
#include "util/util.h"

#define OWNER_SLOTS 1024

struct owner_ent {
	uint32_t id;
	bool used;
	char *name;
};

struct lb_owner_cache {
	struct owner_ent users[OWNER_SLOTS];
	struct owner_ent groups[OWNER_SLOTS];
	char *spill; /* a name that did not fit the table */
};

int lb_owner_cache_new(struct lb_owner_cache **ret)
{
	*ret = calloc(1, sizeof **ret);
	return *ret ? 0 : -ENOMEM;
}

void lb_owner_cache_free(struct lb_owner_cache *c)
{
	if (!c)
		return;
	for (int i = 0; i < OWNER_SLOTS; i++) {
		free(c->users[i].name);
		free(c->groups[i].name);
	}
	free(c->spill);
	free(c);
}

static char *lookup_name(uint32_t id, bool user)
{
	char buf[4096];
	char *out = NULL;

	if (user) {
		struct passwd pw, *res = NULL;

		if (getpwuid_r(id, &pw, buf, sizeof buf, &res) == 0 && res)
			out = strdup(res->pw_name);
	} else {
		struct group gr, *res = NULL;

		if (getgrgid_r(id, &gr, buf, sizeof buf, &res) == 0 && res)
			out = strdup(res->gr_name);
	}
	return out ? out : strdup("");
}

static const char *owner_lookup(struct lb_owner_cache *c, struct owner_ent *tab, uint32_t id, bool user)
{
	for (unsigned i = 0, h = (id * 2654435761u) % OWNER_SLOTS; i < OWNER_SLOTS; i++, h = (h + 1) % OWNER_SLOTS) {
		if (!tab[h].used) {
			tab[h].used = true;
			tab[h].id = id;
			tab[h].name = lookup_name(id, user);
			return tab[h].name ? tab[h].name : "";
		}
		if (tab[h].id == id)
			return tab[h].name ? tab[h].name : "";
	}
	free(c->spill);
	c->spill = lookup_name(id, user);
	return c->spill ? c->spill : "";
}

const char *lb_owner_user(struct lb_owner_cache *c, uid_t uid)
{
	if (!c)
		return "";
	return owner_lookup(c, c->users, uid, true);
}

const char *lb_owner_group(struct lb_owner_cache *c, gid_t gid)
{
	if (!c)
		return "";
	return owner_lookup(c, c->groups, gid, false);
}

static char *dup_name(const char *s)
{
	size_t n = strnlen(s, LB_OWNER_NAME_MAX);
	char *d = malloc(n + 1);

	if (d) {
		memcpy(d, s, n);
		d[n] = 0;
	}
	return d;
}

void lb_node_from_stat(struct lb_node *n, const struct stat *st, struct lb_owner_cache *oc)
{
	switch (st->st_mode & S_IFMT) {
	case S_IFREG: n->type = LB_NODE_FILE; break;
	case S_IFDIR: n->type = LB_NODE_DIR; break;
	case S_IFLNK: n->type = LB_NODE_SYMLINK; break;
	case S_IFIFO: n->type = LB_NODE_FIFO; break;
	case S_IFCHR: n->type = LB_NODE_CHR; break;
	case S_IFBLK: n->type = LB_NODE_BLK; break;
	default: n->type = 0; break;
	}
	n->mode = st->st_mode & 07777;
	n->uid = st->st_uid;
	n->gid = st->st_gid;
	free(n->user);
	free(n->group);
	/* names are informational (restore uses the ids): cut to what trees hold */
	n->user = dup_name(lb_owner_user(oc, st->st_uid));
	n->group = dup_name(lb_owner_group(oc, st->st_gid));
	n->mtime_s = st->st_mtim.tv_sec;
	n->mtime_ns = (uint32_t)st->st_mtim.tv_nsec;
	n->atime_s = st->st_atim.tv_sec;
	n->atime_ns = (uint32_t)st->st_atim.tv_nsec;
	n->ctime_s = st->st_ctim.tv_sec;
	n->ctime_ns = (uint32_t)st->st_ctim.tv_nsec;
	n->dev = st->st_dev;
	n->ino = st->st_ino;
	n->nlink = st->st_nlink;
	n->size = n->type == LB_NODE_FILE ? (uint64_t)st->st_size : 0;
	n->rdev = (n->type == LB_NODE_CHR || n->type == LB_NODE_BLK) ? st->st_rdev : 0;
}

/* /proc/self/fd/N/name names dirfd/name for the l*xattr calls without
 * building a full path (which may exceed PATH_MAX) and without following a
 * final symlink. */
static void proc_path(char *out, size_t n, int dirfd, const char *name)
{
	snprintf(out, n, "/proc/self/fd/%d/%s", dirfd, name);
}

static int cmp_xattr(const void *a, const void *b)
{
	return strcmp(((const struct lb_xattr *)a)->name, ((const struct lb_xattr *)b)->name);
}

int lb_xattrs_read(int dirfd, const char *name, struct lb_node *n)
{
	char path[512], *list = NULL;
	ssize_t len;
	size_t cnt = 0;
	int e = 0;

	proc_path(path, sizeof path, dirfd, name);
	for (;;) {
		len = llistxattr(path, NULL, 0);
		if (len < 0) {
			if (errno == ENOTSUP || errno == ENODATA)
				return 0;
			return lb_errno(-errno, "list extended attributes");
		}
		if (len == 0)
			return 0;
		free(list);
		list = malloc((size_t)len);
		if (!list)
			return -ENOMEM;
		len = llistxattr(path, list, (size_t)len);
		if (len >= 0)
			break;
		if (errno != ERANGE) {
			e = lb_errno(-errno, "list extended attributes");
			goto out;
		}
	}
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(list + i) + 1)
		cnt++;
	if (cnt > LB_XATTRS_MAX) {
		e = lb_err(-E2BIG, "more than %d extended attributes", LB_XATTRS_MAX);
		goto out;
	}
	n->xattrs = calloc(cnt ? cnt : 1, sizeof *n->xattrs);
	if (!n->xattrs) {
		e = -ENOMEM;
		goto out;
	}
	for (ssize_t i = 0; i < len; i += (ssize_t)strlen(list + i) + 1) {
		const char *xn = list + i;
		struct lb_xattr *x;
		ssize_t vlen;

		if (!xn[0] || strlen(xn) > LB_XATTR_NAME_MAX)
			continue;
		for (;;) {
			vlen = lgetxattr(path, xn, NULL, 0);
			if (vlen < 0)
				break;
			x = &n->xattrs[n->nxattrs];
			x->value = malloc(vlen ? (size_t)vlen : 1);
			if (!x->value) {
				e = -ENOMEM;
				goto out;
			}
			vlen = lgetxattr(path, xn, x->value, (size_t)vlen);
			if (vlen >= 0 || errno != ERANGE)
				break;
			free(x->value);
			x->value = NULL;
		}
		if (vlen < 0) {
			if (errno == ENODATA) /* removed since the listing */
				continue;
			e = lb_errno(-errno, "read extended attribute %s", xn);
			goto out;
		}
		x = &n->xattrs[n->nxattrs];
		x->len = (size_t)vlen;
		x->name = strdup(xn);
		if (!x->name) {
			e = -ENOMEM;
			goto out;
		}
		n->nxattrs++;
	}
	qsort(n->xattrs, n->nxattrs, sizeof *n->xattrs, cmp_xattr);
out:
	free(list);
	return e;
}

int lb_xattrs_apply(int dirfd, const char *name, const struct lb_node *n)
{
	char path[512];
	int failed = 0;

	proc_path(path, sizeof path, dirfd, name);
	for (size_t i = 0; i < n->nxattrs; i++) {
		const struct lb_xattr *x = &n->xattrs[i];

		if (lsetxattr(path, x->name, x->value, x->len, 0) < 0) {
			lb_errno(-errno, "set extended attribute %s", x->name);
			failed++;
		}
	}
	return failed;
}
