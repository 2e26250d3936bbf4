#include <errno.h>
#include <string.h>

#include "crypto/crypto.h"
#include "store/chunker.h"
#include "util/util.h"

/* Masks take the top bits of the 64-bit gear hash: bit k depends on the
 * last k+1 bytes, so the top bits give a 64-byte rolling window. */
static uint64_t top_bits(unsigned n)
{
	return n == 0 ? 0 : ~0ULL << (64 - n);
}

int lb_chunker_init(struct lb_chunker *c, const uint8_t key[32], size_t min, size_t avg, size_t max)
{
	unsigned bits = 0;
	uint8_t block[40], out[32];

	if (min < LB_CHUNK_MIN_FLOOR || max > LB_CHUNK_MAX_CEIL || !(min < avg && avg < max) ||
	    (avg & (avg - 1)) != 0)
		return lb_err(-EINVAL, "invalid chunker sizes min=%zu avg=%zu max=%zu", min, avg, max);
	while ((1ULL << bits) < avg)
		bits++;
	c->min = min;
	c->avg = avg;
	c->max = max;
	/* normalisation level 2, as in the FastCDC paper */
	c->mask_s = top_bits(bits + 2);
	c->mask_l = top_bits(bits - 2);
	/* gear[i] = first 8 bytes of SHA-256(key | "gear" | i) */
	memcpy(block, key, 32);
	memcpy(block + 32, "gear", 4);
	for (unsigned i = 0; i < 256; i++) {
		lb_le32_put(block + 36, i);
		if (lb_sha256(block, sizeof block, out) < 0)
			return lb_err(-EIO, "chunker: cannot derive the gear table");
		c->gear[i] = lb_le64_get(out);
	}
	lb_wipe(block, sizeof block);
	return 0;
}

size_t lb_chunker_next(const struct lb_chunker *c, const uint8_t *p, size_t n, bool eof)
{
	size_t i, normal, end;
	uint64_t fp = 0;

	if (n <= c->min)
		return eof ? n : 0;
	if (n < c->max && !eof)
		return 0; /* decide only with a full window of max bytes, so cut
			   * points never depend on how reads were split */
	end = n < c->max ? n : c->max;
	normal = c->avg < end ? c->avg : end;
	/* Start hashing 64 bytes before min so the window is full at min. */
	for (i = c->min - 64; i < c->min; i++)
		fp = (fp << 1) + c->gear[p[i]];
	for (; i < normal; i++) {
		fp = (fp << 1) + c->gear[p[i]];
		if (!(fp & c->mask_s))
			return i + 1;
	}
	for (; i < end; i++) {
		fp = (fp << 1) + c->gear[p[i]];
		if (!(fp & c->mask_l))
			return i + 1;
	}
	return end;
}
