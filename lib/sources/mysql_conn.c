#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <openssl/evp.h>
#include <xxhash.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "crypto/crypto.h"
#include "sources/mysql_internal.h"

void lb_my_describe(const struct lb_mysql_conn *c, MYSQL *m, char *out, size_t n)
{
	const char *host = c->host, *sock = c->socket, *user = c->user;

	if (m && m->host_info)
		snprintf(out, n, "%s as %s", m->host_info, m->user ? m->user : "?");
	else if (sock)
		snprintf(out, n, "socket %s as %s", sock, user ? user : "the default user");
	else if (host)
		snprintf(out, n, "%s:%u as %s", host, c->port ? c->port : 3306, user ? user : "the default user");
	else
		snprintf(out, n, "the server in %s as %s", c->defaults_file ? c->defaults_file : "the client option files",
			 user ? user : "the default user");
}

int lb_my_connect(const struct lb_mysql_conn *c, MYSQL **ret)
{
	unsigned timeout = c->timeout ? c->timeout : 30;
	char where[512];
	MYSQL *m = mysql_init(NULL);
	int e;

	if (!m)
		return lb_err(-ENOMEM, "mysql: out of memory");
	if (c->defaults_file && access(c->defaults_file, R_OK) != 0) {
		mysql_close(m);
		return lb_errno(-errno, "mysql: defaults file %s", c->defaults_file);
	}
	if (c->defaults_file)
		mysql_optionsv(m, MYSQL_READ_DEFAULT_FILE, c->defaults_file);
	mysql_optionsv(m, MYSQL_READ_DEFAULT_GROUP, "client");
	mysql_optionsv(m, MYSQL_OPT_CONNECT_TIMEOUT, &timeout);
	mysql_optionsv(m, MYSQL_OPT_READ_TIMEOUT, &timeout);
	mysql_optionsv(m, MYSQL_OPT_WRITE_TIMEOUT, &timeout);
	mysql_optionsv(m, MYSQL_SET_CHARSET_NAME, "binary");
	if (!mysql_real_connect(m, c->host, c->user, c->password, NULL, c->port, c->socket, CLIENT_MULTI_RESULTS)) {
		unsigned err = mysql_errno(m);

		lb_my_describe(c, NULL, where, sizeof where);
		e = lb_err(err == 1045 || err == 1044 ? -EACCES : -ECONNREFUSED, "mysql: cannot connect to %s: %s (%u)",
			   where, mysql_error(m), err);
		mysql_close(m);
		return e;
	}
	/* bytes as stored, whatever the column's character set; TIMESTAMPs in
	 * UTC, so a restore into a server in another time zone is exact;
	 * sql_mode '' whatever the server's default, so that rows read back
	 * as stored (no PAD_CHAR_TO_FULL_LENGTH), SHOW CREATE prints in full
	 * (no ANSI_QUOTES, NO_TABLE_OPTIONS...) and the client library
	 * escapes with backslashes (no NO_BACKSLASH_ESCAPES), which is how
	 * the restore session reads literals */
	if ((e = lb_my_exec(m, "SET NAMES binary, time_zone='+00:00', sql_mode=''")) < 0) {
		mysql_close(m);
		return e;
	}
	*ret = m;
	return 0;
}

int lb_my_exec(MYSQL *m, const char *sql)
{
	if (mysql_real_query(m, sql, strlen(sql)) != 0) {
		unsigned err = mysql_errno(m);

		return lb_err(err == 1205 || err == 3024 ? -ETIMEDOUT : err == 1227 || err == 1142 || err == 1044 ? -EACCES
								 : -EIO,
			      "mysql: %.60s%s: %s (%u)", sql, strlen(sql) > 60 ? "..." : "", mysql_error(m), err);
	}
	/* drain results so the connection stays usable */
	do {
		MYSQL_RES *res = mysql_store_result(m);

		if (res)
			mysql_free_result(res);
	} while (mysql_next_result(m) == 0);
	return 0;
}

int lb_my_execf(MYSQL *m, const char *fmt, ...)
{
	char sql[8192];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(sql, sizeof sql, fmt, ap);
	va_end(ap);
	return lb_my_exec(m, sql);
}

