/* The MySQL/MariaDB source: a consistent logical dump of a live server, or
 * a file-system snapshot of its datadir, taken under a bounded lock.
 *
 * Logical mode, in run():
 *   1. long-query guard: queries older than long_query_secs would hold up
 *      the lock, so wait for them (bounded) or fail naming them;
 *   2. lock (MariaDB: BACKUP STAGE START + BLOCK_COMMIT; MySQL: FTWRL),
 *      under lock_wait_timeout, with a watchdog that kills the lock's
 *      connection after lock_hard_ms; on a timeout: release, back off,
 *      retry, then fail;
 *   3. under the lock: every dump connection opens a consistent-read
 *      transaction and touches its tables (so DDL waits for the dump rather
 *      than breaking it), the binlog file/position/GTID are read, and the
 *      non-transactional tables (MyISAM, Aria) are frozen: on MariaDB each
 *      dump worker's share of them is read-locked (LOCK TABLES ... READ) by
 *      a second connection of that worker, which then dumps them itself
 *      (another connection's read could queue behind a writer waiting for
 *      that lock); on MySQL they are dumped there and then;
 *   4. unlock: writes to transactional tables resume; the workers dump every
 *      table in parallel, their frozen ones first, each letting go of its
 *      table lock as soon as those are done.  The table locks are bounded
 *      like the commit lock: past lock_hard_ms the watchdog kills the
 *      connection that holds one, and its tables are then dumped without it
 *      and marked not consistent.  Each table is a file of framed INSERT
 *      statements, its rows checksummed as they stream by;
 *   5. schema (tables, views, triggers, routines, events) and users.
 *
 * Snapshot mode, in prepare(): the same lock, held only while the datadir
 * is snapshotted (btrfs, built in; LVM/ZFS through a hook) and the
 * checksum connections open their transactions; the snapshot is then read
 * by the file walk in place of the datadir.  The lock is released whatever
 * happens: by us, by the watchdog, or by the server when our connection
 * closes (if lifeboat is killed). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <linux/btrfs.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>

#include "lifeboat/snapshot.h"
#include "snap/vtree.h"
#include "sources/mysql_internal.h"

#define MAX_DEFAULT_JOBS 4
#define DEFAULT_LOCK_WAIT 10
#define DEFAULT_RETRIES 3
#define DEFAULT_LONG_QUERY 60
#define DEFAULT_LONG_WAIT 120

struct table {
	char *db, *name;
	char *engine;
	char *file;           /* its data file in the source tree */
	bool transactional;
	bool view;
	bool under_lock;      /* dumped while writes to it were blocked */
	bool dumped;
	unsigned worker;
	struct lb_my_sum sum;
	uint64_t bytes;
	double secs;
};

struct mysrc {
	struct lb_source pub;
	struct lb_mysql_opts o;
	char **dbs;               /* copies of o.databases, or discovered */
	size_t ndbs;
	MYSQL *ctl;               /* discovery, lock, schema */
	MYSQL **w;                /* dump (or checksum) connections */
	unsigned nw;
	char version[128];
	bool mariadb;
	struct table *t;
	size_t nt;

	/* the lock */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool locked, watchdog_stop, watchdog_fired;
	int64_t lock_start_ns;
	unsigned long ctl_id;
	pthread_t watchdog;
	bool watchdog_started;
	double blocked_ms;        /* writes blocked, summed over attempts */
	double lock_wait_ms;      /* waiting to get the lock */
	unsigned attempts;
	char retry_why[2048];     /* why the attempts before this one failed */
	char method[64];

	/* MariaDB, logical mode: the non-transactional tables' locks, one per
	 * dump worker (tl[i] for w[i]), NULL-connection where it has none */
	struct tlock {
		MYSQL *c;             /* holds LOCK TABLES ... READ, and dumps them */
		unsigned long id;
		bool held, fired;
		bool fresh;           /* c is a new, unlocked connection (after fired) */
		int64_t start_ns;
		double blocked_ms;    /* summed over attempts */
	} *tl;
	unsigned ntl;             /* tl's length: the connections of the first attempt */
	bool tl_used;             /* this attempt froze them (set before the dump) */
	unsigned jobs;            /* dump connections, fixed for every attempt */

	/* results */
	char server_key[300];
	char binlog_file[256];
	uint64_t binlog_pos;
	char gtid[2048];
	char datadir[4096];
	char snapdir[8500];       /* snapshot mode: what the walk reads */
	char snapname[256];       /* btrfs: the snapshot subvolume's name in snapparent */
	int snapparent;           /* its parent directory, -1 if none */
	bool hook_snapshot;
	struct lb_source_env *env;
	/* dump workers */
	struct lb_vtree *vt;
	enum lb_my_sumalg sumalg; /* the row hash of the checksums */
	size_t *order;            /* the transactional tables, biggest first */
	size_t norder;
	size_t next;              /* the next of them a free connection takes */
	int err;
	char errmsg[1024];
};

/* ---- small helpers ---- */

/* Tests only: a delay in milliseconds from the environment. */
static int ms_env(const char *name)
{
	const char *v = getenv(name);

	return v ? atoi(v) : 0;
}


static double ms_since(int64_t t0)
{
	return (double)(lb_mono_ns() - t0) / 1e6;
}

static char *xstrdup(const char *s)
{
	return strdup(s ? s : "");
}

static void fail(struct mysrc *m, int e)
{
	pthread_mutex_lock(&m->mu);
	if (!m->err) {
		m->err = e;
		snprintf(m->errmsg, sizeof m->errmsg, "%s", lb_errmsg());
	}
	pthread_mutex_unlock(&m->mu);
}

/* ---- discovery ---- */

