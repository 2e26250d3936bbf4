/* Unit tests for lib/util/error.c: per-thread messages, wrapping,
 * truncation, lb_strerror. */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "tap.h"
#include "util/util.h"

#define MSGMAX 2048 /* LB_ERRMSG_MAX in error.c */

static void test_compose(void)
{
	int e;

	lb_err_clear();
	ok(!strcmp(lb_errmsg(), ""), "no message after clear");
	e = lb_err(-LB_E_CORRUPT, "pack %s: bad magic %d", "3fa2", 7);
	is(e, -LB_E_CORRUPT, "lb_err returns its code");
	ok(!strcmp(lb_errmsg(), "pack 3fa2: bad magic 7"), "lb_err formats: '%s'", lb_errmsg());

	e = lb_errno(-ENOENT, "open %s", "config");
	is(e, -ENOENT, "lb_errno returns its code");
	ok(!strcmp(lb_errmsg(), "open config: No such file or directory"), "lb_errno appends strerror: '%s'",
	   lb_errmsg());
	lb_errno(-LB_E_AUTH, "blob x");
	ok(!strcmp(lb_errmsg(), "blob x: authentication failed (data corrupted or wrong key)"),
	   "lb_errno with a lifeboat code uses lb_strerror: '%s'", lb_errmsg());

	lb_err(-EIO, "inner");
	e = lb_err_wrap(-EIO, "middle %d", 2);
	is(e, -EIO, "lb_err_wrap returns its code");
	lb_err_wrap(-EIO, "outer");
	ok(!strcmp(lb_errmsg(), "outer: middle 2: inner"), "wraps nest outermost first: '%s'", lb_errmsg());

	lb_err_clear();
	lb_err_wrap(-LB_E_NOTFOUND, "snapshot abc");
	ok(!strcmp(lb_errmsg(), "snapshot abc: not found"), "wrapping no message uses lb_strerror: '%s'",
	   lb_errmsg());

	lb_err_set_text("copied from a worker");
	ok(!strcmp(lb_errmsg(), "copied from a worker"), "lb_err_set_text sets the text");

	/* a format argument that is the current message itself */
	lb_err(-EIO, "base");
	lb_err(-EIO, "%s and more", "x");
	ok(!strcmp(lb_errmsg(), "x and more"), "lb_err replaces the message");
}

static void test_strerror(void)
{
	ok(!strcmp(lb_strerror(LB_E_PASSWORD), "wrong password"), "LB_E_PASSWORD word");
	ok(!strcmp(lb_strerror(-LB_E_PASSWORD), "wrong password"), "negative codes accepted");
	ok(strstr(lb_strerror(LB_E_VERSION), "newer") != NULL, "LB_E_VERSION mentions a newer version");
	ok(strstr(lb_strerror(LB_E_BUSY), "running") != NULL, "LB_E_BUSY says already running");
	ok(!strcmp(lb_strerror(-ENOENT), strerror(ENOENT)), "errno codes use strerror");
	{
		int all = 1;

		for (int c = LB_E_CORRUPT; c <= LB_E_AMBIGUOUS; c++)
			if (!lb_strerror(c) || !lb_strerror(c)[0] || !strncmp(lb_strerror(c), "Unknown error", 13))
				all = 0;
		ok(all, "every lifeboat code has its own word");
	}
}

static int all_chars(const char *s, char c, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != c)
			return 0;
	return 1;
}

static void test_truncation(void)
{
	static char big[10000];
	size_t len;

	memset(big, 'a', sizeof big - 1);
	big[sizeof big - 1] = 0;

	lb_err(-EIO, "%s", big);
	len = strlen(lb_errmsg());
	is(len, MSGMAX - 1, "an over-long lb_err message is cut to the buffer");
	ok(all_chars(lb_errmsg(), 'a', len), "...and keeps its start");

	lb_errno(-ENOENT, "%s", big);
	len = strlen(lb_errmsg());
	ok(len <= MSGMAX - 1, "an over-long lb_errno message fits (%zu)", len);
	ok(all_chars(lb_errmsg(), 'a', 100), "...starting with the message");

	lb_err(-EIO, "short cause");
	lb_err_wrap(-EIO, "%s", big);
	len = strlen(lb_errmsg());
	ok(len <= MSGMAX - 1, "an over-long wrap prefix fits (%zu)", len);

	lb_err(-EIO, "%s", big);
	lb_err_wrap(-EIO, "ctx");
	len = strlen(lb_errmsg());
	ok(len <= MSGMAX - 1 && !strncmp(lb_errmsg(), "ctx: aaaa", 9), "wrapping a full message keeps the prefix");

	/* repeated wrapping never overflows */
	lb_err(-EIO, "root cause");
	for (int i = 0; i < 500; i++)
		lb_err_wrap(-EIO, "level %d", i);
	len = strlen(lb_errmsg());
	ok(len <= MSGMAX - 1 && !strncmp(lb_errmsg(), "level 499: level 498: ", 22),
	   "500 nested wraps stay bounded, outermost first (%zu bytes)", len);

	lb_err_set_text(big);
	is(strlen(lb_errmsg()), MSGMAX - 1, "lb_err_set_text truncates too");
}

struct thr {
	const char *text;
	char seen_before[64];
	char seen_after[64];
	pthread_barrier_t *bar;
};

static void *thread_main(void *arg)
{
	struct thr *t = arg;

	snprintf(t->seen_before, sizeof t->seen_before, "%s", lb_errmsg());
	lb_err(-EIO, "%s", t->text);
	pthread_barrier_wait(t->bar); /* both threads have set theirs */
	pthread_barrier_wait(t->bar);
	snprintf(t->seen_after, sizeof t->seen_after, "%s", lb_errmsg());
	return NULL;
}

static void test_threads(void)
{
	pthread_barrier_t bar;
	pthread_t a, b;
	struct thr ta = { .text = "thread A failed", .bar = &bar }, tb = { .text = "thread B failed", .bar = &bar };

	lb_err(-EIO, "main thread message");
	pthread_barrier_init(&bar, NULL, 3);
	pthread_create(&a, NULL, thread_main, &ta);
	pthread_create(&b, NULL, thread_main, &tb);
	pthread_barrier_wait(&bar);
	lb_err(-EIO, "main changed");
	pthread_barrier_wait(&bar);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	pthread_barrier_destroy(&bar);
	ok(!strcmp(ta.seen_before, "") && !strcmp(tb.seen_before, ""), "a new thread starts with no message");
	ok(!strcmp(ta.seen_after, "thread A failed"), "thread A keeps its own message: '%s'", ta.seen_after);
	ok(!strcmp(tb.seen_after, "thread B failed"), "thread B keeps its own message: '%s'", tb.seen_after);
	ok(!strcmp(lb_errmsg(), "main changed"), "the main thread's message is its own: '%s'", lb_errmsg());
}

int main(void)
{
	test_compose();
	test_strerror();
	test_truncation();
	test_threads();
	return done_testing();
}
