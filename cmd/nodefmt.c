#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "nodefmt.h"

const char *nodefmt_type(uint8_t t)
{
	switch (t) {
	case LB_NODE_FILE: return "file";
	case LB_NODE_DIR: return "dir";
	case LB_NODE_SYMLINK: return "symlink";
	case LB_NODE_FIFO: return "fifo";
	case LB_NODE_CHR: return "chardev";
	case LB_NODE_BLK: return "blockdev";
	default: return "unknown";
	}
}

json_t *nodefmt_json_bytes(const char *p, size_t n, bool *escaped)
{
	json_t *j = memchr(p, 0, n) ? NULL : json_stringn(p, n);
	char *esc;

	if (j)
		return j;
	esc = cli_escape(p, n);
	j = json_string(esc ? esc : "");
	free(esc);
	if (escaped)
		*escaped = true;
	return j;
}

void nodefmt_local_time(char *out, size_t n, int64_t sec)
{
	time_t t = (time_t)sec;
	struct tm tm;

	if (!localtime_r(&t, &tm)) {
		snprintf(out, n, "@%lld", (long long)sec);
		return;
	}
	strftime(out, n, "%Y-%m-%d %H:%M:%S", &tm);
}

void nodefmt_json_time(char *out, size_t n, int64_t sec, uint32_t nsec)
{
	snprintf(out, n, "%lld.%09u", (long long)sec, nsec);
}

/* key: the bytes as a JSON string; "<key>_escaped": true beside it when
 * they had to be escaped, as "path" and "path_escaped" are. */
static void set_bytes(json_t *j, const char *key, const char *p, size_t len)
{
	bool escaped = false;
	char flag[64];

	json_object_set_new(j, key, nodefmt_json_bytes(p, len, &escaped));
	if (escaped) {
		snprintf(flag, sizeof flag, "%s_escaped", key);
		json_object_set_new(j, flag, json_true());
	}
}

json_t *nodefmt_node_json(const struct lb_node *n)
{
	json_t *j = json_object();
	char mt[64];

	if (!j)
		return NULL;
	nodefmt_json_time(mt, sizeof mt, n->mtime_s, n->mtime_ns);
	json_object_set_new(j, "type", json_string(nodefmt_type(n->type)));
	json_object_set_new(j, "size", json_integer((json_int_t)n->size));
	json_object_set_new(j, "mode", json_integer(n->mode));
	json_object_set_new(j, "uid", json_integer(n->uid));
	json_object_set_new(j, "gid", json_integer(n->gid));
	set_bytes(j, "user", n->user ? n->user : "", n->user ? strlen(n->user) : 0);
	set_bytes(j, "group", n->group ? n->group : "", n->group ? strlen(n->group) : 0);
	json_object_set_new(j, "mtime", json_string(mt));
	if (n->type == LB_NODE_SYMLINK)
		set_bytes(j, "target", (const char *)n->target, n->targetlen);
	if (n->type == LB_NODE_CHR || n->type == LB_NODE_BLK)
		json_object_set_new(j, "rdev", json_integer((json_int_t)n->rdev));
	return j;
}

void nodefmt_print_json(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_COMPACT) : NULL;

	if (s)
		printf("%s\n", s);
	free(s);
	json_decref(j);
}
