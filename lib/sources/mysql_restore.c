/* Restoring a logical MySQL/MariaDB dump into a running server: all of it,
 * one database, or one table, optionally under another database name, and
 * optionally rolled forward to a point in time with the archived binlog.
 *
 * Statements are read back from the snapshot's mysql tree as they stream
 * (nothing is staged on disk), framed exactly as the dump wrote them, and
 * executed on a few connections in parallel, one table per connection. */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lifeboat/snapshot.h"
#include "sources/mysql_internal.h"
#include "store/store.h"

#define RESTORE_JOBS 4

struct rtable {
	const char *db, *name, *file;
	char *create;          /* its CREATE TABLE statement */
	size_t create_len;
	bool done;
};

struct rctx {
	struct lb_repo *r;
	const struct lb_mysql_restore_opts *o;
	struct lb_mysql_restore_stats *st;
	uint8_t tree[32];
	json_t *sec;
	struct rtable *t;
	size_t nt;
	size_t next;
	pthread_mutex_t mu;
	int err;
	char errmsg[1024];
};

static void info(struct rctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void info(struct rctx *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!c->o->info)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	pthread_mutex_lock(&c->mu);
	c->o->info(c->o->ctx, msg);
	pthread_mutex_unlock(&c->mu);
}

static void set_err(struct rctx *c, int e)
{
	pthread_mutex_lock(&c->mu);
	if (!c->err) {
		c->err = e;
		snprintf(c->errmsg, sizeof c->errmsg, "%s", lb_errmsg());
	}
	pthread_mutex_unlock(&c->mu);
}

static void count(uint64_t *f, uint64_t n)
{
	__atomic_add_fetch(f, n, __ATOMIC_RELAXED);
}

/* Runs a statement of the dump; the error names its kind and object. */
static int exec_stmt(MYSQL *m, const char *kind, const char *name, const char *stmt, size_t len)
{
	if (mysql_real_query(m, stmt, (unsigned long)len) != 0)
		return lb_err(mysql_errno(m) == 1050 ? -EEXIST : -EIO, "mysql restore: %s %s: %s (%u)", kind, name,
			      mysql_error(m), mysql_errno(m));
	do {
		MYSQL_RES *res = mysql_store_result(m);

		if (res)
			mysql_free_result(res);
	} while (mysql_next_result(m) == 0);
	return 0;
}

/* Session settings for loading: the dump's own rows, as they were. */
static int prepare_session(MYSQL *m)
{
	return lb_my_exec(m, "SET SESSION foreign_key_checks=0, unique_checks=0, "
			     "sql_mode='NO_AUTO_VALUE_ON_ZERO,NO_ENGINE_SUBSTITUTION'");
}

/* ---- reading the schema file ---- */

struct schema_ctx {
	struct rctx *c;
	const char *db;
	MYSQL *m;
	int pass;              /* 0: collect tables; 1: the other objects */
	bool whole_db;
	const char *only_table;
	char *session;         /* a "session" frame waiting for its object */
};

/* Returns the part of a CREATE DATABASE statement after the database's
 * name: the character set and collation to keep. */
static const char *db_options(const char *stmt, size_t len)
{
	const char *p = memchr(stmt, '`', len);

	if (!p)
		return "";
	for (p++; p < stmt + len; p++) {
		if (*p == '`') {
			if (p + 1 < stmt + len && p[1] == '`') {
				p++;
				continue;
			}
			return p + 1;
		}
	}
	return "";
}

/* Does a trigger statement fire on table? ("... ON `table` FOR EACH ROW") */
static bool trigger_on(const char *stmt, size_t len, const char *table)
{
	char q[600], pat[620];

	lb_my_quote_ident(q, sizeof q, table);
	snprintf(pat, sizeof pat, " ON %s ", q);
	return memmem(stmt, len, pat, strlen(pat)) != NULL;
}

