/* lifeboat — MySQL/MariaDB internals shared by the dump, restore, drill
 * and binlog code. */
#ifndef LB_MYSQL_INTERNAL_H
#define LB_MYSQL_INTERNAL_H

#include <mysql.h>

#include "lifeboat/mysql.h"
#include "util/util.h"

#define LB_MY_SYSTEM_SCHEMAS "'information_schema','performance_schema','sys','mysql'"
#define LB_MY_STMT_MAX (16u << 20)   /* largest statement we write or accept */
#define LB_MY_INSERT_BATCH (1u << 20) /* an INSERT holds about this many bytes of rows */

/* Connects as described (defaults file [client] group, then overrides);
 * errors name where it tried to connect and as whom. */
int lb_my_connect(const struct lb_mysql_conn *c, MYSQL **ret);
/* Runs a statement; the error names the statement's first words. */
int lb_my_exec(MYSQL *m, const char *sql);
int lb_my_execf(MYSQL *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Runs a query expected to return one row; copies column col into out
 * ("" when NULL).  -LB_E_NOTFOUND when there is no row. */
int lb_my_scalar(MYSQL *m, const char *sql, unsigned col, char *out, size_t n);
/* `name` with backquotes doubled, into out. */
void lb_my_quote_ident(char *out, size_t n, const char *name);
/* `db`.`table`, each quoted so, into out (1300 bytes hold any names). */
void lb_my_quote_table(char *out, size_t n, const char *db, const char *table);
/* Where a connection goes, for messages: "socket /run/mysqld.sock as backup". */
void lb_my_describe(const struct lb_mysql_conn *c, MYSQL *m, char *out, size_t n);

/* Order-independent checksum of a table's rows: every row's columns
 * (NULL flag, length, bytes) are hashed, and the first 8 bytes of each
 * hash summed and xored.  The hash is XXH3-64 (LB_MY_SUM_XXH3, what
 * backups write since 2026-11-25) or SHA-256 (the snapshots before it:
 * no "checksum_alg" in their manifest); lb_my_hasher holds the state a
 * table's rows reuse. */
struct lb_my_sum {
	uint64_t rows, sum, xr;
};
enum lb_my_sumalg { LB_MY_SUM_SHA256, LB_MY_SUM_XXH3 };
#define LB_MY_SUM_DEFAULT LB_MY_SUM_XXH3
struct lb_my_hasher {
	enum lb_my_sumalg alg;
	struct lb_sha256_state *sha;
	void *xxh;                 /* XXH3_state_t, for rows too long to hash in one go */
};
int lb_my_hasher_init(struct lb_my_hasher *h, enum lb_my_sumalg alg);
void lb_my_hasher_release(struct lb_my_hasher *h);
/* The manifest's name of an algorithm ("xxh3-64", "sha256"), and back:
 * NULL (no checksum_alg) is SHA-256; -1 for a name it does not know. */
const char *lb_my_sumalg_name(enum lb_my_sumalg alg);
int lb_my_sumalg_parse(const char *name);
int lb_my_sum_row(struct lb_my_sum *s, struct lb_my_hasher *h, MYSQL_ROW row, const unsigned long *lens,
		  unsigned ncols);
/* Writes str as the inside of a quoted SQL literal, backslash-escaped:
 * byte for byte what mysql_real_escape_string writes on a binary
 * connection without NO_BACKSLASH_ESCAPES, but a run of ordinary bytes at
 * a time.  out needs room for 2 * len bytes; returns the bytes written. */
size_t lb_my_escape(char *out, const char *str, size_t len);
void lb_my_sum_hex(const struct lb_my_sum *s, char out[33]);
/* The column list a dump inserts, every column but generated ones, into
 * out; and, into sel (if not NULL), the list it selects: the same columns,
 * FLOATs as DOUBLEs, so every value is read in full. */
int lb_my_columns(MYSQL *m, const char *db, const char *table, struct lb_buf *out, struct lb_buf *sel);
/* Computes the checksum of db.table as a dump would see it. */
int lb_my_table_sum(MYSQL *m, const char *db, const char *table, enum lb_my_sumalg alg, struct lb_my_sum *s);

/* The statement framing of dump files: "-- LB <len> <kind> <name>\n",
 * then <len> bytes of statement, then ";\n". */
#define LB_MY_FRAME "-- LB "
#define LB_MY_FRAME_TAIL ";\n"
int lb_my_frame(struct lb_buf *out, const char *kind, const char *name, const char *stmt, size_t len);
/* Only the first line, for a statement of len bytes written after it
 * (then LB_MY_FRAME_TAIL), with no copy into out. */
int lb_my_frame_head(struct lb_buf *out, const char *kind, const char *name, size_t len);
typedef int (*lb_my_stmt_fn)(const char *kind, const char *name, const char *stmt, size_t len, void *ctx);
/* Parses framed statements incrementally: feed bytes, get statements. */
struct lb_my_parser {
	struct lb_buf buf;
	lb_my_stmt_fn fn;
	void *ctx;
};
void lb_my_parser_init(struct lb_my_parser *p, lb_my_stmt_fn fn, void *ctx);
int lb_my_parser_feed(struct lb_my_parser *p, const uint8_t *data, size_t n);
int lb_my_parser_end(struct lb_my_parser *p);
void lb_my_parser_release(struct lb_my_parser *p);

/* Names the server, so binlog segments and dumps of the same server can
 * be matched: "@@hostname/@@server_id". */
int lb_my_server_key(MYSQL *m, char *out, size_t n);

/* A file name for an identifier: itself when safe, else with '/', '@',
 * control bytes and a leading '.' written as @xx. */
void lb_my_file_name(char *out, size_t n, const char *ident);

/* Point in time (mysql_binlog.c).  The check parses the point of o and
 * makes sure the archive covers the binlog from s's position on, without
 * a gap, before anything is restored; the replay rolls the restored dump
 * forward to the point. */
struct lb_snapshot;
int lb_mysql_pitr_check(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_mysql_restore_opts *o);
int lb_mysql_pitr_replay(struct lb_repo *r, const struct lb_snapshot *s, const struct lb_mysql_restore_opts *o,
			 uint64_t *events);

#endif
