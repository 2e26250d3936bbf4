#include <stdarg.h>
#include <stdio.h>

#include "util/util.h"

static lb_log_fn log_fn;
static void *log_ctx;

void lb_log_set_handler(lb_log_fn fn, void *ctx)
{
	log_fn = fn;
	log_ctx = ctx;
}

void lb_log(int level, const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	if (!log_fn)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_fn(level, msg, log_ctx);
}
