/* mysqlload — write load, invariants and checksums for lifeboat's MySQL
 * tests and bench, through the libmysqlclient API (MariaDB Connector/C).
 *
 *   mysqlload setup     [common] [--accounts N] [--balance B] [--posts N]
 *                       [--filler-tables K] [--filler-rows R] [--threads T]
 *       Creates DB (default "bank"): params, accounts (N rows, balance B
 *       each), ledger, workers (InnoDB), posts (MyISAM, N rows: an old
 *       phpBB forum) and K sysbench-like InnoDB tables sbtest1..K of R rows.
 *
 *   mysqlload transfers [common] [--threads N] [--rate R] [--duration S]
 *                       [--events FILE] [--ready-file FILE]
 *       N threads, one connection each, run money transfers at R per second
 *       in all (open loop: every transaction has an intended start on a
 *       fixed schedule and its latency counts from there, so time spent
 *       queued behind a lock shows).  One transfer:
 *         BEGIN; SELECT .. FOR UPDATE (both accounts); UPDATE x2;
 *         INSERT INTO ledger (src, dst, amount, worker, seq); UPDATE workers
 *         SET last_seq = seq; COMMIT
 *       Duration 0 runs until SIGTERM or SIGINT.  Prints a JSON summary.
 *
 *   mysqlload myisam    [common] [--rate R] [--duration S] [--events FILE]
 *       One writer: a new forum post (INSERT) and an edit of an old one
 *       (UPDATE) per event, on the MyISAM table posts.
 *
 *   mysqlload ddl       [common] --sql STATEMENT [--at SECONDS]
 *       Runs one statement (an ALTER TABLE, a RENAME) at the given time;
 *       prints when it started and finished (epoch seconds) and its result.
 *
 *   mysqlload check     [common]
 *       The invariant a consistent copy satisfies and a torn one violates,
 *       read inside one consistent snapshot:
 *         - the sum of the balances is accounts x balance;
 *         - every account reconciles with the ledger:
 *             balance = initial + sum(ledger in) - sum(ledger out);
 *         - every worker's ledger rows are seq 1..k without a gap, and k is
 *           the worker's last_seq (the counter row and the ledger row are
 *           written in the same transaction).
 *       Exit 0 when it holds, 1 when it does not; JSON either way.
 *
 *   mysqlload checksum  [common] [--table T] [--alg sha256|xxh3-64]
 *       lifeboat's per-table checksum (see lb_my_table_sum): every row's
 *       non-generated columns, as the text protocol sends them with SET
 *       NAMES binary and time_zone '+00:00' (FLOAT columns selected as
 *       CAST(col AS DOUBLE), which prints every bit of them), hashed with
 *       SHA-256 or XXH3-64 (per column: a not-NULL byte, the length as 8
 *       bytes little-endian, the bytes); the first 8 bytes of each hash, little-endian, summed and
 *       xored: "%016llx%016llx" of sum and xor.  Written independently of
 *       lifeboat's code, so a change to either shows.  Every base table of
 *       DB (or just T), inside one consistent snapshot, as JSON.
 *
 *   mysqlload load-dump [common] --dir DIR [--into NAME] [--only DB] [--users]
 *       Loads a lifeboat dump tree (DIR/<db>/schema.sql, DIR/<db>/data/
 *       *.sql, DIR/users.sql; framed statements "-- LB <len> <kind>
 *       <name>\n<stmt>;\n") into a server: the test's own loader, so a
 *       backup can be checked without lifeboat's restore.
 *
 *   mysqlload stats     --events FILE... [--from EPOCH] [--to EPOCH]
 *       p50/p99/max latency of the logged events whose intended start lies
 *       in the window.
 *
 * common: --defaults-file FILE (the [client] group: socket, user, password)
 *         --db NAME (default bank)
 * Event logs hold one line per transaction: intended start (epoch seconds)
 * and latency in ms. */
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <mysql.h>
#include <openssl/evp.h>
#include <xxhash.h>

