#include <errno.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <openssl/crypto.h>

#include "util/util.h"

void lb_buf_init(struct lb_buf *b, size_t max)
{
	b->data = NULL;
	b->len = b->cap = 0;
	b->max = max ? max : LB_BUF_DEFAULT_MAX;
}

void lb_buf_release(struct lb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void lb_buf_release_secure(struct lb_buf *b)
{
	if (b->data)
		OPENSSL_cleanse(b->data, b->cap);
	lb_buf_release(b);
}

int lb_buf_reserve(struct lb_buf *b, size_t extra)
{
	size_t max = b->max ? b->max : LB_BUF_DEFAULT_MAX;
	size_t need, ncap;
	uint8_t *p;

	if (extra > max || b->len > max - extra)
		return lb_err(-EFBIG, "buffer would exceed its limit of %zu bytes", max);
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : LB_MIN((size_t)256, max);
	while (ncap < need)
		ncap = ncap > max / 2 ? max : ncap * 2;
	p = realloc(b->data, ncap);
	if (!p)
		return lb_err(-ENOMEM, "out of memory (%zu bytes)", ncap);
	b->data = p;
	b->cap = ncap;
	return 0;
}

int lb_buf_append(struct lb_buf *b, const void *p, size_t n)
{
	int r;

	if (n == 0)
		return 0;
	r = lb_buf_reserve(b, n);
	if (r < 0)
		return r;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int lb_buf_put_u8(struct lb_buf *b, uint8_t v)
{
	return lb_buf_append(b, &v, 1);
}

int lb_buf_put_le32(struct lb_buf *b, uint32_t v)
{
	uint8_t t[4];

	lb_le32_put(t, v);
	return lb_buf_append(b, t, 4);
}

int lb_buf_put_le64(struct lb_buf *b, uint64_t v)
{
	uint8_t t[8];

	lb_le64_put(t, v);
	return lb_buf_append(b, t, 8);
}

int lb_buf_put_uvarint(struct lb_buf *b, uint64_t v)
{
	uint8_t t[10];
	size_t n = 0;

	while (v >= 0x80) {
		t[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	t[n++] = (uint8_t)v;
	return lb_buf_append(b, t, n);
}

int lb_buf_put_svarint(struct lb_buf *b, int64_t v)
{
	/* zigzag: small magnitudes of either sign stay short */
	return lb_buf_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

int lb_buf_put_bytes(struct lb_buf *b, const void *p, size_t n)
{
	int r = lb_buf_put_uvarint(b, n);

	return r < 0 ? r : lb_buf_append(b, p, n);
}

/* ---- reader ---- */

static int short_read(void)
{
	return lb_err(-LB_E_CORRUPT, "truncated: field runs past the end of the data");
}

int lb_get_raw(struct lb_reader *r, size_t n, const uint8_t **p)
{
	if (n > lb_reader_left(r))
		return short_read();
	*p = r->p + r->off;
	r->off += n;
	return 0;
}

int lb_get_u8(struct lb_reader *r, uint8_t *v)
{
	const uint8_t *p = NULL;
	int e = lb_get_raw(r, 1, &p);

	if (e == 0)
		*v = p[0];
	return e;
}

int lb_get_le16(struct lb_reader *r, uint16_t *v)
{
	const uint8_t *p = NULL;
	int e = lb_get_raw(r, 2, &p);

	if (e == 0)
		*v = (uint16_t)(p[0] | p[1] << 8);
	return e;
}

int lb_get_le32(struct lb_reader *r, uint32_t *v)
{
	const uint8_t *p = NULL;
	int e = lb_get_raw(r, 4, &p);

	if (e == 0)
		*v = lb_le32_get(p);
	return e;
}

int lb_get_le64(struct lb_reader *r, uint64_t *v)
{
	const uint8_t *p = NULL;
	int e = lb_get_raw(r, 8, &p);

	if (e == 0)
		*v = lb_le64_get(p);
	return e;
}

int lb_get_uvarint(struct lb_reader *r, uint64_t *v)
{
	uint64_t x = 0;
	unsigned shift = 0;

	for (;;) {
		uint8_t c;

		if (r->off >= r->len)
			return short_read();
		c = r->p[r->off++];
		if (shift == 63 && c > 1)
			return lb_err(-LB_E_CORRUPT, "varint overflows 64 bits");
		x |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			break;
		shift += 7;
		if (shift > 63)
			return lb_err(-LB_E_CORRUPT, "varint longer than 10 bytes");
	}
	*v = x;
	return 0;
}

int lb_get_svarint(struct lb_reader *r, int64_t *v)
{
	uint64_t u;
	int e = lb_get_uvarint(r, &u);

	if (e == 0)
		*v = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
	return e;
}

int lb_get_bytes(struct lb_reader *r, size_t max, const uint8_t **p, size_t *n)
{
	uint64_t len;
	int e = lb_get_uvarint(r, &len);

	if (e < 0)
		return e;
	if (len > max)
		return lb_err(-LB_E_CORRUPT, "field of %llu bytes exceeds its limit of %zu",
			      (unsigned long long)len, max);
	*n = (size_t)len;
	return lb_get_raw(r, *n, p);
}

/* ---- hex ---- */

void lb_hex(char *out, const uint8_t *in, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int lb_unhex(uint8_t *out, size_t n, const char *in)
{
	for (size_t i = 0; i < n; i++) {
		int hi, lo;

		if (!in[2 * i] || !in[2 * i + 1])
			return -EINVAL;
		hi = hexval(in[2 * i]);
		lo = hexval(in[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return in[2 * n] ? -EINVAL : 0;
}

size_t lb_utf8_seq(const uint8_t *s, size_t left)
{
	uint32_t cp;
	size_t n;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

void lb_escape(char *out, size_t outsz, const uint8_t *in, size_t len)
{
	size_t w = 0;

	if (!outsz)
		return;
	for (size_t i = 0; i < len;) {
		size_t k = lb_utf8_seq(in + i, len - i);
		char tmp[8];
		size_t tl;

		if (in[i] == '\\') {
			memcpy(tmp, "\\\\", 2);
			tl = 2;
			k = 1;
		} else if (k == 0 || in[i] < 0x20 || in[i] == 0x7f) {
			tl = (size_t)snprintf(tmp, sizeof tmp, "\\x%02x", in[i]);
			k = 1;
		} else {
			memcpy(tmp, in + i, k);
			tl = k;
		}
		if (w + tl + 1 > outsz)
			break;
		memcpy(out + w, tmp, tl);
		w += tl;
		i += k;
	}
	out[w] = 0;
}