static int discover(struct mysrc *m)
{
	struct lb_buf q;
	MYSQL_RES *res;
	MYSQL_ROW row;
	int e = 0;

	if ((e = lb_my_scalar(m->ctl, "SELECT VERSION()", 0, m->version, sizeof m->version)) < 0)
		return e;
	m->mariadb = strstr(m->version, "MariaDB") != NULL;
	if (!m->ndbs) {
		if (mysql_query(m->ctl, "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA WHERE SCHEMA_NAME NOT IN ("
				LB_MY_SYSTEM_SCHEMAS ") ORDER BY SCHEMA_NAME") != 0 ||
		    !(res = mysql_store_result(m->ctl)))
			return lb_err(-EIO, "mysql: listing databases: %s", mysql_error(m->ctl));
		while ((row = mysql_fetch_row(res))) {
			char **v = realloc(m->dbs, (m->ndbs + 1) * sizeof *v);

			if (!v) {
				mysql_free_result(res);
				return -ENOMEM;
			}
			m->dbs = v;
			if (!(m->dbs[m->ndbs] = xstrdup(row[0]))) {
				mysql_free_result(res);
				return -ENOMEM;
			}
			m->ndbs++;
		}
		mysql_free_result(res);
	}
	lb_buf_init(&q, 0);
	{
		static const char head[] = "SELECT TABLE_SCHEMA, TABLE_NAME, TABLE_TYPE, IFNULL(ENGINE,''), "
					   "IFNULL(DATA_LENGTH,0) FROM information_schema.TABLES WHERE TABLE_SCHEMA IN (";

		lb_buf_append(&q, head, sizeof head - 1);
	}
	for (size_t i = 0; i < m->ndbs; i++) {
		char esc[1024];
		char one[1100];

		mysql_real_escape_string(m->ctl, esc, m->dbs[i], (unsigned long)LB_MIN(strlen(m->dbs[i]), 500));
		snprintf(one, sizeof one, "%s'%s'", i ? "," : "", esc);
		lb_buf_append(&q, one, strlen(one));
	}
	{
		static const char tail[] = ") ORDER BY TABLE_SCHEMA, TABLE_NAME";

		lb_buf_append(&q, tail, sizeof tail - 1);
	}
	if (!m->ndbs) {
		lb_buf_release(&q);
		return 0;
	}
	if (mysql_real_query(m->ctl, (char *)q.data, q.len) != 0 || !(res = mysql_store_result(m->ctl))) {
		lb_buf_release(&q);
		return lb_err(-EIO, "mysql: listing tables: %s", mysql_error(m->ctl));
	}
	lb_buf_release(&q);
	while ((row = mysql_fetch_row(res))) {
		struct table *t;
		char fdb[1100], ftb[1100], file[2300];
		void *v = realloc(m->t, (m->nt + 1) * sizeof *m->t);

		if (!v) {
			e = -ENOMEM;
			break;
		}
		m->t = v;
		t = &m->t[m->nt];
		memset(t, 0, sizeof *t);
		t->db = xstrdup(row[0]);
		t->name = xstrdup(row[1]);
		t->view = row[2] && strstr(row[2], "VIEW");
		t->engine = xstrdup(row[3]);
		t->transactional = !strcasecmp(t->engine, "InnoDB") || !strcasecmp(t->engine, "RocksDB") ||
				   !strcasecmp(t->engine, "TokuDB");
		t->bytes = row[4] ? strtoull(row[4], NULL, 10) : 0;
		lb_my_file_name(fdb, sizeof fdb, t->db);
		lb_my_file_name(ftb, sizeof ftb, t->name);
		snprintf(file, sizeof file, "%s/data/%s.sql", fdb, ftb);
		t->file = xstrdup(file);
		if (!t->db || !t->name || !t->engine || !t->file) {
			e = -ENOMEM;
			break;
		}
		m->nt++;
	}
	mysql_free_result(res);
	/* every named database must exist */
	for (size_t i = 0; e == 0 && m->o.ndatabases && i < m->ndbs; i++) {
		char esc[1024], q2[1200], out[8];

		mysql_real_escape_string(m->ctl, esc, m->dbs[i], (unsigned long)LB_MIN(strlen(m->dbs[i]), 500));
		snprintf(q2, sizeof q2, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME='%s'", esc);
		if (lb_my_scalar(m->ctl, q2, 0, out, sizeof out) == -LB_E_NOTFOUND)
			e = lb_err(-LB_E_NOTFOUND, "mysql: database %s does not exist on the server", m->dbs[i]);
	}
	return e;
}

/* Privileges a backup needs, checked up front so a missing one is named
 * before anything is locked. */
static int check_privileges(struct mysrc *m)
{
	static const struct { const char *priv, *alt, *why; } need[] = {
		{ "RELOAD", NULL, "to block commits for an instant (BACKUP STAGE / FLUSH TABLES WITH READ LOCK)" },
		{ "PROCESS", NULL, "to see long-running queries before locking" },
		{ "REPLICATION CLIENT", "BINLOG MONITOR", "to read the binlog position" },
	};
	char missing[512] = "", why[1024] = "", user[512] = "";
	MYSQL_RES *res;
	MYSQL_ROW row;
	bool have[3] = { false }, all = false;

	lb_my_scalar(m->ctl, "SELECT CURRENT_USER()", 0, user, sizeof user);
	if (mysql_query(m->ctl, "SHOW GRANTS") != 0 || !(res = mysql_store_result(m->ctl)))
		return lb_err(-EIO, "mysql: SHOW GRANTS: %s", mysql_error(m->ctl));
	while ((row = mysql_fetch_row(res))) {
		const char *g = row[0] ? row[0] : "";

		if (!strstr(g, " ON *.* ") && !strstr(g, " ON *.*"))
			continue;
		if (strstr(g, "GRANT ALL PRIVILEGES ON *.*"))
			all = true;
		for (size_t i = 0; i < 3; i++)
			if (strstr(g, need[i].priv) || (need[i].alt && strstr(g, need[i].alt)) ||
			    (i == 2 && strstr(g, "SUPER")))
				have[i] = true;
	}
	mysql_free_result(res);
	if (all)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		if (have[i])
			continue;
		snprintf(missing + strlen(missing), sizeof missing - strlen(missing), "%s%s", missing[0] ? ", " : "",
			 need[i].priv);
		snprintf(why + strlen(why), sizeof why - strlen(why), "; %s %s", need[i].priv, need[i].why);
	}
	if (missing[0])
		return lb_err(-EACCES, "mysql: %s lacks the %s privilege%s (needed%s); grant with: GRANT SELECT, "
			      "SHOW VIEW, TRIGGER, EVENT, LOCK TABLES, %s ON *.* TO %s", user, missing,
			      strchr(missing, ',') ? "s" : "", why, missing, user);
	return 0;
}

/* Waits (bounded) for queries that would hold up the lock. */
static int long_query_guard(struct mysrc *m)
{
	unsigned secs = m->o.long_query_secs ? m->o.long_query_secs : DEFAULT_LONG_QUERY;
	unsigned wait = m->o.long_query_wait ? m->o.long_query_wait : DEFAULT_LONG_WAIT;
	int64_t t0 = lb_mono_ns();
	char q[512];

	snprintf(q, sizeof q,
		 "SELECT ID, USER, TIME, LEFT(IFNULL(INFO,''),80) FROM information_schema.PROCESSLIST "
		 "WHERE COMMAND NOT IN ('Sleep','Daemon','Binlog Dump','Binlog Dump GTID','Killed') "
		 "AND ID <> CONNECTION_ID() AND TIME >= %u AND INFO IS NOT NULL ORDER BY TIME DESC LIMIT 1", secs);
	for (;;) {
		MYSQL_RES *res;
		MYSQL_ROW row;
		char desc[512] = "";

		if (mysql_query(m->ctl, q) != 0 || !(res = mysql_store_result(m->ctl)))
			return lb_err(-EIO, "mysql: checking for long queries: %s", mysql_error(m->ctl));
		row = mysql_fetch_row(res);
		if (row)
			snprintf(desc, sizeof desc, "query %s by %s, running for %s s: %s", row[0], row[1] ? row[1] : "?",
				 row[2] ? row[2] : "?", row[3] ? row[3] : "");
		mysql_free_result(res);
		if (!row)
			return 0;
		if (ms_since(t0) > wait * 1000.0)
			return lb_err(-EBUSY, "mysql: a long-running query would hold the lock up, and it is still "
				      "running after %u s of waiting: %s", wait, desc);
		if (m->env && m->env->progress && m->env->progress->cancel)
			return lb_err(-LB_E_CANCELED, "canceled");
		sleep(1);
	}
}

/* ---- the lock and its watchdog ---- */

/* The server releases a lock with the connection that holds it. */
static void kill_connection(struct mysrc *m, unsigned long id)
{
	MYSQL *k = NULL;

	if (lb_my_connect(&m->o.conn, &k) == 0) {
		lb_my_execf(k, "KILL %lu", id);
		mysql_close(k);
	}
}

static void *watchdog_main(void *arg)
{
	struct mysrc *m = arg;
	unsigned hard = m->o.lock_hard_ms ? m->o.lock_hard_ms
					  : ((m->o.lock_wait_timeout ? m->o.lock_wait_timeout : DEFAULT_LOCK_WAIT) + 5) * 1000;

	pthread_mutex_lock(&m->mu);
	while (!m->watchdog_stop) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&m->cv, &m->mu, &ts);
		if (m->locked && ms_since(m->lock_start_ns) > hard && !m->watchdog_fired) {
			m->watchdog_fired = true;
			pthread_mutex_unlock(&m->mu);
			kill_connection(m, m->ctl_id);
			pthread_mutex_lock(&m->mu);
		}
		for (unsigned i = 0; m->tl && i < m->ntl; i++) {
			struct tlock *l = &m->tl[i];
			unsigned long id = l->id;

			if (!l->held || l->fired || ms_since(l->start_ns) <= hard)
				continue;
			l->fired = true;
			pthread_mutex_unlock(&m->mu);
			kill_connection(m, id);
			pthread_mutex_lock(&m->mu);
			if (l->held) {
				l->held = false;
				l->blocked_ms += ms_since(l->start_ns);
			}
		}
	}
	pthread_mutex_unlock(&m->mu);
	return NULL;
}

static void set_locked(struct mysrc *m, bool on)
{
	pthread_mutex_lock(&m->mu);
	if (on) {
		m->lock_start_ns = lb_mono_ns();
		m->watchdog_fired = false;
	} else if (m->locked) {
		m->blocked_ms += ms_since(m->lock_start_ns);
	}
	m->locked = on;
	pthread_mutex_unlock(&m->mu);
}

static int unlock(struct mysrc *m)
{
	int e = 0;

	if (!m->locked)
		return 0;
	if (m->ctl)
		e = lb_my_exec(m->ctl, m->mariadb ? "BACKUP STAGE END" : "UNLOCK TABLES");
	set_locked(m, false);
	return e;
}

/* Takes the lock that blocks writes.  stages: snapshot mode goes through
 * every stage (flushing MyISAM before the snapshot); logical mode needs
 * only BLOCK_COMMIT. */
static int lock_once(struct mysrc *m, bool snapshot)
{
	unsigned wait = m->o.lock_wait_timeout ? m->o.lock_wait_timeout : DEFAULT_LOCK_WAIT;
	int64_t t0;
	int e;

	if ((e = lb_my_execf(m->ctl, "SET SESSION lock_wait_timeout=%u", wait)) < 0)
		return e;
	m->ctl_id = mysql_thread_id(m->ctl);
	t0 = lb_mono_ns();
	if (m->mariadb) {
		snprintf(m->method, sizeof m->method, "BACKUP STAGE BLOCK_COMMIT");
		if ((e = lb_my_exec(m->ctl, "BACKUP STAGE START")) < 0)
			return e;
		if (snapshot && ((e = lb_my_exec(m->ctl, "BACKUP STAGE FLUSH")) < 0 ||
				 (e = lb_my_exec(m->ctl, "BACKUP STAGE BLOCK_DDL")) < 0)) {
			lb_my_exec(m->ctl, "BACKUP STAGE END");
			return e;
		}
		set_locked(m, true);
		e = lb_my_exec(m->ctl, "BACKUP STAGE BLOCK_COMMIT");
	} else {
		snprintf(m->method, sizeof m->method, "FLUSH TABLES WITH READ LOCK");
		set_locked(m, true);
		e = lb_my_exec(m->ctl, "FLUSH TABLES WITH READ LOCK");
	}
	pthread_mutex_lock(&m->mu);
	/* waiting for the lock is not blocking writes; count from when we got it */
	m->lock_wait_ms += ms_since(t0);
	m->lock_start_ns = lb_mono_ns();
	pthread_mutex_unlock(&m->mu);
	if (e < 0) {
		char saved[1024];

		snprintf(saved, sizeof saved, "%s", lb_errmsg());
		unlock(m);
		lb_err_set_text(saved);
	}
	return e;
}