static const char *defaults_file;
static const char *dbname = "bank";
static volatile sig_atomic_t stop;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mysqlload: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_until(double t)
{
	for (;;) {
		double d = t - now_s();

		if (d <= 0 || stop)
			return;
		if (d > 0.2)
			d = 0.2; /* stay responsive to signals */
		struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static MYSQL *connect_db(const char *db)
{
	MYSQL *m = mysql_init(NULL);

	if (!m)
		die("out of memory");
	if (defaults_file)
		mysql_optionsv(m, MYSQL_READ_DEFAULT_FILE, defaults_file);
	mysql_optionsv(m, MYSQL_READ_DEFAULT_GROUP, "client");
	if (!mysql_real_connect(m, NULL, NULL, NULL, db, 0, NULL, CLIENT_MULTI_RESULTS)) {
		fprintf(stderr, "mysqlload: connect (%s): %s (%u)\n", defaults_file ? defaults_file : "defaults",
			mysql_error(m), mysql_errno(m));
		mysql_close(m);
		return NULL;
	}
	return m;
}

static MYSQL *connect_or_die(const char *db)
{
	MYSQL *m = connect_db(db);

	if (!m)
		exit(2);
	return m;
}

/* Runs a statement and drains its results; returns the error number or 0. */
static unsigned q(MYSQL *m, const char *sql)
{
	if (mysql_real_query(m, sql, strlen(sql)) != 0)
		return mysql_errno(m);
	do {
		MYSQL_RES *r = mysql_store_result(m);

		if (r)
			mysql_free_result(r);
	} while (mysql_next_result(m) == 0);
	return 0;
}

static unsigned qf(MYSQL *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static unsigned qf(MYSQL *m, const char *fmt, ...)
{
	char sql[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return q(m, sql);
}

static void q_or_die(MYSQL *m, const char *sql)
{
	if (q(m, sql))
		die("%.200s: %s (%u)", sql, mysql_error(m), mysql_errno(m));
}

/* One integer from a query, or dflt when there is no row / NULL. */
static long long scalar(MYSQL *m, const char *sql, long long dflt)
{
	MYSQL_RES *r;
	MYSQL_ROW row;
	long long v = dflt;

	if (mysql_query(m, sql) != 0 || !(r = mysql_store_result(m)))
		die("%.200s: %s (%u)", sql, mysql_error(m), mysql_errno(m));
	if ((row = mysql_fetch_row(r)) && row[0])
		v = strtoll(row[0], NULL, 10);
	mysql_free_result(r);
	return v;
}

static void quote_ident(char *out, size_t n, const char *s)
{
	size_t w = 0;

	out[w++] = '`';
	for (; *s && w + 3 < n; s++) {
		if (*s == '`')
			out[w++] = '`';
		out[w++] = *s;
	}
	out[w++] = '`';
	out[w] = 0;
}

/* ---- latency records ---- */

struct ev {
	double intended, lat_ms;
};

struct evlog {
	struct ev *v;
	size_t n, cap;
};

static void ev_add(struct evlog *l, double intended, double lat_ms)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 4096;
		l->v = realloc(l->v, l->cap * sizeof *l->v);
		if (!l->v)
			die("out of memory");
	}
	l->v[l->n++] = (struct ev){ intended, lat_ms };
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_ev(const void *a, const void *b)
{
	return cmp_double(&((const struct ev *)a)->intended, &((const struct ev *)b)->intended);
}

/* nearest-rank percentile of sorted values */
static double pct(const double *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	double x = p / 100.0 * (double)n;

	i = (size_t)x;
	if ((double)i < x)
		i++; /* ceil, without libm */
	if (i < 1)
		i = 1;
	return v[i - 1];
}

static void print_latency(FILE *f, const struct ev *v, size_t n)
{
	double *lat = malloc((n ? n : 1) * sizeof *lat);

	if (!lat)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		lat[i] = v[i].lat_ms;
	qsort(lat, n, sizeof *lat, cmp_double);
	fprintf(f, "\"n\": %zu, \"p50_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f", n, pct(lat, n, 50),
		pct(lat, n, 99), n ? lat[n - 1] : 0.0);
	free(lat);
}

static void write_events(const char *path, struct evlog *l)
{
	FILE *f;

	if (!path)
		return;
	qsort(l->v, l->n, sizeof *l->v, cmp_ev);
	if (!(f = fopen(path, "w")))
		die("%s: %s", path, strerror(errno));
	for (size_t i = 0; i < l->n; i++)
		fprintf(f, "%.6f %.3f\n", l->v[i].intended, l->v[i].lat_ms);
	if (fclose(f) != 0)
		die("%s: %s", path, strerror(errno));
}

/* ---- setup ---- */

struct filler_job {
	int first, step, tables;
	long rows;
};

static void *filler_main(void *arg)
{
	struct filler_job *j = arg;
	MYSQL *m;

	mysql_thread_init();
	m = connect_or_die(dbname);
	q_or_die(m, "SET SESSION unique_checks=0, foreign_key_checks=0");
	for (int t = j->first; t <= j->tables; t += j->step) {
		/* sysbench's shape: id, k, c char(120), pad char(60); the strings
		 * are hex, about as compressible as sysbench's digit groups */
		if (qf(m, "CREATE TABLE sbtest%d (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, k INT NOT NULL DEFAULT 0, "
			  "c CHAR(120) NOT NULL DEFAULT '', pad CHAR(60) NOT NULL DEFAULT '', KEY k_%d (k)) ENGINE=InnoDB",
		       t, t))
			die("create sbtest%d: %s", t, mysql_error(m));
		for (long done = 0; done < j->rows;) {
			long n = j->rows - done > 50000 ? 50000 : j->rows - done;

			if (qf(m, "INSERT INTO sbtest%d (id, k, c, pad) SELECT seq, 1 + (seq * 7919 + %d) %% %ld, "
				  "LEFT(CONCAT_WS('-', MD5(seq * %d), MD5(seq + %d), MD5(seq * 3 + %d), MD5(seq + 7)), 119), "
				  "LEFT(CONCAT_WS('-', SHA1(seq + %d), SHA1(seq * 5)), 59) FROM seq_%ld_to_%ld",
			       t, t, j->rows, t, t, t, t, done + 1, done + n))
				die("fill sbtest%d: %s", t, mysql_error(m));
			done += n;
		}
	}
	mysql_close(m);
	mysql_thread_end();
	return NULL;
}

static int cmd_setup(long accounts, long balance, long posts, int filler_tables, long filler_rows, int threads)
{
	MYSQL *m = connect_or_die(NULL);
	char qdb[300];

	quote_ident(qdb, sizeof qdb, dbname);
	qf(m, "CREATE DATABASE IF NOT EXISTS %s", qdb);
	if (mysql_select_db(m, dbname))
		die("use %s: %s", dbname, mysql_error(m));
	q_or_die(m, "CREATE TABLE params (k VARCHAR(32) NOT NULL PRIMARY KEY, v BIGINT NOT NULL) ENGINE=InnoDB");
	qf(m, "INSERT INTO params VALUES ('accounts', %ld), ('balance', %ld)", accounts, balance);
	q_or_die(m, "CREATE TABLE accounts (id INT NOT NULL PRIMARY KEY, balance BIGINT NOT NULL, "
		    "owner VARCHAR(64) NOT NULL, updated_at TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6) "
		    "ON UPDATE CURRENT_TIMESTAMP(6)) ENGINE=InnoDB");
	if (qf(m, "INSERT INTO accounts (id, balance, owner) SELECT seq, %ld, CONCAT('owner ', seq) FROM seq_1_to_%ld",
	       balance, accounts))
		die("accounts: %s", mysql_error(m));
	q_or_die(m, "CREATE TABLE workers (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, last_seq BIGINT NOT NULL DEFAULT 0, "
		    "started TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6)) ENGINE=InnoDB");
	q_or_die(m, "CREATE TABLE ledger (id BIGINT NOT NULL AUTO_INCREMENT PRIMARY KEY, src INT NOT NULL, dst INT NOT NULL, "
		    "amount INT NOT NULL, worker INT NOT NULL, seq BIGINT NOT NULL, "
		    "ts TIMESTAMP(6) NOT NULL DEFAULT CURRENT_TIMESTAMP(6), UNIQUE KEY worker_seq (worker, seq), "
		    "KEY src (src), KEY dst (dst)) ENGINE=InnoDB");
	q_or_die(m, "CREATE TABLE posts (post_id INT UNSIGNED NOT NULL AUTO_INCREMENT, topic_id INT UNSIGNED NOT NULL DEFAULT 0, "
		    "forum_id MEDIUMINT UNSIGNED NOT NULL DEFAULT 0, poster_id INT UNSIGNED NOT NULL DEFAULT 0, "
		    "poster_ip VARCHAR(40) NOT NULL DEFAULT '', post_time INT UNSIGNED NOT NULL DEFAULT 0, "
		    "post_subject VARCHAR(255) NOT NULL DEFAULT '', post_text MEDIUMTEXT NOT NULL, "
		    "post_edit_count SMALLINT UNSIGNED NOT NULL DEFAULT 0, PRIMARY KEY (post_id), KEY topic_id (topic_id), "
		    "KEY poster_id (poster_id)) ENGINE=MyISAM DEFAULT CHARSET=utf8mb3");
	for (long done = 0; done < posts;) {
		long n = posts - done > 20000 ? 20000 : posts - done;

		if (qf(m, "INSERT INTO posts (topic_id, forum_id, poster_id, poster_ip, post_time, post_subject, post_text) "
			  "SELECT 1 + seq DIV 10, 1 + seq %% 50, 1 + (seq * 7919) %% 5000, CONCAT('10.0.', seq %% 256, '.', "
			  "(seq DIV 256) %% 256), 1100000000 + seq * 600, CONCAT('Re: topic ', 1 + seq DIV 10), "
			  "REPEAT(CONCAT(MD5(seq), ' forum post text lorem ipsum '), 1 + seq %% 20) FROM seq_%ld_to_%ld",
		       done + 1, done + n))
			die("posts: %s", mysql_error(m));
		done += n;
	}
	if (filler_tables > 0) {
		pthread_t th[16];
		struct filler_job jobs[16];
		int nt = threads < 1 ? 1 : threads > 16 ? 16 : threads;

		if (nt > filler_tables)
			nt = filler_tables;
		for (int i = 0; i < nt; i++) {
			jobs[i] = (struct filler_job){ .first = i + 1, .step = nt, .tables = filler_tables, .rows = filler_rows };
			if (pthread_create(&th[i], NULL, filler_main, &jobs[i]))
				die("pthread_create");
		}
		for (int i = 0; i < nt; i++)
			pthread_join(th[i], NULL);
	}
	q_or_die(m, "FLUSH TABLES");
	printf("{\"mode\": \"setup\", \"db\": \"%s\", \"accounts\": %ld, \"balance\": %ld, \"posts\": %ld, "
	       "\"filler_tables\": %d, \"filler_rows\": %ld}\n", dbname, accounts, balance, posts, filler_tables, filler_rows);
	mysql_close(m);
	return 0;
}

/* ---- transfers ---- */

struct tctx {
	int idx, nthreads;
	double rate;      /* this thread's, per second; 0: closed loop */
	double t0, t_end; /* t_end 0: until stopped */
	long accounts;
	unsigned seed;
	struct evlog ev;
	long committed, retries, errors, reconnects;
	char lasterr[256];
	int ready;
};

static pthread_mutex_t ready_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t ready_cv = PTHREAD_COND_INITIALIZER;
static int nready;
static bool go;

static void wait_go(void)
{
	pthread_mutex_lock(&ready_mu);
	nready++;
	pthread_cond_broadcast(&ready_cv);
	while (!go)
		pthread_cond_wait(&ready_cv, &ready_mu);
	pthread_mutex_unlock(&ready_mu);
}

static unsigned rnd(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return (*s >> 8) & 0xffffff;
}

static bool transient(unsigned err)
{
	return err == 1213 /* deadlock */ || err == 1205 /* lock wait timeout */ || err == 1180 || err == 1181;
}

static bool lost(unsigned err)
{
	return err == 2006 || err == 2013 || err == 2002 || err == 1927 /* connection killed */ || err == 4031;
}

/* One transfer; 0 committed, else the error. */
static unsigned transfer(MYSQL *m, int worker, long long seq, long a, long b, int amount)
{
	unsigned e;

	if ((e = q(m, "START TRANSACTION")) ||
	    (e = qf(m, "SELECT id, balance FROM accounts WHERE id IN (%ld, %ld) ORDER BY id FOR UPDATE", a, b)) ||
	    (e = qf(m, "UPDATE accounts SET balance = balance - %d WHERE id = %ld", amount, a)) ||
	    (e = qf(m, "UPDATE accounts SET balance = balance + %d WHERE id = %ld", amount, b)) ||
	    (e = qf(m, "INSERT INTO ledger (src, dst, amount, worker, seq) VALUES (%ld, %ld, %d, %d, %lld)", a, b,
		    amount, worker, seq)) ||
	    (e = qf(m, "UPDATE workers SET last_seq = %lld WHERE id = %d", seq, worker)) || (e = q(m, "COMMIT"))) {
		return e;
	}
	return 0;
}

static void *transfer_main(void *arg)
{
	struct tctx *c = arg;
	MYSQL *m;
	int worker;
	long long seq = 0;
	double next;

	mysql_thread_init();
	m = connect_or_die(dbname);
	q_or_die(m, "SET SESSION lock_wait_timeout=3600, innodb_lock_wait_timeout=50");
	q_or_die(m, "INSERT INTO workers (last_seq) VALUES (0)");
	worker = (int)mysql_insert_id(m);
	wait_go();
	next = c->t0 + (c->rate > 0 ? (double)c->idx / c->nthreads / c->rate : 0);
	while (!stop && (c->t_end == 0 || next < c->t_end)) {
		long a, b;
		int amount, tries = 0;
		unsigned e;
		double intended;

		if (c->rate > 0) {
			sleep_until(next);
			if (stop)
				break;
			intended = next;
			next += 1.0 / c->rate;
		} else {
			intended = now_s();
			next = intended;
		}
		a = 1 + (long)(rnd(&c->seed) % (unsigned long)c->accounts);
		do
			b = 1 + (long)(rnd(&c->seed) % (unsigned long)c->accounts);
		while (b == a && c->accounts > 1);
		amount = 1 + (int)(rnd(&c->seed) % 100);
		seq++;
		for (;;) {
			e = transfer(m, worker, seq, a, b, amount);
			if (!e)
				break;
			snprintf(c->lasterr, sizeof c->lasterr, "%s (%u)", mysql_error(m), e);
			if (lost(e)) {
				/* did the COMMIT make it?  the worker's counter says */
				mysql_close(m);
				m = NULL;
				while (!m && !stop) {
					m = connect_db(dbname);
					if (!m)
						usleep(200000);
				}
				if (!m)
					goto out;
				c->reconnects++;
				q(m, "SET SESSION lock_wait_timeout=3600, innodb_lock_wait_timeout=50");
				{
					char sql[128];

					snprintf(sql, sizeof sql, "SELECT last_seq FROM workers WHERE id = %d", worker);
					if (scalar(m, sql, -1) == seq)
						break;
				}
			} else {
				q(m, "ROLLBACK");
				if (transient(e))
					c->retries++;
				else
					c->errors++;
			}
			if (++tries > 1000 || stop) {
				seq--;
				goto skip;
			}
			if (!transient(e))
				usleep(10000);
		}
		c->committed++;
		ev_add(&c->ev, intended, (now_s() - intended) * 1e3);
	skip:;
	}
out:
	if (m)
		mysql_close(m);
	mysql_thread_end();
	return NULL;
}

static void touch(const char *path)
{
	FILE *f;

	if (path && (f = fopen(path, "w")))
		fclose(f);
}

static int cmd_transfers(int threads, double rate, double duration, const char *events, const char *ready_file)
{
	struct tctx *c = calloc((size_t)threads, sizeof *c);
	pthread_t *th = calloc((size_t)threads, sizeof *th);
	struct evlog all = { 0 };
	long accounts, committed = 0, retries = 0, errors = 0, reconnects = 0;
	double t0, t1;
	MYSQL *m = connect_or_die(dbname);
	char lasterr[256] = "";

	if (!c || !th)
		die("out of memory");
	accounts = (long)scalar(m, "SELECT v FROM params WHERE k = 'accounts'", 0);
	mysql_close(m);
	if (accounts < 2)
		die("no accounts: run setup first");
	for (int i = 0; i < threads; i++) {
		c[i] = (struct tctx){ .idx = i, .nthreads = threads, .rate = rate / threads, .accounts = accounts,
				      .seed = (unsigned)(getpid() * 7919 + i * 104729 + (unsigned)time(NULL)) };
		if (pthread_create(&th[i], NULL, transfer_main, &c[i]))
			die("pthread_create");
	}
	pthread_mutex_lock(&ready_mu);
	while (nready < threads)
		pthread_cond_wait(&ready_cv, &ready_mu);
	t0 = now_s() + 0.05;
	for (int i = 0; i < threads; i++) {
		c[i].t0 = t0;
		c[i].t_end = duration > 0 ? t0 + duration : 0;
	}
	go = true;
	pthread_cond_broadcast(&ready_cv);
	pthread_mutex_unlock(&ready_mu);
	touch(ready_file);
	for (int i = 0; i < threads; i++)
		pthread_join(th[i], NULL);
	t1 = now_s();
	for (int i = 0; i < threads; i++) {
		for (size_t k = 0; k < c[i].ev.n; k++)
			ev_add(&all, c[i].ev.v[k].intended, c[i].ev.v[k].lat_ms);
		committed += c[i].committed;
		retries += c[i].retries;
		errors += c[i].errors;
		reconnects += c[i].reconnects;
		if (c[i].lasterr[0])
			snprintf(lasterr, sizeof lasterr, "%s", c[i].lasterr);
		free(c[i].ev.v);
	}
	write_events(events, &all);
	printf("{\"mode\": \"transfers\", \"threads\": %d, \"rate\": %.1f, \"elapsed_s\": %.3f, \"committed\": %ld, "
	       "\"tps\": %.1f, \"retries\": %ld, \"errors\": %ld, \"reconnects\": %ld, ",
	       threads, rate, t1 - t0, committed, committed / (t1 - t0 > 0 ? t1 - t0 : 1), retries, errors, reconnects);
	print_latency(stdout, all.v, all.n);
	printf(", \"last_error\": \"");
	for (const char *p = lasterr; *p; p++)
		if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
			putchar(*p);
	printf("\"}\n");
	free(all.v);
	free(c);
	free(th);
	return 0;
}

/* ---- the MyISAM forum writer ---- */

static int cmd_myisam(double rate, double duration, const char *events, const char *ready_file)
{
	MYSQL *m = connect_or_die(dbname);
	struct evlog ev = { 0 };
	long n = 0, errors = 0, maxid;
	unsigned seed = (unsigned)getpid() * 31u + (unsigned)time(NULL);
	double t0, next, t_end;
	char text[1300];

	q_or_die(m, "SET SESSION lock_wait_timeout=3600");
	maxid = (long)scalar(m, "SELECT IFNULL(MAX(post_id), 1) FROM posts", 1);
	touch(ready_file);
	t0 = next = now_s();
	t_end = duration > 0 ? t0 + duration : 0;
	while (!stop && (t_end == 0 || next < t_end)) {
		double intended;
		unsigned e1, e2;
		long topic = 1 + (long)(rnd(&seed) % 10000), len = 50 + (long)(rnd(&seed) % 1150);

		if (rate > 0) {
			sleep_until(next);
			if (stop)
				break;
			intended = next;
			next += 1.0 / rate;
		} else {
			intended = next = now_s();
		}
		for (long i = 0; i < len; i++)
			text[i] = "abcdefghijklmnopqrstuvwxyz @"[rnd(&seed) % 28];
		text[len] = 0;
		e1 = qf(m, "INSERT INTO posts (topic_id, forum_id, poster_id, poster_ip, post_time, post_subject, post_text) "
			   "VALUES (%ld, %ld, %u, '10.1.%u.%u', UNIX_TIMESTAMP(), 'Re: topic %ld', '%s')",
			topic, 1 + topic % 50, 1 + rnd(&seed) % 5000, rnd(&seed) % 256, rnd(&seed) % 256, topic, text);
		e2 = qf(m, "UPDATE posts SET post_edit_count = post_edit_count + 1 WHERE post_id = %ld",
			1 + (long)(rnd(&seed) % (unsigned long)maxid));
		if (e1 || e2) {
			errors++;
			if (lost(e1) || lost(e2)) {
				mysql_close(m);
				while (!(m = connect_db(dbname)) && !stop)
					usleep(200000);
				if (!m)
					break;
			}
			continue;
		}
		n++;
		ev_add(&ev, intended, (now_s() - intended) * 1e3);
	}
	write_events(events, &ev);
	printf("{\"mode\": \"myisam\", \"rate\": %.1f, \"elapsed_s\": %.3f, \"posts\": %ld, \"errors\": %ld, ", rate,
	       now_s() - t0, n, errors);
	print_latency(stdout, ev.v, ev.n);
	printf("}\n");
	free(ev.v);
	if (m)
		mysql_close(m);
	return 0;
}

/* ---- DDL at a chosen time ---- */

static int cmd_ddl(const char *sql, double at)
{
	MYSQL *m = connect_or_die(dbname);
	double t0 = now_s(), s, e;
	unsigned err;

	q_or_die(m, "SET SESSION lock_wait_timeout=3600");
	sleep_until(t0 + at);
	s = now_s();
	err = q(m, sql);
	e = now_s();
	printf("{\"mode\": \"ddl\", \"started\": %.6f, \"finished\": %.6f, \"duration_ms\": %.3f, \"ok\": %s, "
	       "\"error\": %u}\n", s, e, (e - s) * 1e3, err ? "false" : "true", err);
	if (err)
		fprintf(stderr, "mysqlload: %s: %s\n", sql, mysql_error(m));
	mysql_close(m);
	return err ? 1 : 0;
}

/* ---- the invariant ---- */

static int cmd_check(void)
{
	MYSQL *m = connect_or_die(dbname);
	long long accounts, balance, total, nacc, bad_acc, ledger, bad_workers, workers, posts;
	char sql[2048];
	bool ok;

	q_or_die(m, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
	q_or_die(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY");
	accounts = scalar(m, "SELECT v FROM params WHERE k = 'accounts'", -1);
	balance = scalar(m, "SELECT v FROM params WHERE k = 'balance'", -1);
	total = scalar(m, "SELECT SUM(balance) FROM accounts", -1);
	nacc = scalar(m, "SELECT COUNT(*) FROM accounts", -1);
	ledger = scalar(m, "SELECT COUNT(*) FROM ledger", -1);
	workers = scalar(m, "SELECT COUNT(*) FROM workers", -1);
	posts = scalar(m, "SELECT COUNT(*) FROM posts", -1);
	snprintf(sql, sizeof sql,
		 "SELECT COUNT(*) FROM accounts a LEFT JOIN (SELECT id, SUM(d) AS d FROM "
		 "(SELECT dst AS id, amount AS d FROM ledger UNION ALL SELECT src, -amount FROM ledger) u GROUP BY id) l "
		 "ON l.id = a.id WHERE a.balance <> %lld + IFNULL(l.d, 0)", balance);
	bad_acc = scalar(m, sql, -1);
	/* per worker: rows 1..last_seq, no gap, no extra */
	bad_workers = scalar(m,
			     "SELECT COUNT(*) FROM workers w LEFT JOIN (SELECT worker, COUNT(*) AS n, MIN(seq) AS lo, "
			     "MAX(seq) AS hi FROM ledger GROUP BY worker) l ON l.worker = w.id "
			     "WHERE IFNULL(l.n, 0) <> w.last_seq OR (w.last_seq > 0 AND (l.lo <> 1 OR l.hi <> w.last_seq))",
			     -1);
	bad_workers += scalar(m, "SELECT COUNT(*) FROM ledger WHERE worker NOT IN (SELECT id FROM workers)", 0);
	q(m, "COMMIT");
	ok = accounts > 0 && nacc == accounts && total == accounts * balance && bad_acc == 0 && bad_workers == 0;
	printf("{\"ok\": %s, \"accounts\": %lld, \"total\": %lld, \"expected_total\": %lld, \"unreconciled_accounts\": %lld, "
	       "\"ledger_rows\": %lld, \"workers\": %lld, \"workers_with_gaps\": %lld, \"posts\": %lld}\n",
	       ok ? "true" : "false", nacc, total, accounts * balance, bad_acc, ledger, workers, bad_workers, posts);
	mysql_close(m);
	return ok ? 0 : 1;
}

/* ---- lifeboat's table checksum, written independently ---- */

struct sum {
	uint64_t rows, sum, xr;
};

/* the row hash: SHA-256 (its first 8 bytes) or, with --alg xxh3-64, XXH3,
 * of the whole row's encoding at once */
static bool sum_xxh3;

static void sum_row(EVP_MD_CTX *c, struct sum *s, MYSQL_ROW row, const unsigned long *lens, unsigned n)
{
	static unsigned char *enc;
	static size_t cap;
	unsigned char h[32];
	unsigned hl;
	size_t len = 0;
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++) {
		uint64_t l = row[i] ? lens[i] : 0;

		if (len + 9 + l > cap) {
			cap = 2 * (len + 9 + l);
			if (!(enc = realloc(enc, cap)))
				die("out of memory");
		}
		enc[len] = row[i] ? 1 : 0;
		for (int b = 0; b < 8; b++)
			enc[len + 1 + b] = (unsigned char)(l >> (8 * b));
		if (l)
			memcpy(enc + len + 9, row[i], l);
		len += 9 + l;
	}
	if (sum_xxh3) {
		v = XXH3_64bits(enc, len);
	} else {
		EVP_DigestInit_ex(c, EVP_sha256(), NULL);
		EVP_DigestUpdate(c, enc, len);
		EVP_DigestFinal_ex(c, h, &hl);
		for (int b = 7; b >= 0; b--)
			v = v << 8 | h[b];
	}
	s->rows++;
	s->sum += v;
	s->xr ^= v;
}

static int table_sum(MYSQL *m, const char *table, struct sum *s)
{
	char sql[4096], edb[512], etb[512], qdb[300], qtb[300];
	size_t w = 0;
	MYSQL_RES *r;
	MYSQL_ROW row;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	int ncols = 0;
	char *cols = calloc(1, 65536);

	memset(s, 0, sizeof *s);
	mysql_real_escape_string(m, edb, dbname, (unsigned long)strlen(dbname));
	mysql_real_escape_string(m, etb, table, (unsigned long)strlen(table));
	snprintf(sql, sizeof sql,
		 "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='%s' AND TABLE_NAME='%s' "
		 "AND EXTRA NOT LIKE '%%GENERATED%%' AND EXTRA NOT IN ('VIRTUAL','PERSISTENT','STORED') "
		 "ORDER BY ORDINAL_POSITION", edb, etb);
	if (mysql_query(m, sql) || !(r = mysql_store_result(m)))
		die("columns of %s: %s", table, mysql_error(m));
	while ((row = mysql_fetch_row(r))) {
		char qc[300];
		int fl = row[1] && !strcasecmp(row[1], "float");

		quote_ident(qc, sizeof qc, row[0]);
		w += (size_t)snprintf(cols + w, 65536 - w, "%s%s%s%s", ncols++ ? "," : "", fl ? "CAST(" : "", qc,
				      fl ? " AS DOUBLE)" : "");
	}
	mysql_free_result(r);
	if (!ncols)
		die("%s.%s: no such table or no columns", dbname, table);
	quote_ident(qdb, sizeof qdb, dbname);
	quote_ident(qtb, sizeof qtb, table);
	{
		size_t n = strlen(cols) + 700;
		char *sel = malloc(n);

		snprintf(sel, n, "SELECT %s FROM %s.%s", cols, qdb, qtb);
		if (mysql_query(m, sel) || !(r = mysql_use_result(m)))
			die("reading %s: %s", table, mysql_error(m));
		free(sel);
	}
	while ((row = mysql_fetch_row(r)))
		sum_row(c, s, row, mysql_fetch_lengths(r), mysql_num_fields(r));
	if (mysql_errno(m))
		die("reading %s: %s", table, mysql_error(m));
	mysql_free_result(r);
	EVP_MD_CTX_free(c);
	free(cols);
	return 0;
}

static void print_json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", (unsigned char)*s);
		else
			putchar(*s);
	}
	putchar('"');
}

static int cmd_checksum(const char *table)
{
	MYSQL *m = connect_or_die(NULL);
	MYSQL_RES *r;
	MYSQL_ROW row;
	char **names = NULL;
	size_t n = 0;
	char edb[512], sql[1024];

	q_or_die(m, "SET NAMES binary, time_zone='+00:00'");
	q_or_die(m, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ");
	q_or_die(m, "START TRANSACTION WITH CONSISTENT SNAPSHOT");
	if (table) {
		names = malloc(sizeof *names);
		names[n++] = strdup(table);
	} else {
		mysql_real_escape_string(m, edb, dbname, (unsigned long)strlen(dbname));
		snprintf(sql, sizeof sql, "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA='%s' "
			 "AND TABLE_TYPE IN ('BASE TABLE','SYSTEM VERSIONED') ORDER BY TABLE_NAME", edb);
		if (mysql_query(m, sql) || !(r = mysql_store_result(m)))
			die("tables: %s", mysql_error(m));
		while ((row = mysql_fetch_row(r))) {
			names = realloc(names, (n + 1) * sizeof *names);
			names[n++] = strdup(row[0]);
		}
		mysql_free_result(r);
	}
	printf("{");
	for (size_t i = 0; i < n; i++) {
		struct sum s;

		table_sum(m, names[i], &s);
		printf("%s", i ? ", " : "");
		{
			char key[1200];

			snprintf(key, sizeof key, "%s.%s", dbname, names[i]);
			print_json_str(key);
		}
		printf(": {\"rows\": %llu, \"checksum\": \"%016llx%016llx\"}", (unsigned long long)s.rows,
		       (unsigned long long)s.sum, (unsigned long long)s.xr);
		free(names[i]);
	}
	printf("}\n");
	free(names);
	q(m, "COMMIT");
	mysql_close(m);
	return 0;
}

/* ---- loading a dump tree ---- */

struct loader {
	MYSQL *m;
	const char *into;
	long statements, errors;
	const char *file;
};

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0, got;

	if (!f)
		return NULL;
	do {
		if (n + 65536 > cap) {
			cap = cap ? 2 * cap : 1 << 20;
			if (!(buf = realloc(buf, cap)))
				die("out of memory");
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	fclose(f);
	*len = n;
	return buf;
}

/* Runs the framed statements of a file: pass 1 the database and its
 * tables, pass 2 everything (the rows), pass 3 what must follow the rows
 * (views, triggers, routines, events and the session settings they were
 * created under) -- a trigger created before the rows would fire on them. */
static int load_file(struct loader *l, const char *path, int pass)
{
	size_t len, off = 0;
	char *buf = read_file(path, &len);

	if (!buf) {
		if (errno == ENOENT)
			return 0;
		die("%s: %s", path, strerror(errno));
	}
	/* "session" frames (the sql_mode and character set a trigger or a
	 * routine was created under) last until the end of their file */
	q_or_die(l->m, "SET NAMES binary, time_zone='+00:00'");
	q_or_die(l->m, "SET SESSION foreign_key_checks=0, unique_checks=0, "
		       "sql_mode='NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'");
	while (off < len) {
		char *hdr = buf + off, *nl = memchr(hdr, '\n', len - off), *p, kind[32] = "", name[1024] = "";
		size_t slen;
		int k = 0;

		if (!nl || strncmp(hdr, "-- LB ", 6))
			die("%s: bad frame header at offset %zu", path, off);
		slen = strtoul(hdr + 6, &p, 10);
		if (*p == ' ')
			p++;
		while (p < nl && *p != ' ' && k < 31)
			kind[k++] = *p++;
		kind[k] = 0;
		if (p < nl)
			p++;
		snprintf(name, sizeof name, "%.*s", (int)(nl - p), p);
		if ((size_t)(nl + 1 - buf) + slen + 2 > len || nl[1 + slen] != ';' || nl[2 + slen] != '\n')
			die("%s: frame '%s %s' at offset %zu does not end where it says", path, kind, name, off);
		if (!strcmp(kind, "database")) {
			char qn[300];
			const char *db = l->into ? l->into : name;

			quote_ident(qn, sizeof qn, db);
			if (pass != 1)
				;
			else if (l->into)
				qf(l->m, "CREATE DATABASE IF NOT EXISTS %s", qn);
			else if (mysql_real_query(l->m, nl + 1, slen))
				die("%s: %s", path, mysql_error(l->m));
			if (mysql_select_db(l->m, db))
				die("use %s: %s", db, mysql_error(l->m));
		} else if ((pass == 1 && strcmp(kind, "table")) || (pass == 3 && !strcmp(kind, "table"))) {
			; /* another pass's */
		} else if (mysql_real_query(l->m, nl + 1, slen) != 0) {
			l->errors++;
			fprintf(stderr, "mysqlload: %s: %s %s: %s (%u)\n", path, kind, name, mysql_error(l->m),
				mysql_errno(l->m));
		} else {
			do {
				MYSQL_RES *r = mysql_store_result(l->m);

				if (r)
					mysql_free_result(r);
			} while (mysql_next_result(l->m) == 0);
		}
		l->statements++;
		off = (size_t)(nl + 1 - buf) + slen + 2;
	}
	free(buf);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a directory's entries (directories only, or files ending .sql). */
static char **list_dir(const char *dir, bool dirs, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **v = NULL;

	*n = 0;
	if (!d)
		return NULL;
	while ((de = readdir(d))) {
		char p[4096];
		struct stat st;
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		if (stat(p, &st) < 0)
			continue;
		if (dirs ? !S_ISDIR(st.st_mode) : (!S_ISREG(st.st_mode) || l < 5 || strcmp(de->d_name + l - 4, ".sql")))
			continue;
		v = realloc(v, (*n + 1) * sizeof *v);
		v[(*n)++] = strdup(de->d_name);
	}
	closedir(d);
	if (*n)
		qsort(v, *n, sizeof *v, cmp_str);
	return v;
}

static int cmd_load_dump(const char *dir, const char *into, const char *only, bool users)
{
	struct loader l = { .into = into };
	size_t ndb = 0;
	char **dbs = list_dir(dir, true, &ndb), p[4096];
	double t0 = now_s();

	l.m = connect_or_die(NULL);
	if (into && !only && ndb != 1)
		die("--into needs --only DB when the dump holds %zu databases", ndb);
	for (size_t i = 0; i < ndb; i++) {
		size_t nf = 0;
		char **files;

		if (only && strcmp(dbs[i], only))
			continue;
		snprintf(p, sizeof p, "%s/%s/schema.sql", dir, dbs[i]);
		load_file(&l, p, 1);
		snprintf(p, sizeof p, "%s/%s/data", dir, dbs[i]);
		files = list_dir(p, false, &nf);
		for (size_t k = 0; k < nf; k++) {
			char f[4600];

			snprintf(f, sizeof f, "%s/%s", p, files[k]);
			load_file(&l, f, 2);
			free(files[k]);
		}
		free(files);
		snprintf(p, sizeof p, "%s/%s/schema.sql", dir, dbs[i]);
		load_file(&l, p, 3);
	}
	if (users) {
		snprintf(p, sizeof p, "%s/users.sql", dir);
		load_file(&l, p, 2);
	}
	printf("{\"mode\": \"load-dump\", \"databases\": %zu, \"statements\": %ld, \"errors\": %ld, \"seconds\": %.3f}\n",
	       ndb, l.statements, l.errors, now_s() - t0);
	for (size_t i = 0; i < ndb; i++)
		free(dbs[i]);
	free(dbs);
	mysql_close(l.m);
	return l.errors ? 1 : 0;
}

/* ---- latency of logged events ---- */

static int cmd_stats(char **files, int nfiles, double from, double to)
{
	struct evlog l = { 0 };

	for (int i = 0; i < nfiles; i++) {
		FILE *f = fopen(files[i], "r");
		double a, b;

		if (!f)
			die("%s: %s", files[i], strerror(errno));
		while (fscanf(f, "%lf %lf", &a, &b) == 2)
			if (a >= from && a <= to)
				ev_add(&l, a, b);
		fclose(f);
	}
	printf("{");
	print_latency(stdout, l.v, l.n);
	printf("}\n");
	free(l.v);
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: mysqlload setup|transfers|myisam|ddl|check|checksum|load-dump|stats [options]\n"
		"  common: --defaults-file F --db NAME\n"
		"  setup: --accounts N --balance B --posts N --filler-tables K --filler-rows R --threads T\n"
		"  transfers: --threads N --rate R --duration S --events FILE --ready-file FILE\n"
		"  myisam: --rate R --duration S --events FILE --ready-file FILE\n"
		"  ddl: --sql STATEMENT --at S\n"
		"  checksum: [--table T] [--alg sha256|xxh3-64]\n"
		"  load-dump: --dir DIR [--into NAME] [--only DB] [--users]\n"
		"  stats: --events FILE... [--from EPOCH] [--to EPOCH]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	enum { O_DEFAULTS = 1000, O_DB, O_ACCOUNTS, O_BALANCE, O_POSTS, O_FTABLES, O_FROWS, O_THREADS, O_RATE,
	       O_DURATION, O_EVENTS, O_READY, O_SQL, O_AT, O_TABLE, O_DIR, O_INTO, O_ONLY, O_USERS, O_FROM, O_TO, O_ALG };
	static const struct option lo[] = {
		{ "defaults-file", required_argument, NULL, O_DEFAULTS }, { "db", required_argument, NULL, O_DB },
		{ "accounts", required_argument, NULL, O_ACCOUNTS },    { "balance", required_argument, NULL, O_BALANCE },
		{ "posts", required_argument, NULL, O_POSTS },          { "filler-tables", required_argument, NULL, O_FTABLES },
		{ "filler-rows", required_argument, NULL, O_FROWS },    { "threads", required_argument, NULL, O_THREADS },
		{ "rate", required_argument, NULL, O_RATE },            { "duration", required_argument, NULL, O_DURATION },
		{ "events", required_argument, NULL, O_EVENTS },        { "ready-file", required_argument, NULL, O_READY },
		{ "sql", required_argument, NULL, O_SQL },              { "at", required_argument, NULL, O_AT },
		{ "table", required_argument, NULL, O_TABLE },          { "dir", required_argument, NULL, O_DIR },
		{ "into", required_argument, NULL, O_INTO },            { "only", required_argument, NULL, O_ONLY },
		{ "users", no_argument, NULL, O_USERS },                { "from", required_argument, NULL, O_FROM },
		{ "to", required_argument, NULL, O_TO },                { "alg", required_argument, NULL, O_ALG },
		{ 0 }
	};
	const char *mode, *events = NULL, *ready = NULL, *sql = NULL, *table = NULL, *dir = NULL, *into = NULL,
			  *only = NULL;
	long accounts = 1000, balance = 1000, posts = 1000, frows = 0;
	int ftables = 0, threads = 2, c, ret;
	double rate = 100, duration = 10, at = 0, from = 0, to = 1e18;
	bool users = false;
	char **evfiles = NULL;
	int nev = 0;

	if (argc < 2 || argv[1][0] == '-')
		usage();
	mode = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case O_DEFAULTS: defaults_file = optarg; break;
		case O_DB: dbname = optarg; break;
		case O_ACCOUNTS: accounts = atol(optarg); break;
		case O_BALANCE: balance = atol(optarg); break;
		case O_POSTS: posts = atol(optarg); break;
		case O_FTABLES: ftables = atoi(optarg); break;
		case O_FROWS: frows = atol(optarg); break;
		case O_THREADS: threads = atoi(optarg); break;
		case O_RATE: rate = atof(optarg); break;
		case O_DURATION: duration = atof(optarg); break;
		case O_EVENTS:
			events = optarg;
			evfiles = realloc(evfiles, (size_t)(nev + 1) * sizeof *evfiles);
			evfiles[nev++] = optarg;
			break;
		case O_READY: ready = optarg; break;
		case O_SQL: sql = optarg; break;
		case O_AT: at = atof(optarg); break;
		case O_TABLE: table = optarg; break;
		case O_DIR: dir = optarg; break;
		case O_INTO: into = optarg; break;
		case O_ONLY: only = optarg; break;
		case O_USERS: users = true; break;
		case O_FROM: from = atof(optarg); break;
		case O_TO: to = atof(optarg); break;
		case O_ALG:
			if (strcmp(optarg, "sha256") && strcmp(optarg, "xxh3-64"))
				die("--alg: sha256 or xxh3-64");
			sum_xxh3 = !strcmp(optarg, "xxh3-64");
			break;
		default: usage();
		}
	}
	for (; optind < argc; optind++) { /* stats: more event files */
		evfiles = realloc(evfiles, (size_t)(nev + 1) * sizeof *evfiles);
		evfiles[nev++] = argv[optind];
	}
	if (threads < 1 || threads > 256)
		die("--threads: 1 to 256");
	setvbuf(stdout, NULL, _IOLBF, 0);
	{
		struct sigaction sa = { 0 };

		sa.sa_handler = on_signal;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		signal(SIGPIPE, SIG_IGN);
	}
	if (mysql_library_init(0, NULL, NULL))
		die("mysql_library_init failed");
	if (!strcmp(mode, "setup"))
		ret = cmd_setup(accounts, balance, posts, ftables, frows, threads);
	else if (!strcmp(mode, "transfers"))
		ret = cmd_transfers(threads, rate, duration, events, ready);
	else if (!strcmp(mode, "myisam"))
		ret = cmd_myisam(rate, duration, events, ready);
	else if (!strcmp(mode, "ddl")) {
		if (!sql)
			usage();
		ret = cmd_ddl(sql, at);
	} else if (!strcmp(mode, "check"))
		ret = cmd_check();
	else if (!strcmp(mode, "checksum"))
		ret = cmd_checksum(table);
	else if (!strcmp(mode, "load-dump")) {
		if (!dir)
			usage();
		ret = cmd_load_dump(dir, into, only, users);
	} else if (!strcmp(mode, "stats")) {
		if (!nev)
			usage();
		ret = cmd_stats(evfiles, nev, from, to);
	} else
		usage();
	free(evfiles);
	mysql_library_end();
	return ret;
}
