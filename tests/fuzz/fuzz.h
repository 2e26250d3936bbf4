/* lifeboat fuzz targets: the libFuzzer entry points, declared so the
 * targets build cleanly under -Wmissing-prototypes, plus a tiny invariant
 * check that reports before it aborts. */
#ifndef LB_FUZZ_H
#define LB_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
/* Weak: optional one-time setup; replay.c calls it only when a target defines it. */
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* An invariant of the decoder under test; a violation is a bug, so it
 * aborts (libFuzzer and the sanitizers then keep the input). */
#define FUZZ_ASSERT(cond)                                                              \
	do {                                                                           \
		if (!(cond)) {                                                         \
			fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,     \
				__LINE__, #cond);                                      \
			abort();                                                       \
		}                                                                      \
	} while (0)

#endif
