/* lifeboat — small helpers front ends share with the library. */
#ifndef LIFEBOAT_UTIL_H
#define LIFEBOAT_UTIL_H

#include <stddef.h>
#include <stdint.h>

struct lb_repo;

/* Writes 2n hex digits and a NUL into out (size >= 2n+1). */
void lb_hex(char *out, const uint8_t *in, size_t n);
/* Parses exactly 2n hex digits; -EINVAL on anything else. */
int lb_unhex(uint8_t *out, size_t n, const char *in);
/* RFC 3339 UTC with nanoseconds: 2026-11-25T03:00:01.123456789Z */
void lb_time_format(char *out, size_t n, int64_t sec, long nsec);
int lb_time_parse(const char *s, int64_t *sec, long *nsec);

/* Reads one blob by id (64 hex digits) into a malloc'd buffer. */
int lb_repo_cat_blob(struct lb_repo *r, const char *idhex, uint8_t **data, size_t *len);

#endif
