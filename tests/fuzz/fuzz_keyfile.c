/* Fuzzes lb_keyfile_check, the parser for keys/<id> files (JSON with hex
 * fields), which runs on every key file before a password is tried.
 * No invariant beyond "returns 0 or a negative code, cleanly". */
#include "store/store.h"
#include "fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int e = lb_keyfile_check(data, size);

	FUZZ_ASSERT(e == 0 || e == -LB_E_CORRUPT || e == -LB_E_VERSION);
	return 0;
}
