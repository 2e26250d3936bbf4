/* lifeboat — mail source internals, shared by mail.c, maildir.c, mbox.c. */
#ifndef LB_MAIL_INTERNAL_H
#define LB_MAIL_INTERNAL_H

#include <jansson.h>

#include "lifeboat/mail.h"
#include "lifeboat/tree.h"
#include "util/util.h"

struct mailsrc {
	struct lb_source pub;
	char **spools;
	size_t nspools;
	unsigned lock_timeout_ms;
	struct lb_source_env *env;
	unsigned in_maildir;       /* > 0 while a Maildir's entries are added: its files are no mboxes */
	json_t *mailboxes;         /* path -> counts, for the manifest */
	uint64_t maildirs, mboxes, messages, warnings;
	struct lb_mbox_lock held;  /* the mbox being read, if any (released by cleanup too) */
};

/* Counts one Maildir's messages in the manifest. */
struct maildir_stats {
	uint64_t messages, new, cur, seen, bytes;
	uint64_t vanished;    /* deleted during the backup: absent, as they should be */
	uint64_t renamed;     /* found again under another name */
	uint64_t relists;     /* fresh listings taken to find them */
	bool atomic;          /* every listing was one getdents64 call */
};

/* Whether dirfd is a Maildir (cur/ and new/ directories). */
bool lb_maildir_is(int dirfd);
/* Adds the Maildir open at dirfd to d: its messages rename-tolerantly, tmp/
 * empty, everything else as the walk would.  1 (nothing added) when cur/
 * or new/ cannot be opened: the walk is to read it as a plain directory. */
int lb_maildir_scan(struct mailsrc *m, struct lb_scan *d, int dirfd, struct maildir_stats *st);

/* A set of 32-byte digests (open addressing; the zero digest is "empty"). */
struct digest_set {
	uint8_t (*v)[32];
	size_t n, cap;
};
int digest_set_add(struct digest_set *s, const uint8_t d[32]); /* 1 added, 0 present */
bool digest_set_has(const struct digest_set *s, const uint8_t d[32]);
void digest_set_free(struct digest_set *s);

int lb_maildir_restore(struct lb_repo *r, const struct lb_node *box, const char *dest,
		       struct lb_mail_restore_stats *st, struct lb_progress *pg);
int lb_mbox_restore(struct lb_repo *r, const struct lb_node *box, const char *live, const char *target_dir,
		    unsigned timeout_ms, struct lb_mail_restore_stats *st, struct lb_progress *pg);
/* Streams a snapshot file's content (node's extents) to fn. */
int lb_mail_stream_node(struct lb_repo *r, const struct lb_node *n,
			int (*fn)(const uint8_t *p, size_t len, void *ctx), void *ctx);

#endif
