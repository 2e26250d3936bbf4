/* Restore drills: prove a MySQL backup restores.
 *
 * A throwaway mariadbd gets its own datadir and socket under a temporary
 * directory, no network, and skip-grant-tables (only lifeboat can reach
 * it).  A logical dump is restored into it with `mysql restore`; a
 * snapshot-mode backup has its datadir files restored and the server
 * starts on them (InnoDB crash recovery, as after a power cut).  Then
 * CHECK TABLE on every table, and every table's checksum compared with the
 * one the backup recorded inside its snapshot.  The verdict is sealed into
 * verdicts/<snapshot id>, and the server is stopped by pid whatever
 * happens. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "lifeboat/restore.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/verdict.h"
#include "sources/mysql_internal.h"
#include "store/store.h"

struct drill {
	const struct lb_mysql_verify_opts *o;
	char dir[256];
	char datadir[4400];
	char sock[300];
	pid_t pid;
};

static void note(const struct lb_mysql_verify_opts *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(const struct lb_mysql_verify_opts *o, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!o->info)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	o->info(o->ctx, msg);
}

static int rm_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

/* Runs argv with its output to log and TMPDIR=tmpdir; waits for it. */
static int run_wait(char *const argv[], const char *log, const char *tmpdir)
{
	int status;
	pid_t pid = fork();

	if (pid < 0)
		return lb_errno(-errno, "fork");
	if (pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setenv("TMPDIR", tmpdir, 1);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0)
		return lb_errno(-errno, "waitpid");
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		return lb_err(-EIO, "%s failed (status %d; see %s)", argv[0], WIFEXITED(status) ? WEXITSTATUS(status) : -1,
			      log);
	return 0;
}

/* The last lines of a server's log, on one line, for a message: the log
 * goes away with the drill's directory. */
static void log_tail(const char *log, char *out, size_t n)
{
	char buf[4096];
	ssize_t k = 0;
	size_t start, w = 0;
	int fd = open(log, O_RDONLY | O_CLOEXEC);
	off_t end;

	snprintf(out, n, "(no log)");
	if (fd < 0)
		return;
	end = lseek(fd, 0, SEEK_END);
	if (end > 0 && lseek(fd, end > (off_t)sizeof buf ? end - (off_t)sizeof buf : 0, SEEK_SET) >= 0)
		k = read(fd, buf, sizeof buf);
	close(fd);
	if (k <= 0)
		return;
	while (k > 0 && (buf[k - 1] == '\n' || buf[k - 1] == ' '))
		k--;
	/* the last three lines */
	start = (size_t)k;
	for (int lines = 0; start > 0; start--)
		if (buf[start - 1] == '\n' && ++lines == 3)
			break;
	for (size_t i = start; i < (size_t)k && w + 2 < n; i++)
		out[w++] = buf[i] == '\n' ? '|' : (buf[i] < 0x20 ? ' ' : buf[i]);
	out[w] = 0;
}

static void user_name(char *out, size_t n)
{
	struct passwd *pw = getpwuid(geteuid());

	snprintf(out, n, "%s", pw ? pw->pw_name : "root");
}

/* install: a fresh datadir.  binlog: the base name of the binlog that
 * came with a restored datadir (NULL: none), which crash recovery needs
 * to settle the transactions the snapshot caught prepared. */
