/* mkmany DIR FILES PER_DIR: FILES small files (60-300 bytes, each with
 * different content) in directories of PER_DIR entries, for the scale
 * measurements in bench/scale.sh. */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

int main(int argc, char **argv)
{
	unsigned long files, per, d = 0;
	uint64_t s = 42;
	char path[4096], buf[512];

	if (argc != 4) {
		fprintf(stderr, "usage: mkmany DIR FILES PER_DIR\n");
		return 2;
	}
	files = strtoul(argv[2], NULL, 10);
	per = strtoul(argv[3], NULL, 10);
	mkdir(argv[1], 0755);
	for (unsigned long i = 0; i < files; i++) {
		int fd, n;

		if (i % per == 0) {
			d = i / per;
			snprintf(path, sizeof path, "%s/d%05lu", argv[1], d);
			mkdir(path, 0755);
		}
		s = s * 6364136223846793005ull + 1442695040888963407ull;
		n = snprintf(buf, sizeof buf, "message %lu of %lu, seed %llu\n%*s\n", i, files,
			     (unsigned long long)s, (int)(s >> 56), "");
		snprintf(path, sizeof path, "%s/d%05lu/f%07lu.txt", argv[1], d, i);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0 || write(fd, buf, (size_t)n) != n) {
			perror(path);
			return 1;
		}
		close(fd);
	}
	return 0;
}
