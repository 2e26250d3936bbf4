#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include "cli.h"
#include "nodefmt.h"
#include "lifeboat/browse.h"
#include "lifeboat/snapshot.h"

struct ls_ctx {
	bool longfmt;
};

static char type_char(uint8_t t)
{
	switch (t) {
	case LB_NODE_DIR: return 'd';
	case LB_NODE_SYMLINK: return 'l';
	case LB_NODE_FIFO: return 'p';
	case LB_NODE_CHR: return 'c';
	case LB_NODE_BLK: return 'b';
	default: return '-';
	}
}

static void mode_string(char *out, const struct lb_node *n)
{
	static const char rwx[] = "rwxrwxrwx";
	uint32_t m = n->mode;

	out[0] = type_char(n->type);
	for (int i = 0; i < 9; i++)
		out[i + 1] = (m & (0400u >> i)) ? rwx[i] : '-';
	if (m & 04000)
		out[3] = (m & 0100) ? 's' : 'S';
	if (m & 02000)
		out[6] = (m & 0010) ? 's' : 'S';
	if (m & 01000)
		out[9] = (m & 0001) ? 't' : 'T';
	out[10] = 0;
}

static int ls_entry(void *ctx, const char *path, size_t pathlen, const struct lb_node *n)
{
	struct ls_ctx *c = ctx;

	if (g_cli.json) {
		bool escaped = false;
		char mt[64];
		json_t *j;
		char *s;

		snprintf(mt, sizeof mt, "%lld.%09u", (long long)n->mtime_s, n->mtime_ns);
		j = json_object();
		json_object_set_new(j, "path", nodefmt_json_bytes(path, pathlen, &escaped));
		if (escaped)
			json_object_set_new(j, "path_escaped", json_true());
		json_object_set_new(j, "type", json_string(nodefmt_type(n->type)));
		json_object_set_new(j, "size", json_integer((json_int_t)n->size));
		json_object_set_new(j, "mode", json_integer(n->mode));
		json_object_set_new(j, "uid", json_integer(n->uid));
		json_object_set_new(j, "gid", json_integer(n->gid));
		json_object_set_new(j, "user", nodefmt_json_bytes(n->user ? n->user : "", n->user ? strlen(n->user) : 0, NULL));
		json_object_set_new(j, "group", nodefmt_json_bytes(n->group ? n->group : "", n->group ? strlen(n->group) : 0, NULL));
		json_object_set_new(j, "mtime", json_string(mt));
		if (n->type == LB_NODE_SYMLINK && j) {
			char *t = cli_escape((const char *)n->target, n->targetlen);

			json_object_set_new(j, "target", json_string(t ? t : ""));
			free(t);
		}
		s = j ? json_dumps(j, JSON_COMPACT) : NULL;
		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(j);
		return 0;
	}
	if (c->longfmt) {
		char m[11], t[32], owner[64];
		time_t tt = (time_t)n->mtime_s;
		struct tm tm;

		mode_string(m, n);
		localtime_r(&tt, &tm);
		strftime(t, sizeof t, "%Y-%m-%d %H:%M:%S", &tm);
		{
			char *u = cli_escape(n->user && n->user[0] ? n->user : "?", n->user && n->user[0] ? strlen(n->user) : 1);
			char *g = cli_escape(n->group && n->group[0] ? n->group : "?", n->group && n->group[0] ? strlen(n->group) : 1);

			snprintf(owner, sizeof owner, "%s/%s", u ? u : "?", g ? g : "?");
			free(u);
			free(g);
		}
		if (n->type == LB_NODE_CHR || n->type == LB_NODE_BLK)
			printf("%s %-17s %5u,%5u %s ", m, owner, major(n->rdev), minor(n->rdev), t);
		else
			printf("%s %-17s %11llu %s ", m, owner, (unsigned long long)n->size, t);
	}
	cli_print_escaped(stdout, path, pathlen);
	if (c->longfmt && n->type == LB_NODE_SYMLINK) {
		printf(" -> ");
		cli_print_escaped(stdout, (const char *)n->target, n->targetlen);
	}
	putchar('\n');
	return 0;
}

int cmd_ls(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "long", no_argument, NULL, 'l' },
		{ 0 }
	};
	struct ls_ctx ctx = { 0 };
	struct lb_snapshot *s = NULL;
	struct lb_repo *r = NULL;
	const char *path = "/";
	int c, e, ret = EXIT_ERROR;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "l", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case 'l': ctx.longfmt = true; break;
		case 'h':
			printf("usage: lifeboat [-r REPO] ls [-l] SNAPSHOT [PATH]\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind >= argc || argc - optind > 2) {
		cli_error("usage: lifeboat ls [-l] SNAPSHOT [PATH]");
		return EXIT_USAGE;
	}
	if (argc - optind == 2)
		path = argv[optind + 1];
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	if ((e = lb_snapshot_find(r, argv[optind], &s)) < 0 || (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0) {
		cli_fail(e);
		goto out;
	}
	e = lb_browse_walk(r, s->tree, path, true, ls_entry, &ctx);
	if (e < 0) {
		cli_fail(e);
		goto out;
	}
	ret = EXIT_OK;
out:
	lb_snapshot_free(s);
	lb_repo_close(r);
	return ret;
}
