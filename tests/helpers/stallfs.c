/* stallfs [--release FILE] [--log FILE] MOUNTPOINT: a small read-only FUSE
 * file system (libfuse3, high-level API) whose file "stuck-here" never
 * answers a read — the way a hung NFS server behaves — until FILE exists
 * (or the helper is killed, which makes the read fail with ENOTCONN).
 * Runs in the foreground; the test kills it by pid and unmounts.
 *
 *   /hello.txt           "hello from stallfs\n"
 *   /data.bin            200000 bytes of a fixed pattern
 *   /sub/note.txt        "note\n"
 *   /stuck-here          100000 bytes of the pattern; read() blocks
 *
 * --log FILE gets one line "read stuck-here" each time a read of the
 * stuck file starts blocking, so a test knows the reader is stuck.
 *
 * Like an NFS mount (whose waits are killable), a blocked read gives up
 * with EINTR when its reader is killed or interrupted (cfg->intr): once a
 * FUSE request has reached the server, the kernel waits for the server's
 * answer even through SIGKILL, so a server that ignored interrupts would
 * leave its reader unkillable until the helper itself dies. */
#define FUSE_USE_VERSION 31

#include <errno.h>
#include <fcntl.h>
#include <fuse.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DATA_SIZE 200000
#define STUCK_SIZE 100000

static const char *release_file;
static const char *log_file;

static const char hello[] = "hello from stallfs\n";
static const char note[] = "note\n";

static unsigned char pattern_byte(off_t i)
{
	return (unsigned char)((i * 31 + (i >> 8)) & 0xff);
}

enum kind { K_NONE, K_ROOT, K_SUB, K_HELLO, K_DATA, K_NOTE, K_STUCK };

static enum kind lookup(const char *path)
{
	if (!strcmp(path, "/"))
		return K_ROOT;
	if (!strcmp(path, "/sub"))
		return K_SUB;
	if (!strcmp(path, "/hello.txt"))
		return K_HELLO;
	if (!strcmp(path, "/data.bin"))
		return K_DATA;
	if (!strcmp(path, "/sub/note.txt"))
		return K_NOTE;
	if (!strcmp(path, "/stuck-here"))
		return K_STUCK;
	return K_NONE;
}

static int st_getattr(const char *path, struct stat *st, struct fuse_file_info *fi)
{
	enum kind k = lookup(path);

	(void)fi;
	memset(st, 0, sizeof *st);
	st->st_uid = getuid();
	st->st_gid = getgid();
	st->st_mtime = st->st_ctime = st->st_atime = 1700000000;
	switch (k) {
	case K_ROOT:
	case K_SUB:
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return 0;
	case K_HELLO: st->st_size = sizeof hello - 1; break;
	case K_DATA: st->st_size = DATA_SIZE; break;
	case K_NOTE: st->st_size = sizeof note - 1; break;
	case K_STUCK: st->st_size = STUCK_SIZE; break;
	default: return -ENOENT;
	}
	st->st_mode = S_IFREG | 0644;
	st->st_nlink = 1;
	return 0;
}

static int st_readdir(const char *path, void *buf, fuse_fill_dir_t fill, off_t off, struct fuse_file_info *fi,
		      enum fuse_readdir_flags flags)
{
	enum kind k = lookup(path);

	(void)off;
	(void)fi;
	(void)flags;
	if (k != K_ROOT && k != K_SUB)
		return -ENOENT;
	fill(buf, ".", NULL, 0, 0);
	fill(buf, "..", NULL, 0, 0);
	if (k == K_ROOT) {
		fill(buf, "hello.txt", NULL, 0, 0);
		fill(buf, "data.bin", NULL, 0, 0);
		fill(buf, "sub", NULL, 0, 0);
		fill(buf, "stuck-here", NULL, 0, 0);
	} else {
		fill(buf, "note.txt", NULL, 0, 0);
	}
	return 0;
}

static int st_open(const char *path, struct fuse_file_info *fi)
{
	enum kind k = lookup(path);

	if (k == K_NONE || k == K_ROOT || k == K_SUB)
		return -ENOENT;
	if ((fi->flags & O_ACCMODE) != O_RDONLY)
		return -EROFS;
	if (k == K_STUCK)
		fi->direct_io = 1; /* every read reaches us: the page cache never answers for it */
	return 0;
}

static int copy_out(const char *src, size_t len, char *buf, size_t size, off_t off)
{
	if (off >= (off_t)len)
		return 0;
	if (size > len - (size_t)off)
		size = len - (size_t)off;
	memcpy(buf, src + off, size);
	return (int)size;
}

static int pattern_out(off_t total, char *buf, size_t size, off_t off)
{
	if (off >= total)
		return 0;
	if ((off_t)size > total - off)
		size = (size_t)(total - off);
	for (size_t i = 0; i < size; i++)
		buf[i] = (char)pattern_byte(off + (off_t)i);
	return (int)size;
}

static void log_line(const char *what)
{
	FILE *f;

	if (!log_file)
		return;
	f = fopen(log_file, "a");
	if (f) {
		fprintf(f, "%s\n", what);
		fclose(f);
	}
}

static int st_read(const char *path, char *buf, size_t size, off_t off, struct fuse_file_info *fi)
{
	(void)fi;
	switch (lookup(path)) {
	case K_HELLO: return copy_out(hello, sizeof hello - 1, buf, size, off);
	case K_NOTE: return copy_out(note, sizeof note - 1, buf, size, off);
	case K_DATA: return pattern_out(DATA_SIZE, buf, size, off);
	case K_STUCK:
		log_line("read stuck-here");
		/* a hung server: no answer until released */
		while (!release_file || access(release_file, F_OK) != 0) {
			struct timespec ts = { 0, 50 * 1000 * 1000 };

			if (fuse_interrupted()) {
				log_line("interrupted stuck-here");
				return -EINTR;
			}
			nanosleep(&ts, NULL);
		}
		return pattern_out(STUCK_SIZE, buf, size, off);
	default: return -ENOENT;
	}
}

static void *st_init(struct fuse_conn_info *conn, struct fuse_config *cfg)
{
	(void)conn;
	cfg->intr = 1; /* deliver the kernel's interrupts: fuse_interrupted() */
	return NULL;
}

static const struct fuse_operations ops = {
	.init = st_init,
	.getattr = st_getattr,
	.readdir = st_readdir,
	.open = st_open,
	.read = st_read,
};

static void on_intr_signal(int sig)
{
	(void)sig; /* only wakes the sleeping read; fuse_interrupted() tells */
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	char *fargv[16];
	int fargc = 0, i;

	/* libfuse signals a request's thread with SIGUSR1 when the kernel
	 * interrupts it; cfg->intr is only seen after mounting, so the handler
	 * is installed here */
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_intr_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--release") && i + 1 < argc)
			release_file = argv[++i];
		else if (!strcmp(argv[i], "--log") && i + 1 < argc)
			log_file = argv[++i];
		else
			break;
	}
	if (i != argc - 1) {
		fprintf(stderr, "usage: stallfs [--release FILE] [--log FILE] MOUNTPOINT\n");
		return 2;
	}
	fargv[fargc++] = argv[0];
	fargv[fargc++] = (char *)"-f";               /* foreground: the test owns the pid */
	fargv[fargc++] = (char *)"-o";
	fargv[fargc++] = (char *)"fsname=stallfs,subtype=stallfs";
	fargv[fargc++] = argv[i];
	fargv[fargc] = NULL;
	return fuse_main(fargc, fargv, &ops, NULL);
}
