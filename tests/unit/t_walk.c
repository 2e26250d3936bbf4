/* Unit tests for lib/snap/walk.c: exclude rules and the estimating
 * scanner. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "tap.h"
#include "lifeboat/progress.h"
#include "snap/walk.h"

static void test_exclude(void)
{
	const char *name_pats[] = { "*.o", "core", ".cache", "[Tt]emp*" };
	const char *path_pats[] = { "/home/*/Downloads", "/var/log/*.gz", "/srv/data" };

	ok(lb_exclude_match(name_pats, 4, "/src/main.o", "main.o"), "'*.o' matches main.o");
	ok(lb_exclude_match(name_pats, 4, "/a/b/c/d/x.o", "x.o"), "...at any depth");
	ok(lb_exclude_match(name_pats, 4, "/src/.o", ".o"), "...and '.o' (no FNM_PERIOD for names)");
	ok(!lb_exclude_match(name_pats, 4, "/src/main.c", "main.c"), "not main.c");
	ok(!lb_exclude_match(name_pats, 4, "/src/main.o/file", "file"), "a file inside a dir named main.o is judged by its own name");
	ok(lb_exclude_match(name_pats, 4, "/core", "core"), "'core' matches the name core");
	ok(!lb_exclude_match(name_pats, 4, "/src/core.c", "core.c"), "...not core.c");
	ok(!lb_exclude_match(name_pats, 4, "/srv/score", "score"), "...not score");
	ok(lb_exclude_match(name_pats, 4, "/home/u/.cache", ".cache"), "'.cache' matches");
	ok(lb_exclude_match(name_pats, 4, "/x/Temp1", "Temp1") && lb_exclude_match(name_pats, 4, "/x/temp", "temp"),
	   "bracket expressions work");
	ok(!lb_exclude_match(name_pats, 4, "/x/Xtemp", "Xtemp"), "...and anchor at the start of the name");

	ok(lb_exclude_match(path_pats, 3, "/home/alice/Downloads", "Downloads"), "'/home/*/Downloads' matches alice's");
	ok(!lb_exclude_match(path_pats, 3, "/home/alice/x/Downloads", "Downloads"), "...'*' does not cross '/'");
	ok(!lb_exclude_match(path_pats, 3, "/home/alice/Downloads/f", "f"),
	   "...and a path pattern names the directory, not what is inside (the walk does not enter it)");
	ok(lb_exclude_match(path_pats, 3, "/var/log/syslog.1.gz", "syslog.1.gz"), "'/var/log/*.gz' matches");
	ok(!lb_exclude_match(path_pats, 3, "/var/log/old/syslog.1.gz", "syslog.1.gz"), "...not one level down");
	ok(lb_exclude_match(path_pats, 3, "/srv/data", "data"), "an exact path matches");
	ok(!lb_exclude_match(path_pats, 3, "/srv/database", "database"), "...not a longer name");
	ok(!lb_exclude_match(path_pats, 3, "/x/srv/data", "data"), "...and is anchored at /");
	ok(!lb_exclude_match(NULL, 0, "/a", "a"), "no patterns exclude nothing");
	ok(lb_exclude_match((const char *[]){ "*" }, 1, "/anything", "anything"), "'*' excludes everything by name");
}

static void mkfile(const char *dir, const char *name, size_t size)
{
	char p[1024];
	int fd;

	snprintf(p, sizeof p, "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (ftruncate(fd, (off_t)size) != 0)
		diag("ftruncate %s failed", p);
	close(fd);
}

static int wait_done(struct lb_walk_scan *s, uint64_t *files, uint64_t *bytes)
{
	int done = 0;

	*files = *bytes = 0;
	for (int i = 0; s && i < 500; i++) {
		lb_walk_scan_totals(s, files, bytes, &done);
		if (done)
			return 1;
		nanosleep(&(struct timespec){ 0, 10 * 1000 * 1000 }, NULL);
	}
	return 0;
}

static void test_scan(void)
{
	char top[600], sub[700], deep[800], skip[700], lone[700];
	uint64_t files, bytes;
	struct lb_walk_scan *s = NULL;
	const char *paths[2];
	const char *ex[2] = { "*.tmp", NULL };
	struct lb_backup_opts o = { .excludes = ex, .nexcludes = 1 };

	snprintf(top, sizeof top, "%s/tree", tap_tmp());
	snprintf(sub, sizeof sub, "%s/sub", top);
	snprintf(deep, sizeof deep, "%s/deeper", sub);
	snprintf(skip, sizeof skip, "%s/skipme", top);
	mkdir(top, 0755);
	mkdir(sub, 0755);
	mkdir(deep, 0755);
	mkdir(skip, 0755);
	mkfile(top, "a", 100);
	mkfile(top, "b", 2000);
	mkfile(top, "junk.tmp", 99999); /* excluded by name */
	mkfile(sub, "c", 30000);
	mkfile(deep, "d", 1 << 20);
	mkfile(skip, "e", 5); /* excluded through its directory */
	{
		char l[1000];

		snprintf(l, sizeof l, "%s/link", top);
		symlink("a", l); /* not a regular file: not counted */
	}
	snprintf(lone, sizeof lone, "%s/lonefile", tap_tmp());
	mkfile(tap_tmp(), "lonefile", 7);

	ex[1] = skip;
	o.nexcludes = 2;
	paths[0] = top;
	paths[1] = lone;
	lb_walk_scan_start(paths, 2, o.excludes, o.nexcludes, o.one_file_system, &s);
	ok(s != NULL, "the scanner starts");
	ok(wait_done(s, &files, &bytes), "...and finishes, reporting done");
	is(files, 5, "it counts regular files (a, b, c, d, and a file given as a path), honouring excludes");
	is(bytes, 100 + 2000 + 30000 + (1 << 20) + 7, "and their bytes");
	lb_walk_scan_stop(s);
	lb_walk_scan_stop(NULL);

	/* a path that does not exist is skipped, the estimate still completes */
	{
		const char *bad[1] = { "/nonexistent/lifeboat/path" };

		s = NULL;
		lb_walk_scan_start(bad, 1, o.excludes, o.nexcludes, o.one_file_system, &s);
		ok(wait_done(s, &files, &bytes) && files == 0, "a missing path: an empty, finished estimate");
		lb_walk_scan_stop(s);
	}
	/* the run is over: everything the scanner allocated must be gone
	 * (LeakSanitizer reports it at exit otherwise) */
	nanosleep(&(struct timespec){ 0, 50 * 1000 * 1000 }, NULL);
}

int main(void)
{
	int rc;

	test_exclude();
	test_scan();
	tap_tmp_cleanup();
	rc = done_testing();
	fflush(stdout); /* the plan must be out before LeakSanitizer's verdict */
	return rc;
}
