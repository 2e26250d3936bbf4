/* Fuzzes lb_snapshot_parse, the manifest JSON inside every snapshot object.
 *
 * Invariants: an accepted manifest has a 32-byte tree id, a parent that is
 * empty or an id (64 hex digits), NUL-terminated strings, and it survives
 * lb_snapshot_dump -> lb_snapshot_parse with the same fields. */
#include <string.h>

#include "lifeboat/snapshot.h"
#include "util/util.h"
#include "fuzz.h"

static void check_same(const struct lb_snapshot *a, const struct lb_snapshot *b)
{
	FUZZ_ASSERT(a->time_s == b->time_s && a->time_ns == b->time_ns);
	FUZZ_ASSERT(strcmp(a->host, b->host) == 0 && strcmp(a->user, b->user) == 0);
	FUZZ_ASSERT(memcmp(a->tree, b->tree, 32) == 0 && strcmp(a->parent, b->parent) == 0);
	FUZZ_ASSERT(a->npaths == b->npaths && a->ntags == b->ntags);
	for (size_t i = 0; i < a->npaths; i++)
		FUZZ_ASSERT(strcmp(a->paths[i], b->paths[i]) == 0);
	for (size_t i = 0; i < a->ntags; i++)
		FUZZ_ASSERT(strcmp(a->tags[i], b->tags[i]) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_snapshot *s = NULL, *s2 = NULL;
	char *text;

	if (lb_snapshot_parse((const char *)data, size, &s) < 0)
		return 0;
	FUZZ_ASSERT(s && s->json && s->host && s->user);
	/* parse says "tree or parent id is malformed": an id is 64 hex digits */
	if (s->parent[0]) {
		uint8_t pid[32];

		FUZZ_ASSERT(lb_unhex(pid, sizeof pid, s->parent) == 0);
	}
	FUZZ_ASSERT(s->time_ns >= 0 && s->time_ns < 1000000000L);
	FUZZ_ASSERT(s->npaths == 0 || s->paths);
	FUZZ_ASSERT(s->ntags == 0 || s->tags);
	for (size_t i = 0; i < s->npaths; i++)
		FUZZ_ASSERT(s->paths[i] != NULL);
	for (size_t i = 0; i < s->ntags; i++)
		FUZZ_ASSERT(s->tags[i] != NULL);
	{
		/* what `snapshots` prints for it */
		char t[64];

		lb_time_format(t, sizeof t, s->time_s, s->time_ns);
	}

	text = lb_snapshot_dump(s);
	FUZZ_ASSERT(text != NULL);
	FUZZ_ASSERT(lb_snapshot_parse(text, strlen(text), &s2) == 0);
	check_same(s, s2);
	free(text);
	lb_snapshot_free(s);
	lb_snapshot_free(s2);
	return 0;
}
