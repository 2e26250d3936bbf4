/* lifeboat CLI — showing snapshot entries: type words, times, and JSON
 * objects for diff and find. */
#ifndef LB_NODEFMT_H
#define LB_NODEFMT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "lifeboat/tree.h"

/* "file", "dir", "symlink", "fifo", "chardev", "blockdev". */
const char *nodefmt_type(uint8_t type);
/* A JSON string for raw bytes: as is when valid UTF-8 without a NUL, else
 * escaped as cli_escape() does (and *escaped set, if not NULL). */
json_t *nodefmt_json_bytes(const char *p, size_t n, bool *escaped);
/* "2026-11-25 03:00:01" in the local time zone. */
void nodefmt_local_time(char *out, size_t n, int64_t sec);
/* "1732503601.123456789": seconds and nanoseconds, as ls --json prints. */
void nodefmt_json_time(char *out, size_t n, int64_t sec, uint32_t nsec);
/* type, size, mode, uid, gid, user, group, mtime (and target of a
 * symbolic link, rdev of a device) as a new JSON object. */
json_t *nodefmt_node_json(const struct lb_node *n);
/* Prints a JSON value on one line of stdout and drops the reference. */
void nodefmt_print_json(json_t *j);

#endif
