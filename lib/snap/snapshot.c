#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lifeboat/snapshot.h"
#include "store/store.h"

#define SNAPSHOT_VERSION 1

void lb_snapshot_free(struct lb_snapshot *s)
{
	if (!s)
		return;
	free(s->host);
	free(s->user);
	for (size_t i = 0; i < s->npaths; i++)
		free(s->paths[i]);
	free(s->paths);
	for (size_t i = 0; i < s->ntags; i++)
		free(s->tags[i]);
	free(s->tags);
	json_decref(s->json);
	free(s);
}

void lb_snapshot_list_free(struct lb_snapshot **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		lb_snapshot_free(v[i]);
	free(v);
}

static int str_array(json_t *a, char ***out, size_t *n)
{
	size_t i;
	json_t *v;

	*out = NULL;
	*n = 0;
	if (!a)
		return 0;
	if (!json_is_array(a))
		return -LB_E_CORRUPT;
	*out = calloc(json_array_size(a) + 1, sizeof **out);
	if (!*out)
		return -ENOMEM;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return -LB_E_CORRUPT;
		(*out)[i] = strdup(json_string_value(v));
		if (!(*out)[i])
			return -ENOMEM;
		*n = i + 1;
	}
	return 0;
}

int lb_snapshot_parse(const char *text, size_t len, struct lb_snapshot **out)
{
	struct lb_snapshot *s = calloc(1, sizeof *s);
	const char *time = NULL, *host = NULL, *user = "", *tree = NULL, *parent = NULL;
	json_t *jparent = NULL;
	uint8_t pid[32];
	json_int_t version = 0;
	json_error_t jerr;
	int e = -LB_E_CORRUPT;

	if (!s)
		return -ENOMEM;
	s->json = json_loadb(text, len, 0, &jerr);
	if (!s->json) {
		lb_err(e, "manifest is not valid JSON: %s", jerr.text);
		goto fail;
	}
	if (json_unpack(s->json, "{s:I, s:s, s:s, s?s, s:s, s?o}", "version", &version, "time", &time,
			"host", &host, "user", &user, "tree", &tree, "parent", &jparent) != 0 ||
	    (jparent && !json_is_null(jparent) && !json_is_string(jparent))) {
		lb_err(e, "manifest lacks version, time, host or tree");
		goto fail;
	}
	parent = json_is_string(jparent) ? json_string_value(jparent) : NULL;
	if (version < 1) {
		lb_err(e, "manifest version %lld is invalid", (long long)version);
		goto fail;
	}
	if (version > SNAPSHOT_VERSION) {
		e = lb_err(-LB_E_VERSION, "snapshot version %lld is newer than this lifeboat supports",
			   (long long)version);
		goto fail;
	}
	if (lb_time_parse(time, &s->time_s, &s->time_ns) < 0) {
		lb_err(e, "manifest time '%s' is malformed", time);
		goto fail;
	}
	if (lb_unhex(s->tree, 32, tree) < 0 || (parent && parent[0] && lb_unhex(pid, 32, parent) < 0)) {
		lb_err(e, "manifest tree or parent id is malformed");
		goto fail;
	}
	snprintf(s->parent, sizeof s->parent, "%s", parent ? parent : "");
	s->host = strdup(host);
	s->user = strdup(user);
	if (!s->host || !s->user) {
		e = -ENOMEM;
		goto fail;
	}
	if ((e = str_array(json_object_get(s->json, "paths"), &s->paths, &s->npaths)) < 0 ||
	    (e = str_array(json_object_get(s->json, "tags"), &s->tags, &s->ntags)) < 0) {
		if (e != -ENOMEM)
			lb_err(e, "manifest paths or tags are malformed");
		goto fail;
	}
	*out = s;
	return 0;
fail:
	lb_snapshot_free(s);
	return e;
}

