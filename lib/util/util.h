/* lifeboat — internal utilities: growable buffers with ceilings, varints,
 * bounded readers, hex, durable file writes, logging. */
#ifndef LB_UTIL_H
#define LB_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>
#include <sys/types.h>

#include "lifeboat/error.h"
#include "lifeboat/log.h"

#define LB_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define LB_MIN(a, b) ((a) < (b) ? (a) : (b))
#define LB_MAX(a, b) ((a) > (b) ? (a) : (b))

/* ---- growable buffer ------------------------------------------------- */

/* A byte buffer that grows on demand up to `max` (0 = LB_BUF_DEFAULT_MAX).
 * Growth beyond the ceiling fails with -EFBIG rather than eating memory. */
#define LB_BUF_DEFAULT_MAX ((size_t)1 << 30)

struct lb_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max; /* ceiling on cap; 0 means LB_BUF_DEFAULT_MAX */
};

void lb_buf_init(struct lb_buf *b, size_t max);
void lb_buf_release(struct lb_buf *b);
/* Wipe the contents (for secrets) and release. */
void lb_buf_release_secure(struct lb_buf *b);
int lb_buf_reserve(struct lb_buf *b, size_t extra);
int lb_buf_append(struct lb_buf *b, const void *p, size_t n);
int lb_buf_put_u8(struct lb_buf *b, uint8_t v);
int lb_buf_put_le32(struct lb_buf *b, uint32_t v);
int lb_buf_put_le64(struct lb_buf *b, uint64_t v);
int lb_buf_put_uvarint(struct lb_buf *b, uint64_t v);
int lb_buf_put_svarint(struct lb_buf *b, int64_t v);
/* A uvarint length followed by the bytes. */
int lb_buf_put_bytes(struct lb_buf *b, const void *p, size_t n);
static inline void lb_buf_reset(struct lb_buf *b) { b->len = 0; }

/* ---- bounded reader -------------------------------------------------- */

/* Reads from a byte range; every getter checks the remaining length first
 * and returns -LB_E_CORRUPT rather than reading past the end. */
struct lb_reader {
	const uint8_t *p;
	size_t len;
	size_t off;
};

static inline void lb_reader_init(struct lb_reader *r, const void *p, size_t len)
{
	r->p = p;
	r->len = len;
	r->off = 0;
}
static inline size_t lb_reader_left(const struct lb_reader *r) { return r->len - r->off; }
int lb_get_u8(struct lb_reader *r, uint8_t *v);
int lb_get_le16(struct lb_reader *r, uint16_t *v);
int lb_get_le32(struct lb_reader *r, uint32_t *v);
int lb_get_le64(struct lb_reader *r, uint64_t *v);
int lb_get_uvarint(struct lb_reader *r, uint64_t *v);
int lb_get_svarint(struct lb_reader *r, int64_t *v);
/* Points *p at the next n bytes without copying. */
int lb_get_raw(struct lb_reader *r, size_t n, const uint8_t **p);
/* A uvarint length (at most max) then that many bytes. */
int lb_get_bytes(struct lb_reader *r, size_t max, const uint8_t **p, size_t *n);

