/* Unit tests for lib/util/progress.c: what a progress line and a stall
 * watchdog read. */
#include <string.h>
#include <time.h>

#include "tap.h"
#include "lifeboat/progress.h"

int main(void)
{
	struct lb_progress p;
	char path[64];
	int64_t ns = -1;

	lb_progress_init(&p);
	ok(p.files == 0 && p.bytes == 0 && p.bytes_total == 0 && !p.cancel && p.op_start_ns == 0, "init zeroes everything");
	lb_progress_current(&p, path, sizeof path, &ns);
	ok(path[0] == 0 && ns == 0, "idle: no path, no running time");
	lb_progress_op(&p, "/srv/big/file");
	nanosleep(&(struct timespec){ 0, 20 * 1000 * 1000 }, NULL);
	lb_progress_current(&p, path, sizeof path, &ns);
	ok(!strcmp(path, "/srv/big/file"), "the current path");
	ok(ns >= 20 * 1000 * 1000 && ns < 10ll * 1000 * 1000 * 1000, "how long the operation has run (%lld ns)", (long long)ns);
	lb_progress_op(&p, NULL);
	lb_progress_current(&p, path, sizeof path, &ns);
	ok(ns == 0 && !strcmp(path, "/srv/big/file"), "idle again: running time 0, the last path kept");
	{
		char longpath[6000], small[8];

		memset(longpath, 'p', sizeof longpath - 1);
		longpath[sizeof longpath - 1] = 0;
		lb_progress_op(&p, longpath);
		lb_progress_current(&p, small, sizeof small, &ns);
		ok(strlen(small) == 7, "a path longer than the buffers is cut safely");
	}
	lb_progress_op(NULL, "/x");
	ok(1, "lb_progress_op(NULL, ...) is a no-op");
	lb_progress_release(&p);
	return done_testing();
}
