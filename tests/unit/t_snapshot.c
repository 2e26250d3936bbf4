/* Unit tests for lib/snap/snapshot.c: manifest parsing, save/load, finding
 * snapshots by id, prefix and "latest". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "tap.h"
#include "lifeboat/snapshot.h"
#include "store/store.h"

#define TREE64 "8fe572b960101f6a2ea24ebecc09fc67988b823115b20e367670523c03cdc23e"
#define PARENT64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static char repo_path[512];

static int pwcb(char *buf, size_t n, void *ctx)
{
	snprintf(buf, n, "%s", (const char *)ctx);
	return 0;
}

static int parse(const char *text, struct lb_snapshot **s)
{
	*s = NULL;
	return lb_snapshot_parse(text, strlen(text), s);
}

static void test_parse(void)
{
	struct lb_snapshot *s = NULL;
	int e;

	e = parse("{\"version\":1,\"time\":\"2024-01-02T03:04:05.123456789Z\",\"host\":\"vm\",\"tree\":\"" TREE64 "\"}", &s);
	ok(e == 0 && s, "a minimal manifest parses (%s)", e ? lb_errmsg() : "ok");
	if (s) {
		uint8_t tree[32];

		lb_unhex(tree, 32, TREE64);
		ok(s->time_s == 1704164645 && s->time_ns == 123456789, "time with nanoseconds");
		ok(!strcmp(s->host, "vm") && !strcmp(s->user, ""), "host, and user defaults to \"\"");
		ok(!memcmp(s->tree, tree, 32), "tree id");
		ok(s->parent[0] == 0 && s->npaths == 0 && s->ntags == 0, "no parent, paths or tags");
		ok(s->json && json_is_object(s->json), "the whole object is kept");
		lb_snapshot_free(s);
	}
	e = parse("{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"user\":\"root\",\"tree\":\"" TREE64
		  "\",\"parent\":\"" PARENT64 "\",\"paths\":[\"/etc\",\"/home\"],\"tags\":[\"daily\"],"
		  "\"stats\":{\"files_new\":3},\"mysql\":{\"binlog\":{\"file\":\"b.000001\",\"position\":4}},\"zzz\":null}",
		  &s);
	ok(e == 0, "a full manifest with unknown sections parses");
	if (s) {
		ok(!strcmp(s->parent, PARENT64) && !strcmp(s->user, "root"), "parent and user");
		ok(s->npaths == 2 && !strcmp(s->paths[0], "/etc") && !strcmp(s->paths[1], "/home"), "paths in order");
		ok(s->ntags == 1 && !strcmp(s->tags[0], "daily"), "tags");
		ok(json_integer_value(json_object_get(json_object_get(json_object_get(s->json, "mysql"), "binlog"),
						      "position")) == 4,
		   "an unknown section stays in json");
		lb_snapshot_free(s);
	}
	e = parse("{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\",\"parent\":null}", &s);
	ok(e == 0 && s && s->parent[0] == 0, "parent null is no parent");
	lb_snapshot_free(s);

	{
		static const struct { const char *text, *why; int want; } bad[] = {
			{ "", "empty text", -LB_E_CORRUPT },
			{ "not json", "not JSON", -LB_E_CORRUPT },
			{ "[1,2]", "an array", -LB_E_CORRUPT },
			{ "{\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\"}", "no version", -LB_E_CORRUPT },
			{ "{\"version\":\"1\",\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\"}", "a string version", -LB_E_CORRUPT },
			{ "{\"version\":2,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\"}", "version 2", -LB_E_VERSION },
			{ "{\"version\":0,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\"}", "version 0", -LB_E_CORRUPT },
			{ "{\"version\":1,\"host\":\"h\",\"tree\":\"" TREE64 "\"}", "no time", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"yesterday\",\"host\":\"h\",\"tree\":\"" TREE64 "\"}", "a bad time", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"tree\":\"" TREE64 "\"}", "no host", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":7,\"tree\":\"" TREE64 "\"}", "a numeric host", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\"}", "no tree", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"abcd\"}", "a short tree id", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "00\"}", "a long tree id", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"g" TREE64 "\"}", "a non-hex tree id", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\",\"parent\":\"0123\"}", "a short parent", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\",\"parent\":\"x123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"}", "a non-hex parent", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\",\"parent\":5}", "a numeric parent", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\",\"paths\":\"/etc\"}", "paths not an array", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\",\"paths\":[\"/a\",3]}", "a number among the paths", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\",\"tags\":[null]}", "a null tag", -LB_E_CORRUPT },
			{ "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"user\":[],\"tree\":\"" TREE64 "\"}", "a user that is not a string", -LB_E_CORRUPT },
		};

		for (size_t i = 0; i < LB_ARRAY_SIZE(bad); i++) {
			e = parse(bad[i].text, &s);
			is(e, bad[i].want, "parse rejects %s", bad[i].why);
			if (e == 0)
				lb_snapshot_free(s);
			else if (s)
				ok(0, "...and leaves *out alone");
		}
	}
	/* not NUL-terminated: the length is honoured */
	{
		const char *t = "{\"version\":1,\"time\":\"2024-01-02T03:04:05Z\",\"host\":\"h\",\"tree\":\"" TREE64 "\"}GARBAGE";

		e = lb_snapshot_parse(t, strlen(t) - 7, &s);
		ok(e == 0, "the given length is honoured (trailing bytes beyond it ignored)");
		if (e == 0)
			lb_snapshot_free(s);
	}
}