/* Reconnects the control connection after the watchdog or the server
 * dropped it. */
static int reconnect_ctl(struct mysrc *m)
{
	if (m->ctl)
		mysql_close(m->ctl);
	m->ctl = NULL;
	return lb_my_connect(&m->o.conn, &m->ctl);
}

/* A non-transactional base table (MyISAM, Aria...): consistent only while
 * nothing writes it. */
static bool nontrans(const struct table *t)
{
	return !t->transactional && !t->view;
}

static bool has_nontrans(const struct mysrc *m)
{
	for (size_t i = 0; i < m->nt; i++)
		if (nontrans(&m->t[i]))
			return true;
	return false;
}

/* MariaDB, logical mode, under the commit lock: every worker's second
 * connection takes LOCK TABLES ... READ on that worker's share of the
 * non-transactional tables, so they stay as they are at the consistent
 * point after the commit lock goes: writes to them wait until the worker
 * has dumped them, on that same connection.  It must come after
 * BLOCK_COMMIT: a MyISAM writer queued behind a table lock holds the
 * backup lock BLOCK_COMMIT waits for.  It waits a second at most (a
 * transaction that has written one of them keeps it until it commits,
 * which the commit lock holds up); the attempt is then retried. */
static int freeze_nontrans(struct mysrc *m)
{
	struct lb_buf q;
	int e = 0;

	if (!m->tl) {
		struct tlock *tl = calloc(m->nw, sizeof *tl);

		if (!tl)
			return -ENOMEM;
		pthread_mutex_lock(&m->mu); /* the watchdog reads it */
		m->tl = tl;
		m->ntl = m->nw;
		pthread_mutex_unlock(&m->mu);
	}
	lb_buf_init(&q, 0);
	for (unsigned w = 0; e == 0 && w < m->nw && w < m->ntl; w++) {
		struct tlock *l = &m->tl[w];
		size_t n = 0;

		lb_buf_reset(&q);
		e = lb_buf_append(&q, "LOCK TABLES ", 12);
		for (size_t i = 0; e == 0 && i < m->nt; i++) {
			char qt[1300];

			if (!nontrans(&m->t[i]) || m->t[i].worker != w)
				continue;
			lb_my_quote_table(qt, sizeof qt, m->t[i].db, m->t[i].name);
			if ((e = lb_buf_append(&q, ", ", n++ ? 2 : 0)) == 0 && (e = lb_buf_append(&q, qt, strlen(qt))) == 0)
				e = lb_buf_append(&q, " READ", 5);
		}
		if (e < 0 || !n)
			continue;
		if ((e = lb_buf_put_u8(&q, 0)) < 0)
			break;
		if (!l->c && (e = lb_my_connect(&m->o.conn, &l->c)) < 0)
			break;
		pthread_mutex_lock(&m->mu);
		l->id = mysql_thread_id(l->c);
		pthread_mutex_unlock(&m->mu);
		if ((e = lb_my_exec(l->c, "SET SESSION lock_wait_timeout=1, net_write_timeout=600, "
					  "net_read_timeout=600")) < 0)
			break;
		if ((e = lb_my_exec(l->c, (const char *)q.data)) < 0) {
			unsigned err = mysql_errno(l->c);

			/* 1044: no LOCK TABLES on a database (it may be granted per database) */
			if (err == 1044 || err == 1142)
				e = lb_err(-EACCES, "mysql: the LOCK TABLES privilege is needed to keep MyISAM and Aria "
					   "tables consistent (grant it, or use --mysql-myisam-unlocked): %s (%u)",
					   mysql_error(l->c), err);
			break;
		}
		for (size_t i = 0; i < m->nt; i++)
			if (nontrans(&m->t[i]) && m->t[i].worker == w)
				m->t[i].under_lock = true;
		pthread_mutex_lock(&m->mu);
		l->held = true;
		l->fired = false;
		l->fresh = false;
		l->start_ns = lb_mono_ns();
		pthread_mutex_unlock(&m->mu);
		m->tl_used = true;
	}
	lb_buf_release(&q);
	return e;
}

/* Lets go of worker w's non-transactional tables (if it holds them). */
static void thaw_nontrans(struct mysrc *m, unsigned w)
{
	struct tlock *l = m->tl && w < m->ntl ? &m->tl[w] : NULL;
	bool held;

	if (!l)
		return;
	pthread_mutex_lock(&m->mu);
	held = l->held;
	pthread_mutex_unlock(&m->mu);
	if (held && lb_my_exec(l->c, "UNLOCK TABLES") < 0) {
		/* the watchdog killed it, say: closing releases it anyway */
		mysql_close(l->c);
		l->c = NULL;
	}
	pthread_mutex_lock(&m->mu);
	if (l->held) { /* unless the watchdog counted it */
		l->held = false;
		l->blocked_ms += ms_since(l->start_ns);
	}
	pthread_mutex_unlock(&m->mu);
}

/* Every table lock let go, and (close) their connections closed. */
static void thaw_all(struct mysrc *m, bool close)
{
	for (unsigned w = 0; m->tl && w < m->ntl; w++) {
		thaw_nontrans(m, w);
		if (close && m->tl[w].c) {
			mysql_close(m->tl[w].c);
			m->tl[w].c = NULL;
		}
	}
}

static bool tl_fired(struct mysrc *m, unsigned w)
{
	bool f;

	pthread_mutex_lock(&m->mu);
	f = m->tl[w].fired;
	pthread_mutex_unlock(&m->mu);
	return f;
}

static int read_binlog_pos(struct mysrc *m)
{
	MYSQL_RES *res;
	MYSQL_ROW row;

	m->binlog_file[0] = 0;
	if (mysql_query(m->ctl, "SHOW MASTER STATUS") == 0 && (res = mysql_store_result(m->ctl))) {
		if ((row = mysql_fetch_row(res)) && row[0]) {
			snprintf(m->binlog_file, sizeof m->binlog_file, "%s", row[0]);
			m->binlog_pos = row[1] ? strtoull(row[1], NULL, 10) : 0;
		}
		mysql_free_result(res);
	} else {
		return lb_err(mysql_errno(m->ctl) == 1227 ? -EACCES : -EIO, "mysql: SHOW MASTER STATUS: %s",
			      mysql_error(m->ctl));
	}
	lb_my_scalar(m->ctl, m->mariadb ? "SELECT @@GLOBAL.gtid_binlog_pos" : "SELECT @@GLOBAL.gtid_executed", 0,
		     m->gtid, sizeof m->gtid);
	return 0;
}

/* ---- dump connections ---- */

static int open_workers(struct mysrc *m, unsigned n)
{
	m->w = calloc(n, sizeof *m->w);
	if (!m->w)
		return -ENOMEM;
	for (unsigned i = 0; i < n; i++) {
		int e = lb_my_connect(&m->o.conn, &m->w[i]);

		if (e < 0)
			return e;
		m->nw++;
		if ((e = lb_my_exec(m->w[i], "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")) < 0 ||
		    (e = lb_my_exec(m->w[i], "SET SESSION net_write_timeout=600, net_read_timeout=600")) < 0)
			return e;
	}
	return 0;
}

static int bytes_desc(const void *a, const void *b, void *arg)
{
	const struct table *t = arg;
	uint64_t x = t[*(const size_t *)a].bytes, y = t[*(const size_t *)b].bytes;

	return x > y ? -1 : x < y;
}

/* Who dumps what.  The transactional tables go in one queue, biggest
 * first by the server's estimate, and any connection that is free takes
 * the next: an estimate that is off (statistics lag behind a bulk load)
 * or one big table late leaves no connection idle.  The non-transactional
 * tables are spread over the connections instead, biggest first to the
 * least loaded: on MariaDB each connection's share is locked, and dumped,
 * by a connection of its own. */
