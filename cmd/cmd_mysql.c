/* lifeboat mysql restore | binlog-archive | ls, and lifeboat verify. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lifeboat/mysql.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/verdict.h"

enum { M_DEFAULTS = 3001, M_SOCKET, M_HOST, M_PORT, M_USER, M_DB, M_TABLE, M_INTO, M_REPLACE, M_USERS, M_UNTIL,
       M_GTID, M_SEGSECS, M_MYSQL, M_MARIADBD };

#define MYSQL_CONN_LONGOPTS                                                         \
	{ "mysql-defaults-file", required_argument, NULL, M_DEFAULTS },             \
	{ "mysql-socket", required_argument, NULL, M_SOCKET },                      \
	{ "mysql-host", required_argument, NULL, M_HOST },                          \
	{ "mysql-port", required_argument, NULL, M_PORT },                          \
	{ "mysql-user", required_argument, NULL, M_USER }

static int conn_opt(struct lb_mysql_conn *c, int opt, const char *arg)
{
	switch (opt) {
	case M_DEFAULTS: c->defaults_file = arg; return 1;
	case M_SOCKET: c->socket = arg; return 1;
	case M_HOST: c->host = arg; return 1;
	case M_PORT: c->port = (unsigned)atoi(arg); return 1;
	case M_USER: c->user = arg; return 1;
	}
	return 0;
}

static void print_info(void *ctx, const char *msg)
{
	if (g_cli.verbosity >= 1 || (g_cli.tty && g_cli.verbosity >= 0))
		fprintf(stderr, "lifeboat: %s: %s\n", g_cli.command, msg);
}

static void print_warn(void *ctx, const char *msg)
{
	(void)ctx;
	if (g_cli.verbosity >= 0)
		fprintf(stderr, "lifeboat: %s: warning: %s\n", g_cli.command, msg);
}

static int mysql_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		MYSQL_CONN_LONGOPTS,
		{ "database", required_argument, NULL, M_DB },
		{ "table", required_argument, NULL, M_TABLE },
		{ "into", required_argument, NULL, M_INTO },
		{ "replace", no_argument, NULL, M_REPLACE },
		{ "users", no_argument, NULL, M_USERS },
		{ "until", required_argument, NULL, M_UNTIL },
		{ "gtid", required_argument, NULL, M_GTID },
		{ 0 }
	};
	struct lb_mysql_restore_opts o = { .info = print_info, .warn = print_warn };
	struct lb_mysql_restore_stats st;
	struct lb_snapshot *s = NULL;
	struct lb_repo *r = NULL;
	struct lb_progress pg;
	int c, e, ret = EXIT_ERROR;

	lb_progress_init(&pg);
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg) || conn_opt(&o.conn, c, optarg))
			continue;
		switch (c) {
		case M_DB: o.database = optarg; break;
		case M_TABLE: o.table = optarg; break;
		case M_INTO: o.into = optarg; break;
		case M_REPLACE: o.replace = true; break;
		case M_USERS: o.users = true; break;
		case M_UNTIL: o.until_time = optarg; break;
		case M_GTID: o.until_gtid = optarg; break;
		case 'h':
			printf("usage: lifeboat [-r REPO] mysql restore SNAPSHOT [--mysql-defaults-file F | --mysql-socket S |\n"
			       "         --mysql-host H --mysql-port P] [--mysql-user U] [--database D [--table T]]\n"
			       "         [--into NEWNAME] [--replace] [--users] [--until TIME | --gtid GTID]\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc) {
		cli_error("usage: lifeboat mysql restore SNAPSHOT [options] (see --help)");
		return EXIT_USAGE;
	}
	if (o.until_time && o.until_gtid) {
		cli_error("--until and --gtid: give one point in time");
		return EXIT_USAGE;
	}
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	if ((e = lb_snapshot_find(r, argv[optind], &s)) < 0) {
		cli_fail(e);
		goto out;
	}
	o.progress = &pg;
	cli_signals_cancel(&pg);
	if ((e = lb_mysql_restore(r, s, &o, &st)) < 0) {
		cli_fail(e);
		goto out;
	}
	if (g_cli.json)
		printf("{\"snapshot_id\":\"%s\",\"databases\":%llu,\"tables\":%llu,\"rows\":%llu,\"statements\":%llu,"
		       "\"binlog_events\":%llu}\n", s->id, (unsigned long long)st.databases, (unsigned long long)st.tables,
		       (unsigned long long)st.rows, (unsigned long long)st.statements,
		       (unsigned long long)st.binlog_events);
	else if (g_cli.tty && g_cli.verbosity >= 0)
		printf("restored %llu tables (%llu rows) of %llu database%s from %.12s%s\n",
		       (unsigned long long)st.tables, (unsigned long long)st.rows, (unsigned long long)st.databases,
		       st.databases == 1 ? "" : "s", s->id, st.binlog_events ? ", rolled forward" : "");
	ret = EXIT_OK;
out:
	lb_snapshot_free(s);
	lb_repo_close(r);
	return ret;
}

static int mysql_archive(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		MYSQL_CONN_LONGOPTS,
		{ "segment-secs", required_argument, NULL, M_SEGSECS },
		{ 0 }
	};
	struct lb_binlog_opts o = { .info = print_info };
	struct lb_repo *r = NULL;
	struct lb_progress pg;
	int c, e;

	lb_progress_init(&pg);
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg) || conn_opt(&o.conn, c, optarg))
			continue;
		if (c == M_SEGSECS) {
			long v = cli_parse_duration(optarg);

			if (v < 1) {
				cli_error("--segment-secs: '%s' is not a duration", optarg);
				return EXIT_USAGE;
			}
			o.segment_secs = (unsigned)v;
			continue;
		}
		if (c == 'h') {
			printf("usage: lifeboat [-r REPO] mysql binlog-archive [--mysql-defaults-file F | --mysql-socket S]\n"
			       "         [--segment-secs N]   (runs until SIGTERM or SIGINT)\n");
			return EXIT_OK;
		}
		return EXIT_USAGE;
	}
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	o.progress = &pg;
	cli_signals_cancel(&pg);
	e = lb_mysql_binlog_archive(r, &o);
	lb_repo_close(r);
	if (e < 0)
		return cli_fail(e);
	return EXIT_OK;
}

static int mysql_ls(int argc, char **argv)
{
	struct lb_snapshot *s = NULL;
	struct lb_repo *r = NULL;
	json_t *sec, *t;
	const char *key;
	int code;

	if (!cli_source_ls_open(argc, argv, "mysql ls", "mysql", "has no MySQL data", &r, &s, &sec, &code))
		return code;
	if (g_cli.json) {
		char *txt = json_dumps(sec, JSON_INDENT(2) | JSON_SORT_KEYS);

		if (txt)
			printf("%s\n", txt);
		free(txt);
	} else {
		json_t *bl = json_object_get(sec, "binlog");

		printf("%s backup of %s, binlog %s:%lld gtid %s, writes blocked %.1f ms\n",
		       json_string_value(json_object_get(sec, "mode")) ?: "?",
		       json_string_value(json_object_get(sec, "server")) ?: "?",
		       json_string_value(json_object_get(bl, "file")) ?: "-",
		       (long long)json_integer_value(json_object_get(bl, "position")),
		       json_string_value(json_object_get(bl, "gtid")) ?: "-",
		       json_real_value(json_object_get(json_object_get(sec, "lock"), "writes_blocked_ms")));
		json_object_foreach(json_object_get(sec, "tables"), key, t) {
			if (json_object_get(t, "type"))
				printf("  %-40s view\n", key);
			else
				printf("  %-40s %-8s %10lld rows  %s%s\n", key,
				       json_string_value(json_object_get(t, "engine")) ?: "?",
				       (long long)json_integer_value(json_object_get(t, "rows")),
				       json_string_value(json_object_get(t, "checksum")) ?: "-",
				       json_is_false(json_object_get(t, "consistent")) ? "  (not consistent)" : "");
		}
	}
	lb_snapshot_free(s);
	lb_repo_close(r);
	return EXIT_OK;
}

int cmd_mysql(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(argc < 2 ? stderr : stdout,
			"usage: lifeboat [-r REPO] mysql restore SNAPSHOT [options]\n"
			"       lifeboat [-r REPO] mysql binlog-archive [options]\n"
			"       lifeboat [-r REPO] mysql ls SNAPSHOT\n");
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	optind = 0;
	if (!strcmp(argv[1], "restore")) {
		g_cli.command = "mysql restore";
		return mysql_restore(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "binlog-archive")) {
		g_cli.command = "mysql binlog-archive";
		return mysql_archive(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "ls")) {
		g_cli.command = "mysql ls";
		return mysql_ls(argc - 1, argv + 1);
	}
	cli_error("unknown subcommand '%s' (restore, binlog-archive, ls)", argv[1]);
	return EXIT_USAGE;
}

int cmd_verify(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "mysql", no_argument, NULL, M_MYSQL },
		{ "mariadbd", required_argument, NULL, M_MARIADBD },
		{ 0 }
	};
	struct lb_mysql_verify_opts o = { .info = print_info };
	struct lb_mysql_verdict v;
	struct lb_snapshot *s = NULL;
	struct lb_repo *r = NULL;
	bool mysql = false;
	int c, e, ret = EXIT_ERROR;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case M_MYSQL: mysql = true; break;
		case M_MARIADBD: o.mariadbd = optarg; break;
		case 'h':
			printf("usage: lifeboat [-r REPO] verify SNAPSHOT --mysql [--mariadbd PATH]\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 1 != argc || !mysql) {
		cli_error("usage: lifeboat verify SNAPSHOT --mysql (restore drills exist for MySQL data; "
			  "for files, `check --read-data` re-reads every byte)");
		return EXIT_USAGE;
	}
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	if ((e = lb_snapshot_find(r, argv[optind], &s)) < 0) {
		cli_fail(e);
		goto out;
	}
	e = lb_mysql_verify(r, s, &o, &v);
	if (g_cli.json) {
		json_t *j = NULL;

		if (lb_verdict_get(r, s->id, &j) == 0) {
			char *txt = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);

			if (txt)
				printf("%s\n", txt);
			free(txt);
			json_decref(j);
		}
	} else if (g_cli.verbosity >= 0 && (g_cli.tty || !v.ok || e < 0)) {
		fprintf(v.ok ? stdout : stderr, "%s%.12s: %s\n", v.ok ? "" : "lifeboat: verify: ", s->id, v.summary);
	}
	if (e < 0) {
		cli_fail(e);
		goto out;
	}
	ret = v.ok ? EXIT_OK : EXIT_ERROR;
out:
	lb_snapshot_free(s);
	lb_repo_close(r);
	return ret;
}
