/* lifeboat — export and import internals: POSIX ACLs between the raw
 * system.posix_acl_* xattr values lifeboat records and libarchive's
 * entries (the form pax SCHILY.acl.* records, GNU tar and bsdtar use). */
#ifndef LB_XFER_INTERNAL_H
#define LB_XFER_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

struct archive_entry;
struct lb_buf;

/* The Linux xattr names of POSIX ACLs. */
#define LB_XATTR_ACL_ACCESS "system.posix_acl_access"
#define LB_XATTR_ACL_DEFAULT "system.posix_acl_default"

/* Adds the entries of a raw posix_acl xattr value to ae as ACL entries of
 * type (ARCHIVE_ENTRY_ACL_TYPE_ACCESS or _DEFAULT).  Call it after the
 * entry's mode is set: for an access ACL libarchive keeps the owner, group
 * and other entries in the mode it writes beside the ACL.  Named entries
 * carry numeric ids only.  Returns 0, or -LB_E_CORRUPT (message set) for a
 * value that is not a version 2 posix_acl xattr; ae is unchanged then. */
int lb_acl_to_archive(struct archive_entry *ae, int type, const uint8_t *value, size_t len);

/* Builds the raw posix_acl xattr value (version 2, entries in the order
 * the kernel wants: owner, users by id, group, groups by id, mask, other)
 * from ae's ACL entries of type.  A named entry with a name but no id gets
 * the id of that name on this system.  A mask is added when named entries
 * need one and the archive has none.  Returns 1 with out filled, 0 when
 * there is no ACL of that type (an access ACL of the three base entries
 * only is the mode, not an ACL), negative on error (-LB_E_CORRUPT with the
 * message set: an entry that cannot be converted).  *dropped counts named
 * entries left out because their name is unknown here. */
int lb_acl_from_archive(struct archive_entry *ae, int type, struct lb_buf *out, unsigned *dropped);

#endif