static int start_server(struct drill *d, bool install, const char *binlog)
{
	char log[400], a_datadir[4500], a_sock[400], a_pid[400], a_log[420], a_user[300], user[256], a_bin[300];
	char a_tmp[300];
	const char *mariadbd = d->o->mariadbd ? d->o->mariadbd : "mariadbd";
	int e, ep[2];

	user_name(user, sizeof user);
	snprintf(log, sizeof log, "%s/server.log", d->dir);
	snprintf(a_datadir, sizeof a_datadir, "--datadir=%s", d->datadir);
	snprintf(a_user, sizeof a_user, "--user=%s", user);
	if (install) {
		char *argv[] = { (char *)"mariadb-install-db", (char *)"--no-defaults", a_datadir, a_user,
				 (char *)"--skip-test-db", (char *)"--auth-root-authentication-method=normal", NULL };

		/* its own TMPDIR: installs side by side collide in /tmp */
		if ((e = run_wait(argv, log, d->dir)) < 0)
			return lb_err_wrap(e, "restore drill: preparing a datadir");
	}
	snprintf(d->sock, sizeof d->sock, "%s/sock", d->dir);
	snprintf(a_sock, sizeof a_sock, "--socket=%s", d->sock);
	snprintf(a_pid, sizeof a_pid, "--pid-file=%s/pid", d->dir);
	snprintf(a_log, sizeof a_log, "--log-error=%s", log);
	snprintf(a_tmp, sizeof a_tmp, "--tmpdir=%s", d->dir);
	if (binlog)
		snprintf(a_bin, sizeof a_bin, "--log-bin=%s", binlog);
	else
		snprintf(a_bin, sizeof a_bin, "--skip-log-bin");
	/* a pipe closed on exec: an exec that fails sends its errno back */
	if (pipe2(ep, O_CLOEXEC) < 0)
		return lb_errno(-errno, "pipe");
	d->pid = fork();
	if (d->pid < 0) {
		e = lb_errno(-errno, "fork");
		close(ep[0]);
		close(ep[1]);
		return e;
	}
	if (d->pid == 0) {
		/* a fresh datadir has root without a password, reachable only
		 * through the socket in our private directory, and the grant
		 * tables on, as the event scheduler needs them to create the
		 * dump's events (it stays OFF: no event runs during the drill).
		 * A restored datadir has the source's accounts: grants skipped. */
		char *argv[] = { (char *)mariadbd, (char *)"--no-defaults", a_datadir, a_sock, a_pid, a_log, a_user, a_tmp,
				 (char *)"--skip-networking", (char *)"--innodb-buffer-pool-size=128M",
				 a_bin, (char *)"--innodb-fast-shutdown=0",
				 install ? (char *)"--event-scheduler=OFF" : (char *)"--skip-grant-tables", NULL };
		int fd = open("/dev/null", O_RDWR);

		close(ep[0]);
		if (fd >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
			dup2(fd, 2);
		}
		setsid();
		execvp(argv[0], argv);
		e = errno;
		if (write(ep[1], &e, sizeof e) < 0)
			_exit(126);
		_exit(127);
	}
	close(ep[1]);
	{
		int xe = 0;
		ssize_t k;

		while ((k = read(ep[0], &xe, sizeof xe)) < 0 && errno == EINTR)
			;
		close(ep[0]);
		if (k == (ssize_t)sizeof xe) {
			waitpid(d->pid, NULL, 0);
			d->pid = -1;
			return lb_errno(-xe, "restore drill: cannot run the server %s", mariadbd);
		}
	}
	/* ready when it answers on its socket */
	for (int i = 0; i < 1200; i++) {
		struct lb_mysql_conn c = { .socket = d->sock, .user = "root", .timeout = 5 };
		MYSQL *m;
		int st;

		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			char tail[600];

			d->pid = -1;
			log_tail(log, tail, sizeof tail);
			return lb_err(-EIO, "restore drill: the throwaway server %s did not start: %s", mariadbd, tail);
		}
		if (access(d->sock, F_OK) == 0 && lb_my_connect(&c, &m) == 0) {
			mysql_close(m);
			return 0;
		}
		usleep(100000);
	}
	return lb_err(-ETIMEDOUT, "restore drill: the throwaway server did not answer within 120 s (see %s)", log);
}

static void stop_server(struct drill *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	for (int i = 0; i < 600; i++) {
		if (waitpid(d->pid, NULL, WNOHANG) == d->pid) {
			d->pid = -1;
			return;
		}
		usleep(100000);
	}
	kill(d->pid, SIGKILL);
	waitpid(d->pid, NULL, 0);
	d->pid = -1;
}

static void info_cb(void *ctx, const char *msg)
{
	const struct lb_mysql_verify_opts *o = ctx;

	note(o, "%s", msg);
}

static void restore_err(void *ctx, const char *path, size_t len, const char *msg)
{
	note(ctx, "%.*s: %s", (int)len, path, msg);
}