int lb_my_scalar(MYSQL *m, const char *sql, unsigned col, char *out, size_t n)
{
	MYSQL_RES *res;
	MYSQL_ROW row;
	int e;

	if (mysql_real_query(m, sql, strlen(sql)) != 0)
		return lb_err(mysql_errno(m) == 1227 ? -EACCES : -EIO, "mysql: %.60s: %s (%u)", sql, mysql_error(m),
			      mysql_errno(m));
	res = mysql_store_result(m);
	if (!res)
		return lb_err(-EIO, "mysql: %.60s: no result: %s", sql, mysql_error(m));
	row = mysql_fetch_row(res);
	if (!row || col >= mysql_num_fields(res)) {
		e = -LB_E_NOTFOUND;
	} else {
		snprintf(out, n, "%s", row[col] ? row[col] : "");
		e = 0;
	}
	mysql_free_result(res);
	return e;
}

void lb_my_quote_table(char *out, size_t n, const char *db, const char *table)
{
	char qdb[600], qtb[600];

	lb_my_quote_ident(qdb, sizeof qdb, db);
	lb_my_quote_ident(qtb, sizeof qtb, table);
	snprintf(out, n, "%s.%s", qdb, qtb);
}

void lb_my_quote_ident(char *out, size_t n, const char *name)
{
	size_t w = 0;

	if (n < 3) {
		if (n)
			out[0] = 0;
		return;
	}
	out[w++] = '`';
	for (const char *p = name; *p && w + 3 < n; p++) {
		if (*p == '`')
			out[w++] = '`';
		out[w++] = *p;
	}
	out[w++] = '`';
	out[w] = 0;
}

void lb_my_file_name(char *out, size_t n, const char *ident)
{
	size_t w = 0;

	for (const unsigned char *p = (const unsigned char *)ident; *p && w + 4 < n; p++) {
		if (*p == '/' || *p == '@' || *p < 0x20 || *p == 0x7f || (p == (const unsigned char *)ident && *p == '.'))
			w += (size_t)snprintf(out + w, n - w, "@%02x", *p);
		else
			out[w++] = (char)*p;
	}
	out[w] = 0;
	if (!w && n > 3)
		snprintf(out, n, "@00");
}

/* ---- checksums ---- */

int lb_my_hasher_init(struct lb_my_hasher *h, enum lb_my_sumalg alg)
{
	memset(h, 0, sizeof *h);
	h->alg = alg;
	if (alg == LB_MY_SUM_SHA256)
		return lb_sha256_new(&h->sha);
	if (!(h->xxh = XXH3_createState()))
		return -ENOMEM;
	return 0;
}

void lb_my_hasher_release(struct lb_my_hasher *h)
{
	lb_sha256_free(h->sha);
	if (h->xxh)
		XXH3_freeState(h->xxh);
	memset(h, 0, sizeof *h);
}

const char *lb_my_sumalg_name(enum lb_my_sumalg alg)
{
	return alg == LB_MY_SUM_XXH3 ? "xxh3-64" : "sha256";
}

int lb_my_sumalg_parse(const char *name)
{
	if (!name || !strcmp(name, "sha256"))
		return LB_MY_SUM_SHA256;
	if (!strcmp(name, "xxh3-64"))
		return LB_MY_SUM_XXH3;
	return -1;
}

/* A row's encoding goes through here in pieces: gathered into buf, and
 * given to the hash when buf is full (or a piece is too long for it).
 * With XXH3 a row that fits in buf is hashed in one call, no state. */
struct rowhash {
	struct lb_my_hasher *h;
	uint8_t buf[4096];
	size_t n;
	bool streaming;
};

static int rh_flush(struct rowhash *r)
{
	struct lb_my_hasher *h = r->h;

	if (h->alg == LB_MY_SUM_SHA256) {
		int e = lb_sha256_add(h->sha, r->buf, r->n);

		r->n = 0;
		return e;
	}
	if (!r->streaming) {
		if (XXH3_64bits_reset(h->xxh) == XXH_ERROR)
			return lb_err(-EIO, "XXH3 failed");
		r->streaming = true;
	}
	if (XXH3_64bits_update(h->xxh, r->buf, r->n) == XXH_ERROR)
		return lb_err(-EIO, "XXH3 failed");
	r->n = 0;
	return 0;
}