int lb_snapshot_load(struct lb_repo *r, const char *id, struct lb_snapshot **out)
{
	struct lb_buf plain;
	int e;

	lb_buf_init(&plain, LB_SNAPSHOT_MAX);
	e = lb_repo_get_sealed(r, LB_KIND_SNAPSHOT, id, &plain);
	if (e == 0) {
		uint8_t want[32], got[32];

		/* the name is the keyed hash of the manifest: a manifest copied or
		 * renamed to another name is not that snapshot */
		if (lb_unhex(want, 32, id) < 0 || lb_repo_blob_id(r, plain.data, plain.len, got) < 0 ||
		    memcmp(want, got, 32) != 0) {
			e = lb_err(-LB_E_AUTH, "snapshot %s: the manifest does not match its name", id);
			goto out;
		}
		e = lb_snapshot_parse((const char *)plain.data, plain.len, out);
		if (e < 0)
			lb_err_wrap(e, "snapshot %s", id);
		else
			snprintf((*out)->id, sizeof (*out)->id, "%s", id);
	}
out:
	lb_buf_release(&plain);
	return e;
}

struct list_ctx {
	struct lb_repo *r;
	struct lb_snapshot **v;
	size_t n, cap;
};

static int list_cb(const char *name, uint64_t size, void *ctx)
{
	struct list_ctx *c = ctx;
	struct lb_snapshot *s;
	int e;

	if (strlen(name) != 64)
		return 0;
	e = lb_snapshot_load(c->r, name, &s);
	if (e == -ENOMEM)
		return e;
	if (e < 0) {
		lb_log(LB_LOG_WARN, "%s", lb_errmsg());
		return 0;
	}
	if (c->n == c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 16;
		void *p = realloc(c->v, ncap * sizeof *c->v);

		if (!p) {
			lb_snapshot_free(s);
			return -ENOMEM;
		}
		c->v = p;
		c->cap = ncap;
	}
	c->v[c->n++] = s;
	return 0;
}

static int cmp_time(const void *a, const void *b)
{
	const struct lb_snapshot *x = *(struct lb_snapshot * const *)a, *y = *(struct lb_snapshot * const *)b;

	if (x->time_s != y->time_s)
		return x->time_s < y->time_s ? -1 : 1;
	if (x->time_ns != y->time_ns)
		return x->time_ns < y->time_ns ? -1 : 1;
	return strcmp(x->id, y->id);
}

int lb_snapshot_list(struct lb_repo *r, struct lb_snapshot ***out, size_t *n)
{
	struct list_ctx c = { .r = r };
	int e = r->be->ops->list(r->be, LB_KIND_SNAPSHOT, list_cb, &c);

	if (e < 0) {
		lb_snapshot_list_free(c.v, c.n);
		return e;
	}
	if (c.n > 1)
		qsort(c.v, c.n, sizeof *c.v, cmp_time);
	*out = c.v;
	*n = c.n;
	return 0;
}

struct find_ctx {
	const char *prefix;
	size_t plen;
	char match[65];
	int nmatch;
};

static int find_cb(const char *name, uint64_t size, void *ctx)
{
	struct find_ctx *c = ctx;

	if (strlen(name) == 64 && strncmp(name, c->prefix, c->plen) == 0) {
		if (c->nmatch++ == 0)
			snprintf(c->match, sizeof c->match, "%s", name);
	}
	return 0;
}