int lb_mysql_verify(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_mysql_verify_opts *o,
		    struct lb_mysql_verdict *v)
{
	json_t *sec = json_object_get(json_object_get(s->json, "sources"), "mysql");
	bool snapshot_mode = !strcmp(json_string_value(json_object_get(sec, "mode")) ?: "", "snapshot");
	json_t *tables = json_object_get(sec, "tables"), *t, *verdict = NULL, *bad = json_array();
	struct lb_mysql_conn conn = { .user = "root", .timeout = 600 };
	struct drill d = { .o = o, .pid = -1 };
	int64_t t0 = lb_mono_ns();
	const char *key;
	char version[128] = "", binlog[256] = "";
	MYSQL *m = NULL;
	int alg, e;

	memset(v, 0, sizeof *v);
	if (!sec) {
		json_decref(bad);
		return lb_err(-LB_E_NOTFOUND, "snapshot %.12s has no MySQL data to verify", s->id);
	}
	/* the checksums are compared with what the manifest recorded, hashed
	 * the way it says (SHA-256 before "checksum_alg" was written) */
	if ((alg = lb_my_sumalg_parse(json_string_value(json_object_get(sec, "checksum_alg")))) < 0) {
		json_decref(bad);
		return lb_err(-LB_E_VERSION, "snapshot %.12s: unknown MySQL checksum algorithm \"%s\" (a newer lifeboat's?)",
			      s->id, json_string_value(json_object_get(sec, "checksum_alg")) ?: "");
	}
	snprintf(d.dir, sizeof d.dir, "%s/lifeboat-drill-XXXXXX", o->workdir ? o->workdir : getenv("TMPDIR") ?: "/tmp");
	if (!mkdtemp(d.dir)) {
		json_decref(bad);
		return lb_errno(-errno, "restore drill: temporary directory");
	}
	if (snapshot_mode) {
		const char *datadir = json_string_value(json_object_get(sec, "datadir"));
		const char *incl[1] = { datadir };
		struct lb_restore_opts ro = { .includes = incl, .nincludes = 1, .error = restore_err, .error_ctx = (void *)o };
		struct lb_restore_stats rs;
		char target[400];

		if (!datadir) {
			e = lb_err(-LB_E_CORRUPT, "snapshot %.12s: snapshot-mode MySQL data without a datadir", s->id);
			goto out;
		}
		snprintf(target, sizeof target, "%s/restore", d.dir);
		ro.target = target;
		note(o, "restoring the datadir %s", datadir);
		if ((e = lb_restore_run(r, s, &ro, &rs)) < 0)
			goto out;
		if (rs.errors) {
			e = lb_err(-EIO, "restore drill: %llu files of the datadir did not restore",
				   (unsigned long long)rs.errors);
			goto out;
		}
		snprintf(d.datadir, sizeof d.datadir, "%s%s", target, datadir);
		/* a binlog kept in the datadir came along: recovery reads it to
		 * roll back what was prepared but not yet binlogged at the lock
		 * (without it, InnoDB refuses to start) */
		{
			const char *bf = json_string_value(json_object_get(json_object_get(sec, "binlog"), "file"));
			const char *dot = bf ? strrchr(bf, '.') : NULL;
			struct stat sb;
			char idx[4800];

			binlog[0] = 0;
			if (bf && dot && dot > bf && !strchr(bf, '/') && (size_t)(dot - bf) < sizeof binlog) {
				snprintf(binlog, sizeof binlog, "%.*s", (int)(dot - bf), bf);
				snprintf(idx, sizeof idx, "%s/%s.index", d.datadir, binlog);
				if (stat(idx, &sb) < 0)
					binlog[0] = 0;
			}
		}
		note(o, "starting a throwaway server on the restored datadir (crash recovery)");
		if ((e = start_server(&d, false, binlog[0] ? binlog : NULL)) < 0)
			goto out;
	} else {
		struct lb_mysql_restore_opts ro = { 0 };
		struct lb_mysql_restore_stats rst;

		snprintf(d.datadir, sizeof d.datadir, "%s/data", d.dir);
		note(o, "starting a throwaway server");
		if ((e = start_server(&d, true, NULL)) < 0)
			goto out;
		ro.conn.socket = d.sock;
		ro.conn.user = "root";
		ro.conn.timeout = 600;
		ro.info = info_cb;
		ro.ctx = (void *)o;
		note(o, "restoring the dump");
		if ((e = lb_mysql_restore(r, s, &ro, &rst)) < 0)
			goto out;
	}
	conn.socket = d.sock;
	if ((e = lb_my_connect(&conn, &m)) < 0)
		goto out;
	lb_my_scalar(m, "SELECT VERSION()", 0, version, sizeof version);
	json_object_foreach(tables, key, t) {
		const char *db = json_string_value(json_object_get(t, "database"));
		const char *name = json_string_value(json_object_get(t, "table"));
		const char *want = json_string_value(json_object_get(t, "checksum"));
		char qt[1300], q[1400];
		MYSQL_RES *res;
		MYSQL_ROW row;
		bool ok = true;

		if (!db || !name)
			continue; /* views */
		v->tables++;
		lb_my_quote_table(qt, sizeof qt, db, name);
		snprintf(q, sizeof q, "CHECK TABLE %s", qt);
		if (mysql_query(m, q) != 0 || !(res = mysql_store_result(m))) {
			ok = false;
			json_array_append_new(bad, json_pack("{s:s, s:s}", "table", key, "check", mysql_error(m)));
		} else {
			while ((row = mysql_fetch_row(res))) {
				const char *type = row[2] ? row[2] : "", *text = row[3] ? row[3] : "";

				if (!strcasecmp(type, "error") || (!strcasecmp(type, "status") && strcasecmp(text, "OK"))) {
					ok = false;
					json_array_append_new(bad, json_pack("{s:s, s:s}", "table", key, "check", text));
				}
			}
			mysql_free_result(res);
		}
		if (!ok)
			v->check_failures++;
		v->checked++;
		if (want) {
			struct lb_my_sum sum;
			char got[33];

			if ((e = lb_my_table_sum(m, db, name, (enum lb_my_sumalg)alg, &sum)) < 0) {
				json_array_append_new(bad, json_pack("{s:s, s:s}", "table", key, "checksum", lb_errmsg()));
				v->mismatches++;
			} else {
				lb_my_sum_hex(&sum, got);
				if (strcmp(got, want) ||
				    sum.rows != (uint64_t)json_integer_value(json_object_get(t, "rows"))) {
					json_array_append_new(bad, json_pack("{s:s, s:s, s:s, s:I, s:I}", "table", key,
									     "checksum", got, "expected", want, "rows",
									     (json_int_t)sum.rows, "expected_rows",
									     json_integer_value(json_object_get(t, "rows"))));
					v->mismatches++;
				}
			}
		}
	}
	e = 0;
out:
	if (m)
		mysql_close(m);
	stop_server(&d);
	nftw(d.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	v->ok = e == 0 && !v->mismatches && !v->check_failures && v->tables > 0;
	if (e < 0)
		snprintf(v->summary, sizeof v->summary, "FAILED: %s", lb_errmsg());
	else if (!v->tables)
		snprintf(v->summary, sizeof v->summary, "FAILED: no tables to verify");
	else
		snprintf(v->summary, sizeof v->summary, "%s: %llu tables restored into %s, %llu checked, %llu checksum "
			 "mismatches, %llu CHECK TABLE failures", v->ok ? "ok" : "FAILED", (unsigned long long)v->tables,
			 version, (unsigned long long)v->checked, (unsigned long long)v->mismatches,
			 (unsigned long long)v->check_failures);
	{
		char saved[2048];
		int pe;

		snprintf(saved, sizeof saved, "%s", lb_errmsg());
		verdict = json_pack("{s:s, s:b, s:s, s:I, s:I, s:I, s:I, s:f, s:o}", "kind", "mysql", "ok", v->ok,
				    "summary", v->summary, "tables", (json_int_t)v->tables, "checked", (json_int_t)v->checked,
				    "mismatches", (json_int_t)v->mismatches, "check_failures",
				    (json_int_t)v->check_failures, "duration_s", (double)(lb_mono_ns() - t0) / 1e9,
				    "problems", bad);
		bad = NULL;
		/* the verdict is recorded even when the drill failed: that is news too */
		pe = verdict ? lb_verdict_put(r, s->id, verdict) : -ENOMEM;
		json_decref(verdict);
		lb_err_set_text(saved);
		if (e == 0 && pe < 0)
			e = pe;
	}
	json_decref(bad);
	return e;
}
