#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lifeboat/util.h"

#include "cli.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/verdict.h"

static bool has_tag(const struct lb_snapshot *s, const char *tag)
{
	for (size_t i = 0; i < s->ntags; i++)
		if (!strcmp(s->tags[i], tag))
			return true;
	return false;
}

static bool has_path(const struct lb_snapshot *s, const char *path)
{
	for (size_t i = 0; i < s->npaths; i++)
		if (!strcmp(s->paths[i], path))
			return true;
	return false;
}

static void local_time(char *out, size_t n, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	localtime_r(&t, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

int cmd_snapshots(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "host", required_argument, NULL, 'H' },
		{ "tag", required_argument, NULL, 't' },
		{ "path", required_argument, NULL, 'p' },
		{ "binlog", no_argument, NULL, 'b' },
		{ 0 }
	};
	const char *host = NULL, *tag = NULL, *path = NULL;
	bool binlog = false;
	struct lb_snapshot **v = NULL;
	struct lb_repo *r = NULL;
	json_t *arr = NULL;
	size_t n = 0;
	int c, e;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "H:t:p:b", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case 'H': host = optarg; break;
		case 't': tag = optarg; break;
		case 'p': path = optarg; break;
		case 'b': binlog = true; break;
		case 'h':
			printf("usage: lifeboat [-r REPO] snapshots [--host H] [--tag T] [--path P] [--binlog]\n"
			       "  (--binlog lists the binlog archive's segments instead of the backups)\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	e = lb_snapshot_list(r, &v, &n);
	if (e < 0) {
		lb_repo_close(r);
		return cli_fail(e);
	}
	if (g_cli.json)
		arr = json_array();
	else if (g_cli.tty && n)
		printf("%-12s  %-19s  %-16s  %-12s  %-18s  %s\n", "ID", "TIME", "HOST", "TAGS", "VERIFIED", "PATHS");
	for (size_t i = 0; i < n; i++) {
		struct lb_snapshot *s = v[i];
		char t[32], tags[256] = "";

		json_t *verdict = NULL;
		char proven[40] = "";

		if ((host && strcmp(s->host, host)) || (tag && !has_tag(s, tag)) || (path && !has_path(s, path)))
			continue;
		if (binlog != (json_object_get(json_object_get(s->json, "sources"), "binlog") != NULL))
			continue;
		if (lb_verdict_get(r, s->id, &verdict) == 0) {
			int64_t vs;
			long vns;

			if (lb_time_parse(json_string_value(json_object_get(verdict, "time")) ?: "", &vs, &vns) == 0) {
				char when[32];

				local_time(when, sizeof when, vs);
				snprintf(proven, sizeof proven, "%s %.16s", json_is_true(json_object_get(verdict, "ok")) ? "ok" : "FAILED",
					 when);
			}
		}
		if (arr) {
			json_t *j = json_deep_copy(s->json);

			json_object_set_new(j, "id", json_string(s->id));
			json_object_set_new(j, "short_id", json_stringn(s->id, 12));
			if (verdict)
				json_object_set(j, "verified", verdict);
			json_decref(verdict);
			json_array_append_new(arr, j);
			continue;
		}
		json_decref(verdict);
		local_time(t, sizeof t, s->time_s);
		for (size_t k = 0; k < s->ntags; k++) {
			if (k)
				strncat(tags, ",", sizeof tags - strlen(tags) - 1);
			strncat(tags, s->tags[k], sizeof tags - strlen(tags) - 1);
		}
		printf("%-12.12s  %-19s  %-16s  %-12s  %-18s  ", s->id, t, s->host, tags, proven);
		if (!s->npaths && json_object_get(json_object_get(s->json, "sources"), "mysql"))
			printf("(mysql)");
		if (json_object_get(s->json, "image") || /* backup --image DEVICE|FILE, or a whole server */
		    json_object_get(json_object_get(s->json, "sources"), "image"))
			printf("(image) ");
		for (size_t k = 0; k < s->npaths; k++)
			printf("%s%s", k ? " " : "", s->paths[k]);
		printf("\n");
	}
	if (arr) {
		char *s = json_dumps(arr, JSON_INDENT(2));

		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(arr);
	}
	lb_snapshot_list_free(v, n);
	lb_repo_close(r);
	return EXIT_OK;
}