static int rh_add(struct rowhash *r, const void *p, size_t len)
{
	int e;

	if (len <= sizeof r->buf - r->n) {
		memcpy(r->buf + r->n, p, len);
		r->n += len;
		return 0;
	}
	if ((e = rh_flush(r)) < 0)
		return e;
	if (len <= sizeof r->buf) {
		memcpy(r->buf, p, len);
		r->n = len;
		return 0;
	}
	/* a long value: straight in */
	if (r->h->alg == LB_MY_SUM_SHA256)
		return lb_sha256_add(r->h->sha, p, len);
	return XXH3_64bits_update(r->h->xxh, p, len) == XXH_ERROR ? lb_err(-EIO, "XXH3 failed") : 0;
}

int lb_my_sum_row(struct lb_my_sum *s, struct lb_my_hasher *h, MYSQL_ROW row, const unsigned long *lens,
		  unsigned ncols)
{
	struct rowhash r = { .h = h };
	uint8_t d[32];
	uint64_t v;
	int e;

	if (h->alg == LB_MY_SUM_SHA256 && (e = lb_sha256_begin(h->sha)) < 0)
		return e;
	for (unsigned i = 0; i < ncols; i++) {
		size_t len = row[i] ? lens[i] : 0;
		uint8_t hdr[9];

		hdr[0] = row[i] ? 1 : 0;
		lb_le64_put(hdr + 1, len);
		if ((e = rh_add(&r, hdr, sizeof hdr)) < 0 || (len && (e = rh_add(&r, row[i], len)) < 0))
			return e;
	}
	if (h->alg == LB_MY_SUM_SHA256) {
		if ((e = rh_flush(&r)) < 0 || (e = lb_sha256_end(h->sha, d)) < 0)
			return e;
		v = lb_le64_get(d);
	} else if (!r.streaming) {
		v = XXH3_64bits(r.buf, r.n);
	} else {
		if ((e = rh_flush(&r)) < 0)
			return e;
		v = XXH3_64bits_digest(h->xxh);
	}
	s->rows++;
	s->sum += v;
	s->xr ^= v;
	return 0;
}

size_t lb_my_escape(char *out, const char *str, size_t len)
{
	static const char esc[256] = {
		[0] = '0', ['\n'] = 'n', ['\r'] = 'r', [0x1a] = 'Z', ['\\'] = '\\', ['\''] = '\'', ['"'] = '"',
	};
	const unsigned char *p = (const unsigned char *)str, *end = p + len;
	char *o = out;

	while (p < end) {
		const unsigned char *q = p;

#ifdef __SSE2__
		/* 16 bytes at a time while none of them needs escaping */
		while (end - q >= 16) {
			__m128i v = _mm_loadu_si128((const __m128i *)q);
			__m128i a = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_setzero_si128()), _mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
			__m128i b = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\r')), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x1a)));
			__m128i c = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\'')));
			unsigned bits = (unsigned)_mm_movemask_epi8(
				_mm_or_si128(_mm_or_si128(a, b), _mm_or_si128(c, _mm_cmpeq_epi8(v, _mm_set1_epi8('"')))));

			if (bits) {
				q += __builtin_ctz(bits);
				break;
			}
			q += 16;
		}
#endif
		while (q < end && !esc[*q])
			q++;
		memcpy(o, p, (size_t)(q - p));
		o += q - p;
		if (q == end)
			break;
		*o++ = '\\';
		*o++ = esc[*q];
		p = q + 1;
	}
	return (size_t)(o - out);
}

void lb_my_sum_hex(const struct lb_my_sum *s, char out[33])
{
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)s->sum, (unsigned long long)s->xr);
}

