#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/util.h"

int64_t lb_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t lb_mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void lb_time_format(char *out, size_t n, int64_t sec, long nsec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!gmtime_r(&t, &tm)) {
		snprintf(out, n, "@%lld", (long long)sec);
		return;
	}
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nsec);
}

int lb_time_parse(const char *s, int64_t *sec, long *nsec)
{
	struct tm tm;
	const char *p;
	long ns = 0;

	memset(&tm, 0, sizeof tm);
	p = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!p) {
		memset(&tm, 0, sizeof tm);
		p = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	}
	if (!p) {
		memset(&tm, 0, sizeof tm);
		p = strptime(s, "%Y-%m-%d", &tm);
	}
	if (!p)
		return -EINVAL;
	if (*p == '.') {
		int digits = 0;

		p++;
		while (*p >= '0' && *p <= '9') {
			if (digits < 9) {
				ns = ns * 10 + (*p - '0');
				digits++;
			}
			p++;
		}
		while (digits++ < 9)
			ns *= 10;
	}
	if (*p == 'Z')
		p++;
	if (*p)
		return -EINVAL;
	*sec = (int64_t)timegm(&tm);
	*nsec = ns;
	return 0;
}