static inline void lb_le32_put(uint8_t *p, uint32_t v)
{
	p[0] = v; p[1] = v >> 8; p[2] = v >> 16; p[3] = v >> 24;
}
static inline uint32_t lb_le32_get(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void lb_le64_put(uint8_t *p, uint64_t v)
{
	lb_le32_put(p, (uint32_t)v);
	lb_le32_put(p + 4, (uint32_t)(v >> 32));
}
static inline uint64_t lb_le64_get(const uint8_t *p)
{
	return (uint64_t)lb_le32_get(p) | (uint64_t)lb_le32_get(p + 4) << 32;
}
static inline void lb_be64_put(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

/* ---- hex ------------------------------------------------------------- */

/* Writes 2n hex digits and a NUL into out (size >= 2n+1). */
void lb_hex(char *out, const uint8_t *in, size_t n);
/* Parses exactly 2n hex digits; -EINVAL on anything else. */
int lb_unhex(uint8_t *out, size_t n, const char *in);

/* Writes in[0..len) into out for a message: printable ASCII and valid
 * UTF-8 as is, other bytes as \xNN, backslash as \\; cut to fit. */
/* Length of the valid UTF-8 sequence at s (0 if it is not one: bad
 * lead or continuation byte, truncated, overlong, surrogate, > U+10FFFF). */
size_t lb_utf8_seq(const uint8_t *s, size_t left);
void lb_escape(char *out, size_t outsz, const uint8_t *in, size_t len);

/* ---- files ----------------------------------------------------------- */

/* Writes data to dirfd/name durably: a temp file in the same directory,
 * fsync, rename over name, fsync the directory.  Never leaves a partial
 * file under `name`. */
int lb_write_atomic(int dirfd, const char *name, const void *data, size_t len, mode_t mode);
/* Reads a whole file of at most max bytes (larger: -LB_E_CORRUPT). */
int lb_read_file(int dirfd, const char *name, size_t max, struct lb_buf *out);
int lb_fsync_dir(int dirfd);

/* btrfs (util/btrfs.c).  The subvolume root (inode 256) holding abs, an
 * absolute path on btrfs, not crossing into another file system: root
 * gets its path, *rel points into abs at the rest ("" when abs is the
 * root); -ENOTSUP with the message set when there is none. */
int lb_btrfs_subvol_of(const char *abs, char *root, size_t n, const char **rel);
/* A read-only snapshot of the subvolume open as srcfd, named name in the
 * directory parentfd; and its deletion.  0 or -errno, no message. */
int lb_btrfs_snapshot(int parentfd, int srcfd, const char *name);
int lb_btrfs_delete(int parentfd, const char *name);

/* path made absolute (against the working directory) and normalised
 * lexically: no ".", ".." or repeated slashes; "/" at the least.  The
 * caller frees it; NULL when out of memory or the cwd is unknown. */
char *lb_path_absolute(const char *path);
/* mkdir that accepts an existing directory. */
int lb_mkdir_p1(int dirfd, const char *name, mode_t mode);
/* Full pread/pwrite/write loops that retry on EINTR and short counts. */
int lb_pread_full(int fd, void *buf, size_t len, off_t off);
int lb_write_full(int fd, const void *buf, size_t len);
int lb_pwrite_full(int fd, const void *buf, size_t len, off_t off);
/* Fills buf with n random bytes from the kernel. */
int lb_random(void *buf, size_t n);

/* ---- time ------------------------------------------------------------ */

/* Nanoseconds since the epoch (realtime) / a monotonic clock. */
int64_t lb_now_ns(void);
int64_t lb_mono_ns(void);
/* RFC 3339 UTC with nanoseconds: 2026-11-25T03:00:01.123456789Z */
void lb_time_format(char *out, size_t n, int64_t sec, long nsec);
/* Parses what lb_time_format writes (and a few shorter forms). */
int lb_time_parse(const char *s, int64_t *sec, long *nsec);

/* ---- logging --------------------------------------------------------- */

void lb_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- (dev, ino) -> index ------------------------------------------- */

/* Hard-link tables: each keeps its entries in an array of its own and
 * finds them by (dev, ino) here.  Zeroed is empty. */
struct lb_inomap_slot {
	uint64_t dev, ino;
	size_t idx1; /* the index + 1; 0: an empty slot */
};
struct lb_inomap {
	struct lb_inomap_slot *v;
	size_t n, cap;
};
/* The index stored for (dev, ino), or SIZE_MAX. */
size_t lb_inomap_get(const struct lb_inomap *m, uint64_t dev, uint64_t ino);
/* Stores idx for (dev, ino): 0, or 1 if it had one already (kept),
 * -ENOMEM. */
int lb_inomap_add(struct lb_inomap *m, uint64_t dev, uint64_t ino, size_t idx);
void lb_inomap_free(struct lb_inomap *m);

#endif