int lb_snapshot_find(struct lb_repo *r, const char *spec, struct lb_snapshot **out)
{
	struct find_ctx c = { .prefix = spec, .plen = strlen(spec) };
	int e;

	if (strcmp(spec, "latest") == 0) {
		struct lb_snapshot **v;
		size_t n, i;

		if ((e = lb_snapshot_list(r, &v, &n)) < 0)
			return e;
		/* the latest backup: binlog archive segments are not backups */
		for (i = n; i-- > 0;)
			if (!json_object_get(json_object_get(v[i]->json, "sources"), "binlog"))
				break;
		if (i == (size_t)-1) {
			lb_snapshot_list_free(v, n);
			return lb_err(-LB_E_NOTFOUND, "snapshot latest: the repository has no snapshots");
		}
		*out = v[i];
		v[i] = NULL;
		lb_snapshot_list_free(v, n);
		return 0;
	}
	for (const char *p = spec; *p; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return lb_err(-LB_E_NOTFOUND, "snapshot %s: not a snapshot id (expected hex digits or 'latest')",
				      spec);
	if (c.plen == 0 || c.plen > 64)
		return lb_err(-LB_E_NOTFOUND, "snapshot '%s': not a snapshot id", spec);
	if ((e = r->be->ops->list(r->be, LB_KIND_SNAPSHOT, find_cb, &c)) < 0)
		return e;
	if (c.nmatch == 0)
		return lb_err(-LB_E_NOTFOUND, "snapshot %s: no such snapshot", spec);
	if (c.nmatch > 1)
		return lb_err(-LB_E_AMBIGUOUS, "snapshot %s: prefix matches %d snapshots; give more digits",
			      spec, c.nmatch);
	return lb_snapshot_load(r, c.match, out);
}

json_t *lb_json_string_bytes(const char *s)
{
	json_t *j = json_string(s);
	const unsigned char *p = (const unsigned char *)s;
	char *esc, *w;

	if (j)
		return j;
	/* not UTF-8 (a Latin-1 path, say): JSON cannot hold it, so store it
	 * with each byte outside ASCII as \xNN and a backslash as \\ */
	esc = malloc(strlen(s) * 4 + 1);
	if (!esc)
		return NULL;
	for (w = esc; *p; p++) {
		if (*p == '\\') {
			*w++ = '\\';
			*w++ = '\\';
		} else if (*p >= 0x80 || *p < 0x20) {
			w += sprintf(w, "\\x%02x", *p);
		} else {
			*w++ = (char)*p;
		}
	}
	*w = 0;
	j = json_string(esc);
	free(esc);
	return j;
}

static json_t *json_strs(char **v, size_t n)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_array_append_new(a, lb_json_string_bytes(v[i])) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

int lb_snapshot_save(struct lb_repo *r, struct lb_snapshot *s)
{
	char tbuf[64], treehex[65];
	uint8_t id[32];
	char *text = NULL;
	json_t *j;
	int e = -ENOMEM;

	j = s->json ? json_deep_copy(s->json) : json_object();
	if (!j)
		return -ENOMEM;
	lb_time_format(tbuf, sizeof tbuf, s->time_s, s->time_ns);
	lb_hex(treehex, s->tree, 32);
	if (json_object_set_new(j, "version", json_integer(SNAPSHOT_VERSION)) ||
	    json_object_set_new(j, "time", json_string(tbuf)) ||
	    json_object_set_new(j, "host", lb_json_string_bytes(s->host ? s->host : "")) ||
	    json_object_set_new(j, "user", lb_json_string_bytes(s->user ? s->user : "")) ||
	    json_object_set_new(j, "paths", json_strs(s->paths, s->npaths)) ||
	    json_object_set_new(j, "tags", json_strs(s->tags, s->ntags)) ||
	    json_object_set_new(j, "tree", json_string(treehex)) ||
	    json_object_set_new(j, "parent", s->parent[0] ? json_string(s->parent) : json_null()))
		goto out;
	text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	if (!text)
		goto out;
	if (strlen(text) > LB_SNAPSHOT_MAX - LB_ENVELOPE_HEADER_LEN - LB_TAG_LEN) {
		e = lb_err(-EFBIG, "snapshot manifest of %zu bytes exceeds the limit of %u", strlen(text),
			   LB_SNAPSHOT_MAX);
		goto out;
	}
	/* the id is the keyed hash of the manifest: deterministic, unforgeable */
	if ((e = lb_repo_blob_id(r, text, strlen(text), id)) < 0)
		goto out;
	lb_hex(s->id, id, 32);
	if ((e = lb_repo_put_sealed(r, LB_KIND_SNAPSHOT, s->id, text, strlen(text))) < 0)
		goto out;
	json_decref(s->json);
	s->json = j;
	j = NULL;
out:
	free(text);
	json_decref(j);
	return e;
}

char *lb_snapshot_dump(const struct lb_snapshot *s)
{
	return json_dumps(s->json, JSON_INDENT(2) | JSON_SORT_KEYS);
}
