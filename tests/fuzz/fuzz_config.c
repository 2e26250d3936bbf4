/* Fuzzes lb_config_parse, the plain JSON "config" file that makes a
 * directory a repository and is read before any key is known.
 *
 * Invariants: an accepted config has parameters the rest of lifeboat can
 * use (lb_repo_open passes them to lb_chunker_init right after parsing, so
 * the parser must not accept what the chunker refuses), and it survives
 * lb_repo_config_json -> lb_config_parse unchanged. */
#include <string.h>

#include "store/store.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_repo_config c, c2;
	struct lb_chunker ch;
	struct lb_repo fake;
	static const uint8_t key[32];
	char *text = NULL;

	memset(&c, 0, sizeof c);
	if (lb_config_parse(data, size, &c) < 0)
		return 0;
	FUZZ_ASSERT(c.version >= 1 && c.version <= LB_REPO_VERSION);
	FUZZ_ASSERT(c.enc == LB_ENC_NONE || c.enc == LB_ENC_AES256GCM);
	FUZZ_ASSERT(c.chunk_min >= LB_CHUNK_MIN_FLOOR && c.chunk_min < c.chunk_avg &&
		    c.chunk_avg < c.chunk_max && c.chunk_max <= LB_CHUNK_MAX_CEIL);
	FUZZ_ASSERT(c.pack_size >= (1u << 16) && c.pack_size <= (1u << 30));
	FUZZ_ASSERT(c.zstd_level >= -7 && c.zstd_level <= 22);
	FUZZ_ASSERT(lb_chunker_init(&ch, key, c.chunk_min, c.chunk_avg, c.chunk_max) == 0);

	/* lb_repo_config_json reads only the config of the handle */
	memset(&fake, 0, sizeof fake);
	fake.cfg = c;
	FUZZ_ASSERT(lb_repo_config_json(&fake, &text) == 0);
	memset(&c2, 0, sizeof c2);
	FUZZ_ASSERT(lb_config_parse((const uint8_t *)text, strlen(text), &c2) == 0);
	FUZZ_ASSERT(c2.version == c.version && memcmp(c2.id, c.id, LB_ID_LEN) == 0 && c2.enc == c.enc);
	FUZZ_ASSERT(c2.chunk_min == c.chunk_min && c2.chunk_avg == c.chunk_avg && c2.chunk_max == c.chunk_max);
	FUZZ_ASSERT(c2.pack_size == c.pack_size && c2.zstd_level == c.zstd_level);
	free(text);
	return 0;
}
