#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "store/compress.h"
#include "util/util.h"

struct lb_zctx {
	ZSTD_CCtx *c;
	ZSTD_DCtx *d;
	int level;
};

int lb_zctx_new(int level, struct lb_zctx **ret)
{
	struct lb_zctx *z = calloc(1, sizeof *z);

	if (!z)
		return -ENOMEM;
	z->c = ZSTD_createCCtx();
	z->d = ZSTD_createDCtx();
	z->level = level;
	if (!z->c || !z->d) {
		lb_zctx_free(z);
		return lb_err(-ENOMEM, "zstd: out of memory");
	}
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_compressionLevel, level);
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_checksumFlag, 0);
	ZSTD_CCtx_setParameter(z->c, ZSTD_c_contentSizeFlag, 0);
	*ret = z;
	return 0;
}

void lb_zctx_free(struct lb_zctx *z)
{
	if (!z)
		return;
	ZSTD_freeCCtx(z->c);
	ZSTD_freeDCtx(z->d);
	free(z);
}

size_t lb_zbound(size_t n)
{
	return ZSTD_compressBound(n);
}

long lb_zcompress(struct lb_zctx *z, const void *in, size_t n, void *out, size_t cap)
{
	size_t k;

	if (n == 0)
		return 0;
	k = ZSTD_compress2(z->c, out, cap, in, n);
	if (ZSTD_isError(k)) {
		if (ZSTD_getErrorCode(k) == ZSTD_error_dstSize_tooSmall)
			return 0;
		return lb_err(-EIO, "zstd: %s", ZSTD_getErrorName(k));
	}
	if (k >= n - n / 32)
		return 0; /* not worth a decompression on every read */
	return (long)k;
}

int lb_zdecompress(struct lb_zctx *z, const void *in, size_t n, void *out, size_t raw_len)
{
	size_t k = ZSTD_decompressDCtx(z->d, out, raw_len, in, n);

	if (ZSTD_isError(k))
		return lb_err(-LB_E_CORRUPT, "zstd: %s", ZSTD_getErrorName(k));
	if (k != raw_len)
		return lb_err(-LB_E_CORRUPT, "zstd: decompressed to %zu bytes, expected %zu", k, raw_len);
	return 0;
}

/* One decompression context per thread, made on first use. */
static pthread_key_t dctx_key;
static pthread_once_t dctx_once = PTHREAD_ONCE_INIT;

static void dctx_free(void *p)
{
	ZSTD_freeDCtx(p);
}

static void dctx_init(void)
{
	pthread_key_create(&dctx_key, dctx_free);
}

int lb_zdecompress_tl(const void *in, size_t n, void *out, size_t raw_len)
{
	ZSTD_DCtx *d;
	size_t k;

	pthread_once(&dctx_once, dctx_init);
	d = pthread_getspecific(dctx_key);
	if (!d) {
		d = ZSTD_createDCtx();
		if (!d)
			return lb_err(-ENOMEM, "zstd: out of memory");
		pthread_setspecific(dctx_key, d);
	}
	k = ZSTD_decompressDCtx(d, out, raw_len, in, n);
	if (ZSTD_isError(k))
		return lb_err(-LB_E_CORRUPT, "zstd: %s", ZSTD_getErrorName(k));
	if (k != raw_len)
		return lb_err(-LB_E_CORRUPT, "zstd: decompressed to %zu bytes, expected %zu", k, raw_len);
	return 0;
}
