/* Unit tests for lib/util/log.c: the library's only voice is a handler. */
#include <string.h>

#include "tap.h"
#include "util/util.h"

struct cap {
	int calls, level;
	char msg[4096];
};

static void handler(int level, const char *msg, void *ctx)
{
	struct cap *c = ctx;

	c->calls++;
	c->level = level;
	snprintf(c->msg, sizeof c->msg, "%s", msg);
}

int main(void)
{
	struct cap c = { 0 }, d = { 0 };
	static char big[5000];

	lb_log(LB_LOG_ERROR, "dropped %d", 1);
	ok(1, "without a handler a message is dropped (no crash)");
	lb_log_set_handler(handler, &c);
	lb_log(LB_LOG_WARN, "pack %s: %d blobs", "ab12", 3);
	ok(c.calls == 1 && c.level == LB_LOG_WARN && !strcmp(c.msg, "pack ab12: 3 blobs"), "the handler gets level and text");
	lb_log(LB_LOG_DEBUG, "%s", "");
	ok(c.calls == 2 && c.level == LB_LOG_DEBUG && c.msg[0] == 0, "every level is passed on, even an empty message");
	memset(big, 'm', sizeof big - 1);
	lb_log(LB_LOG_INFO, "%s", big);
	ok(c.calls == 3 && strlen(c.msg) > 1000 && strlen(c.msg) < sizeof big - 1, "a long message is cut, not overflowed (%zu)",
	   strlen(c.msg));
	lb_log_set_handler(handler, &d);
	lb_log(LB_LOG_ERROR, "x");
	ok(c.calls == 3 && d.calls == 1, "a new handler and context replace the old");
	lb_log_set_handler(NULL, NULL);
	lb_log(LB_LOG_ERROR, "y");
	ok(d.calls == 1, "a NULL handler silences the library");
	return done_testing();
}