static int schema_cb(const char *kind, const char *name, const char *stmt, size_t len, void *ctx)
{
	struct schema_ctx *s = ctx;
	struct rctx *c = s->c;
	int e;

	if (s->pass == 0) {
		if (strcmp(kind, "table"))
			return 0;
		for (size_t i = 0; i < c->nt; i++) {
			struct rtable *t = &c->t[i];

			if (strcmp(t->db, s->db) || strcmp(t->name, name) || t->create)
				continue;
			t->create = malloc(len + 1);
			if (!t->create)
				return -ENOMEM;
			memcpy(t->create, stmt, len);
			t->create[len] = 0;
			t->create_len = len;
		}
		return 0;
	}
	/* pass 1: views, triggers, routines, events */
	if (!strcmp(kind, "database") || !strcmp(kind, "table"))
		return 0;
	if (!strcmp(kind, "session")) {
		/* the next object's own settings: kept until it is created */
		free(s->session);
		s->session = strndup(stmt, len);
		return s->session ? 0 : -ENOMEM;
	}
	if (!s->whole_db && !(strcmp(kind, "trigger") == 0 && trigger_on(stmt, len, s->only_table))) {
		free(s->session);
		s->session = NULL;
		return 0;
	}
	if (s->session) {
		e = lb_my_exec(s->m, s->session);
		free(s->session);
		s->session = NULL;
		if (e < 0)
			return lb_err_wrap(e, "mysql restore: settings for %s %s", kind, name);
	}
	if (!strcmp(kind, "view")) {
		char qn[600];

		lb_my_quote_ident(qn, sizeof qn, name);
		lb_my_execf(s->m, "DROP VIEW IF EXISTS %s", qn);
	}
	if (c->o->into && strcmp(c->o->into, s->db)) {
		/* under another name, the object refers to its own database's copy */
		struct lb_buf b;
		char from[620], to[620];

		lb_my_quote_ident(from, sizeof from - 1, s->db);
		lb_my_quote_ident(to, sizeof to - 1, c->o->into);
		strcat(from, ".");
		strcat(to, ".");
		lb_buf_init(&b, LB_MY_STMT_MAX);
		for (size_t i = 0; i < len;) {
			size_t fl = strlen(from), ul = strlen(s->db);
			bool boundary = i == 0 || !(isalnum((unsigned char)stmt[i - 1]) || stmt[i - 1] == '_' ||
						    stmt[i - 1] == '$' || stmt[i - 1] == '`' || stmt[i - 1] == '.');

			if (i + fl <= len && !memcmp(stmt + i, from, fl)) {
				e = lb_buf_append(&b, to, strlen(to));
				i += fl;
			} else if (boundary && i + ul + 1 <= len && !memcmp(stmt + i, s->db, ul) && stmt[i + ul] == '.') {
				/* db.name as typed in a trigger or routine */
				e = lb_buf_append(&b, to, strlen(to));
				i += ul + 1;
			} else {
				e = lb_buf_put_u8(&b, (uint8_t)stmt[i++]);
			}
			if (e < 0) {
				lb_buf_release(&b);
				return e;
			}
		}
		e = exec_stmt(s->m, kind, name, (char *)b.data, b.len);
		lb_buf_release(&b);
	} else {
		e = exec_stmt(s->m, kind, name, stmt, len);
	}
	if (e == 0)
		count(&c->st->statements, 1);
	/* back to the restore's own session */
	if (e == 0)
		e = lb_my_exec(s->m, "SET NAMES binary, time_zone='+00:00', sql_mode='NO_AUTO_VALUE_ON_ZERO,"
				     "NO_ENGINE_SUBSTITUTION'");
	return e;
}

static int feed_cb(const uint8_t *data, size_t len, void *ctx)
{
	return lb_my_parser_feed(ctx, data, len);
}

