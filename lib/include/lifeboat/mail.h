/* lifeboat — mail spools: Maildirs read rename-tolerantly, mbox files read
 * under the Debian lock order, message counts in the manifest, and one
 * mailbox restored by itself.
 *
 * Mail files are real files, backed up at their real paths in the normal
 * tree; the mail source only changes how the walk reads them inside a spool
 * (a scanner, lifeboat/source.h):
 *
 *   Maildir  a directory holding cur/ and new/ (and tmp/), Maildir++
 *            folders (.Folder/) included.  cur/ and new/ are each listed in
 *            one getdents64 call, which the kernel serves under the
 *            directory's lock (rename takes it exclusively): each listing
 *            is a true instant of that directory.  Messages are keyed by
 *            their unique base name (before ':'); a name gone when opened
 *            is looked up again in a fresh listing (other directory, other
 *            flags) and read under the name it has then; a message that is
 *            in no fresh listing was deleted, and is simply absent.  tmp/
 *            is kept, empty.
 *   mbox     a regular file in the spool, outside any Maildir, that is
 *            empty or starts with "From ".  Locked as Debian policy says,
 *            fcntl() then the dotlock FILE.lock (O_EXCL; stale when its pid
 *            is dead, or, without a pid, older than 5 minutes, as
 *            liblockfile), both within one timeout, then read completely
 *            and unlocked.  A lock still held at the timeout is a warning
 *            naming the mbox and its holder; the previous snapshot's copy
 *            is kept, if there is one. */
#ifndef LIFEBOAT_MAIL_H
#define LIFEBOAT_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifeboat/progress.h"
#include "lifeboat/source.h"

struct lb_repo;
struct lb_snapshot;

#define LB_MAIL_LOCK_TIMEOUT_MS 30000    /* default time to wait for an mbox's locks */
#define LB_MAIL_DOTLOCK_STALE_S 300      /* a dotlock without a live pid older than this is stale */

struct lb_mail_opts {
	const char *const *spools;     /* directories (or single mbox files) */
	size_t nspools;
	unsigned lock_timeout_ms;      /* mbox locks: 0 means LB_MAIL_LOCK_TIMEOUT_MS */
};

/* The source `backup --mail-spool` adds to a backup; its manifest section
 * is "mail" (docs/FORMAT.md §12.2). */
int lb_mail_source_new(const struct lb_mail_opts *o, struct lb_source **ret);
void lb_mail_source_free(struct lb_source *s);

/* ---- Maildir names ---- */

struct lb_maildir_name {
	size_t baselen;        /* the unique part: name[0..baselen) */
	const char *info;      /* after the ':' separator ("2,FRS"), NULL if none */
	const char *flags;     /* after "2,", NULL if the info is not of that form */
	size_t flagslen;
};

/* Parses a message file name of cur/ or new/.  -EINVAL for names that are
 * not messages: empty, starting with '.', holding '/', or with an empty
 * base. */
int lb_maildir_name_parse(const char *name, struct lb_maildir_name *out);
/* Whether the parsed name carries flag (e.g. 'S' seen, 'T' trashed). */
bool lb_maildir_has_flag(const struct lb_maildir_name *n, char flag);
/* Whether two names are the same message (same base). */
bool lb_maildir_same_message(const char *a, const char *b);

/* ---- mbox ---- */

/* Counts messages as bytes stream by: a "From " line at the start of the
 * file or after an empty line starts one. */
struct lb_mbox_counter {
	uint64_t messages;
	uint64_t next;         /* offset expected next */
	int matched;           /* bytes of "From " matched on this line, -1 none */
	bool bol;              /* at the start of a line */
};

void lb_mbox_counter_init(struct lb_mbox_counter *c);
void lb_mbox_counter_feed(struct lb_mbox_counter *c, const uint8_t *p, size_t n);

/* A held mbox lock (both halves), see lb_mbox_lock(). */
struct lb_mbox_lock {
	int fd;                /* the mbox, locked with fcntl; -1 when not held */
	char *dotlock;         /* FILE.lock we created, NULL if none */
	bool have_dotlock;     /* false if the directory let us create none (read-only, no permission) */
	double wait_ms;        /* time spent waiting */
};

/* Locks the mbox open at fd (path) in the Debian order: an fcntl lock
 * (F_RDLCK, or F_WRLCK for_write) then the dotlock path.lock, polling for
 * at most timeout_ms in all, and giving up early if *cancel becomes
 * non-zero.  On -ETIMEDOUT, holder describes who holds which lock ("pid 42
 * (procmail) holds the dotlock"); nothing stays locked on any failure. */
int lb_mbox_lock(int fd, const char *path, bool for_write, unsigned timeout_ms, volatile int *cancel,
		 struct lb_mbox_lock *lk, char *holder, size_t holdersz);
/* Keeps a held dotlock fresh for others' stale-lock rules (touches it). */
void lb_mbox_lock_touch(struct lb_mbox_lock *lk);
/* Releases both locks, dotlock first; lk->fd is left open for the caller. */
void lb_mbox_unlock(struct lb_mbox_lock *lk);

/* ---- restoring one mailbox ---- */

struct lb_mail_restore_opts {
	const char *target;            /* NULL: into the live mailbox; else a directory (below) */
	unsigned lock_timeout_ms;      /* mbox: 0 means LB_MAIL_LOCK_TIMEOUT_MS */
	struct lb_progress *progress;  /* may be NULL */
};

struct lb_mail_restore_stats {
	char format[8];          /* "maildir" or "mbox" */
	uint64_t messages;       /* messages of the mailbox in the snapshot */
	uint64_t restored;       /* written */
	uint64_t present;        /* already there, left alone */
	char dest[4096];         /* where they went */
};

/* Restores the snapshot's mailbox (its path in the snapshot) safely.
 *
 * Maildir: every message the destination lacks (matched by base name, in
 * any directory, with any flags) is delivered as a real delivery would:
 * written into tmp/, then renamed into cur/ or new/ under its name in the
 * snapshot, never over an existing file; messages already there are not
 * touched.  The destination is the live mailbox, or target, made a Maildir
 * if need be.  Sub-folders are mailboxes of their own.
 *
 * mbox: into the live mbox, the messages it lacks (matched by Message-ID,
 * or by content when there is none) are appended under the same lock order
 * as a delivery (and removed again if the append fails half-way); with
 * target, the mbox as it was is written to target/NAME (never over an
 * existing file). */
int lb_mail_restore(struct lb_repo *r, const struct lb_snapshot *s, const char *mailbox,
		    const struct lb_mail_restore_opts *o, struct lb_mail_restore_stats *st);

#endif
