/* The prune plan codec (see plan.h and docs/FORMAT.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "store/plan.h"

#define PLAN_JSON_MAX (64u << 20)

void lb_plan_release(struct lb_prune_plan *p)
{
	for (size_t i = 0; i < p->npacks; i++)
		free(p->packs[i].entries);
	free(p->packs);
	free(p->index_files);
	free(p->snapshots);
	memset(p, 0, sizeof *p);
}

static int names_json(json_t *arr, char (*v)[65], size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (json_array_append_new(arr, json_string(v[i])) < 0)
			return -ENOMEM;
	return 0;
}

int lb_plan_encode(const struct lb_prune_plan *p, struct lb_buf *out)
{
	json_t *j = json_pack("{s:I, s:I, s:s, s:I, s:[], s:[]}", "time", (json_int_t)p->time_s, "grace",
			      (json_int_t)p->grace_s, "host", p->host, "pid", (json_int_t)p->pid, "index", "snapshots");
	char *text = NULL;
	int e = -ENOMEM;

	if (!j)
		return -ENOMEM;
	if (names_json(json_object_get(j, "index"), p->index_files, p->nindex) < 0 ||
	    names_json(json_object_get(j, "snapshots"), p->snapshots, p->nsnap) < 0)
		goto out;
	if (!(text = json_dumps(j, JSON_COMPACT)))
		goto out;
	if ((e = lb_buf_put_le32(out, (uint32_t)strlen(text))) == 0 &&
	    (e = lb_buf_append(out, text, strlen(text))) == 0)
		e = lb_index_file_encode(p->packs, p->npacks, out);
out:
	free(text);
	json_decref(j);
	return e;
}

static int names_from(json_t *arr, const char *what, char (**v)[65], size_t *n)
{
	size_t i;
	json_t *x;

	if (!json_is_array(arr))
		return lb_err(-LB_E_CORRUPT, "prune plan: '%s' is not a list", what);
	*v = calloc(json_array_size(arr) + 1, sizeof **v);
	if (!*v)
		return -ENOMEM;
	json_array_foreach(arr, i, x) {
		const char *s = json_string_value(x);
		uint8_t id[LB_ID_LEN];

		if (!s || strlen(s) != 64 || lb_unhex(id, sizeof id, s) < 0)
			return lb_err(-LB_E_CORRUPT, "prune plan: '%s' holds an entry that is not an object id", what);
		memcpy((*v)[i], s, 65);
	}
	*n = json_array_size(arr);
	return 0;
}

static int add_pack(const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e, uint32_t count, void *ctx)
{
	struct lb_prune_plan *p = ctx;
	struct lb_index_pack *ip;
	void *np;

	if (!(np = realloc(p->packs, (p->npacks + 1) * sizeof *p->packs)))
		return -ENOMEM;
	p->packs = np;
	ip = &p->packs[p->npacks];
	memcpy(ip->id, pack_id, LB_ID_LEN);
	ip->count = count;
	if (!(ip->entries = malloc((count ? count : 1) * sizeof *e)))
		return -ENOMEM;
	if (count) /* e is NULL for a pack without entries */
		memcpy(ip->entries, e, count * sizeof *e);
	p->npacks++;
	return 0;
}

int lb_plan_decode(const uint8_t *data, size_t n, struct lb_prune_plan *p)
{
	struct lb_reader rd;
	const uint8_t *jt;
	json_int_t t, g, pid;
	const char *host;
	json_error_t je;
	json_t *j = NULL;
	uint32_t jlen;
	int e;

	memset(p, 0, sizeof *p);
	lb_reader_init(&rd, data, n);
	if ((e = lb_get_le32(&rd, &jlen)) < 0)
		return lb_err(e, "prune plan: truncated");
	if (jlen > PLAN_JSON_MAX || (e = lb_get_raw(&rd, jlen, &jt)) < 0)
		return lb_err(-LB_E_CORRUPT, "prune plan: header of %u bytes exceeds the object", jlen);
	if ((e = lb_index_file_decode(rd.p + rd.off, lb_reader_left(&rd), NULL, NULL)) < 0)
		return lb_err_wrap(e, "prune plan: condemned packs");
	j = json_loadb((const char *)jt, jlen, JSON_REJECT_DUPLICATES, &je);
	if (!j || json_unpack(j, "{s:I, s:I, s:s, s:I}", "time", &t, "grace", &g, "host", &host, "pid", &pid) < 0 ||
	    g < 0 || strlen(host) >= sizeof p->host) { /* cut, it might not even be UTF-8 any more */
		e = lb_err(-LB_E_CORRUPT, "prune plan: header is not valid JSON with time, grace, host and pid");
		goto fail;
	}
	p->time_s = t;
	p->grace_s = g;
	p->pid = (long)pid;
	snprintf(p->host, sizeof p->host, "%s", host);
	if ((e = names_from(json_object_get(j, "index"), "index", &p->index_files, &p->nindex)) < 0 ||
	    (e = names_from(json_object_get(j, "snapshots"), "snapshots", &p->snapshots, &p->nsnap)) < 0)
		goto fail;
	if ((e = lb_index_file_decode(rd.p + rd.off, lb_reader_left(&rd), add_pack, p)) < 0)
		goto fail;
	json_decref(j);
	return 0;
fail:
	json_decref(j);
	lb_plan_release(p);
	return e;
}

int lb_plan_read(struct lb_repo *r, struct lb_prune_plan *p)
{
	struct lb_buf b;
	int e;

	memset(p, 0, sizeof *p);
	lb_buf_init(&b, LB_INDEX_FILE_MAX);
	e = lb_repo_get_sealed(r, LB_KIND_LOCK, LB_PLAN_NAME, &b);
	if (e == -ENOENT) {
		lb_err_clear();
	} else if (e == 0) {
		e = lb_plan_decode(b.data, b.len, p);
		if (e < 0 && e != -ENOMEM)
			lb_err_wrap(e, "locks/%s", LB_PLAN_NAME);
	}
	lb_buf_release(&b);
	return e;
}

int lb_plan_write(struct lb_repo *r, const struct lb_prune_plan *p)
{
	struct lb_buf b;
	int e;

	lb_buf_init(&b, LB_INDEX_FILE_MAX);
	e = lb_plan_encode(p, &b);
	if (e == 0)
		e = lb_repo_put_sealed(r, LB_KIND_LOCK, LB_PLAN_NAME, b.data, b.len);
	lb_buf_release(&b);
	return e;
}

int lb_plan_remove(struct lb_repo *r)
{
	int e = r->be->ops->remove(r->be, LB_KIND_LOCK, LB_PLAN_NAME);

	if (e == -ENOENT) {
		lb_err_clear();
		e = 0;
	}
	return e;
}