static int read_schema(struct rctx *c, const char *db, struct schema_ctx *sc, char *db_opts, size_t nopts)
{
	struct lb_my_parser p;
	char fdb[1100], path[1200];
	int e;

	lb_my_file_name(fdb, sizeof fdb, db);
	snprintf(path, sizeof path, "%s/schema.sql", fdb);
	lb_my_parser_init(&p, schema_cb, sc);
	e = lb_tree_stream_file(c->r, c->tree, path, feed_cb, &p);
	if (e == 0)
		e = lb_my_parser_end(&p);
	lb_my_parser_release(&p);
	free(sc->session);
	sc->session = NULL;
	if (e == 0 && db_opts) {
		/* the database statement is the first: read it again cheaply */
		uint8_t *data;
		size_t len;

		if (lb_tree_read_file(c->r, c->tree, path, LB_MY_STMT_MAX, &data, &len) == 0) {
			const char *nl = memchr(data, '\n', len);

			if (nl) {
				const char *stmt = nl + 1;
				size_t slen = strtoul((const char *)data + strlen(LB_MY_FRAME), NULL, 10);

				if ((size_t)(stmt - (const char *)data) + slen <= len) {
					const char *opt = db_options(stmt, slen);
					size_t ol = (size_t)(stmt + slen - opt);

					snprintf(db_opts, nopts, "%.*s", (int)LB_MIN(ol, nopts - 1), opt);
				}
			}
			free(data);
		}
	}
	return e;
}

/* ---- loading tables ---- */

struct data_ctx {
	struct rctx *c;
	MYSQL *m;
	const struct rtable *t;
};

static int data_cb(const char *kind, const char *name, const char *stmt, size_t len, void *ctx)
{
	struct data_ctx *d = ctx;
	int e;

	if (strcmp(kind, "insert"))
		return lb_err(-LB_E_CORRUPT, "mysql restore: %s: unexpected %s statement in a data file", d->t->file,
			      kind);
	e = exec_stmt(d->m, "rows of", d->t->name, stmt, len);
	if (e == 0) {
		count(&d->c->st->statements, 1);
		count(&d->c->st->rows, mysql_affected_rows(d->m));
		if (d->c->o->progress)
			__atomic_add_fetch(&d->c->o->progress->bytes, len, __ATOMIC_RELAXED);
	}
	return e;
}

static int load_table(struct rctx *c, MYSQL *m, const struct rtable *t)
{
	const char *target = c->o->into ? c->o->into : t->db;
	char qdb[600], qtb[600];
	struct lb_my_parser p;
	struct data_ctx d = { .c = c, .m = m, .t = t };
	int e;

	lb_my_quote_ident(qdb, sizeof qdb, target);
	lb_my_quote_ident(qtb, sizeof qtb, t->name);
	if ((e = lb_my_execf(m, "USE %s", qdb)) < 0)
		return e;
	if (c->o->replace && (e = lb_my_execf(m, "DROP TABLE IF EXISTS %s", qtb)) < 0)
		return e;
	if (!t->create)
		return lb_err(-LB_E_CORRUPT, "mysql restore: %s.%s has no CREATE TABLE in the dump", t->db, t->name);
	e = exec_stmt(m, "table", t->name, t->create, t->create_len);
	if (e == -EEXIST)
		return lb_err(e, "mysql restore: table %s.%s already exists on the server; restore --into another "
			      "database, or --replace it", target, t->name);
	if (e < 0)
		return e;
	count(&c->st->tables, 1);
	lb_my_parser_init(&p, data_cb, &d);
	e = lb_tree_stream_file(c->r, c->tree, t->file, feed_cb, &p);
	if (e == 0)
		e = lb_my_parser_end(&p);
	lb_my_parser_release(&p);
	if (e < 0)
		return lb_err_wrap(e, "%s.%s", t->db, t->name);
	info(c, "restored %s.%s", target, t->name);
	return 0;
}

