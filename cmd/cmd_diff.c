/* lifeboat diff SNAP1 SNAP2 [PATH]: what was added, removed and changed. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "nodefmt.h"
#include "lifeboat/diff.h"
#include "lifeboat/snapshot.h"

struct diff_ctx {
	unsigned long long added, removed, modified;
};

static const struct {
	unsigned bit;
	const char *word;
} change_words[] = {
	{ LB_DIFF_TYPE, "type" },     { LB_DIFF_CONTENT, "content" }, { LB_DIFF_SIZE, "size" },
	{ LB_DIFF_MODE, "mode" },     { LB_DIFF_OWNER, "owner" },     { LB_DIFF_MTIME, "mtime" },
	{ LB_DIFF_ATIME, "atime" },   { LB_DIFF_CTIME, "ctime" },     { LB_DIFF_XATTRS, "xattrs" },
	{ LB_DIFF_ACL, "acl" },       { LB_DIFF_TARGET, "target" },   { LB_DIFF_LINKS, "links" },
};

/* "type file->dir", "mode 0644->0600", "target a->b": one change in words. */
static void describe(FILE *f, unsigned bit, const char *word, const struct lb_node *a, const struct lb_node *b)
{
	fputs(word, f);
	switch (bit) {
	case LB_DIFF_TYPE:
		fprintf(f, " %s->%s", nodefmt_type(a->type), nodefmt_type(b->type));
		break;
	case LB_DIFF_SIZE:
		fprintf(f, " %llu->%llu", (unsigned long long)a->size, (unsigned long long)b->size);
		break;
	case LB_DIFF_MODE:
		fprintf(f, " %04o->%04o", a->mode & 07777, b->mode & 07777);
		break;
	case LB_DIFF_OWNER:
		fprintf(f, " %u:%u->%u:%u", a->uid, a->gid, b->uid, b->gid);
		break;
	case LB_DIFF_TARGET:
		fputc(' ', f);
		cli_print_escaped(f, (const char *)a->target, a->targetlen);
		fputs("->", f);
		cli_print_escaped(f, (const char *)b->target, b->targetlen);
		break;
	case LB_DIFF_LINKS:
		fprintf(f, " %llu->%llu", (unsigned long long)a->nlink, (unsigned long long)b->nlink);
		break;
	}
}

static int print_json(const struct lb_diff_entry *e)
{
	json_t *j = json_object(), *ch;
	char kind[2] = { (char)e->kind, 0 };
	bool escaped = false;

	if (!j)
		return -ENOMEM;
	json_object_set_new(j, "change", json_string(kind));
	json_object_set_new(j, "path", nodefmt_json_bytes(e->path, e->pathlen, &escaped));
	if (escaped)
		json_object_set_new(j, "path_escaped", json_true());
	json_object_set_new(j, "type", json_string(nodefmt_type((e->new_ ? e->new_ : e->old)->type)));
	if (e->kind == LB_DIFF_MODIFIED) {
		ch = json_array();
		for (size_t i = 0; i < sizeof change_words / sizeof change_words[0]; i++)
			if (e->changes & change_words[i].bit)
				json_array_append_new(ch, json_string(change_words[i].word));
		json_object_set_new(j, "changes", ch);
	}
	if (e->old)
		json_object_set_new(j, "old", nodefmt_node_json(e->old));
	if (e->new_)
		json_object_set_new(j, "new", nodefmt_node_json(e->new_));
	nodefmt_print_json(j);
	return 0;
}

static int on_change(void *ctx, const struct lb_diff_entry *e)
{
	struct diff_ctx *c = ctx;
	const struct lb_node *n = e->new_ ? e->new_ : e->old;

	if (e->kind == LB_DIFF_ADDED)
		c->added++;
	else if (e->kind == LB_DIFF_REMOVED)
		c->removed++;
	else
		c->modified++;
	if (g_cli.json)
		return print_json(e);
	printf("%c ", (char)e->kind);
	cli_print_escaped(stdout, e->path, e->pathlen);
	if (n->type == LB_NODE_DIR)
		putchar('/');
	if (e->kind == LB_DIFF_MODIFIED) {
		const char *sep = " (";

		for (size_t i = 0; i < sizeof change_words / sizeof change_words[0]; i++) {
			if (!(e->changes & change_words[i].bit))
				continue;
			fputs(sep, stdout);
			describe(stdout, change_words[i].bit, change_words[i].word, e->old, e->new_);
			sep = ", ";
		}
		putchar(')');
	}
	putchar('\n');
	return 0;
}

int cmd_diff(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "all-times", no_argument, NULL, 'a' },
		{ 0 }
	};
	struct lb_diff_opts o = { .ignore = LB_DIFF_IGNORE_DEFAULT };
	struct diff_ctx ctx = { 0 };
	struct lb_snapshot *s1 = NULL, *s2 = NULL;
	struct lb_repo *r = NULL;
	int c, e, ret = EXIT_ERROR;

	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS "a", longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case 'a': o.ignore = 0; break;
		case 'h':
			printf("usage: lifeboat [-r REPO] diff [--all-times] [--json] SNAPSHOT1 SNAPSHOT2 [PATH]\n"
			       "  + added, - removed, M modified (with what changed); directories end in /\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (argc - optind < 2 || argc - optind > 3) {
		cli_error("usage: lifeboat diff SNAPSHOT1 SNAPSHOT2 [PATH]");
		return EXIT_USAGE;
	}
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	if ((e = lb_snapshot_find(r, argv[optind], &s1)) < 0 || (e = lb_snapshot_find(r, argv[optind + 1], &s2)) < 0 ||
	    (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0) {
		cli_fail(e);
		goto out;
	}
	e = lb_diff_trees(r, s1->tree, s2->tree, argc - optind == 3 ? argv[optind + 2] : "/", &o, on_change, &ctx);
	if (e < 0) {
		cli_fail(e);
		goto out;
	}
	if (fflush(stdout) != 0) {
		cli_error("writing the output failed");
		goto out;
	}
	if (!g_cli.json && g_cli.tty && g_cli.verbosity >= 0)
		fprintf(stderr, "%llu added, %llu removed, %llu modified\n", ctx.added, ctx.removed, ctx.modified);
	ret = EXIT_OK;
out:
	lb_snapshot_free(s1);
	lb_snapshot_free(s2);
	lb_repo_close(r);
	return ret;
}
