/* lifeboat mail — the mailboxes a snapshot recorded, and one mailbox
 * brought back by itself (lifeboat/mail.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "lifeboat/mail.h"
#include "lifeboat/snapshot.h"

enum { M_TARGET = 3001, M_LOCK_TIMEOUT };

/* Mailbox names are bytes from the spool: on a terminal, control bytes
 * and invalid UTF-8 are written escaped, never as they are. */
static void print_name(FILE *f, const char *s)
{
	cli_print_escaped(f, s, strlen(s));
}

/* A manifest key: already escaped where its bytes were not UTF-8 (see
 * lb_json_string_bytes), but UTF-8 may hold control characters. */
static void print_key(FILE *f, const char *s)
{
	for (; *s; s++) {
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			cli_print_escaped(f, s, 1);
		else
			fputc(*s, f);
	}
}

/* cli_fail() with the message escaped: it quotes the mailbox given. */
static int fail_escaped(int code)
{
	const char *m = lb_errmsg();
	char *esc = m[0] ? cli_escape(m, strlen(m)) : NULL;

	cli_error("%s", esc ? esc : m[0] ? m : lb_strerror(code));
	free(esc);
	return EXIT_ERROR;
}

static int mail_ls(int argc, char **argv)
{
	struct lb_snapshot *s = NULL;
	struct lb_repo *r = NULL;
	const char *key;
	json_t *sec, *box;
	int code;

	if (!cli_source_ls_open(argc, argv, "mail ls", "mail", "has no mail spools (backup --mail-spool)", &r, &s, &sec,
				&code))
		return code;
	if (g_cli.json) {
		char *txt = json_dumps(sec, JSON_COMPACT | JSON_SORT_KEYS);

		if (txt)
			printf("%s\n", txt);
		free(txt);
	} else {
		json_object_foreach(json_object_get(sec, "mailboxes"), key, box) {
			json_t *msgs = json_object_get(box, "messages");
			const char *fmt = json_string_value(json_object_get(box, "format"));
			char count[32];

			if (json_is_integer(msgs))
				snprintf(count, sizeof count, "%lld", (long long)json_integer_value(msgs));
			else
				snprintf(count, sizeof count, "?");
			printf("%-8s %8s messages", fmt ? fmt : "?", count);
			if (fmt && !strcmp(fmt, "maildir"))
				printf(" %6lld new", (long long)json_integer_value(json_object_get(box, "new")));
			else
				printf("           ");
			fputs("  ", stdout);
			print_key(stdout, key);
			printf("%s%s\n", json_is_true(json_object_get(box, "from_previous")) ? "  (previous copy: was locked)" : "",
			       json_is_true(json_object_get(box, "skipped")) ? "  (not saved: was locked)" : "");
		}
	}
	lb_snapshot_free(s);
	lb_repo_close(r);
	return EXIT_OK;
}

static int mail_restore(int argc, char **argv)
{
	static const struct option longopts[] = {
		CLI_GLOBAL_LONGOPTS,
		{ "target", required_argument, NULL, M_TARGET },
		{ "lock-timeout", required_argument, NULL, M_LOCK_TIMEOUT },
		{ 0 }
	};
	struct lb_mail_restore_opts o = { 0 };
	struct lb_mail_restore_stats st;
	struct lb_snapshot *s = NULL;
	struct lb_repo *r = NULL;
	struct lb_progress pg;
	int c, e, ret = EXIT_ERROR;
	long v;

	lb_progress_init(&pg);
	while ((c = getopt_long(argc, argv, CLI_GLOBAL_SHORTOPTS, longopts, NULL)) != -1) {
		if (cli_global_opt(c, optarg))
			continue;
		switch (c) {
		case M_TARGET: o.target = optarg; break;
		case M_LOCK_TIMEOUT:
			if ((v = cli_parse_duration(optarg)) < 1 || v > 3600) {
				cli_error("--lock-timeout: '%s' is not a duration from 1 s to 1 h", optarg);
				return EXIT_USAGE;
			}
			o.lock_timeout_ms = (unsigned)v * 1000;
			break;
		case 'h':
			printf("usage: lifeboat [-r REPO] mail restore SNAPSHOT MAILBOX [--target DIR] [--lock-timeout D]\n"
			       "  Without --target: the messages the live mailbox lacks are delivered into it\n"
			       "  (Maildir: by base name; mbox: by Message-ID, appended under its locks).\n"
			       "  With --target DIR: the mailbox as it was, into DIR (a Maildir becomes DIR;\n"
			       "  an mbox becomes DIR/NAME).\n");
			return EXIT_OK;
		default: return EXIT_USAGE;
		}
	}
	if (optind + 2 != argc) {
		cli_error("usage: lifeboat mail restore SNAPSHOT MAILBOX [--target DIR]");
		return EXIT_USAGE;
	}
	if (cli_open_repo(&r) < 0)
		return EXIT_ERROR;
	if ((e = lb_snapshot_find(r, argv[optind], &s)) < 0 || (e = lb_repo_load_index(r, LB_LOAD_ORPHANS)) < 0) {
		cli_fail(e);
		goto out;
	}
	o.progress = &pg;
	cli_signals_cancel(&pg);
	if ((e = lb_mail_restore(r, s, argv[optind + 1], &o, &st)) < 0) {
		fail_escaped(e);
		goto out;
	}
	if (g_cli.json) {
		/* the destination is bytes: escaped as the manifest escapes paths */
		json_t *j = json_pack("{s:s, s:s, s:o, s:I, s:I, s:I}", "snapshot_id", s->id, "format", st.format,
				      "destination", lb_json_string_bytes(st.dest), "messages", (json_int_t)st.messages,
				      "restored", (json_int_t)st.restored, "present", (json_int_t)st.present);
		char *txt = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS) : NULL;

		if (txt)
			printf("%s\n", txt);
		free(txt);
		json_decref(j);
	} else if (g_cli.verbosity >= 0) {
		printf("restored %llu of %llu messages (%llu already there) from %.12s into ",
		       (unsigned long long)st.restored, (unsigned long long)st.messages, (unsigned long long)st.present,
		       s->id);
		print_name(stdout, st.dest);
		putchar('\n');
	}
	ret = EXIT_OK;
out:
	lb_snapshot_free(s);
	lb_repo_close(r);
	return ret;
}

int cmd_mail(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(argc < 2 ? stderr : stdout,
			"usage: lifeboat [-r REPO] mail ls SNAPSHOT\n"
			"       lifeboat [-r REPO] mail restore SNAPSHOT MAILBOX [--target DIR]\n");
		return argc < 2 ? EXIT_USAGE : EXIT_OK;
	}
	optind = 0;
	if (!strcmp(argv[1], "ls")) {
		g_cli.command = "mail ls";
		return mail_ls(argc - 1, argv + 1);
	}
	if (!strcmp(argv[1], "restore")) {
		g_cli.command = "mail restore";
		return mail_restore(argc - 1, argv + 1);
	}
	{
		char *esc = cli_escape(argv[1], strlen(argv[1]));

		cli_error("unknown subcommand '%s' (ls, restore)", esc ? esc : "?");
		free(esc);
	}
	return EXIT_USAGE;
}