static void *load_main(void *arg)
{
	struct rctx *c = arg;
	MYSQL *m = NULL;
	int e;

	if ((e = lb_my_connect(&c->o->conn, &m)) < 0 || (e = prepare_session(m)) < 0) {
		set_err(c, e);
		if (m)
			mysql_close(m);
		return NULL;
	}
	for (;;) {
		size_t i = __atomic_fetch_add(&c->next, 1, __ATOMIC_RELAXED);

		if (i >= c->nt || __atomic_load_n(&c->err, __ATOMIC_RELAXED))
			break;
		if (c->o->progress && c->o->progress->cancel) {
			lb_err(-LB_E_CANCELED, "canceled");
			set_err(c, -LB_E_CANCELED);
			break;
		}
		if ((e = load_table(c, m, &c->t[i])) < 0) {
			set_err(c, e);
			break;
		}
	}
	mysql_close(m);
	return NULL;
}

/* ---- users ---- */

static int user_cb(const char *kind, const char *name, const char *stmt, size_t len, void *ctx)
{
	struct rctx *c = ((struct schema_ctx *)ctx)->c;
	MYSQL *m = ((struct schema_ctx *)ctx)->m;
	struct lb_buf b;
	int e;

	lb_buf_init(&b, LB_MY_STMT_MAX);
	/* an account that exists already keeps its password; grants are added */
	if (!strcmp(kind, "user") && len > 12 && !strncasecmp(stmt, "CREATE USER ", 12)) {
		if ((e = lb_buf_append(&b, "CREATE USER IF NOT EXISTS ", 26)) == 0)
			e = lb_buf_append(&b, stmt + 12, len - 12);
	} else {
		e = lb_buf_append(&b, stmt, len);
	}
	if (e == 0)
		e = exec_stmt(m, kind, name, (char *)b.data, b.len);
	if (e == 0)
		count(&c->st->statements, 1);
	lb_buf_release(&b);
	return e;
}

/* ---- driver ---- */

int lb_mysql_restore(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_mysql_restore_opts *o,
		     struct lb_mysql_restore_stats *st)
{
	struct rctx c = { .r = r, .o = o, .st = st };
	json_t *tables, *v, *dbs;
	const char *key;
	MYSQL *m = NULL;
	pthread_t th[RESTORE_JOBS];
	unsigned started = 0;
	int e;

