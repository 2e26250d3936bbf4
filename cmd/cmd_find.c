/* lifeboat find PATTERN: which snapshots hold a file, and what it was in
 * each, grouped by path. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nodefmt.h"
#include "lifeboat/find.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/tree.h"
#include "lifeboat/util.h"

/* "2026-11-20", "2026-11-20 14:00[:00]", "2026-11-20T14:00:00[Z]" (local
 * time unless Z), "@1732100000", or an age: "36h", "7d" (that long ago). */
static int parse_time(const char *s, int64_t *out)
{
	static const char *const formats[] = { "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M",
					       "%Y-%m-%d %H:%M", "%Y-%m-%d" };
	long age;

	if (s[0] == '@') {
		char *end;
		long long v = strtoll(s + 1, &end, 10);

		if (end == s + 1 || *end)
			return -EINVAL;
		*out = v;
		return 0;
	}
	if ((age = cli_parse_duration(s)) >= 0) {
		*out = (int64_t)time(NULL) - age;
		return 0;
	}
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		struct tm tm;
		const char *p;

		memset(&tm, 0, sizeof tm);
		if (!(p = strptime(s, formats[i], &tm)))
			continue;
		if (*p == 'Z' && !p[1]) {
			*out = (int64_t)timegm(&tm);
			return 0;
		}
		if (*p)
			continue;
		tm.tm_isdst = -1;
		*out = (int64_t)mktime(&tm);
		return 0;
	}
	return -EINVAL;
}

static bool is_binlog(const struct lb_snapshot *s)
{
	return json_object_get(json_object_get(s->json, "sources"), "binlog") != NULL;
}

static bool g_show_host;  /* the snapshots searched come from more than one host */

static void print_snap(const struct lb_snapshot *s)
{
	char when[32];

	nodefmt_local_time(when, sizeof when, s->time_s);
	printf("  %-19s  %-12.12s", when, s->id);
	if (g_show_host) {
		char *h = cli_escape(s->host, strlen(s->host));

		printf("  %-16s", h ? h : s->host);
		free(h);
	}
}

static void print_absent(struct lb_snapshot **v, const size_t *snaps, size_t from, size_t to)
{
	char b[32];

	if (from >= to)
		return;
	print_snap(v[snaps[from]]);
	if (to - from == 1) {
		printf("  (absent)\n");
		return;
	}
	nodefmt_local_time(b, sizeof b, v[snaps[to - 1]]->time_s);
	printf("  (absent from this and %zu later snapshot%s, up to %s)\n", to - from - 1, to - from == 2 ? "" : "s", b);
}

/* One path: a heading, then one line per snapshot that holds it (and one
 * per run of snapshots that do not), marking where the content changed. */
static void print_path(const struct lb_find_path *p, struct lb_snapshot **v, const size_t *snaps, size_t nsnaps)
{
	size_t pos = 0;  /* next searched snapshot (index into snaps) */

	cli_print_escaped(stdout, p->path, p->pathlen);
	printf("  (in %zu of %zu snapshots, %u version%s)\n", p->nhits, nsnaps, p->nversions,
	       p->nversions == 1 ? "" : "s");
	for (size_t i = 0; i < p->nhits; i++) {
		const struct lb_find_hit *h = &p->hits[i];
		char mt[32];

		print_absent(v, snaps, pos, h->snap);
		pos = h->snap + 1;
		nodefmt_local_time(mt, sizeof mt, h->mtime_s);
		print_snap(v[snaps[h->snap]]);
		printf("  %-8s %12llu  %04o  %u:%u  mtime %s  v%u%s\n", nodefmt_type(h->type), (unsigned long long)h->size, h->mode & 07777, h->uid, h->gid, mt,
		       h->version, i > 0 && h->version != p->hits[i - 1].version ? "  changed" : "");
	}
	print_absent(v, snaps, pos, nsnaps);
}

static void print_path_json(const struct lb_find_path *p, struct lb_snapshot **v, const size_t *snaps)
{
	for (size_t i = 0; i < p->nhits; i++) {
		const struct lb_find_hit *h = &p->hits[i];
		const struct lb_snapshot *s = v[snaps[h->snap]];
		json_t *j = json_object();
		bool escaped = false;
		char t[64], mt[64];

		if (!j)
			return;
		lb_time_format(t, sizeof t, s->time_s, s->time_ns);
		nodefmt_json_time(mt, sizeof mt, h->mtime_s, h->mtime_ns);
		json_object_set_new(j, "path", nodefmt_json_bytes(p->path, p->pathlen, &escaped));
		if (escaped)
			json_object_set_new(j, "path_escaped", json_true());
		json_object_set_new(j, "snapshot", json_string(s->id));
		json_object_set_new(j, "time", json_string(t));
		json_object_set_new(j, "host", json_string(s->host));
		json_object_set_new(j, "type", json_string(nodefmt_type(h->type)));
		json_object_set_new(j, "size", json_integer((json_int_t)h->size));
		json_object_set_new(j, "mode", json_integer(h->mode));
		json_object_set_new(j, "uid", json_integer(h->uid));
		json_object_set_new(j, "gid", json_integer(h->gid));
		json_object_set_new(j, "mtime", json_string(mt));
		json_object_set_new(j, "version", json_integer(h->version));
		json_object_set_new(j, "changed", json_boolean(i > 0 && h->version != p->hits[i - 1].version));
		nodefmt_print_json(j);
	}
}

