#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lifeboat/verdict.h"
#include "store/store.h"

int lb_verdict_put(struct lb_repo *r, const char *snapshot_id, json_t *v)
{
	char t[64], *text;
	int64_t now = lb_now_ns();
	int e;

	lb_time_format(t, sizeof t, now / 1000000000, now % 1000000000);
	json_object_set_new(v, "time", json_string(t));
	json_object_set_new(v, "snapshot", json_string(snapshot_id));
	text = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		return -ENOMEM;
	e = lb_repo_put_sealed(r, LB_KIND_VERDICT, snapshot_id, text, strlen(text));
	free(text);
	return e;
}

int lb_verdict_get(struct lb_repo *r, const char *snapshot_id, json_t **out)
{
	struct lb_buf b;
	json_error_t je;
	int e;

	lb_buf_init(&b, LB_SNAPSHOT_MAX);
	e = lb_repo_get_sealed(r, LB_KIND_VERDICT, snapshot_id, &b);
	if (e == -ENOENT || (e < 0 && strstr(lb_errmsg(), "No such file")))
		e = lb_err(-LB_E_NOTFOUND, "snapshot %.12s has never been verified", snapshot_id);
	if (e == 0) {
		*out = json_loadb((const char *)b.data, b.len, 0, &je);
		if (!*out)
			e = lb_err(-LB_E_CORRUPT, "verdict %.12s: %s", snapshot_id, je.text);
	}
	lb_buf_release(&b);
	return e;
}