	memset(st, 0, sizeof *st);
	pthread_mutex_init(&c.mu, NULL);
	c.sec = json_object_get(json_object_get(s->json, "sources"), "mysql");
	if (!c.sec) {
		e = lb_err(-LB_E_NOTFOUND, "snapshot %.12s has no MySQL data", s->id);
		goto out;
	}
	if (!strcmp(json_string_value(json_object_get(c.sec, "mode")) ?: "", "snapshot")) {
		e = lb_err(-ENOTSUP, "snapshot %.12s holds a file-system snapshot of the datadir (%s), not a dump: "
			   "restore it with `lifeboat restore %.12s --include %s --target DIR` and start a server on "
			   "it", s->id, json_string_value(json_object_get(c.sec, "datadir")) ?: "?", s->id,
			   json_string_value(json_object_get(c.sec, "datadir")) ?: "DATADIR");
		goto out;
	}
	if (o->table && !o->database) {
		e = lb_err(-EINVAL, "mysql restore: --table needs --database");
		goto out;
	}
	if ((o->until_time || o->until_gtid) && o->table) {
		e = lb_err(-EINVAL, "mysql restore: a point in time can be restored for the whole server or one "
			   "database, not one table");
		goto out;
	}
	if ((e = lb_snapshot_source_tree(s, "mysql", c.tree)) < 0)
		goto out;
	if (!r->index_loaded && (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0)
		goto out;
	/* the tables wanted, from the manifest */
	tables = json_object_get(c.sec, "tables");
	json_object_foreach(tables, key, v) {
		const char *db = json_string_value(json_object_get(v, "database"));
		const char *name = json_string_value(json_object_get(v, "table"));
		const char *file = json_string_value(json_object_get(v, "file"));
		struct rtable *nt;

		if (!db || !name || !file)
			continue; /* a view: made from the schema */
		if (o->database && strcmp(db, o->database))
			continue;
		if (o->table && strcmp(name, o->table))
			continue;
		nt = realloc(c.t, (c.nt + 1) * sizeof *c.t);
		if (!nt) {
			e = -ENOMEM;
			goto out;
		}
		c.t = nt;
		c.t[c.nt++] = (struct rtable){ .db = db, .name = name, .file = file };
	}
	if (o->table && !c.nt) {
		e = lb_err(-LB_E_NOTFOUND, "mysql restore: snapshot %.12s has no table %s.%s", s->id, o->database,
			   o->table);
		goto out;
	}
	dbs = json_object_get(c.sec, "databases");
	if (o->database) {
		bool found = false;
		size_t i;

		json_array_foreach(dbs, i, v)
			if (!strcmp(json_string_value(v) ?: "", o->database))
				found = true;
		if (!found) {
			e = lb_err(-LB_E_NOTFOUND, "mysql restore: snapshot %.12s has no database %s", s->id, o->database);
			goto out;
		}
	}
	/* a point in time that cannot be reached fails before anything is
	 * restored */
	if ((o->until_time || o->until_gtid) && (e = lb_mysql_pitr_check(r, s, o)) < 0)
		goto out;
	if ((e = lb_my_connect(&o->conn, &m)) < 0 || (e = prepare_session(m)) < 0)
		goto out;
	/* databases and their CREATE TABLEs */
	{
		size_t i;

		json_array_foreach(dbs, i, v) {
			const char *db = json_string_value(v);
			struct schema_ctx sc = { .c = &c, .db = db, .m = m, .pass = 0 };
			char opts[512] = "", qdb[600];

			if (!db || (o->database && strcmp(db, o->database)))
				continue;
			if ((e = read_schema(&c, db, &sc, opts, sizeof opts)) < 0)
				goto out;
			lb_my_quote_ident(qdb, sizeof qdb, o->into ? o->into : db);
			if ((e = lb_my_execf(m, "CREATE DATABASE IF NOT EXISTS %s%s", qdb, opts)) < 0)
				goto out;
			count(&st->databases, 1);
		}
	}
	/* rows, in parallel */
	for (unsigned i = 1; i < RESTORE_JOBS && i < c.nt; i++)
		if (pthread_create(&th[started], NULL, load_main, &c) == 0)
			started++;
	load_main(&c);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (c.err) {
		lb_err_set_text(c.errmsg);
		e = c.err;
		goto out;
	}
	/* views, triggers, routines, events after the data they refer to */
	{
		size_t i;

		json_array_foreach(dbs, i, v) {
			const char *db = json_string_value(v);
			char qdb[600];
			struct schema_ctx sc = { .c = &c, .db = db, .m = m, .pass = 1, .whole_db = !o->table,
						 .only_table = o->table };

			if (!db || (o->database && strcmp(db, o->database)))
				continue;
			lb_my_quote_ident(qdb, sizeof qdb, o->into ? o->into : db);
			if ((e = lb_my_execf(m, "USE %s", qdb)) < 0 || (e = read_schema(&c, db, &sc, NULL, 0)) < 0)
				goto out;
		}
	}
	if (o->users && !o->database) {
		struct lb_my_parser p;
		struct schema_ctx sc = { .c = &c, .m = m };

		lb_my_parser_init(&p, user_cb, &sc);
		e = lb_tree_stream_file(r, c.tree, "users.sql", feed_cb, &p);
		if (e == 0)
			e = lb_my_parser_end(&p);
		lb_my_parser_release(&p);
		if (e == -LB_E_NOTFOUND)
			e = 0; /* the dump had no access to mysql.user */
		if (e < 0)
			goto out;
		lb_my_exec(m, "FLUSH PRIVILEGES");
	}
	if (o->until_time || o->until_gtid) {
		if ((e = lb_mysql_pitr_replay(r, s, o, &st->binlog_events)) < 0)
			goto out;
	}
	e = 0;
out:
	if (m)
		mysql_close(m);
	for (size_t i = 0; i < c.nt; i++)
		free(c.t[i].create);
	free(c.t);
	pthread_mutex_destroy(&c.mu);
	return e;
}
