/* Unit tests for lib/util/config.c: the INI configuration file. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"
#include "lifeboat/config.h"
#include "lifeboat/error.h"

static struct lb_conf *parse(const char *text)
{
	struct lb_conf *c = NULL;

	if (lb_conf_parse("test.conf", text, strlen(text), &c) < 0)
		diag("error: %s", lb_errmsg());
	return c;
}

/* Parses text, which must fail with a message containing want. */
static void rejects(const char *text, const char *want, const char *what)
{
	struct lb_conf *c = NULL;
	int e = lb_conf_parse("test.conf", text, strlen(text), &c);

	if (!ok(e == -EINVAL && !c && strstr(lb_errmsg(), want), "rejected: %s", what))
		diag("got %d '%s', want '%s'", e, lb_errmsg(), want);
	lb_conf_free(c);
}

static int list_is(const struct lb_conf_list *l, const char *const *want, size_t n)
{
	if (l->n != n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(l->v[i], want[i]))
			return 0;
	return 1;
}

int main(void)
{
	struct lb_conf *c;
	const struct lb_conf_job *j, *k;

	c = parse("# a comment\n"
		  "; another\n"
		  "[job www]\n"
		  "paths = /etc, /var/www\n"
		  "paths = /srv/a\n"
		  "    /srv/b, /srv/c\n"
		  "  exclude = *.tmp ; an inline comment\n"
		  "  tag = nightly\n"
		  "host = web1\n"
		  "one_file_system = yes\n"
		  "timeout = 2h\n"
		  "stall_warning = 90\n"
		  "workers = 3\n"
		  "pre_hook = echo one ; echo two\n"
		  "post_hook = job-post\n"
		  "hook_timeout = 5m\n"
		  "mysql = yes\n"
		  "mysql_mode = snapshot\n"
		  "mysql_databases = forum, shop\n"
		  "mysql_lock_timeout = 20\n"
		  "mysql_snapshot_hook = lvm-snapshot create ; x\n"
		  "keep_daily = 7\n"
		  "keep_within = 1y2m3w\n"
		  "keep_tag = monthly, keep\n"
		  "\n"
		  "[global]\n"
		  "repository = /srv/repo\n"
		  "exclude = /proc\n"
		  "timeout = 1h\n"
		  "pre_hook = global-pre\n"
		  "post_hook = global-post\n"
		  "notify_mail = root@example.com\n"
		  "\n"
		  "[ job   db ] ; a comment\n"
		  "paths=/var/lib/mysql\n"
		  "timeout = 0\n");
	ok(c != NULL, "a full config parses");
	if (!c)
		return done_testing();
	is(c->njobs, 2, "two jobs");
	j = lb_conf_find_job(c, "www");
	k = lb_conf_find_job(c, "db");
	ok(j && k && !lb_conf_find_job(c, "nope"), "jobs are found by name, and only those");
	if (!j || !k)
		return done_testing();
	{
		static const char *paths[] = { "/etc", "/var/www", "/srv/a", "/srv/b", "/srv/c" };
		static const char *ex[] = { "/proc", "*.tmp" };
		static const char *pre[] = { "global-pre", "echo one ; echo two" };
		static const char *post[] = { "job-post", "global-post" };
		static const char *dbs[] = { "forum", "shop" };
		static const char *kt[] = { "monthly", "keep" };

		ok(list_is(&j->paths, paths, 5), "paths: commas, repeated keys and continuation lines");
		ok(list_is(&j->excludes, ex, 2), "an indented key is a key; [global] excludes come first");
		ok(list_is(&j->pre_hooks, pre, 2), "pre hooks: [global] first, the command whole");
		ok(list_is(&j->post_hooks, post, 2), "post hooks: the job's first, then [global]");
		ok(list_is(&j->mysql_databases, dbs, 2), "mysql_databases");
		ok(list_is(&j->keep.tags, kt, 2), "keep_tag");
	}
	ok(j->tags.n == 1 && !strcmp(j->tags.v[0], "nightly"), "tag");
	ok(j->host && !strcmp(j->host, "web1"), "host");
	is(j->one_file_system, 1, "one_file_system");
	is(j->timeout_s, 7200, "the job's timeout wins over [global]");
	is(k->timeout_s, 0, "timeout = 0 is set (none), not inherited");
	is(j->stall_s, 90, "a bare number is seconds");
	is(j->workers, 3, "workers");
	is(j->hook_timeout_s, 300, "hook_timeout");
	is(j->mysql, 1, "mysql");
	is(j->mysql_mode, 1, "mysql_mode");
	is(j->mysql_lock_timeout_s, 20, "mysql_lock_timeout");
	ok(j->mysql_snapshot_hook && !strcmp(j->mysql_snapshot_hook, "lvm-snapshot create ; x"),
	   "a snapshot hook keeps its ';'");
	is(k->mysql, -1, "unset booleans are -1");
	is(k->workers, -1, "unset numbers are -1");
	ok(j->repository && k->repository && !strcmp(k->repository, "/srv/repo"), "repository is inherited");
	ok(k->notify_mail && !strcmp(k->notify_mail, "root@example.com"), "notify_mail is inherited");
	is(j->keep.daily, 7, "keep_daily");
	is(j->keep.last, -1, "keep_last unset");
	ok(j->keep.within.set && j->keep.within.years == 1 && j->keep.within.months == 2 &&
	   j->keep.within.days == 21, "keep_within 1y2m3w");
	is(j->keep.within_s, (365 + 60 + 21) * 86400LL, "keep_within in seconds");
	is(k->keep.within_s, -1, "keep_within not set");
	is(k->line, 34, "a job remembers its line");
	lb_conf_free(c);

	c = parse("");
	ok(c && c->njobs == 0, "an empty file is a valid config");
	lb_conf_free(c);
	c = parse("\xef\xbb\xbf[job a]\r\npaths = /x\r\n");
	ok(c && c->njobs == 1 && !strcmp(c->jobs[0].paths.v[0], "/x"), "a BOM and CRLF line ends");
	lb_conf_free(c);
	{
		char big[1000];

		memset(big, 'a', sizeof big);
		big[0] = '/';
		big[sizeof big - 1] = 0;
		char *text = malloc(2200);

		snprintf(text, 2200, "[job a]\npre_hook = echo %s\npaths = %s\n", big, big);
		c = parse(text);
		ok(c && strlen(c->jobs[0].pre_hooks.v[0]) == 5 + strlen(big) && !strcmp(c->jobs[0].paths.v[0], big),
		   "values longer than inih's line buffer are kept whole");
		lb_conf_free(c);
		free(text);
	}

	rejects("[job a]\nbogus = 1\n", "test.conf:2: unknown key 'bogus' in [job a]", "an unknown key");
	rejects("[job a]\n  exlude = x\n", "test.conf:2: unknown key 'exlude'", "an indented misspelt key");
	rejects("[jobs a]\npaths = /x\n", "test.conf:1: unknown section [jobs a]", "an unknown section");
	rejects("[job a]\n[frob]\n", "test.conf:2: unknown section [frob]", "an empty unknown section");
	rejects("paths = /x\n", "test.conf:1: 'paths' is outside of any section", "a key before any section");
	rejects("[job]\n", "needs a name", "a job without a name");
	rejects("[job a b]\n", "job name 'a b'", "a job name with a blank");
	rejects("[job a]\n[job a]\n", "test.conf:2: [job a] appears twice (first on line 1)", "a job twice");
	rejects("[global]\n[global]\n", "[global] appears twice", "[global] twice");
	rejects("[job a\n", "test.conf:1: '[' without a closing ']'", "an unclosed section");
	rejects("[job a]\njust words\n", "test.conf:2: 'just words' is not 'key = value'", "a line without '='");
	rejects("[job a]\nhost = a\nhost = b\n", "test.conf:3: 'host' is given twice in [job a]", "a scalar twice");
	rejects("[job a]\nhost = a\n   b\n", "only list keys continue", "a scalar continued");
	rejects("[job a]\nhost =\n", "'host' needs a value", "an empty scalar");
	rejects("[job a]\ntimeout = 5x\n", "timeout: '5x' is not a duration", "a bad duration");
	rejects("[job a]\ntimeout = 400d\n", "is not a duration", "a duration beyond a year");
	rejects("[job a]\nworkers = 0\n", "workers: '0' is not a number from 1 to 64", "workers out of range");
	rejects("[job a]\nworkers = 3x\n", "workers: '3x'", "workers junk");
	rejects("[job a]\nmysql = maybe\n", "mysql: 'maybe' is neither yes nor no", "a bad boolean");
	rejects("[job a]\nmysql_mode = fast\n", "neither logical nor snapshot", "a bad mode");
	rejects("[job a]\nmysql_lock_timeout = 2h\n", "mysql_lock_timeout: '2h' is not a duration from 1s to 1h",
		"a lock timeout over an hour");
	rejects("[job a]\ntimeout = 400d\n", "from 0s to 366d", "a duration names its range");
	rejects("[job a]\nkeep_within = 3q\n", "keep_within: '3q' is not a span", "a bad span");
	rejects("[job a]\nkeep_last = -1\n", "keep_last", "a negative count");
	{
		static const char nul[] = "[job a]\npaths = /a\0b\n";
		struct lb_conf *x = NULL;
		int e = lb_conf_parse("test.conf", nul, sizeof nul - 1, &x);

		ok(e == -EINVAL && strstr(lb_errmsg(), "test.conf:2: the line contains a NUL byte"),
		   "a NUL byte in a line is an error");
		lb_conf_free(x);
	}

	/* lb_conf_load: files */
	{
		char path[512];
		FILE *f;
		int e;

		snprintf(path, sizeof path, "%s/lifeboat.conf", tap_tmp());
		e = lb_conf_load(path, &c);
		ok(e == -ENOENT && strstr(lb_errmsg(), "lifeboat.conf: No such file"), "a missing file is named");
		f = fopen(path, "w");
		fputs("[job a]\npaths = /a\n", f);
		fclose(f);
		chmod(path, 0644);
		e = lb_conf_load(path, &c);
		ok(e == 0 && c && c->njobs == 1, "a file loads");
		lb_conf_free(c);
		chmod(path, 0666);
		e = lb_conf_load(path, &c);
		ok(e == -EPERM && strstr(lb_errmsg(), "writable by other users"), "a world-writable file is refused");
		unlink(path);
		rmdir(tap_tmp());
	}
	return done_testing();
}
