/* Fuzzes sealed whole objects (index files and snapshots) through a real
 * repository: the envelope header checks and authentication in
 * lb_repo_open_object, then the payload decoders behind them, the way
 * lb_repo_load_index and lb_snapshot_load reach them.
 *
 * Input: one flag byte, then the object.
 *   bit 0  the encrypted repository (else the unencrypted, HMAC-only one)
 *   bit 1  a snapshot (else an index file)
 *   bit 2  the rest is plaintext: seal it first (with the repository's
 *          keys) so the payload decoder sees fuzzed bytes after
 *          authentication; without it, the bytes are stored as they are
 *   bit 3  run lb_repo_load_index even when the envelope does not open
 *
 * Snapshots are stored under the keyed hash of their plaintext when the
 * envelope opens (lb_snapshot_load refuses any other name), else under a
 * fixed name.
 *
 * Invariants: every path returns 0 or a negative code and frees what it
 * took; sealing then opening gives back the plaintext; an object whose
 * envelope is damaged is refused before anything parses it, and a snapshot
 * loads only under its own id. */
#include <string.h>

#include "lifeboat/snapshot.h"
#include "fuzz_repo.h"
#include "fuzz.h"

static char tmpdir[512];
static struct lb_repo *repos[2];

static void cleanup(void)
{
	for (int i = 0; i < 2; i++)
		lb_repo_close(repos[i]);
	if (tmpdir[0])
		fuzz_rm_rf(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char path[PATH_MAX];
	const char *t = getenv("TMPDIR");

	(void)argc; (void)argv;
	snprintf(tmpdir, sizeof tmpdir, "%s/lbfuzz-envelope.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		abort();
	}
	atexit(cleanup);
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "%s/repo%d", tmpdir, i);
		if (fuzz_repo_create(path, i, &repos[i]) < 0) {
			fprintf(stderr, "fuzz_envelope: cannot create a repository: %s\n", lb_errmsg());
			abort();
		}
	}
	return 0;
}

static int count_cb(const uint8_t pack_id[LB_ID_LEN], const struct lb_toc_entry *e, uint32_t count, void *ctx)
{
	(void)pack_id; (void)e;
	*(size_t *)ctx += count;
	return 0;
}

/* The payload decoders, as the loaders call them. */
static void parse_payload(int snapshot, const uint8_t *p, size_t n)
{
	if (snapshot) {
		struct lb_snapshot *s = NULL;

		if (lb_snapshot_parse((const char *)p, n, &s) == 0)
			lb_snapshot_free(s);
	} else {
		size_t blobs = 0;

		(void)lb_index_file_decode(p, n, count_cb, &blobs);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lb_repo *r;
	const char *magic, *info, *dir, *name;
	char snapname[2 * LB_ID_LEN + 1];
	int snapshot, reseal, opened = 0, e;
	struct lb_buf sealed, plain;
	char path[PATH_MAX];
	const uint8_t *obj;
	size_t objlen;

	if (size < 1 || !repos[0])
		return 0;
	r = repos[data[0] & 1];
	snapshot = !!(data[0] & 2);
	reseal = !!(data[0] & 4);
	magic = snapshot ? LB_MAGIC_SNAPSHOT : LB_MAGIC_INDEX;
	/* the HKDF labels of repo.c (kind_info); only the reseal round trip
	 * depends on them matching */
	info = snapshot ? "lifeboat snapshot v1" : "lifeboat index v1";
	dir = snapshot ? "snapshots" : "index";
	fuzz_repo_reset(r);
	lb_buf_init(&sealed, 0);
	lb_buf_init(&plain, snapshot ? LB_SNAPSHOT_MAX : LB_INDEX_FILE_MAX);
	obj = data + 1;
	objlen = size - 1;

	if (reseal) {
		FUZZ_ASSERT(lb_repo_seal_object(r, magic, info, obj, objlen, &sealed) == 0);
		FUZZ_ASSERT(sealed.len == LB_ENVELOPE_HEADER_LEN + objlen + LB_TAG_LEN);
		FUZZ_ASSERT(lb_repo_open_object(r, magic, info, sealed.data, sealed.len, &plain) == 0);
		FUZZ_ASSERT(plain.len == objlen && (objlen == 0 || memcmp(plain.data, obj, objlen) == 0));
		/* the other kind's magic must not open it */
		FUZZ_ASSERT(lb_repo_open_object(r, snapshot ? LB_MAGIC_INDEX : LB_MAGIC_SNAPSHOT, info,
						sealed.data, sealed.len, &plain) < 0);
		parse_payload(snapshot, obj, objlen);
		FUZZ_ASSERT(lb_repo_open_object(r, magic, info, sealed.data, sealed.len, &plain) == 0);
		opened = 1;
		obj = sealed.data;
		objlen = sealed.len;
	} else {
		e = lb_repo_open_object(r, magic, info, obj, objlen, &plain);
		if (e == 0) {
			opened = 1;
			FUZZ_ASSERT(objlen >= LB_ENVELOPE_HEADER_LEN + LB_TAG_LEN);
			FUZZ_ASSERT(memcmp(obj, magic, 4) == 0 && obj[4] == LB_ENVELOPE_VERSION);
			FUZZ_ASSERT(plain.len == objlen - LB_ENVELOPE_HEADER_LEN - LB_TAG_LEN);
			parse_payload(snapshot, plain.data, plain.len);
		}
	}

	/* and the real loaders, from a file in the repository (rewritten in
	 * place by the next input) */
	name = FUZZ_OBJ_NAME;
	if (snapshot && opened) {
		/* a snapshot's name is the keyed hash of its manifest */
		uint8_t id[LB_ID_LEN];

		FUZZ_ASSERT(lb_repo_blob_id(r, plain.data, plain.len, id) == 0);
		lb_hex(snapname, id, sizeof id);
		name = snapname;
	}
	snprintf(path, sizeof path, "%s/repo%d/%s/%s", tmpdir, data[0] & 1, dir, name);
	FUZZ_ASSERT(fuzz_write_file(path, obj, objlen) == 0);
	if (snapshot) {
		struct lb_snapshot *s = NULL, **v = NULL;
		size_t n = 0;

		e = lb_snapshot_load(r, name, &s);
		if (e == 0) {
			FUZZ_ASSERT(opened && strcmp(s->id, name) == 0);
			lb_snapshot_free(s);
		}
		FUZZ_ASSERT(lb_snapshot_list(r, &v, &n) == 0 && n <= 1);
		lb_snapshot_list_free(v, n);
		/* the next input may have another name */
		unlink(path);
	} else {
		size_t blobs = 0;

		e = lb_repo_get_sealed(r, LB_KIND_INDEX, FUZZ_OBJ_NAME, &plain);
		if (e == 0)
			(void)lb_index_file_decode(plain.data, plain.len, count_cb, &blobs);
		/* the whole loader (its compaction walks 64 Ki buckets, so only
		 * when the envelope opened); damaged index files are skipped
		 * with a warning, never fatal */
		if (e == 0 || (data[0] & 8))
			FUZZ_ASSERT(lb_repo_load_index(r, 0) == 0);
	}
	lb_buf_release(&sealed);
	lb_buf_release(&plain);
	return 0;
}
