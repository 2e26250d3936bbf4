/* Replays stored inputs through a fuzz target without libFuzzer, so that
 * `make check` runs every decoder over its whole corpus (and, with
 * SANITIZE=address,undefined, under the sanitizers).
 *
 *   fuzz_tree-replay DIR|FILE...
 *
 * Directories are read one level deep (hidden files skipped).  Prints how
 * many inputs ran; exits 0 unless an input could not be read.  A decoder
 * bug shows up as an abort or a sanitizer report, not as an exit code. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int run_file(const char *path)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t n = 0;
	FILE *f = fopen(path, "rb");

	if (!f || fstat(fileno(f), &st) < 0) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		if (f)
			fclose(f);
		return -1;
	}
	if (st.st_size > 0) {
		buf = malloc((size_t)st.st_size);
		if (!buf || (n = fread(buf, 1, (size_t)st.st_size, f)) != (size_t)st.st_size) {
			fprintf(stderr, "replay: %s: short read\n", path);
			free(buf);
			fclose(f);
			return -1;
		}
	}
	fclose(f);
	/* an exact-size heap copy, so ASan sees any read past the end */
	LLVMFuzzerTestOneInput(buf ? buf : (const uint8_t *)"", n);
	free(buf);
	return 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_dir(const char *dir, unsigned long *count)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	int bad = 0;
	DIR *d = opendir(dir);

	if (!d) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **p = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);

			if (!p)
				abort();
			names = p;
		}
		if (!(names[n++] = strdup(de->d_name)))
			abort();
	}
	closedir(d);
	/* a fixed order, so a failure reproduces the same way every time */
	if (n)
		qsort(names, n, sizeof *names, cmp_str);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) < 0)
				bad = 1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	unsigned long count = 0;
	int bad = 0;

	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			bad = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) < 0)
				bad = 1;
		} else if (run_file(argv[i]) < 0) {
			bad = 1;
		} else {
			count++;
		}
	}
	printf("%s: %lu input%s replayed\n", argv[0], count, count == 1 ? "" : "s");
	return bad ? 1 : 0;
}