static struct lb_snapshot *mk(const char *host, int64_t t, long ns, const char *tag)
{
	struct lb_snapshot *s = calloc(1, sizeof *s);
	static char *paths[] = { "/etc", "/var/lib/mysql" };

	s->time_s = t;
	s->time_ns = ns;
	s->host = strdup(host);
	s->user = strdup("backup");
	s->npaths = 2;
	s->paths = calloc(2, sizeof *s->paths);
	s->paths[0] = strdup(paths[0]);
	s->paths[1] = strdup(paths[1]);
	s->ntags = 1;
	s->tags = calloc(1, sizeof *s->tags);
	s->tags[0] = strdup(tag);
	for (int i = 0; i < 32; i++)
		s->tree[i] = (uint8_t)(t + i);
	return s;
}

struct logcap {
	int warns;
	char last[512];
};

static void log_cb(int level, const char *msg, void *ctx)
{
	struct logcap *c = ctx;

	if (level == LB_LOG_WARN)
		c->warns++;
	snprintf(c->last, sizeof c->last, "%s", msg);
}

static void test_repo(void)
{
	struct lb_repo *r = NULL;
	struct lb_init_opts o = { .encrypt = 1, .scrypt_n = 1024 };
	struct lb_snapshot *s, *l = NULL;
	char id[65], ids[24][65];
	int e;

	e = lb_repo_init(repo_path, &o, pwcb, "pw", &r);
	ok(e == 0, "init");
	if (e)
		return;

	is(lb_snapshot_find(r, "latest", &l), -LB_E_NOTFOUND, "latest in an empty repository: -LB_E_NOTFOUND");
	{
		struct lb_snapshot **v = NULL;
		size_t n = 99;

		ok(lb_snapshot_list(r, &v, &n) == 0 && n == 0, "an empty list");
		lb_snapshot_list_free(v, n);
	}

	/* save with a source section, and a source trying to set core keys */
	s = mk("db1", 1700000000, 42, "nightly");
	snprintf(s->parent, sizeof s->parent, "%s", PARENT64);
	s->json = json_pack("{s:{s:{s:s, s:i}, s:s}, s:{s:i}, s:s, s:i}", "mysql", "binlog", "file", "mysql-bin.000042",
			    "position", 1234, "gtid", "0-1-99", "quiesce", "lock_ms", 17, "host", "evil", "version", 99);
	e = lb_snapshot_save(r, s);
	ok(e == 0 && strlen(s->id) == 64, "save (%s)", e ? lb_errmsg() : s->id);
	snprintf(id, sizeof id, "%s", s->id);
	{
		char *text = json_dumps(s->json, JSON_COMPACT | JSON_SORT_KEYS);
		uint8_t want[32];
		char hex[65];

		lb_repo_blob_id(r, text, strlen(text), want);
		lb_hex(hex, want, 32);
		ok(!strcmp(hex, id), "the id is the keyed hash of the compact sorted manifest");
		free(text);
	}
	e = lb_snapshot_load(r, id, &l);
	ok(e == 0 && l, "load it back (%s)", e ? lb_errmsg() : "ok");
	if (l) {
		json_t *my = json_object_get(l->json, "mysql");

		ok(!strcmp(l->id, id), "loaded id");
		ok(l->time_s == 1700000000 && l->time_ns == 42, "time with nanoseconds survives");
		ok(!strcmp(l->host, "db1"), "core keys win over a source's: host is db1, not evil");
		ok(json_integer_value(json_object_get(l->json, "version")) == 1, "...and version is 1, not 99");
		ok(!strcmp(l->user, "backup") && l->npaths == 2 && !strcmp(l->paths[1], "/var/lib/mysql") && l->ntags == 1 &&
		   !strcmp(l->tags[0], "nightly"), "user, paths and tags survive");
		ok(!strcmp(l->parent, PARENT64), "parent survives");
		ok(!memcmp(l->tree, s->tree, 32), "tree survives");
		ok(my && json_equal(my, json_object_get(s->json, "mysql")), "the mysql section is preserved intact");
		ok(json_integer_value(json_object_get(json_object_get(l->json, "quiesce"), "lock_ms")) == 17,
		   "the quiesce section is preserved");
		{
			char *dump = lb_snapshot_dump(l);

			ok(dump && strstr(dump, "mysql-bin.000042") && strstr(dump, "\"tree\""), "dump shows the whole manifest");
			free(dump);
		}
		lb_snapshot_free(l);
		l = NULL;
	}
	/* deterministic: the same manifest is the same snapshot */
	{
		struct lb_snapshot *s2 = mk("db1", 1700000000, 42, "nightly");

		snprintf(s2->parent, sizeof s2->parent, "%s", PARENT64);
		s2->json = json_deep_copy(s->json);
		lb_snapshot_save(r, s2);
		ok(!strcmp(s2->id, id), "saving the same manifest again gives the same id");
		lb_snapshot_free(s2);
	}
	lb_snapshot_free(s);

	/* more snapshots, saved out of time order */
	for (int i = 0; i < 24; i++) {
		int k = (i * 7) % 24; /* a permutation */

		s = mk(k % 2 ? "web" : "db1", 1710000000 + k * 60, k, "hourly");
		lb_snapshot_save(r, s);
		snprintf(ids[k], sizeof ids[k], "%s", s->id);
		lb_snapshot_free(s);
	}
	{
		struct lb_snapshot **v = NULL;
		size_t n = 0;
		int sorted = 1;

		ok(lb_snapshot_list(r, &v, &n) == 0 && n == 25, "list finds all 25 (%zu)", n);
		for (size_t i = 1; i < n; i++)
			if (v[i - 1]->time_s > v[i]->time_s)
				sorted = 0;
		ok(sorted && n && !strcmp(v[0]->id, id), "oldest first");
		lb_snapshot_list_free(v, n);
	}
	ok(lb_snapshot_find(r, "latest", &l) == 0 && !strcmp(l->id, ids[23]), "latest is the newest by time, not by save order");
	lb_snapshot_free(l);
	l = NULL;
	ok(lb_snapshot_find(r, ids[5], &l) == 0 && !strcmp(l->id, ids[5]) && l->time_s == 1710000000 + 5 * 60,
	   "find by full id");
	lb_snapshot_free(l);
	l = NULL;

	/* prefixes: the shortest unique prefix of each, and an ambiguous one */
	{
		int unique_ok = 1, tried = 0;
		char amb[2] = "";

		for (int k = 0; k < 24; k++) {
			for (size_t plen = 1; plen <= 64; plen++) {
				int matches = 0;
				char pfx[65];

				for (int j = 0; j < 24; j++)
					matches += !strncmp(ids[j], ids[k], plen);
				matches += !strncmp(id, ids[k], plen);
				if (plen == 1 && matches > 1)
					amb[0] = ids[k][0];
				if (matches != 1)
					continue;
				memcpy(pfx, ids[k], plen);
				pfx[plen] = 0;
				tried++;
				if (lb_snapshot_find(r, pfx, &l) != 0 || strcmp(l->id, ids[k]))
					unique_ok = 0;
				lb_snapshot_free(l);
				l = NULL;
				break;
			}
		}
		ok(unique_ok && tried == 24, "every snapshot is found by its shortest unique prefix");
		ok(amb[0] != 0, "25 ids share some first digit");
		e = lb_snapshot_find(r, amb, &l);
		is(e, -LB_E_AMBIGUOUS, "a prefix of several: -LB_E_AMBIGUOUS");
		ok(strstr(lb_errmsg(), "matches") != NULL, "...saying how many match: %s", lb_errmsg());
	}
	{
		char other[65];

		snprintf(other, sizeof other, "%s", ids[0]);
		other[63] = other[63] == '0' ? '1' : '0';
		other[62] = other[62] == '0' ? '1' : '0';
		is(lb_snapshot_find(r, other, &l), -LB_E_NOTFOUND, "an unknown full id: -LB_E_NOTFOUND");
		ok(strstr(lb_errmsg(), "no such snapshot") != NULL, "...'no such snapshot': %s", lb_errmsg());
		is(lb_snapshot_find(r, "xyz", &l), -LB_E_NOTFOUND, "not hex: -LB_E_NOTFOUND");
		is(lb_snapshot_find(r, "", &l), -LB_E_NOTFOUND, "empty: -LB_E_NOTFOUND");
		{
			char upper[65];

			snprintf(upper, sizeof upper, "%s", ids[0]);
			for (char *p = upper; *p; p++)
				if (*p >= 'a' && *p <= 'f')
					*p = (char)(*p - 32);
			ok(strcmp(upper, ids[0]) == 0 || lb_snapshot_find(r, upper, &l) == -LB_E_NOTFOUND,
			   "upper-case hex is not a snapshot id");
		}
		{
			char longer[80];

			snprintf(longer, sizeof longer, "%s0", ids[0]);
			is(lb_snapshot_find(r, longer, &l), -LB_E_NOTFOUND, "65 digits: -LB_E_NOTFOUND");
		}
		is(lb_snapshot_load(r, other, &l), -ENOENT, "load of an unknown id: -ENOENT");
	}

	/* damage: a garbage file and a copied manifest */
	{
		char p1[800], p2[800], junk[65];
		struct logcap cap = { 0 };
		struct lb_snapshot **v = NULL;
		size_t n = 0;
		FILE *f;

		memset(junk, 'e', 64);
		junk[64] = 0;
		snprintf(p1, sizeof p1, "%s/snapshots/%s", repo_path, junk);
		f = fopen(p1, "w");
		fputs("garbage", f);
		fclose(f);
		lb_log_set_handler(log_cb, &cap);
		ok(lb_snapshot_list(r, &v, &n) == 0 && n == 25, "list skips a damaged snapshot file");
		ok(cap.warns == 1 && strstr(cap.last, junk), "...and warns through the log, naming it: %s", cap.last);
		lb_log_set_handler(NULL, NULL);
		lb_snapshot_list_free(v, n);
		ok(lb_snapshot_find(r, "latest", &l) == 0, "latest still works beside a damaged file");
		lb_snapshot_free(l);
		l = NULL;
		is(lb_snapshot_find(r, "eeee", &l), -LB_E_CORRUPT, "finding the damaged one reports corruption");
		unlink(p1);

		/* the manifest of ids[0] stored under another name */
		snprintf(p1, sizeof p1, "%s/snapshots/%s", repo_path, ids[0]);
		snprintf(p2, sizeof p2, "%s/snapshots/%s", repo_path, junk);
		link(p1, p2);
		e = lb_snapshot_load(r, junk, &l);
		ok(e < 0, "a manifest under another snapshot's name does not load (%d: %s)", e, lb_errmsg());
		if (e == 0)
			lb_snapshot_free(l);
		l = NULL;
		unlink(p2);
	}

	/* names that are not UTF-8 */
	{
		json_t *j = lb_json_string_bytes("caf\xc3\xa9");

		ok(j && !strcmp(json_string_value(j), "caf\xc3\xa9"), "valid UTF-8 is kept as is");
		json_decref(j);
		j = lb_json_string_bytes("/srv/caf\xe9\\x");
		ok(j && !strcmp(json_string_value(j), "/srv/caf\\xe9\\\\x"), "Latin-1 bytes become \\xNN, '\\' becomes '\\\\': %s",
		   j ? json_string_value(j) : "(null)");
		json_decref(j);
		s = mk("h\xff", 1720000000, 0, "t");
		free(s->paths[0]);
		s->paths[0] = strdup("/srv/\xff\xfe");
		e = lb_snapshot_save(r, s);
		ok(e == 0, "a snapshot with non-UTF-8 host and path saves (%s)", e ? lb_errmsg() : "ok");
		if (e == 0 && lb_snapshot_load(r, s->id, &l) == 0) {
			ok(!strcmp(l->paths[0], "/srv/\\xff\\xfe") && !strcmp(l->host, "h\\xff"), "...stored escaped");
			lb_snapshot_free(l);
			l = NULL;
		} else {
			ok(0, "...stored escaped");
		}
		lb_snapshot_free(s);
	}
	lb_repo_close(r);
}

int main(void)
{
	snprintf(repo_path, sizeof repo_path, "%s/repo", tap_tmp());
	test_parse();
	test_repo();
	tap_tmp_cleanup();
	return done_testing();
}
