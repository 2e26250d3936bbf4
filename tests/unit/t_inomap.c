/* Unit tests for lib/util/inomap.c: (dev, ino) -> index, the hard-link
 * tables' lookup. */
#include <stdint.h>

#include "tap.h"
#include "util/util.h"

int main(void)
{
	struct lb_inomap m = { 0 };
	unsigned bad = 0;

	is(lb_inomap_get(&m, 1, 2), SIZE_MAX, "an empty map finds nothing");
	is(lb_inomap_add(&m, 1, 2, 0), 0, "an entry added");
	is(lb_inomap_get(&m, 1, 2), 0, "... and found");
	is(lb_inomap_get(&m, 2, 1), SIZE_MAX, "dev and ino are not interchangeable");
	is(lb_inomap_add(&m, 1, 2, 7), 1, "a second add of the same key says so");
	is(lb_inomap_get(&m, 1, 2), 0, "... and the first index stays");
	/* enough to grow several times; keys that share an ino or a dev */
	for (size_t i = 1; i <= 5000; i++)
		if (lb_inomap_add(&m, i % 3, i, i) != 0 || lb_inomap_add(&m, 1000 + i, 42, 10000 + i) != 0)
			bad++;
	for (size_t i = 1; i <= 5000; i++)
		if (lb_inomap_get(&m, i % 3, i) != i || lb_inomap_get(&m, 1000 + i, 42) != 10000 + i)
			bad++;
	is(bad, 0, "10000 more keys through growth: every one found with its index");
	is(m.n, 10001, "10001 distinct keys held");
	is(lb_inomap_get(&m, 1, 2), 0, "the first key still found");
	ok(m.n * 2 <= m.cap, "at most half full");
	lb_inomap_free(&m);
	ok(m.v == NULL && m.n == 0 && m.cap == 0, "free leaves it empty and reusable");
	return done_testing();
}