static int assign_tables(struct mysrc *m)
{
	uint64_t *load = calloc(m->nw ? m->nw : 1, sizeof *load);
	size_t *order = malloc((m->nt ? m->nt : 1) * sizeof *order);
	size_t n = 0;

	free(m->order);
	m->order = NULL;
	m->norder = m->next = 0;
	if (!load || !order) {
		free(load);
		free(order);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->nt; i++)
		order[i] = i;
	qsort_r(order, m->nt, sizeof *order, bytes_desc, m->t);
	for (size_t i = 0; i < m->nt; i++) {
		struct table *t = &m->t[order[i]];
		unsigned best = 0;

		if (t->view)
			continue;
		if (t->transactional) {
			order[n++] = order[i]; /* in place: n <= i */
			continue;
		}
		for (unsigned w = 1; w < m->nw; w++)
			if (load[w] < load[best])
				best = w;
		t->worker = best;
		load[best] += t->bytes + 16384;
	}
	free(load);
	m->order = order;
	m->norder = n;
	return 0;
}

/* Under the lock: every connection opens its snapshot and touches every
 * table, so DDL on any of them waits until the dump is done, whichever
 * connection dumps it.  61 tables to a statement, the most a join takes:
 * SELECT 1 FROM a, b, ... LIMIT 0 opens them (taking their metadata locks)
 * and reads nothing. */
static int open_snapshots(struct mysrc *m)
{
	struct lb_buf q;
	int e = 0;

	for (unsigned w = 0; e == 0 && w < m->nw; w++)
		e = lb_my_exec(m->w[w], "START TRANSACTION WITH CONSISTENT SNAPSHOT");
	lb_buf_init(&q, 0);
	for (size_t i = 0; e == 0 && i < m->nt;) {
		size_t n = 0;

		lb_buf_reset(&q);
		e = lb_buf_append(&q, "SELECT 1 FROM ", 14);
		for (; e == 0 && i < m->nt && n < 61; i++) {
			char qt[1300];

			if (m->t[i].view)
				continue;
			lb_my_quote_table(qt, sizeof qt, m->t[i].db, m->t[i].name);
			if ((e = lb_buf_append(&q, ",", n++ ? 1 : 0)) == 0)
				e = lb_buf_append(&q, qt, strlen(qt));
		}
		if (e == 0 && n) {
			e = lb_buf_append(&q, " LIMIT 0", 9); /* with its NUL */
			for (unsigned w = 0; e == 0 && w < m->nw; w++)
				e = lb_my_exec(m->w[w], (const char *)q.data);
		}
	}
	lb_buf_release(&q);
	return e;
}

/* Appends a value as an SQL literal.  Every connection is SET NAMES binary
 * with sql_mode '' (lb_my_connect), so a quoted literal, backslash-escaped
 * (lb_my_escape), keeps every byte of a string, text or blob alike:
 * about one byte per byte, where a hex literal would take two.  The restore
 * session reads them the same way (binary, no NO_BACKSLASH_ESCAPES).  BIT
 * values stay hex, the one form a BIT column takes back unchanged. */
static int put_value(struct lb_buf *b, const char *v, unsigned long len, const MYSQL_FIELD *f)
{
	int e;

	if (!v)
		return lb_buf_append(b, "NULL", 4);
	if (IS_NUM(f->type) && f->type != MYSQL_TYPE_BIT)
		return lb_buf_append(b, v, len);
	if ((e = lb_buf_reserve(b, 2 * (size_t)len + 3)) < 0)
		return e;
	if (f->type == MYSQL_TYPE_BIT && len > 0) {
		b->data[b->len++] = '0';
		b->data[b->len++] = 'x';
		b->len += mysql_hex_string((char *)b->data + b->len, v, len);
		return 0;
	}
	b->data[b->len++] = '\'';
	b->len += lb_my_escape((char *)b->data + b->len, v, len);
	b->data[b->len++] = '\'';
	return 0;
}

static int flush_insert(struct lb_vfile *f, struct lb_buf *stmt, struct lb_buf *frame, const char *name)
{
	int e;

	if (!stmt->len)
		return 0;
	lb_buf_reset(frame);
	if ((e = lb_my_frame_head(frame, "insert", name, stmt->len)) < 0 ||
	    (e = lb_vfile_write(f, frame->data, frame->len)) < 0 || (e = lb_vfile_write(f, stmt->data, stmt->len)) < 0 ||
	    (e = lb_vfile_write(f, LB_MY_FRAME_TAIL, 2)) < 0)
		return e;
	lb_buf_reset(stmt);
	return 0;
}

/* Streams one table's rows into its file, checksumming each row. */
static int dump_table(struct mysrc *m, MYSQL *c, struct table *t)
{
	struct lb_vmeta meta = { .mode = 0640, .mtime_s = lb_now_ns() / 1000000000 };
	struct lb_my_hasher h = { 0 };
	struct lb_buf cols, sel, q, stmt, frame, head;
	struct lb_vfile *f = NULL;
	char qdb[600], qtb[600];
	MYSQL_RES *res = NULL;
	MYSQL_ROW row;
	int64_t t0 = lb_mono_ns();
	int e;

	lb_buf_init(&cols, 0);
	lb_buf_init(&sel, 0);
	lb_buf_init(&q, 0);
	lb_buf_init(&stmt, LB_MY_STMT_MAX);
	lb_buf_init(&frame, 4096);
	lb_buf_init(&head, 0);
	lb_my_quote_ident(qdb, sizeof qdb, t->db);
	lb_my_quote_ident(qtb, sizeof qtb, t->name);
	if ((e = lb_my_hasher_init(&h, m->sumalg)) < 0 || (e = lb_my_columns(c, t->db, t->name, &cols, &sel)) < 0)
		goto out;
	/* INSERT INTO `t` (`a`,`b`) VALUES  — unqualified, so --into works */
	if ((e = lb_buf_append(&head, "INSERT INTO ", 12)) < 0 || (e = lb_buf_append(&head, qtb, strlen(qtb))) < 0 ||
	    (e = lb_buf_append(&head, " (", 2)) < 0 || (e = lb_buf_append(&head, cols.data, cols.len)) < 0 ||
	    (e = lb_buf_append(&head, ") VALUES ", 9)) < 0)
		goto out;
	if ((e = lb_buf_append(&q, "SELECT /*!40001 SQL_NO_CACHE */ ", 32)) < 0 ||
	    (e = lb_buf_append(&q, sel.data, sel.len)) < 0)
		goto out;
	{
		char tail[1300];

		snprintf(tail, sizeof tail, " FROM %s.%s", qdb, qtb);
		if ((e = lb_buf_append(&q, tail, strlen(tail))) < 0)
			goto out;
	}
	if ((e = lb_vfile_open(m->vt, t->file, &meta, &f)) < 0)
		goto out;
	/* a lock attempt that was retried may have dumped this table (one
	 * dumped under the lock) already: this dump replaces that one */
	if (m->attempts > 1) {
		struct lb_node old;

		if (lb_vtree_lookup(m->vt, t->file, &old) == 0) {
			e = lb_vfile_set_node(f, &old, LB_VTREE_REPLACE);
			lb_node_release(&old);
			if (e < 0)
				goto out;
		}
	}
	if (mysql_real_query(c, (char *)q.data, q.len) != 0 || !(res = mysql_use_result(c))) {
		e = lb_err(mysql_errno(c) == 1412 ? -EAGAIN : -EIO, "mysql: dumping %s.%s: %s (%u)", t->db, t->name,
			   mysql_error(c), mysql_errno(c));
		goto out;
	}
	{
		unsigned nf = mysql_num_fields(res);
		MYSQL_FIELD *fields = mysql_fetch_fields(res);

		while ((row = mysql_fetch_row(res))) {
			unsigned long *lens = mysql_fetch_lengths(res);

			if ((e = lb_my_sum_row(&t->sum, &h, row, lens, nf)) < 0)
				break;
			if (stmt.len == 0)
				e = lb_buf_append(&stmt, head.data, head.len);
			else
				e = lb_buf_put_u8(&stmt, ',');
			if (e == 0)
				e = lb_buf_put_u8(&stmt, '(');
			for (unsigned i = 0; e == 0 && i < nf; i++) {
				if (i)
					e = lb_buf_put_u8(&stmt, ',');
				if (e == 0)
					e = put_value(&stmt, row[i], lens[i], &fields[i]);
			}
			if (e == 0)
				e = lb_buf_put_u8(&stmt, ')');
			if (e == 0 && stmt.len >= LB_MY_INSERT_BATCH)
				e = flush_insert(f, &stmt, &frame, t->name);
			if (e < 0)
				break;
			if (m->env && m->env->progress && m->env->progress->cancel) {
				e = lb_err(-LB_E_CANCELED, "canceled");
				break;
			}
		}
		if (e == 0 && mysql_errno(c))
			e = lb_err(-EIO, "mysql: dumping %s.%s: %s (%u)", t->db, t->name, mysql_error(c), mysql_errno(c));
	}
	if (e == 0)
		e = flush_insert(f, &stmt, &frame, t->name);
	if (e == 0) {
		uint64_t size;

		e = lb_vfile_close(f, &size);
		f = NULL;
		if (e == 0 && m->env && m->env->progress)
			__atomic_add_fetch(&m->env->progress->bytes, size, __ATOMIC_RELAXED);
	}
	t->dumped = e == 0;
	t->secs = (double)(lb_mono_ns() - t0) / 1e9;
out:
	if (res)
		mysql_free_result(res);
	lb_vfile_abort(f);
	lb_my_hasher_release(&h);
	lb_buf_release(&cols);
	lb_buf_release(&sel);
	lb_buf_release(&q);
	lb_buf_release(&stmt);
	lb_buf_release(&frame);
	lb_buf_release(&head);
	return e;
}

