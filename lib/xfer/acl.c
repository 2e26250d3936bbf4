/* POSIX ACLs: raw system.posix_acl_* xattr values <-> libarchive ACL
 * entries.  The raw value is Linux's (include/uapi/linux/posix_acl_xattr.h):
 * a little-endian u32 version, then 8-byte entries {u16 tag, u16 perm,
 * u32 id}.  lifeboat stores it as the kernel gives it, so these constants
 * are Linux's, not ours. */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>

#include "util/util.h"
#include "xfer/xfer_internal.h"

#define PACL_VERSION 2u
#define PACL_HEADER_LEN 4u
#define PACL_ENTRY_LEN 8u
#define PACL_UNDEFINED_ID 0xffffffffu
#define PACL_ENTRIES_MAX 1024u      /* far beyond what ext4 or xfs store in one xattr */

enum pacl_tag {
	PACL_USER_OBJ = 0x01,
	PACL_USER = 0x02,
	PACL_GROUP_OBJ = 0x04,
	PACL_GROUP = 0x08,
	PACL_MASK = 0x10,
	PACL_OTHER = 0x20,
};

struct pacl_ent {
	uint16_t tag, perm;
	uint32_t id;
};

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int tag_to_archive(uint16_t tag)
{
	switch (tag) {
	case PACL_USER_OBJ: return ARCHIVE_ENTRY_ACL_USER_OBJ;
	case PACL_USER: return ARCHIVE_ENTRY_ACL_USER;
	case PACL_GROUP_OBJ: return ARCHIVE_ENTRY_ACL_GROUP_OBJ;
	case PACL_GROUP: return ARCHIVE_ENTRY_ACL_GROUP;
	case PACL_MASK: return ARCHIVE_ENTRY_ACL_MASK;
	case PACL_OTHER: return ARCHIVE_ENTRY_ACL_OTHER;
	default: return 0;
	}
}

static uint16_t tag_from_archive(int tag)
{
	switch (tag) {
	case ARCHIVE_ENTRY_ACL_USER_OBJ: return PACL_USER_OBJ;
	case ARCHIVE_ENTRY_ACL_USER: return PACL_USER;
	case ARCHIVE_ENTRY_ACL_GROUP_OBJ: return PACL_GROUP_OBJ;
	case ARCHIVE_ENTRY_ACL_GROUP: return PACL_GROUP;
	case ARCHIVE_ENTRY_ACL_MASK: return PACL_MASK;
	case ARCHIVE_ENTRY_ACL_OTHER: return PACL_OTHER;
	default: return 0;
	}
}

/* rwx in both: ARCHIVE_ENTRY_ACL_READ/WRITE/EXECUTE are 4/2/1 as in POSIX */
static int perm_to_archive(uint16_t perm)
{
	return ((perm & 4) ? ARCHIVE_ENTRY_ACL_READ : 0) | ((perm & 2) ? ARCHIVE_ENTRY_ACL_WRITE : 0) |
	       ((perm & 1) ? ARCHIVE_ENTRY_ACL_EXECUTE : 0);
}

static uint16_t perm_from_archive(int permset)
{
	return (uint16_t)(((permset & ARCHIVE_ENTRY_ACL_READ) ? 4 : 0) | ((permset & ARCHIVE_ENTRY_ACL_WRITE) ? 2 : 0) |
			  ((permset & ARCHIVE_ENTRY_ACL_EXECUTE) ? 1 : 0));
}

int lb_acl_to_archive(struct archive_entry *ae, int type, const uint8_t *value, size_t len)
{
	size_t n;

	if (len < PACL_HEADER_LEN || (len - PACL_HEADER_LEN) % PACL_ENTRY_LEN || get32(value) != PACL_VERSION)
		return lb_err(-LB_E_CORRUPT, "not a version %u posix_acl value (%zu bytes)", PACL_VERSION, len);
	n = (len - PACL_HEADER_LEN) / PACL_ENTRY_LEN;
	if (n > PACL_ENTRIES_MAX)
		return lb_err(-LB_E_CORRUPT, "an ACL of %zu entries is more than allowed", n);
	/* check everything before touching ae */
	for (size_t i = 0; i < n; i++)
		if (!tag_to_archive(get16(value + PACL_HEADER_LEN + i * PACL_ENTRY_LEN)))
			return lb_err(-LB_E_CORRUPT, "ACL entry %zu has an unknown tag 0x%x", i,
				      get16(value + PACL_HEADER_LEN + i * PACL_ENTRY_LEN));
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = value + PACL_HEADER_LEN + i * PACL_ENTRY_LEN;
		uint16_t tag = get16(p);
		bool named = tag == PACL_USER || tag == PACL_GROUP;

		/* numeric ids only: exact, as restore applies them */
		archive_entry_acl_add_entry(ae, type, perm_to_archive(get16(p + 2)), tag_to_archive(tag),
					    named ? (int)get32(p + 4) : -1, NULL);
	}
	return 0;
}

