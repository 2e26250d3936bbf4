/* lifeboat — content-defined chunker (FastCDC-style gear hash, normalised).
 *
 * The gear table is derived from the repository's chunker key, so chunk
 * boundaries (and therefore chunk sizes) reveal nothing about content to
 * someone without the key. */
#ifndef LB_CHUNKER_H
#define LB_CHUNKER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LB_CHUNK_MIN_FLOOR 512u
#define LB_CHUNK_MAX_CEIL (16u << 20)

struct lb_chunker {
	uint64_t gear[256];
	uint64_t mask_s; /* stricter mask before the average: fewer small chunks */
	uint64_t mask_l; /* looser mask after it: fewer chunks hit max */
	size_t min, avg, max;
};

/* Validates the sizes (min < avg < max, avg a power of two) and derives the
 * gear table from key. */
int lb_chunker_init(struct lb_chunker *c, const uint8_t key[32], size_t min, size_t avg, size_t max);

/* Length of the next chunk at the start of p[0..n).  Returns 0 when more
 * data is needed to decide (n < max and !eof); with eof every byte is
 * assigned and the last chunk may be shorter than min. */
size_t lb_chunker_next(const struct lb_chunker *c, const uint8_t *p, size_t n, bool eof);

#endif