/* Worker w dumps a frozen table on the connection that holds it.  Once
 * the watchdog has broken that lock (killing the connection, maybe in
 * the middle of this table), the table is dumped afresh on a new
 * connection and marked not consistent. */
static int dump_frozen(struct mysrc *m, unsigned w, struct table *t)
{
	struct tlock *l = &m->tl[w];
	int e;

	if (!tl_fired(m, w)) {
		if (ms_env("LIFEBOAT_TEST_HOLD_TABLES_MS") > 0) /* tests only */
			usleep((useconds_t)ms_env("LIFEBOAT_TEST_HOLD_TABLES_MS") * 1000);
		if ((e = dump_table(m, l->c, t)) == 0 || !tl_fired(m, w))
			return e;
	}
	t->under_lock = false;
	memset(&t->sum, 0, sizeof t->sum);
	/* a connection of its own from here: the old one is being killed, and
	 * may not be yet (the watchdog sends KILL after setting fired);
	 * closing it releases the lock anyway */
	if (!l->fresh) {
		if (l->c)
			mysql_close(l->c);
		l->c = NULL;
		if ((e = lb_my_connect(&m->o.conn, &l->c)) < 0 ||
		    (e = lb_my_exec(l->c, "SET SESSION net_write_timeout=600, net_read_timeout=600")) < 0)
			return e;
		l->fresh = true;
	}
	return dump_table(m, l->c, t);
}

/* Which tables a pass takes. */
enum { PASS_NONTRANS = 1, PASS_TRANS = 2 };

struct wctx {
	struct mysrc *m;
	unsigned idx;
	unsigned which;     /* PASS_*: the non-transactional tables come first */
	bool sum_only;      /* snapshot mode: checksums, no dump */
};

static int one_table(struct wctx *w, struct table *t)
{
	struct mysrc *m = w->m;

	if (w->sum_only)
		return lb_my_table_sum(m->w[w->idx], t->db, t->name, m->sumalg, &t->sum);
	if (nontrans(t) && t->under_lock && m->tl_used)
		return dump_frozen(m, w->idx, t);
	return dump_table(m, m->w[w->idx], t);
}

static void *worker_main(void *arg)
{
	struct wctx *w = arg;
	struct mysrc *m = w->m;
	int e = 0;

	/* its share of the non-transactional tables first */
	for (size_t i = 0; (w->which & PASS_NONTRANS) && e == 0 && i < m->nt; i++) {
		struct table *t = &m->t[i];

		if (!nontrans(t) || t->worker != w->idx)
			continue;
		e = __atomic_load_n(&m->err, __ATOMIC_RELAXED) ? 1 : one_table(w, t);
	}
	/* they are dumped: writes to them go on */
	if ((w->which & PASS_NONTRANS) && m->tl_used)
		thaw_nontrans(m, w->idx);
	/* then whichever transactional table is next */
	while ((w->which & PASS_TRANS) && e == 0) {
		size_t k = __atomic_fetch_add(&m->next, 1, __ATOMIC_RELAXED);

		if (k >= m->norder)
			break;
		e = __atomic_load_n(&m->err, __ATOMIC_RELAXED) ? 1 : one_table(w, &m->t[m->order[k]]);
	}
	if (e < 0)
		fail(m, e);
	return NULL;
}

/* Runs the pass on every connection at once. */
static int run_workers(struct mysrc *m, unsigned which, bool sum_only)
{
	struct wctx *ctx = calloc(m->nw, sizeof *ctx);
	pthread_t *th = calloc(m->nw, sizeof *th);
	unsigned started = 0;

	if (!ctx || !th) {
		free(ctx);
		free(th);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < m->nw; i++) {
		ctx[i] = (struct wctx){ .m = m, .idx = i, .which = which, .sum_only = sum_only };
		if (pthread_create(&th[i], NULL, worker_main, &ctx[i]) == 0)
			started++;
		else
			worker_main(&ctx[i]);
	}
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(ctx);
	free(th);
	thaw_all(m, false); /* after a failure: the frozen tables are not waited for */
	if (m->err) {
		lb_err_set_text(m->errmsg);
		return m->err;
	}
	return 0;
}

/* ---- schema and users ---- */

static int show_create(MYSQL *c, const char *what, const char *qname, unsigned col, struct lb_buf *out)
{
	char q[1400];
	MYSQL_RES *res;
	MYSQL_ROW row;
	unsigned long *lens;
	int e;

	snprintf(q, sizeof q, "SHOW CREATE %s %s", what, qname);
	if (mysql_query(c, q) != 0 || !(res = mysql_store_result(c)))
		return lb_err(-EIO, "mysql: %s: %s", q, mysql_error(c));
	row = mysql_fetch_row(res);
	lens = row ? mysql_fetch_lengths(res) : NULL;
	if (!row || col >= mysql_num_fields(res) || !row[col]) {
		mysql_free_result(res);
		return lb_err(-EIO, "mysql: %s returned nothing (missing privilege?)", q);
	}
	lb_buf_reset(out);
	e = lb_buf_append(out, row[col], lens[col]);
	mysql_free_result(res);
	return e;
}

/* A trigger, routine or event with the session it was created in: its
 * sql_mode, client character set and collation (and an event's time zone)
 * shape what its body means, so the restore recreates it under them. */
static int dump_object(MYSQL *c, struct lb_vfile *f, struct lb_buf *out, const char *what, const char *kind,
		       const char *qname, const char *name)
{
	char q[1400], setq[2048];
	MYSQL_RES *res;
	MYSQL_ROW row;
	unsigned long *lens;
	unsigned body, cs, nf;
	int e;

	snprintf(q, sizeof q, "SHOW CREATE %s %s", what, qname);
	if (mysql_query(c, q) != 0 || !(res = mysql_store_result(c)))
		return lb_err(-EIO, "mysql: %s: %s", q, mysql_error(c));
	row = mysql_fetch_row(res);
	nf = mysql_num_fields(res);
	/* TRIGGER/PROCEDURE/FUNCTION: name, sql_mode, body, charset, collation;
	 * EVENT: name, sql_mode, time_zone, body, charset, collation */
	body = !strcmp(what, "EVENT") ? 3 : 2;
	cs = body + 1;
	if (!row || nf < cs + 2 || !row[body]) {
		mysql_free_result(res);
		return lb_err(-EIO, "mysql: %s returned nothing (missing privilege?)", q);
	}
	lens = mysql_fetch_lengths(res);
	snprintf(setq, sizeof setq, "SET SESSION sql_mode='%s', character_set_client='%s', collation_connection='%s'%s%s%s",
		 row[1] ? row[1] : "", row[cs] ? row[cs] : "binary", row[cs + 1] ? row[cs + 1] : "binary",
		 body == 3 ? ", time_zone='" : "", body == 3 && row[2] ? row[2] : "", body == 3 ? "'" : "");
	lb_buf_reset(out);
	e = lb_my_frame(out, "session", name, setq, strlen(setq));
	if (e == 0)
		e = lb_my_frame(out, kind, name, row[body], lens[body]);
	mysql_free_result(res);
	if (e == 0)
		e = lb_vfile_write(f, out->data, out->len);
	return e;
}

