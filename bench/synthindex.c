/* synthindex: how long a repository of N chunks takes to open, and how
 * much memory its index takes.
 *
 *   synthindex DIR [N]     (N defaults to 10,000,000)
 *
 * Creates an encrypted repository in DIR (which must not exist), writes
 * index files describing N blobs in packs of ~16 MiB each (the packs
 * themselves are not written: only the index is measured), then opens the
 * repository afresh and times lb_repo_open + lb_repo_load_index, printing
 * wall time, the index's own accounting (bytes per blob) and the peak RSS. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>

#include "lifeboat/repo.h"
#include "store/store.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int pw(char *buf, size_t n, void *ctx)
{
	snprintf(buf, n, "synthetic");
	return 0;
}

int main(int argc, char **argv)
{
	size_t n = argc > 2 ? strtoull(argv[2], NULL, 10) : 10000000;
	const uint32_t per_pack = 256;   /* 16 MiB packs of 64 KiB chunks */
	const size_t packs_per_file = 400; /* ~100 k blobs per index file, as a long backup writes */
	struct lb_init_opts o = { .encrypt = 1, .scrypt_n = 1024 };
	struct lb_index_pack *packs;
	struct lb_repo *r;
	struct rusage ru;
	size_t done = 0, blobs, npacks, bytes;
	double t0, t1;
	uint64_t ctr = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: synthindex DIR [N]\n");
		return 2;
	}
	if (lb_repo_init(argv[1], &o, pw, NULL, &r) < 0) {
		fprintf(stderr, "synthindex: %s\n", lb_errmsg());
		return 1;
	}
	packs = calloc(packs_per_file, sizeof *packs);
	for (size_t i = 0; i < packs_per_file; i++)
		packs[i].entries = calloc(per_pack, sizeof *packs[i].entries);
	t0 = now();
	while (done < n) {
		size_t np = 0;

		for (; np < packs_per_file && done < n; np++) {
			struct lb_index_pack *p = &packs[np];
			uint32_t off = LB_PACK_HEADER_LEN;

			lb_random(p->id, sizeof p->id);
			p->count = 0;
			for (uint32_t k = 0; k < per_pack && done < n; k++, done++) {
				struct lb_toc_entry *e = &p->entries[p->count++];
				uint8_t seed[16];

				/* ids are keyed hashes: any uniform bytes will do */
				memcpy(seed, &ctr, 8);
				ctr++;
				memcpy(seed + 8, "synthidx", 8);
				lb_sha256(seed, sizeof seed, e->id);
				e->type = LB_BLOB_DATA;
				e->flags = LB_BLOB_FLAG_ZSTD;
				e->raw_len = 65536;
				e->stored_len = 30000;
				e->offset = off;
				off += LB_BLOB_HEADER_LEN + e->stored_len + LB_TAG_LEN;
			}
		}
		if (lb_repo_write_index(r, packs, np) < 0) {
			fprintf(stderr, "synthindex: %s\n", lb_errmsg());
			return 1;
		}
	}
	t1 = now();
	printf("wrote index files for %zu blobs in %.1f s\n", n, t1 - t0);
	lb_repo_close(r);

	t0 = now();
	if (lb_repo_open(argv[1], pw, NULL, &r) < 0 || lb_repo_load_index(r, LB_LOAD_ORPHANS) < 0) {
		fprintf(stderr, "synthindex: %s\n", lb_errmsg());
		return 1;
	}
	t1 = now();
	lb_repo_index_stats(r, &blobs, &npacks, &bytes);
	getrusage(RUSAGE_SELF, &ru);
	printf("opened a repository of %zu blobs in %zu packs in %.2f s\n", blobs, npacks, t1 - t0);
	printf("index memory: %zu bytes, %.1f bytes per blob; peak RSS %ld MB\n", bytes, (double)bytes / (double)blobs,
	       ru.ru_maxrss / 1024);
	lb_repo_close(r);
	return 0;
}
