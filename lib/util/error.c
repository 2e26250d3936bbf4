#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lifeboat/error.h"

#define LB_ERRMSG_MAX 2048

static _Thread_local char errbuf[LB_ERRMSG_MAX];

static void join(const char *a, const char *b);

const char *lb_strerror(int code)
{
	if (code < 0)
		code = -code;
	switch (code) {
	case LB_E_CORRUPT: return "data corrupted";
	case LB_E_AUTH: return "authentication failed (data corrupted or wrong key)";
	case LB_E_PASSWORD: return "wrong password";
	case LB_E_VERSION: return "written by a newer version of lifeboat";
	case LB_E_BUSY: return "already running";
	case LB_E_CANCELED: return "canceled";
	case LB_E_NOTFOUND: return "not found";
	case LB_E_AMBIGUOUS: return "ambiguous";
	default: return strerror(code);
	}
}

int lb_err(int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	return code;
}

int lb_errno(int code, const char *fmt, ...)
{
	va_list ap;

	char what[LB_ERRMSG_MAX];

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	join(what, lb_strerror(code));
	return code;
}

/* Joins a, ": " and b into errbuf, cutting b if it must. */
static void join(const char *a, const char *b)
{
	char out[LB_ERRMSG_MAX];
	size_t la = strnlen(a, sizeof out - 3), lb = strlen(b);

	memcpy(out, a, la);
	memcpy(out + la, ": ", 2);
	if (lb > sizeof out - la - 3)
		lb = sizeof out - la - 3;
	memcpy(out + la + 2, b, lb);
	out[la + 2 + lb] = 0;
	memcpy(errbuf, out, la + 3 + lb);
}

int lb_err_wrap(int code, const char *fmt, ...)
{
	char prefix[LB_ERRMSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	join(prefix, errbuf[0] ? errbuf : lb_strerror(code));
	return code;
}

const char *lb_errmsg(void)
{
	return errbuf;
}

void lb_err_clear(void)
{
	errbuf[0] = 0;
}

void lb_err_set_text(const char *msg)
{
	snprintf(errbuf, sizeof errbuf, "%s", msg);
}