static int list_names(MYSQL *c, const char *sql, char ***names, size_t *n)
{
	MYSQL_RES *res;
	MYSQL_ROW row;

	*names = NULL;
	*n = 0;
	if (mysql_query(c, sql) != 0 || !(res = mysql_store_result(c)))
		return lb_err(-EIO, "mysql: %.60s: %s", sql, mysql_error(c));
	while ((row = mysql_fetch_row(res))) {
		char **v = realloc(*names, (*n + 1) * sizeof *v);

		if (!v) {
			mysql_free_result(res);
			return -ENOMEM;
		}
		*names = v;
		(*names)[(*n)++] = xstrdup(row[0]);
	}
	mysql_free_result(res);
	return 0;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* dump_object() for every object the query lists, in its order. */
static int dump_objects(MYSQL *c, struct lb_vfile *f, struct lb_buf *out, const char *list_sql, const char *what,
			const char *kind)
{
	char **names, qn[600];
	size_t n;
	int e;

	if ((e = list_names(c, list_sql, &names, &n)) < 0)
		return e;
	for (size_t i = 0; i < n && e == 0; i++) {
		lb_my_quote_ident(qn, sizeof qn, names[i]);
		e = dump_object(c, f, out, what, kind, qn, names[i]);
	}
	free_names(names, n);
	return e;
}

/* <db>/schema.sql: the database, its tables, then views, triggers,
 * routines and events, each a framed statement tagged with its kind. */
static int dump_schema(struct mysrc *m, const char *db)
{
	struct lb_vmeta meta = { .mode = 0640, .mtime_s = lb_now_ns() / 1000000000 };
	struct lb_buf one, out;
	struct lb_vfile *f = NULL;
	char qdb[600], edb[1024], fdb[1100], path[1200], q[1600];
	int e;

	lb_buf_init(&one, LB_MY_STMT_MAX);
	lb_buf_init(&out, LB_MY_STMT_MAX + 4096);
	lb_my_quote_ident(qdb, sizeof qdb, db);
	mysql_real_escape_string(m->ctl, edb, db, (unsigned long)LB_MIN(strlen(db), 500));
	lb_my_file_name(fdb, sizeof fdb, db);
	snprintf(path, sizeof path, "%s/schema.sql", fdb);
	if ((e = lb_vfile_open(m->vt, path, &meta, &f)) < 0)
		goto out;
	/* with the database current, SHOW CREATE leaves names unqualified */
	if ((e = lb_my_execf(m->ctl, "USE %s", qdb)) < 0)
		goto out;
#define EMIT(kind, name)                                                                           \
	do {                                                                                       \
		lb_buf_reset(&out);                                                                \
		if ((e = lb_my_frame(&out, kind, name, (char *)one.data, one.len)) < 0 ||         \
		    (e = lb_vfile_write(f, out.data, out.len)) < 0)                                \
			goto out;                                                                  \
	} while (0)
	if ((e = show_create(m->ctl, "DATABASE", qdb, 1, &one)) < 0)
		goto out;
	EMIT("database", db);
	for (int pass = 0; pass < 2; pass++) { /* tables, then views (they may select from tables) */
		for (size_t i = 0; i < m->nt; i++) {
			struct table *t = &m->t[i];
			char qtb[600];

			if (strcmp(t->db, db) || t->view != (pass == 1))
				continue;
			lb_my_quote_ident(qtb, sizeof qtb, t->name);
			snprintf(q, sizeof q, "%s.%s", qdb, qtb);
			if ((e = show_create(m->ctl, t->view ? "VIEW" : "TABLE", q, 1, &one)) < 0)
				goto out;
			EMIT(t->view ? "view" : "table", t->name);
		}
	}
	snprintf(q, sizeof q, "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA='%s' "
		 "ORDER BY EVENT_OBJECT_TABLE, ACTION_ORDER", edb);
	if ((e = dump_objects(m->ctl, f, &out, q, "TRIGGER", "trigger")) < 0)
		goto out;
	for (int kind = 0; kind < 2; kind++) {
		snprintf(q, sizeof q, "SELECT ROUTINE_NAME FROM information_schema.ROUTINES WHERE ROUTINE_SCHEMA='%s' "
			 "AND ROUTINE_TYPE='%s' ORDER BY ROUTINE_NAME", edb, kind ? "FUNCTION" : "PROCEDURE");
		if ((e = dump_objects(m->ctl, f, &out, q, kind ? "FUNCTION" : "PROCEDURE",
				      kind ? "function" : "procedure")) < 0)
			goto out;
	}
	snprintf(q, sizeof q, "SELECT EVENT_NAME FROM information_schema.EVENTS WHERE EVENT_SCHEMA='%s' "
		 "ORDER BY EVENT_NAME", edb);
	if ((e = dump_objects(m->ctl, f, &out, q, "EVENT", "event")) < 0)
		goto out;
#undef EMIT
	e = lb_vfile_close(f, NULL);
	f = NULL;
out:
	lb_vfile_abort(f);
	lb_buf_release(&one);
	lb_buf_release(&out);
	return e;
}

/* users.sql: every account but the server's own, with its grants. */
static int dump_users(struct mysrc *m)
{
	struct lb_vmeta meta = { .mode = 0600, .mtime_s = lb_now_ns() / 1000000000 };
	struct lb_buf one, out;
	struct lb_vfile *f = NULL;
	MYSQL_RES *res;
	MYSQL_ROW row;
	char **users = NULL, **hosts = NULL;
	size_t n = 0;
	int e;

	lb_buf_init(&one, LB_MY_STMT_MAX);
	lb_buf_init(&out, LB_MY_STMT_MAX + 4096);
	if (mysql_query(m->ctl, "SELECT User, Host FROM mysql.user WHERE User <> '' AND User NOT IN "
				"('mariadb.sys','mysql.sys','mysql.session','mysql.infoschema') ORDER BY User, Host") != 0 ||
	    !(res = mysql_store_result(m->ctl))) {
		/* without SELECT on mysql.user, users are left out, with a warning */
		if (m->env)
			m->env->warn(m->env, "mysql users", "not saved: cannot read mysql.user (grant SELECT on it)");
		return 0;
	}
	while ((row = mysql_fetch_row(res))) {
		char **u = realloc(users, (n + 1) * sizeof *u), **h;

		if (u)
			users = u;
		h = realloc(hosts, (n + 1) * sizeof *h);
		if (h)
			hosts = h;
		if (!u || !h) {
			e = -ENOMEM;
			mysql_free_result(res);
			goto out;
		}
		users[n] = xstrdup(row[0]);
		hosts[n] = xstrdup(row[1]);
		n++;
	}
	mysql_free_result(res);
	if ((e = lb_vfile_open(m->vt, "users.sql", &meta, &f)) < 0)
		goto out;
	for (size_t i = 0; i < n && e == 0; i++) {
		char eu[600], eh[600], acct[1300], q[1400], label[1300];

		mysql_real_escape_string(m->ctl, eu, users[i], (unsigned long)LB_MIN(strlen(users[i]), 250));
		mysql_real_escape_string(m->ctl, eh, hosts[i], (unsigned long)LB_MIN(strlen(hosts[i]), 250));
		snprintf(acct, sizeof acct, "'%s'@'%s'", eu, eh);
		snprintf(label, sizeof label, "%s@%s", users[i], hosts[i]);
		snprintf(q, sizeof q, "SHOW CREATE USER %s", acct);
		if (mysql_query(m->ctl, q) == 0 && (res = mysql_store_result(m->ctl))) {
			if ((row = mysql_fetch_row(res)) && row[0]) {
				lb_buf_reset(&out);
				e = lb_my_frame(&out, "user", label, row[0], mysql_fetch_lengths(res)[0]);
				if (e == 0)
					e = lb_vfile_write(f, out.data, out.len);
			}
			mysql_free_result(res);
		}
		snprintf(q, sizeof q, "SHOW GRANTS FOR %s", acct);
		if (e == 0 && mysql_query(m->ctl, q) == 0 && (res = mysql_store_result(m->ctl))) {
			while (e == 0 && (row = mysql_fetch_row(res))) {
				if (!row[0])
					continue;
				lb_buf_reset(&out);
				e = lb_my_frame(&out, "grant", label, row[0], mysql_fetch_lengths(res)[0]);
				if (e == 0)
					e = lb_vfile_write(f, out.data, out.len);
			}
			mysql_free_result(res);
		}
	}
	if (e == 0) {
		e = lb_vfile_close(f, NULL);
		f = NULL;
	}
out:
	lb_vfile_abort(f);
	free_names(users, n);
	free_names(hosts, n);
	lb_buf_release(&one);
	lb_buf_release(&out);
	return e;
}

/* ---- snapshot mode: the datadir's snapshot ---- */

static int snapshot_btrfs(struct mysrc *m)
{
	char abs[4096], root[4096], parent[4096];
	const char *rel;
	struct statfs sf;
	int src = -1, e;

	if (statfs(m->datadir, &sf) < 0)
		return lb_errno(-errno, "%s", m->datadir);
	if (sf.f_type != BTRFS_SUPER_MAGIC)
		return lb_err(-ENOTSUP, "%s is not on btrfs: snapshot mode needs btrfs, or --mysql-snapshot-hook "
			      "for LVM or ZFS", m->datadir);
	if (!realpath(m->datadir, abs))
		return lb_errno(-errno, "%s", m->datadir);
	if ((e = lb_btrfs_subvol_of(abs, root, sizeof root, &rel)) < 0)
		return e;
	/* the snapshot goes beside the subvolume (never inside the live
	 * datadir, where a directory would look like a database) */
	snprintf(parent, sizeof parent, "%s", root);
	{
		char *slash = strrchr(parent, '/');

		if (slash && slash != parent)
			*slash = 0;
		else
			snprintf(parent, sizeof parent, "/");
	}
	if (statfs(parent, &sf) < 0 || sf.f_type != BTRFS_SUPER_MAGIC) {
		if (!rel[0])
			return lb_err(-ENOTSUP, "%s is the root of its btrfs file system: lifeboat needs the "
				      "datadir in a subvolume with a btrfs parent, or a snapshot hook", m->datadir);
		snprintf(parent, sizeof parent, "%s", root); /* beside the datadir, inside the subvolume */
	}
	snprintf(m->snapname, sizeof m->snapname, ".lifeboat-mysql-%ld-%lld", (long)getpid(),
		 (long long)(lb_now_ns() / 1000000));
	m->snapparent = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	src = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (m->snapparent < 0 || src < 0) {
		e = lb_errno(-errno, "btrfs: %s", m->snapparent < 0 ? parent : root);
		goto out;
	}
	if ((e = lb_btrfs_snapshot(m->snapparent, src, m->snapname)) < 0) {
		e = lb_errno(e, "btrfs: snapshot of %s", root);
		m->snapname[0] = 0;
		goto out;
	}
	snprintf(m->snapdir, sizeof m->snapdir, "%s/%s%s%s", parent, m->snapname, rel[0] ? "/" : "", rel);
	e = 0;
out:
	if (src >= 0)
		close(src);
	return e;
}

static void drop_btrfs(struct mysrc *m)
{
	if (!m->snapname[0] || m->snapparent < 0)
		return;
	if (lb_btrfs_delete(m->snapparent, m->snapname) < 0 && m->env)
		m->env->warn(m->env, m->snapname, "could not delete the btrfs snapshot; remove it by hand");
	m->snapname[0] = 0;
}

/* Runs a hook command with LIFEBOAT_DATADIR set; with out, its first line
 * of output (the snapshot's datadir). */
static int run_hook(struct mysrc *m, const char *cmd, char *out, size_t n)
{
	char line[4096] = "";
	int fds[2], status;
	pid_t pid;

	if (pipe(fds) < 0)
		return lb_errno(-errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(fds[0]);
		close(fds[1]);
		return lb_errno(-errno, "fork");
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		setenv("LIFEBOAT_DATADIR", m->datadir, 1);
		if (m->snapdir[0])
			setenv("LIFEBOAT_SNAPSHOT_DIR", m->snapdir, 1);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	{
		FILE *f = fdopen(fds[0], "r");

		if (f) {
			if (!fgets(line, sizeof line, f))
				line[0] = 0;
			while (fgetc(f) != EOF) /* drain */
				;
			fclose(f);
		} else {
			close(fds[0]);
		}
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return lb_err(-EIO, "mysql snapshot hook '%s' failed (status %d)", cmd,
			      WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	line[strcspn(line, "\n")] = 0;
	if (out)
		snprintf(out, n, "%s", line);
	return 0;
}

/* ---- the source ---- */

static int connect_and_check(struct mysrc *m)
{
	int e;

	if ((e = lb_my_connect(&m->o.conn, &m->ctl)) < 0)
		return e;
	if ((e = discover(m)) < 0 || (e = check_privileges(m)) < 0 ||
	    (e = lb_my_server_key(m->ctl, m->server_key, sizeof m->server_key)) < 0)
		return e;
	if (pthread_create(&m->watchdog, NULL, watchdog_main, m) == 0)
		m->watchdog_started = true;
	return 0;
}

/* A lock attempt that the server refused (lock_wait_timeout) or the
 * watchdog broke is retried after a pause; anything else is final. */
static bool retryable(struct mysrc *m, int e)
{
	return e == -ETIMEDOUT || m->watchdog_fired || (m->ctl && mysql_errno(m->ctl) == 2013) ||
	       (m->ctl && mysql_errno(m->ctl) == 2006);
}

static void note_retry(struct mysrc *m, unsigned attempt, const char *why)
{
	size_t l = strlen(m->retry_why);

	snprintf(m->retry_why + l, sizeof m->retry_why - l, "%sattempt %u: %s", l ? "; " : "", attempt, why);
}

/* Tests only: hold the lock this long (LIFEBOAT_TEST_HOLD_LOCK_MS), on
 * every attempt or on the first LIFEBOAT_TEST_HOLD_LOCK_ATTEMPTS. */
static int test_hold_ms(unsigned attempt)
{
	int n = ms_env("LIFEBOAT_TEST_HOLD_LOCK_ATTEMPTS");

	return n > 0 && attempt > (unsigned)n ? 0 : ms_env("LIFEBOAT_TEST_HOLD_LOCK_MS");
}

/* After a failed attempt under the lock (e < 0): 0 to try again, or the
 * error to give up with, the lock released. */
static int attempt_failed(struct mysrc *m, int e, unsigned attempt, unsigned retries)
{
	char saved[1024];

	snprintf(saved, sizeof saved, "%s", lb_errmsg());
	if (!retryable(m, e) || attempt >= retries) {
		unlock(m);
		lb_err_set_text(saved);
		if (retryable(m, e))
			return lb_err(-ETIMEDOUT, "mysql: could not hold the lock briefly enough after %u attempts "
				      "(%s%s%s); writes were never left blocked", attempt, saved,
				      m->retry_why[0] ? "; before that: " : "", m->retry_why);
		return e;
	}
	/* a retry that then succeeds is no news (the manifest counts the
	 * attempts); a failure says what every attempt met */
	note_retry(m, attempt, saved);
	return 0;
}

static int snapshot_prepare(struct mysrc *m)
{
	unsigned retries = m->o.lock_retries ? m->o.lock_retries : DEFAULT_RETRIES;
	int e;

	if ((e = lb_my_scalar(m->ctl, "SELECT @@datadir", 0, m->datadir, sizeof m->datadir)) < 0)
		return e;
	{
		size_t l = strlen(m->datadir);

		while (l > 1 && m->datadir[l - 1] == '/')
			m->datadir[--l] = 0;
	}
	if ((e = open_workers(m, m->o.jobs ? m->o.jobs : 2)) < 0 || (e = assign_tables(m)) < 0)
		return e;
	for (unsigned attempt = 1;; attempt++) {
		m->attempts = attempt;
		if ((e = long_query_guard(m)) < 0)
			return e;
		e = lock_once(m, true);
		if (e == 0) {
			/* writes are blocked from here: snapshot, open the checksum
			 * transactions, read the binlog position, let go */
			int hold = test_hold_ms(attempt);

			if (m->o.snapshot_hook) {
				e = run_hook(m, m->o.snapshot_hook, m->snapdir, sizeof m->snapdir);
				if (e == 0 && !m->snapdir[0])
					e = lb_err(-EIO, "mysql snapshot hook printed no directory");
				m->hook_snapshot = e == 0;
			} else {
				e = snapshot_btrfs(m);
			}
			if (e == 0)
				e = open_snapshots(m);
			if (e == 0)
				e = read_binlog_pos(m);
			if (hold > 0)
				usleep((useconds_t)hold * 1000);
			if (e == 0)
				e = unlock(m);
		}
		if (e == 0)
			break;
		if ((e = attempt_failed(m, e, attempt, retries)) < 0)
			return e;
		unlock(m); /* released and counted, even if the attempt failed under it */
		drop_btrfs(m);
		if ((e = reconnect_ctl(m)) < 0)
			return e;
		sleep(attempt);
	}
	return m->env->map_path(m->env, m->datadir, m->snapdir);
}

static int my_prepare(void *state, struct lb_source_env *env)
{
	struct mysrc *m = state;
	int e;

	m->env = env;
	if ((e = connect_and_check(m)) < 0)
		return e;
	if (m->o.mode == LB_MYSQL_SNAPSHOT)
		return snapshot_prepare(m);
	return 0;
}

/* Dump connections: as many as there are processors, up to 4.  Each keeps
 * a server thread busy producing rows while lifeboat compresses them; on a
 * small server more of them than processors only crowds out the writers
 * (bench/mysql.sh, 2 cores: the writers' p99 11-14 ms with 4, 6-9 ms with
 * 2) for no gain in speed. */
static unsigned dump_jobs(const struct mysrc *m)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (m->o.jobs)
		return m->o.jobs;
	return n < 1 ? 1 : n > MAX_DEFAULT_JOBS ? MAX_DEFAULT_JOBS : (unsigned)n;
}

static int logical_dump(struct mysrc *m)
{
	unsigned retries = m->o.lock_retries ? m->o.lock_retries : DEFAULT_RETRIES;
	bool consistent_nontrans = !m->o.myisam_unlocked && has_nontrans(m);
	int e;

	m->jobs = dump_jobs(m); /* one count for every attempt: tl is sized by it */
	if ((e = open_workers(m, m->jobs)) < 0 || (e = assign_tables(m)) < 0)
		return e;
	for (unsigned attempt = 1;; attempt++) {
		m->attempts = attempt;
		if ((e = long_query_guard(m)) < 0)
			return e;
		e = lock_once(m, false);
		if (e == 0) {
			int hold = test_hold_ms(attempt);

			e = open_snapshots(m);
			if (e == 0)
				e = read_binlog_pos(m);
			/* non-transactional tables are consistent only if nothing
			 * writes them from the consistent point until they are dumped */
			if (e == 0 && consistent_nontrans && m->mariadb) {
				e = freeze_nontrans(m);
			} else if (e == 0 && consistent_nontrans) {
				/* MySQL: dumped under FLUSH TABLES WITH READ LOCK */
				for (size_t i = 0; i < m->nt; i++)
					if (nontrans(&m->t[i]))
						m->t[i].under_lock = true;
				e = run_workers(m, PASS_NONTRANS, false);
			}
			if (hold > 0)
				usleep((useconds_t)hold * 1000);
			if (e == 0)
				e = unlock(m);
		}
		if (e == 0)
			break;
		if ((e = attempt_failed(m, e, attempt, retries)) < 0) {
			thaw_all(m, true); /* writes to the frozen tables go on at once */
			return e;
		}
		/* start over with fresh connections, the commit lock released
		 * (and counted) even if this attempt failed while holding it */
		unlock(m);
		thaw_all(m, true);
		m->tl_used = false;
		m->err = 0;
		m->errmsg[0] = 0;
		for (unsigned i = 0; i < m->nw; i++)
			mysql_close(m->w[i]);
		free(m->w);
		m->w = NULL;
		m->nw = 0;
		for (size_t i = 0; i < m->nt; i++) {
			memset(&m->t[i].sum, 0, sizeof m->t[i].sum);
			m->t[i].dumped = m->t[i].under_lock = false;
		}
		if ((e = reconnect_ctl(m)) < 0 || (e = open_workers(m, m->jobs)) < 0 || (e = assign_tables(m)) < 0)
			return e;
		sleep(attempt);
	}
	/* everything left, in parallel; the frozen tables first, so that
	 * writes to them wait as little as possible */
	return run_workers(m, consistent_nontrans && !m->mariadb ? PASS_TRANS : PASS_NONTRANS | PASS_TRANS, false);
}

static int my_run(void *state, struct lb_source_env *env)
{
	struct mysrc *m = state;
	int e;

	m->vt = env->vtree;
	if (m->o.mode == LB_MYSQL_LOGICAL)
		e = logical_dump(m);
	else
		e = run_workers(m, PASS_TRANS, true); /* checksums from the snapshot's transactions */
	for (size_t i = 0; e == 0 && i < m->ndbs; i++)
		e = dump_schema(m, m->dbs[i]);
	if (e == 0)
		e = dump_users(m);
	/* the dump connections' transactions end here; DDL may proceed */
	for (unsigned i = 0; i < m->nw; i++)
		lb_my_exec(m->w[i], "COMMIT");
	m->vt = NULL;
	return e;
}

static int my_report(void *state, json_t *sec)
{
	struct mysrc *m = state;
	json_t *tables = json_object(), *dbs = json_array(), *lock, *binlog;
	uint64_t rows = 0;

	json_object_set_new(sec, "mode", json_string(m->o.mode == LB_MYSQL_SNAPSHOT ? "snapshot" : "logical"));
	json_object_set_new(sec, "server", json_string(m->version));
	json_object_set_new(sec, "server_key", lb_json_string_bytes(m->server_key));
	binlog = json_pack("{s:s, s:I, s:s}", "file", m->binlog_file, "position", (json_int_t)m->binlog_pos,
			   "gtid", m->gtid);
	json_object_set_new(sec, "binlog", binlog);
	lock = json_pack("{s:s, s:f, s:f, s:i}", "method", m->method, "writes_blocked_ms", m->blocked_ms,
			 "wait_ms", m->lock_wait_ms, "attempts", (int)m->attempts);
	if (m->tl) {
		double longest = 0;

		for (unsigned i = 0; i < m->ntl; i++)
			longest = LB_MAX(longest, m->tl[i].blocked_ms);
		/* the longest any one of them was blocked */
		json_object_set_new(lock, "non_transactional",
				    json_pack("{s:s, s:f}", "method", "LOCK TABLES READ", "writes_blocked_ms", longest));
	}
	json_object_set_new(sec, "lock", lock);
	if (m->o.mode == LB_MYSQL_SNAPSHOT)
		json_object_set_new(sec, "datadir", json_string(m->datadir));
	for (size_t i = 0; i < m->ndbs; i++)
		json_array_append_new(dbs, lb_json_string_bytes(m->dbs[i]));
	json_object_set_new(sec, "databases", dbs);
	for (size_t i = 0; i < m->nt; i++) {
		struct table *t = &m->t[i];
		char key[2100], sum[33];
		json_t *j;

		snprintf(key, sizeof key, "%s.%s", t->db, t->name);
		if (t->view) {
			j = json_pack("{s:s}", "type", "view");
		} else {
			bool consistent = t->transactional || t->under_lock || m->o.mode == LB_MYSQL_SNAPSHOT;
			bool summed = t->transactional || m->o.mode == LB_MYSQL_LOGICAL;

			lb_my_sum_hex(&t->sum, sum);
			j = json_pack("{s:s, s:s, s:b}", "engine", t->engine, "database", t->db, "consistent", consistent);
			json_object_set_new(j, "table", lb_json_string_bytes(t->name));
			if (m->o.mode == LB_MYSQL_LOGICAL)
				json_object_set_new(j, "file", lb_json_string_bytes(t->file));
			if (summed) {
				json_object_set_new(j, "rows", json_integer((json_int_t)t->sum.rows));
				json_object_set_new(j, "checksum", json_string(sum));
			}
			if (!consistent)
				json_object_set_new(j, "note",
						    json_string(m->o.myisam_unlocked
									? "non-transactional table dumped without blocking "
									  "writes: may not match the binlog position"
									: "non-transactional table whose lock the watchdog broke "
									  "(lock_hard_ms) before it was dumped: may not match the "
									  "binlog position"));
			rows += t->sum.rows;
		}
		json_object_set_new(tables, key, j);
	}
	json_object_set_new(sec, "tables", tables);
	/* SHA-256, what snapshots before the field hold, only in tests now */
	if (m->sumalg != LB_MY_SUM_SHA256)
		json_object_set_new(sec, "checksum_alg", json_string(lb_my_sumalg_name(m->sumalg)));
	json_object_set_new(sec, "rows", json_integer((json_int_t)rows));
	return 0;
}

static void my_cleanup(void *state)
{
	struct mysrc *m = state;

	/* never leave writes blocked: unlock, and closing the connection
	 * would release it anyway */
	if (m->locked && m->ctl)
		unlock(m);
	if (m->watchdog_started) {
		pthread_mutex_lock(&m->mu);
		m->watchdog_stop = true;
		pthread_cond_signal(&m->cv);
		pthread_mutex_unlock(&m->mu);
		pthread_join(m->watchdog, NULL);
		m->watchdog_started = false;
	}
	for (unsigned i = 0; m->tl && i < m->ntl; i++)
		if (m->tl[i].c)
			mysql_close(m->tl[i].c); /* releases its table lock, if held */
	free(m->tl);
	m->tl = NULL;
	for (unsigned i = 0; i < m->nw; i++)
		mysql_close(m->w[i]);
	free(m->w);
	m->w = NULL;
	m->nw = 0;
	if (m->ctl)
		mysql_close(m->ctl);
	m->ctl = NULL;
	if (m->hook_snapshot && m->o.snapshot_release)
		run_hook(m, m->o.snapshot_release, NULL, 0);
	m->hook_snapshot = false;
	drop_btrfs(m);
	if (m->snapparent >= 0)
		close(m->snapparent);
	m->snapparent = -1;
}

static const struct lb_source_ops mysql_ops = {
	.name = "mysql",
	.prepare = my_prepare,
	.run = my_run,
	.report = my_report,
	.cleanup = my_cleanup,
};

int lb_mysql_source_new(const struct lb_mysql_opts *o, struct lb_source **ret)
{
	struct mysrc *m = calloc(1, sizeof *m);

	if (!m)
		return -ENOMEM;
	m->o = *o;
	m->snapparent = -1;
	/* tests only: checksums as snapshots before "checksum_alg" had them */
	m->sumalg = getenv("LIFEBOAT_TEST_MYSQL_SHA256_SUMS") ? LB_MY_SUM_SHA256 : LB_MY_SUM_DEFAULT;
	pthread_mutex_init(&m->mu, NULL);
	pthread_cond_init(&m->cv, NULL);
	if (o->ndatabases) {
		m->dbs = calloc(o->ndatabases, sizeof *m->dbs);
		if (!m->dbs) {
			free(m);
			return -ENOMEM;
		}
		for (size_t i = 0; i < o->ndatabases; i++)
			m->dbs[i] = xstrdup(o->databases[i]);
		m->ndbs = o->ndatabases;
	}
	m->o.databases = NULL;
	m->pub.ops = &mysql_ops;
	m->pub.state = m;
	*ret = &m->pub;
	return 0;
}

void lb_mysql_source_free(struct lb_source *s)
{
	struct mysrc *m;

	if (!s)
		return;
	m = s->state;
	my_cleanup(m);
	free_names(m->dbs, m->ndbs);
	for (size_t i = 0; i < m->nt; i++) {
		free(m->t[i].db);
		free(m->t[i].name);
		free(m->t[i].engine);
		free(m->t[i].file);
	}
	free(m->t);
	free(m->order);
	pthread_mutex_destroy(&m->mu);
	pthread_cond_destroy(&m->cv);
	free(m);
}