int cmd_find(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "path", required_argument, NULL, 'p' },
		{ "newer", required_argument, NULL, 'N' },
		{ "older", required_argument, NULL, 'O' },
		{ "host", required_argument, NULL, 'H' },
		{ "ignore-case", no_argument, NULL, 'i' },
		{ 0 }
	};
	struct lb_find_opts o = { 0 };
	const char *host = NULL;
	struct lb_snapshot **v = NULL;
	size_t n = 0, nsnaps = 0, absent = 0, failed = 0, npaths;
	size_t *snaps = NULL;
	const struct lb_find_path *paths;
	struct lb_find *f = NULL;
	struct lb_repo *r = NULL;
	int c, e, ret = EXIT_ERROR;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "p:H:i", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case 'p': o.path = optarg; break;
		case 'H': host = optarg; break;
		case 'i': o.casefold = true; break;
		case 'N':
		case 'O':
			if (parse_time(optarg, c == 'N' ? &o.newer_s : &o.older_s) < 0) {
				cli_error("--%s: '%s' is not a time (2026-11-20, '2026-11-20 14:00', @EPOCH, 7d)",
					  c == 'N' ? "newer" : "older", optarg);
				return EXIT_USAGE;
			}
			*(c == 'N' ? &o.newer : &o.older) = true;
			break;
		case 'h':
			printf("usage: lifeboat [-r REPO] find [--path P] [--newer TIME] [--older TIME] [--host H]\n"
			       "                            [-i] [--json] PATTERN\n"
			       "  PATTERN is a glob on the name, or on the whole path if it holds a '/';\n"
			       "  --newer/--older compare the file's mtime (TIME: 2026-11-20, '2026-11-20 14:00',\n"
			       "  @EPOCH, or an age such as 36h or 7d)\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind != 1) {
		cli_error("usage: lifeboat find [--path P] [--newer TIME] [--older TIME] [--host H] PATTERN");
		return EXIT_USAGE;
	}
	o.pattern = argv[optind];
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	if ((e = lb_snapshot_list(r, &v, &n)) < 0 || (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0 ||
	    (e = lb_find_new(r, &o, &f)) < 0) {
		cli_fail(e);
		goto out;
	}
	if (!(snaps = calloc(n ? n : 1, sizeof *snaps))) {
		cli_fail(-ENOMEM);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		if (!is_binlog(v[i]) && (!host || strcmp(v[i]->host, host) == 0))
			snaps[nsnaps++] = i;
	for (size_t k = 1; k < nsnaps; k++)
		if (strcmp(v[snaps[k]]->host, v[snaps[0]]->host) != 0)
			g_show_host = true;
	if (nsnaps == 0) {
		if (host)
			cli_error("no snapshots of host '%s'", host);
		else
			cli_error("the repository has no snapshots");
		goto out;
	}
	for (size_t k = 0; k < nsnaps; k++) {
		const struct lb_snapshot *s = v[snaps[k]];

		e = lb_find_search(f, s->tree, k);
		if (e == 1) {
			absent++;
		} else if (e < 0) {
			if (e == -ENOMEM || e == -EFBIG) {
				cli_fail(e);
				goto out;
			}
			cli_error("snapshot %.12s: %s", s->id, lb_errmsg()[0] ? lb_errmsg() : lb_strerror(e));
			failed++;
		}
	}
	if (o.path && absent == nsnaps) {
		char *esc = cli_escape(o.path, strlen(o.path));

		cli_error("%s: no such path in any snapshot%s", esc ? esc : o.path, host ? " of that host" : "");
		free(esc);
		goto out;
	}
	if ((e = lb_find_results(f, &paths, &npaths)) < 0) {
		cli_fail(e);
		goto out;
	}
	for (size_t i = 0; i < npaths; i++) {
		if (g_cli.json)
			print_path_json(&paths[i], v, snaps);
		else
			print_path(&paths[i], v, snaps, nsnaps);
	}
	if (fflush(stdout) != 0) {
		cli_error("writing the output failed");
		goto out;
	}
	if (g_cli.verbosity >= 1) {
		uint64_t rd, reused;

		lb_find_stats(f, &rd, &reused);
		fprintf(stderr, "lifeboat: find: %zu snapshots, %llu trees read, %llu skipped as already searched\n",
			nsnaps, (unsigned long long)rd, (unsigned long long)reused);
	}
	if (!npaths && !g_cli.json && g_cli.tty && g_cli.verbosity >= 0)
		fprintf(stderr, "no match in %zu snapshot%s\n", nsnaps, nsnaps == 1 ? "" : "s");
	ret = failed ? EXIT_ERROR : EXIT_OK;
out:
	lb_find_free(f);
	free(snaps);
	lb_snapshot_list_free(v, n);
	lb_repo_close(r);
	return ret;
}
