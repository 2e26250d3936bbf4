#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lifeboat/browse.h"
#include "lifeboat/snapshot.h"
#include "lifeboat/util.h"

static const char *type_name(uint8_t t)
{
	static const char *names[] = { "?", "file", "dir", "symlink", "fifo", "chardev", "blockdev" };

	return t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static json_t *jstr_bytes(const uint8_t *p, size_t n)
{
	json_t *s = memchr(p, 0, n) ? NULL : json_stringn((const char *)p, n);

	if (!s) {
		char *e = cli_escape((const char *)p, n);

		s = json_string(e ? e : "");
		free(e);
	}
	return s;
}

static json_t *node_json(const struct lb_node *n)
{
	char hex[65], t[64];
	json_t *j = json_object(), *x = json_array();

	json_object_set_new(j, "name", jstr_bytes(n->name, n->namelen));
	json_object_set_new(j, "type", json_string(type_name(n->type)));
	json_object_set_new(j, "mode", json_integer(n->mode));
	json_object_set_new(j, "uid", json_integer(n->uid));
	json_object_set_new(j, "gid", json_integer(n->gid));
	json_object_set_new(j, "user", jstr_bytes((const uint8_t *)(n->user ? n->user : ""), n->user ? strlen(n->user) : 0));
	json_object_set_new(j, "group", jstr_bytes((const uint8_t *)(n->group ? n->group : ""), n->group ? strlen(n->group) : 0));
	lb_time_format(t, sizeof t, n->mtime_s, n->mtime_ns);
	json_object_set_new(j, "mtime", json_string(t));
	lb_time_format(t, sizeof t, n->atime_s, n->atime_ns);
	json_object_set_new(j, "atime", json_string(t));
	lb_time_format(t, sizeof t, n->ctime_s, n->ctime_ns);
	json_object_set_new(j, "ctime", json_string(t));
	json_object_set_new(j, "size", json_integer((json_int_t)n->size));
	json_object_set_new(j, "dev", json_integer((json_int_t)n->dev));
	json_object_set_new(j, "ino", json_integer((json_int_t)n->ino));
	json_object_set_new(j, "nlink", json_integer((json_int_t)n->nlink));
	if (n->type == LB_NODE_CHR || n->type == LB_NODE_BLK)
		json_object_set_new(j, "rdev", json_integer((json_int_t)n->rdev));
	if (n->type == LB_NODE_SYMLINK)
		json_object_set_new(j, "target", jstr_bytes(n->target, n->targetlen));
	for (size_t i = 0; i < n->nxattrs; i++) {
		char *v = malloc(2 * n->xattrs[i].len + 1);

		if (v)
			lb_hex(v, n->xattrs[i].value, n->xattrs[i].len);
		json_array_append_new(x, json_pack("{s:o, s:s}", "name",
						   jstr_bytes((const uint8_t *)n->xattrs[i].name, strlen(n->xattrs[i].name)),
						   "value_hex", v ? v : ""));
		free(v);
	}
	json_object_set_new(j, "xattrs", x);
	if (n->type == LB_NODE_FILE) {
		json_t *c = json_array();

		for (size_t i = 0; i < n->nextents; i++) {
			if (n->extents[i].hole) {
				json_array_append_new(c, json_pack("{s:I}", "hole", (json_int_t)n->extents[i].len));
			} else {
				lb_hex(hex, n->extents[i].id, 32);
				json_array_append_new(c, json_pack("{s:s, s:I}", "id", hex, "len",
								   (json_int_t)n->extents[i].len));
			}
		}
		json_object_set_new(j, "content", c);
	} else if (n->type == LB_NODE_DIR) {
		lb_hex(hex, n->subtree, 32);
		json_object_set_new(j, "subtree", json_string(hex));
	}
	return j;
}

static int print_json(json_t *j)
{
	char *s = j ? json_dumps(j, JSON_INDENT(2)) : NULL;

	if (!s)
		return EXIT_ERROR;
	printf("%s\n", s);
	free(s);
	return EXIT_OK;
}

static int cat_tree(struct lb_repo *r, const char *spec)
{
	uint8_t id[32];
	struct lb_tree t;
	json_t *arr;
	char *copy = strdup(spec), *colon = copy ? strchr(copy, ':') : NULL;
	struct lb_snapshot *s = NULL;
	int e, ret;

	/* the snapshot before the index: one committed in between is complete */
	if (colon)
		*colon = 0;
	if (copy && !(strlen(spec) == 64 && lb_unhex(id, 32, spec) == 0))
		lb_snapshot_find(r, copy, &s);
	if ((e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0) {
		free(copy);
		lb_snapshot_free(s);
		return cli_fail(e);
	}
	if (strlen(spec) != 64 || lb_unhex(id, 32, spec) < 0 || (e = lb_browse_load_tree(r, id, &t)) < 0) {
		/* SNAPSHOT[:PATH] */
		struct lb_node n;

		e = copy ? (s ? 0 : lb_snapshot_find(r, copy, &s)) : -ENOMEM;
		if (e == 0)
			e = lb_browse_lookup(r, s->tree, colon ? colon + 1 : "/", &n);
		if (e < 0) {
			free(copy);
			lb_snapshot_free(s);
			return cli_fail(e);
		}
		if (n.type != LB_NODE_DIR) {
			lb_node_release(&n);
			free(copy);
			lb_snapshot_free(s);
			cli_error("%s: not a directory", spec);
			return EXIT_ERROR;
		}
		memcpy(id, n.subtree, 32);
		lb_node_release(&n);
		if ((e = lb_browse_load_tree(r, id, &t)) < 0) {
			free(copy);
			lb_snapshot_free(s);
			return cli_fail(e);
		}
	}
	free(copy);
	lb_snapshot_free(s);
	arr = json_array();
	for (size_t i = 0; i < t.n; i++)
		json_array_append_new(arr, node_json(&t.nodes[i]));
	ret = print_json(arr);
	json_decref(arr);
	lb_tree_release(&t);
	return ret;
}

int cmd_cat(int argc, char **argv)
{
	static const struct option longopts[] = { CLI_GLOBAL_LONGOPTS, { 0 } };
	struct lb_repo *r = NULL;
	const char *what;
	int c, e, ret = EXIT_ERROR;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		if (c == 'h') {
			printf("usage: lifeboat [-r REPO] cat config | snapshot SNAPSHOT | tree ID|SNAPSHOT[:PATH] | blob ID\n");
			return EXIT_OK;
		}
		return EXIT_USAGE;
	}
	if (optind >= argc) {
		cli_error("usage: lifeboat cat config | snapshot SNAPSHOT | tree ID|SNAPSHOT[:PATH] | blob ID");
		return EXIT_USAGE;
	}
	what = argv[optind];
	if (strcmp(what, "config") && optind + 2 != argc) {
		cli_error("cat %s needs exactly one ID", what);
		return EXIT_USAGE;
	}
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	if (!strcmp(what, "config")) {
		char *s = NULL;

		if ((e = lb_repo_config_json(r, &s)) < 0) {
			cli_fail(e);
		} else {
			printf("%s\n", s);
			ret = EXIT_OK;
		}
		free(s);
	} else if (!strcmp(what, "snapshot")) {
		struct lb_snapshot *s;

		if ((e = lb_snapshot_find(r, argv[optind + 1], &s)) < 0) {
			cli_fail(e);
		} else {
			char *txt = lb_snapshot_dump(s);

			if (txt)
				printf("%s\n", txt);
			free(txt);
			lb_snapshot_free(s);
			ret = EXIT_OK;
		}
	} else if (!strcmp(what, "tree")) {
		ret = cat_tree(r, argv[optind + 1]);
	} else if (!strcmp(what, "blob")) {
		uint8_t *data = NULL;
		size_t len = 0;

		if ((e = lb_repo_cat_blob(r, argv[optind + 1], &data, &len)) < 0)
			cli_fail(e);
		else if (fwrite(data, 1, len, stdout) == len && fflush(stdout) == 0)
			ret = EXIT_OK;
		free(data);
	} else {
		cli_error("unknown object kind '%s' (config, snapshot, tree, blob)", what);
	}
	lb_repo_close(r);
	return ret;
}