int lb_my_columns(MYSQL *m, const char *db, const char *table, struct lb_buf *out, struct lb_buf *sel)
{
	char q[2048], edb[512], etb[512];
	MYSQL_RES *res;
	MYSQL_ROW row;
	int e = 0, n = 0;

	mysql_real_escape_string(m, edb, db, (unsigned long)LB_MIN(strlen(db), 250));
	mysql_real_escape_string(m, etb, table, (unsigned long)LB_MIN(strlen(table), 250));
	snprintf(q, sizeof q,
		 "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA='%s' AND "
		 "TABLE_NAME='%s' AND EXTRA NOT LIKE '%%GENERATED%%' AND EXTRA NOT IN ('VIRTUAL','PERSISTENT','STORED') "
		 "ORDER BY ORDINAL_POSITION", edb, etb);
	if (mysql_real_query(m, q, strlen(q)) != 0 || !(res = mysql_store_result(m)))
		return lb_err(-EIO, "mysql: columns of %s.%s: %s", db, table, mysql_error(m));
	lb_buf_reset(out);
	if (sel)
		lb_buf_reset(sel);
	while ((row = mysql_fetch_row(res)) && e == 0) {
		char qi[600];
		/* the server prints a FLOAT with 6 digits, which reads back as
		 * another FLOAT: selected as the DOUBLE it widens to exactly,
		 * which prints in full and narrows back to the same FLOAT */
		bool fl = row[1] && !strcasecmp(row[1], "float");

		lb_my_quote_ident(qi, sizeof qi, row[0] ? row[0] : "");
		if (n++) {
			e = lb_buf_put_u8(out, ',');
			if (e == 0 && sel)
				e = lb_buf_put_u8(sel, ',');
		}
		if (e == 0)
			e = lb_buf_append(out, qi, strlen(qi));
		if (e == 0 && sel && fl)
			e = lb_buf_append(sel, "CAST(", 5);
		if (e == 0 && sel)
			e = lb_buf_append(sel, qi, strlen(qi));
		if (e == 0 && sel && fl)
			e = lb_buf_append(sel, " AS DOUBLE)", 11);
	}
	mysql_free_result(res);
	if (e == 0)
		e = lb_buf_put_u8(out, 0);
	if (e == 0 && sel)
		e = lb_buf_put_u8(sel, 0);
	if (e == 0) {
		out->len--;
		if (sel)
			sel->len--;
		if (n == 0)
			e = lb_err(-LB_E_NOTFOUND, "mysql: %s.%s has no columns to dump", db, table);
	}
	return e;
}

int lb_my_table_sum(MYSQL *m, const char *db, const char *table, enum lb_my_sumalg alg, struct lb_my_sum *s)
{
	struct lb_my_hasher h = { 0 };
	struct lb_buf cols, q;
	char qdb[600], qtb[600];
	MYSQL_RES *res;
	MYSQL_ROW row;
	int e;

	memset(s, 0, sizeof *s);
	lb_buf_init(&cols, 0);
	lb_buf_init(&q, 0);
	if ((e = lb_my_hasher_init(&h, alg)) < 0 || (e = lb_my_columns(m, db, table, &q, &cols)) < 0)
		goto out;
	lb_buf_reset(&q);
	lb_my_quote_ident(qdb, sizeof qdb, db);
	lb_my_quote_ident(qtb, sizeof qtb, table);
	if ((e = lb_buf_append(&q, "SELECT ", 7)) < 0 || (e = lb_buf_append(&q, cols.data, cols.len)) < 0)
		goto out;
	{
		char tail[1300];

		snprintf(tail, sizeof tail, " FROM %s.%s", qdb, qtb);
		if ((e = lb_buf_append(&q, tail, strlen(tail) + 1)) < 0)
			goto out;
	}
	if (mysql_real_query(m, (char *)q.data, q.len - 1) != 0 || !(res = mysql_use_result(m))) {
		e = lb_err(-EIO, "mysql: reading %s.%s: %s", db, table, mysql_error(m));
		goto out;
	}
	while (e == 0 && (row = mysql_fetch_row(res)))
		e = lb_my_sum_row(s, &h, row, mysql_fetch_lengths(res), mysql_num_fields(res));
	if (e == 0 && mysql_errno(m))
		e = lb_err(-EIO, "mysql: reading %s.%s: %s", db, table, mysql_error(m));
	mysql_free_result(res);
out:
	lb_my_hasher_release(&h);
	lb_buf_release(&cols);
	lb_buf_release(&q);
	return e;
}

/* ---- framing ---- */

int lb_my_frame_head(struct lb_buf *out, const char *kind, const char *name, size_t len)
{
	char hdr[1200];
	int e;

	/* the name is for people reading the file: kept on one line */
	snprintf(hdr, sizeof hdr, LB_MY_FRAME "%zu %s ", len, kind);
	if ((e = lb_buf_append(out, hdr, strlen(hdr))) < 0)
		return e;
	for (const char *p = name; *p && e == 0; p++)
		e = lb_buf_put_u8(out, (*p == '\n' || *p == '\r') ? ' ' : (uint8_t)*p);
	if (e == 0)
		e = lb_buf_put_u8(out, '\n');
	return e;
}

