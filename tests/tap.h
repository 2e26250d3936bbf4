/* A small TAP producer for the C unit tests (one binary per module). */
#ifndef LB_TAP_H
#define LB_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed, tap_planned;

static inline void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
}

static inline int ok_(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	tap_n++;
	printf("%sok %d - ", cond ? "" : "not ", tap_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
	return cond;
}
#define ok(cond, ...) ok_(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is(got, want, ...)                                                              \
	do {                                                                            \
		long long g_ = (long long)(got), w_ = (long long)(want);                \
		if (!ok(g_ == w_, __VA_ARGS__))                                         \
			printf("#   got %lld, want %lld\n", g_, w_);                    \
	} while (0)

static inline void diag(const char *fmt, ...)
{
	va_list ap;

	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline void skip(const char *why)
{
	tap_n++;
	printf("ok %d # skip %s\n", tap_n, why);
}

static inline int done_testing(void)
{
	if (!tap_planned)
		printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* A fresh temporary directory for the test; removed by tap_tmp_cleanup(). */
static char tap_tmpdir[256];
static inline const char *tap_tmp(void)
{
	if (!tap_tmpdir[0]) {
		snprintf(tap_tmpdir, sizeof tap_tmpdir, "%s/lbtest.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
		if (!mkdtemp(tap_tmpdir)) {
			perror("mkdtemp");
			exit(2);
		}
	}
	return tap_tmpdir;
}
static inline void tap_tmp_cleanup(void)
{
	char cmd[300];

	if (tap_tmpdir[0]) {
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", tap_tmpdir);
		if (system(cmd) != 0)
			diag("could not remove %s", tap_tmpdir);
	}
}

#endif