static int cmp_ent(const void *a, const void *b)
{
	const struct pacl_ent *x = a, *y = b;

	if (x->tag != y->tag)
		return x->tag < y->tag ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

/* The id of a named entry that came without one. */
static int lookup_id(int tag, const char *name, uint32_t *id)
{
	char buf[4096];
	int e;

	if (!name || !*name)
		return -ENOENT;
	if (tag == ARCHIVE_ENTRY_ACL_USER) {
		struct passwd pw, *res = NULL;

		e = getpwnam_r(name, &pw, buf, sizeof buf, &res);
		if (e || !res)
			return -ENOENT;
		*id = (uint32_t)res->pw_uid;
	} else {
		struct group gr, *res = NULL;

		e = getgrnam_r(name, &gr, buf, sizeof buf, &res);
		if (e || !res)
			return -ENOENT;
		*id = (uint32_t)res->gr_gid;
	}
	return 0;
}

static bool has_tag(const struct pacl_ent *v, size_t n, uint16_t tag)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].tag == tag)
			return true;
	return false;
}

int lb_acl_from_archive(struct archive_entry *ae, int type, struct lb_buf *out, unsigned *dropped)
{
	struct pacl_ent *v = NULL;
	size_t n = 0, cap;
	int count = archive_entry_acl_reset(ae, type), etype, permset, tag, qual, e = 0;
	const char *name;
	mode_t mode = archive_entry_perm(ae);
	bool named = false;

	if (count <= 0)
		return 0;
	if ((size_t)count > PACL_ENTRIES_MAX)
		return lb_err(-LB_E_CORRUPT, "an ACL of %d entries is more than allowed", count);
	cap = (size_t)count + 4; /* room for base entries and a mask we may add */
	if (!(v = calloc(cap, sizeof *v)))
		return -ENOMEM;
	while (archive_entry_acl_next(ae, type, &etype, &permset, &tag, &qual, &name) == ARCHIVE_OK && n < cap - 4) {
		struct pacl_ent x = { .tag = tag_from_archive(tag), .perm = perm_from_archive(permset),
				      .id = PACL_UNDEFINED_ID };

		if (!x.tag) {
			e = lb_err(-LB_E_CORRUPT, "ACL entry with tag %d has no POSIX equivalent", tag);
			goto out;
		}
		if (x.tag == PACL_USER || x.tag == PACL_GROUP) {
			if (qual >= 0)
				x.id = (uint32_t)qual;
			else if (lookup_id(tag, name, &x.id) < 0) {
				(*dropped)++;
				continue;
			}
			named = true;
		}
		v[n++] = x;
	}
	/* a default ACL must hold the base entries; take them from the mode
	 * when an archive left them out */
	if (!has_tag(v, n, PACL_USER_OBJ))
		v[n++] = (struct pacl_ent){ PACL_USER_OBJ, (uint16_t)((mode >> 6) & 7), PACL_UNDEFINED_ID };
	if (!has_tag(v, n, PACL_GROUP_OBJ))
		v[n++] = (struct pacl_ent){ PACL_GROUP_OBJ, (uint16_t)((mode >> 3) & 7), PACL_UNDEFINED_ID };
	if (!has_tag(v, n, PACL_OTHER))
		v[n++] = (struct pacl_ent){ PACL_OTHER, (uint16_t)(mode & 7), PACL_UNDEFINED_ID };
	if (named && !has_tag(v, n, PACL_MASK)) {
		uint16_t m = 0;

		for (size_t i = 0; i < n; i++)
			if (v[i].tag == PACL_USER || v[i].tag == PACL_GROUP || v[i].tag == PACL_GROUP_OBJ)
				m |= v[i].perm;
		v[n++] = (struct pacl_ent){ PACL_MASK, m, PACL_UNDEFINED_ID };
	}
	qsort(v, n, sizeof *v, cmp_ent);
	if (type == ARCHIVE_ENTRY_ACL_TYPE_ACCESS && !named && !has_tag(v, n, PACL_MASK)) {
		e = 0; /* the three base entries: that is the mode */
		goto out;
	}
	lb_buf_reset(out);
	if ((e = lb_buf_put_le32(out, PACL_VERSION)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		/* one entry per tag and id: the kernel refuses duplicates */
		if (i > 0 && v[i].tag == v[i - 1].tag && v[i].id == v[i - 1].id)
			continue;
		if ((e = lb_buf_put_u8(out, (uint8_t)v[i].tag)) < 0 || (e = lb_buf_put_u8(out, 0)) < 0 ||
		    (e = lb_buf_put_u8(out, (uint8_t)v[i].perm)) < 0 || (e = lb_buf_put_u8(out, 0)) < 0 ||
		    (e = lb_buf_put_le32(out, v[i].id)) < 0)
			goto out;
	}
	e = 1;
out:
	free(v);
	return e;
}
