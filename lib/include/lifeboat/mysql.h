/* lifeboat — MySQL/MariaDB: consistent backups of a live server, restores
 * of a whole dump, one database or one table into a running server, restore
 * drills, and binlog archiving for point-in-time recovery.
 *
 * Everything goes through the libmysqlclient API (MariaDB Connector/C). */
#ifndef LIFEBOAT_MYSQL_H
#define LIFEBOAT_MYSQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lifeboat/progress.h"
#include "lifeboat/source.h"

struct lb_repo;
struct lb_snapshot;

/* How to reach the server.  Unset fields come from the defaults file's
 * [client] group (or ~/.my.cnf), as for every MySQL client. */
struct lb_mysql_conn {
	const char *defaults_file;   /* NULL: the usual option files */
	const char *host;
	const char *socket;
	unsigned port;
	const char *user;
	const char *password;        /* never on a command line: config file or defaults file */
	unsigned timeout;            /* connect/read/write timeout, seconds (0: 30) */
};

enum lb_mysql_mode {
	LB_MYSQL_LOGICAL = 0,   /* rows of every table inside one consistent snapshot */
	LB_MYSQL_SNAPSHOT = 1,  /* a file-system snapshot of the datadir under a brief lock */
};

struct lb_mysql_opts {
	struct lb_mysql_conn conn;
	const char *const *databases; /* none: every database but the system schemas */
	size_t ndatabases;
	enum lb_mysql_mode mode;
	const char *snapshot_hook;    /* snapshot mode without btrfs: a command that snapshots the
				       * datadir and prints the directory to read (LVM, ZFS) */
	const char *snapshot_release; /* and one that removes it afterwards */
	unsigned jobs;                /* parallel dump connections (0: one per processor, up to 4) */
	unsigned lock_wait_timeout;   /* seconds the server may wait for the lock (0: 10) */
	unsigned lock_hard_ms;        /* watchdog: the lock is broken after this (0: lock_wait_timeout + 5 s) */
	unsigned lock_retries;        /* attempts before giving up (0: 3) */
	unsigned long_query_secs;     /* running queries older than this delay the lock (0: 60) */
	unsigned long_query_wait;     /* and are waited for this long before failing (0: 120) */
	bool myisam_unlocked;         /* do not hold the lock while non-transactional tables are
				       * dumped: they are marked inconsistent instead */
};

/* The source `backup --mysql` adds to a backup. */
int lb_mysql_source_new(const struct lb_mysql_opts *o, struct lb_source **ret);
void lb_mysql_source_free(struct lb_source *s);

/* ---- restore ---- */

typedef void (*lb_mysql_msg_fn)(void *ctx, const char *msg);

struct lb_mysql_restore_opts {
	struct lb_mysql_conn conn;
	const char *database;    /* NULL: everything */
	const char *table;       /* with database: one table */
	const char *into;        /* restore database under this name */
	bool users;              /* also users and grants (whole restores only) */
	const char *until_time;  /* point in time: replay archived binlogs up to here */
	const char *until_gtid;
	bool replace;            /* drop existing tables before loading them */
	lb_mysql_msg_fn info;
	lb_mysql_msg_fn warn;    /* things the operator must know (the archive ends before the point) */
	void *ctx;
	struct lb_progress *progress;
};

struct lb_mysql_restore_stats {
	uint64_t databases, tables, rows, statements, binlog_events;
};

int lb_mysql_restore(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_mysql_restore_opts *o,
		     struct lb_mysql_restore_stats *st);

/* ---- restore drills ---- */

struct lb_mysql_verify_opts {
	const char *mariadbd;        /* server binary (NULL: mariadbd from PATH) */
	const char *workdir;         /* throwaway datadir lives here (NULL: $TMPDIR) */
	lb_mysql_msg_fn info;
	void *ctx;
};

struct lb_mysql_verdict {
	bool ok;
	uint64_t tables, checked, mismatches, check_failures;
	char summary[1024];
};

/* Restores the snapshot's dump into a throwaway server, runs CHECK TABLE on
 * every table and compares each table's checksum with the manifest; the
 * verdict is recorded in the repository (verdicts/). */
int lb_mysql_verify(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_mysql_verify_opts *o,
		    struct lb_mysql_verdict *v);

/* ---- point in time ---- */

struct lb_binlog_opts {
	struct lb_mysql_conn conn;
	unsigned server_id;          /* 0: a fixed id of lifeboat's */
	unsigned segment_secs;       /* commit a segment at least this often (0: 60) */
	uint64_t segment_bytes;      /* or when this much arrived (0: 16 MiB) */
	const char *host_label;      /* snapshot host name (NULL: this machine's) */
	lb_mysql_msg_fn info;
	void *ctx;
	struct lb_progress *progress; /* cancel stops it cleanly */
};

/* Follows the server's binlog from where the archive stopped (or from the
 * current position) and stores it in the repository, segment by segment,
 * until canceled.  Survives server restarts and binlog rotation. */
int lb_mysql_binlog_archive(struct lb_repo *r, const struct lb_binlog_opts *o);

#endif
