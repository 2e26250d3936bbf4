/* lifeboat — zstd compression of blobs. */
#ifndef LB_COMPRESS_H
#define LB_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

struct lb_zctx;

int lb_zctx_new(int level, struct lb_zctx **ret);
void lb_zctx_free(struct lb_zctx *z);
/* Worst-case compressed size for n input bytes. */
size_t lb_zbound(size_t n);
/* Compresses in[0..n) into out (capacity cap).  Returns the compressed
 * length, or 0 when the result would not be smaller than n by at least
 * 1/32 (store raw), or a negative code. */
long lb_zcompress(struct lb_zctx *z, const void *in, size_t n, void *out, size_t cap);
/* Decompresses exactly raw_len bytes; anything else is -LB_E_CORRUPT. */
int lb_zdecompress(struct lb_zctx *z, const void *in, size_t n, void *out, size_t raw_len);
/* The same with a per-thread context: for readers that have no lb_zctx. */
int lb_zdecompress_tl(const void *in, size_t n, void *out, size_t raw_len);

#endif