int lb_my_frame(struct lb_buf *out, const char *kind, const char *name, const char *stmt, size_t len)
{
	int e = lb_my_frame_head(out, kind, name, len);

	if (e == 0)
		e = lb_buf_append(out, stmt, len);
	if (e == 0)
		e = lb_buf_append(out, LB_MY_FRAME_TAIL, 2);
	return e;
}

void lb_my_parser_init(struct lb_my_parser *p, lb_my_stmt_fn fn, void *ctx)
{
	lb_buf_init(&p->buf, LB_MY_STMT_MAX + 4096);
	p->fn = fn;
	p->ctx = ctx;
}

void lb_my_parser_release(struct lb_my_parser *p)
{
	lb_buf_release(&p->buf);
}

/* Consumes whole frames from the front of the buffer. */
static int parse_frames(struct lb_my_parser *p)
{
	size_t off = 0;
	int e = 0;

	for (;;) {
		uint8_t *s = p->buf.data + off, *nl;
		size_t left = p->buf.len - off, len, hl;
		char kind[32], name[1100];
		char *endp;

		if (left < sizeof LB_MY_FRAME)
			break;
		nl = memchr(s, '\n', LB_MIN(left, 1200));
		if (!nl) {
			if (left >= 1200)
				return lb_err(-LB_E_CORRUPT, "mysql dump: a frame header is longer than 1200 bytes");
			break;
		}
		if (memcmp(s, LB_MY_FRAME, sizeof LB_MY_FRAME - 1) != 0)
			return lb_err(-LB_E_CORRUPT, "mysql dump: expected a frame header");
		hl = (size_t)(nl - s) + 1;
		len = strtoul((char *)s + sizeof LB_MY_FRAME - 1, &endp, 10);
		if (endp == (char *)s + sizeof LB_MY_FRAME - 1 || *endp != ' ' || len > LB_MY_STMT_MAX)
			return lb_err(-LB_E_CORRUPT, "mysql dump: a frame header has a bad length");
		{
			size_t kl = 0, nl2 = 0;
			char *q = endp + 1;

			while (q < (char *)nl && *q != ' ' && kl + 1 < sizeof kind)
				kind[kl++] = *q++;
			kind[kl] = 0;
			if (q < (char *)nl)
				q++;
			while (q < (char *)nl && nl2 + 1 < sizeof name)
				name[nl2++] = *q++;
			name[nl2] = 0;
		}
		if (left < hl + len + 2)
			break; /* more to come */
		if (s[hl + len] != ';' || s[hl + len + 1] != '\n')
			return lb_err(-LB_E_CORRUPT, "mysql dump: a statement does not end where its frame says");
		if ((e = p->fn(kind, name, (const char *)s + hl, len, p->ctx)) < 0)
			return e;
		off += hl + len + 2;
	}
	memmove(p->buf.data, p->buf.data + off, p->buf.len - off);
	p->buf.len -= off;
	return 0;
}

int lb_my_parser_feed(struct lb_my_parser *p, const uint8_t *data, size_t n)
{
	int e = lb_buf_append(&p->buf, data, n);

	if (e < 0)
		return lb_err(e, "mysql dump: a statement is larger than %u bytes", LB_MY_STMT_MAX);
	return parse_frames(p);
}

int lb_my_parser_end(struct lb_my_parser *p)
{
	if (p->buf.len)
		return lb_err(-LB_E_CORRUPT, "mysql dump: %zu bytes of an unfinished statement at the end", p->buf.len);
	return 0;
}

int lb_my_server_key(MYSQL *m, char *out, size_t n)
{
	char host[256] = "", id[32] = "";
	int e;

	if ((e = lb_my_scalar(m, "SELECT @@hostname", 0, host, sizeof host)) < 0 ||
	    (e = lb_my_scalar(m, "SELECT @@server_id", 0, id, sizeof id)) < 0)
		return e;
	snprintf(out, n, "%s/%s", host, id);
	return 0;
}
