/* Unit tests for lib/crypto: keyed ids (HMAC-SHA256), AEAD in both modes,
 * HKDF, scrypt, SHA-256 — against published vectors and OpenSSL itself. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "tap.h"
#include "crypto/crypto.h"
#include "util/util.h"

static int hexeq(const uint8_t *got, size_t n, const char *want)
{
	char h[512];

	lb_hex(h, got, n);
	if (strcmp(h, want) != 0) {
		diag("got  %s", h);
		diag("want %s", want);
		return 0;
	}
	return 1;
}

/* ---- HMAC-SHA256 through lb_idhash ---- */

static int idhash_of(const uint8_t *key, size_t keylen, const void *data, size_t n, uint8_t out[32])
{
	uint8_t k[32] = { 0 };
	struct lb_idhash *h = NULL;
	int e;

	/* HMAC pads a short key with zeros to the block size, so a key of
	 * fewer than 32 bytes padded to 32 is the same HMAC key */
	memcpy(k, key, keylen);
	if ((e = lb_idhash_new(k, &h)) < 0)
		return e;
	e = lb_idhash_sum(h, data, n, out);
	lb_idhash_free(h);
	return e;
}

static void test_hmac(void)
{
	uint8_t out[32], key[32], ref[32], data[1000];
	unsigned reflen = 0;
	uint8_t k20[20], kaa[20], kinc[25], ddd[50], cdc[50];

	memset(k20, 0x0b, sizeof k20);
	memset(kaa, 0xaa, sizeof kaa);
	for (int i = 0; i < 25; i++)
		kinc[i] = (uint8_t)(i + 1);
	memset(ddd, 0xdd, sizeof ddd);
	memset(cdc, 0xcd, sizeof cdc);

	ok(idhash_of(k20, 20, "Hi There", 8, out) == 0 &&
	   hexeq(out, 32, "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
	   "RFC 4231 test case 1");
	ok(idhash_of((const uint8_t *)"Jefe", 4, "what do ya want for nothing?", 28, out) == 0 &&
	   hexeq(out, 32, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
	   "RFC 4231 test case 2");
	ok(idhash_of(kaa, 20, ddd, 50, out) == 0 &&
	   hexeq(out, 32, "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
	   "RFC 4231 test case 3");
	ok(idhash_of(kinc, 25, cdc, 50, out) == 0 &&
	   hexeq(out, 32, "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
	   "RFC 4231 test case 4");

	/* full 32-byte keys against OpenSSL's HMAC() at block-boundary lengths */
	{
		static const size_t lens[] = { 0, 1, 31, 32, 55, 56, 63, 64, 65, 127, 128, 1000 };
		struct lb_idhash *h = NULL;
		int good = 1;

		lb_random(key, sizeof key);
		lb_random(data, sizeof data);
		lb_idhash_new(key, &h);
		for (size_t i = 0; i < LB_ARRAY_SIZE(lens); i++) {
			HMAC(EVP_sha256(), key, 32, data, lens[i], ref, &reflen);
			if (lb_idhash_sum(h, data, lens[i], out) != 0 || memcmp(out, ref, 32) != 0) {
				good = 0;
				diag("mismatch at length %zu", lens[i]);
			}
		}
		ok(good, "random 32-byte key: lb_idhash equals OpenSSL HMAC() at 12 lengths");
		/* the precomputed state is reusable: same input, same output */
		lb_idhash_sum(h, data, 100, out);
		lb_idhash_sum(h, data, 100, ref);
		ok(!memcmp(out, ref, 32), "the same input hashes the same twice");
		lb_idhash_sum(h, data, 101, ref);
		ok(memcmp(out, ref, 32) != 0, "a different length hashes differently");
		lb_idhash_free(h);
	}
	{
		uint8_t k1[32] = { 1 }, k2[32] = { 2 }, o1[32], o2[32];

		idhash_of(k1, 32, "x", 1, o1);
		idhash_of(k2, 32, "x", 1, o2);
		ok(memcmp(o1, o2, 32) != 0, "a different key gives a different id");
	}
	lb_idhash_free(NULL);
	ok(1, "lb_idhash_free(NULL) is harmless");
}

struct hthr {
	struct lb_idhash *h;
	const uint8_t *data;
	int mismatches;
	uint8_t want[32];
};

static void *hash_thread(void *arg)
{
	struct hthr *t = arg;
	uint8_t out[32];

	for (int i = 0; i < 2000; i++) {
		lb_idhash_sum(t->h, t->data, 500, out);
		if (memcmp(out, t->want, 32))
			t->mismatches++;
	}
	return NULL;
}

static void test_hmac_threads(void)
{
	uint8_t key[32], data[500];
	struct lb_idhash *h = NULL;
	struct hthr a, b;
	pthread_t ta, tb;

	lb_random(key, sizeof key);
	lb_random(data, sizeof data);
	lb_idhash_new(key, &h);
	memset(&a, 0, sizeof a);
	a.h = h;
	a.data = data;
	lb_idhash_sum(h, data, 500, a.want);
	b = a;
	pthread_create(&ta, NULL, hash_thread, &a);
	pthread_create(&tb, NULL, hash_thread, &b);
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	ok(a.mismatches == 0 && b.mismatches == 0, "one lb_idhash shared by two threads gives stable results");
	lb_idhash_free(h);
}

static void test_sha256(void)
{
	uint8_t out[32];

	ok(lb_sha256("abc", 3, out) == 0 &&
	   hexeq(out, 32, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"), "SHA-256(\"abc\")");
	ok(lb_sha256("", 0, out) == 0 &&
	   hexeq(out, 32, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"), "SHA-256(\"\")");
}

/* ---- AEAD ---- */

static void test_gcm_vectors(void)
{
	uint8_t key[32], nonce[12], pt[60], aad[20], out[60 + 16], back[60];
	struct lb_aead *a = NULL;

	/* McGrew & Viega GCM spec, test case 14: zero key, zero IV, one zero block */
	memset(key, 0, sizeof key);
	memset(nonce, 0, sizeof nonce);
	memset(pt, 0, 16);
	ok(lb_aead_new(LB_ENC_AES256GCM, key, &a) == 0, "AES-256-GCM context");
	ok(lb_aead_seal(a, nonce, NULL, 0, pt, 16, out) == 0 &&
	   hexeq(out, 32, "cea7403d4d606b6e074ec5d3baf39d18d0d1c8a799996bf0265b98b5d48ab919"),
	   "GCM test case 14 (ciphertext | tag)");
	lb_aead_free(a);

	/* test case 16: key, IV, 60-byte plaintext and 20-byte AAD */
	lb_unhex(key, 32, "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
	lb_unhex(nonce, 12, "cafebabefacedbaddecaf888");
	lb_unhex(pt, 60, "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
			 "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39");
	lb_unhex(aad, 20, "feedfacedeadbeeffeedfacedeadbeefabaddad2");
	lb_aead_new(LB_ENC_AES256GCM, key, &a);
	ok(lb_aead_seal(a, nonce, aad, 20, pt, 60, out) == 0 &&
	   hexeq(out, 76, "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
			  "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662"
			  "76fc6ece0f4e1768cddf8853bb2d551b"),
	   "GCM test case 16 (with AAD)");
	ok(lb_aead_open(a, nonce, aad, 20, out, 60, back) == 0 && !memcmp(back, pt, 60), "test case 16 opens");
	lb_aead_free(a);
}

/* The NONE mode's tag, computed independently: first 16 bytes of
 * HMAC-SHA256(key, nonce | le64(aadlen) | aad | data). */
static void none_tag_ref(const uint8_t key[32], const uint8_t nonce[12], const uint8_t *aad, size_t aadlen,
			 const uint8_t *data, size_t n, uint8_t tag[16])
{
	uint8_t buf[4096], full[32];
	unsigned len = 0;
	size_t off = 0;

	memcpy(buf, nonce, 12);
	off = 12;
	lb_le64_put(buf + off, aadlen);
	off += 8;
	memcpy(buf + off, aad, aadlen);
	off += aadlen;
	memcpy(buf + off, data, n);
	off += n;
	HMAC(EVP_sha256(), key, 32, buf, off, full, &len);
	memcpy(tag, full, 16);
}

static void test_aead_mode(enum lb_enc mode, const char *label)
{
	uint8_t key[32], nonce[12], aad[40], pt[1000], ct[1000 + 16], back[1000], t[1000 + 16];
	struct lb_aead *a = NULL;
	static const size_t sizes[] = { 0, 1, 15, 16, 17, 1000 };
	int good = 1;

	lb_random(key, sizeof key);
	lb_random(aad, sizeof aad);
	lb_random(pt, sizeof pt);
	lb_nonce(nonce, 7, 12345);
	ok(lb_aead_new(mode, key, &a) == 0, "%s: context", label);
	for (size_t i = 0; i < LB_ARRAY_SIZE(sizes); i++) {
		size_t n = sizes[i];

		memset(back, 0, sizeof back);
		if (lb_aead_seal(a, nonce, aad, sizeof aad, pt, n, ct) != 0 ||
		    lb_aead_open(a, nonce, aad, sizeof aad, ct, n, back) != 0 || memcmp(back, pt, n) != 0) {
			good = 0;
			diag("%s: round trip of %zu bytes failed", label, n);
		}
	}
	ok(good, "%s: seal/open round trip at 0, 1, 15, 16, 17, 1000 bytes", label);

	lb_aead_seal(a, nonce, aad, sizeof aad, pt, sizeof pt, ct);
	if (mode == LB_ENC_NONE) {
		uint8_t tag[16];

		ok(!memcmp(ct, pt, sizeof pt), "%s: the payload is the plaintext (no confidentiality)", label);
		none_tag_ref(key, nonce, aad, sizeof aad, pt, sizeof pt, tag);
		ok(!memcmp(ct + sizeof pt, tag, 16), "%s: tag is HMAC(nonce|le64(aadlen)|aad|data)[:16]", label);
	} else {
		ok(memcmp(ct, pt, sizeof pt) != 0, "%s: the payload is not the plaintext", label);
		skip("tag format is GCM's (checked against the vectors)");
	}

	/* without AAD */
	ok(lb_aead_seal(a, nonce, NULL, 0, pt, 100, t) == 0 && lb_aead_open(a, nonce, NULL, 0, t, 100, back) == 0 &&
	   !memcmp(back, pt, 100), "%s: round trip without AAD", label);
	ok(lb_aead_open(a, nonce, aad, 1, t, 100, back) == -LB_E_AUTH, "%s: adding AAD on open fails", label);

	/* in place, as the pack trailer does */
	memcpy(t, pt, 500);
	ok(lb_aead_seal(a, nonce, aad, 10, t, 500, t) == 0 && lb_aead_open(a, nonce, aad, 10, t, 500, t) == 0 &&
	   !memcmp(t, pt, 500), "%s: in-place seal and open", label);

	/* tamper: each of ciphertext, tag, AAD and nonce */
	{
		int e1, e2, e3, e4, e5, e6;
		uint8_t n2[12];

		memcpy(t, ct, sizeof ct);
		t[0] ^= 1;
		e1 = lb_aead_open(a, nonce, aad, sizeof aad, t, sizeof pt, back);
		memcpy(t, ct, sizeof ct);
		t[sizeof pt - 1] ^= 0x80;
		e2 = lb_aead_open(a, nonce, aad, sizeof aad, t, sizeof pt, back);
		memcpy(t, ct, sizeof ct);
		t[sizeof pt + 15] ^= 1;
		e3 = lb_aead_open(a, nonce, aad, sizeof aad, t, sizeof pt, back);
		aad[5] ^= 4;
		e4 = lb_aead_open(a, nonce, aad, sizeof aad, ct, sizeof pt, back);
		aad[5] ^= 4;
		memcpy(n2, nonce, 12);
		n2[11] ^= 1;
		e5 = lb_aead_open(a, n2, aad, sizeof aad, ct, sizeof pt, back);
		/* a truncated ciphertext (one byte shorter, tag shifted) */
		e6 = lb_aead_open(a, nonce, aad, sizeof aad, ct, sizeof pt - 1, back);
		is(e1, -LB_E_AUTH, "%s: flipped first ciphertext byte -> -LB_E_AUTH", label);
		is(e2, -LB_E_AUTH, "%s: flipped last ciphertext byte -> -LB_E_AUTH", label);
		is(e3, -LB_E_AUTH, "%s: flipped tag byte -> -LB_E_AUTH", label);
		is(e4, -LB_E_AUTH, "%s: flipped AAD byte -> -LB_E_AUTH", label);
		is(e5, -LB_E_AUTH, "%s: flipped nonce byte -> -LB_E_AUTH", label);
		is(e6, -LB_E_AUTH, "%s: shortened ciphertext -> -LB_E_AUTH", label);
		ok(lb_aead_open(a, nonce, aad, sizeof aad, ct, sizeof pt, back) == 0, "%s: the original still opens",
		   label);
	}
	/* a different key */
	{
		struct lb_aead *b = NULL;
		uint8_t k2[32];

		memcpy(k2, key, 32);
		k2[31] ^= 1;
		lb_aead_new(mode, k2, &b);
		is(lb_aead_open(b, nonce, aad, sizeof aad, ct, sizeof pt, back), -LB_E_AUTH,
		   "%s: a different key -> -LB_E_AUTH", label);
		lb_aead_free(b);
	}
	lb_aead_free(a);
}

static void test_aead_misc(void)
{
	uint8_t key[32] = { 0 }, nonce[12];
	struct lb_aead *a = NULL;

	is(lb_aead_new((enum lb_enc)7, key, &a), -EINVAL, "an unknown scheme is -EINVAL");
	lb_aead_free(NULL);
	lb_nonce(nonce, 0x01020304u, 0x05060708090a0b0cull);
	ok(hexeq(nonce, 12, "0102030405060708090a0b0c"), "nonce = be32 domain | be64 counter");
	lb_nonce(nonce, 1, 0);
	ok(hexeq(nonce, 12, "000000010000000000000000"), "trailer nonce (domain 1, counter 0)");

	/* GCM: different nonces give different ciphertexts of the same plaintext */
	{
		uint8_t n1[12], n2[12], c1[32 + 16], c2[32 + 16], pt[32] = { 0 };

		lb_aead_new(LB_ENC_AES256GCM, key, &a);
		lb_nonce(n1, 0, 24);
		lb_nonce(n2, 0, 68);
		lb_aead_seal(a, n1, NULL, 0, pt, 32, c1);
		lb_aead_seal(a, n2, NULL, 0, pt, 32, c2);
		ok(memcmp(c1, c2, 32) != 0, "GCM: another nonce, another ciphertext");
		lb_aead_free(a);
	}
}

/* ---- KDFs ---- */

/* RFC 5869 computed by hand with OpenSSL's HMAC(), to check lb_hkdf with
 * inputs the RFC vectors cannot express (lb_hkdf's IKM is 32 bytes). */
static void hkdf_ref(const uint8_t *ikm, size_t ikmlen, const uint8_t *salt, size_t saltlen, const uint8_t *info,
		     size_t infolen, uint8_t *out, size_t L)
{
	uint8_t prk[32], t[32], buf[32 + 256 + 1];
	unsigned len = 0;
	size_t done = 0, tlen = 0;
	uint8_t zero[32] = { 0 };

	if (!saltlen) {
		salt = zero;
		saltlen = 32;
	}
	HMAC(EVP_sha256(), salt, (int)saltlen, ikm, ikmlen, prk, &len);
	for (uint8_t i = 1; done < L; i++) {
		memcpy(buf, t, tlen);
		memcpy(buf + tlen, info, infolen);
		buf[tlen + infolen] = i;
		HMAC(EVP_sha256(), prk, 32, buf, tlen + infolen + 1, t, &len);
		tlen = 32;
		memcpy(out + done, t, LB_MIN((size_t)32, L - done));
		done += LB_MIN((size_t)32, L - done);
	}
}

static void test_hkdf(void)
{
	uint8_t ikm22[22], ikm[32], salt[13], info[11], ref[42], out[32];

	memset(ikm22, 0x0b, sizeof ikm22);
	for (int i = 0; i < 13; i++)
		salt[i] = (uint8_t)i;
	for (int i = 0; i < 10; i++)
		info[i] = (uint8_t)(0xf0 + i);
	info[10] = 0;
	hkdf_ref(ikm22, 22, salt, 13, info, 10, ref, 42);
	ok(hexeq(ref, 42, "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865"),
	   "the reference HKDF reproduces RFC 5869 test case 1");

	/* lb_hkdf takes a 32-byte key: test case 1's salt and info, IKM 0x0b x 32 */
	memset(ikm, 0x0b, sizeof ikm);
	ok(lb_hkdf(ikm, salt, 13, (const char *)info, out) == 0 &&
	   hexeq(out, 32, "d4100799f26a09615a72af3e58fa3841a2ff20d5ace3fb392e562e207fe6b718"),
	   "lb_hkdf with test case 1's salt and info, 32-byte IKM (value from Python's hmac)");
	hkdf_ref(ikm, 32, salt, 13, info, 10, ref, 32);
	ok(!memcmp(out, ref, 32), "lb_hkdf equals the reference HKDF");

	for (int i = 0; i < 32; i++)
		ikm[i] = (uint8_t)i;
	ok(lb_hkdf(ikm, salt, 0, "lifeboat pack v1", out) == 0 &&
	   hexeq(out, 32, "411cb2e98a3dadf99c745ca21acd09c2ccddc2641361affad095141f41d4f353"),
	   "lb_hkdf with an empty salt (HashLen zeros, per RFC 5869)");
	{
		uint8_t o1[32], o2[32];

		lb_hkdf(ikm, salt, 13, "lifeboat pack v1", o1);
		lb_hkdf(ikm, salt, 13, "lifeboat index v1", o2);
		ok(memcmp(o1, o2, 32) != 0, "another info label, another key");
		salt[0] ^= 1;
		lb_hkdf(ikm, salt, 13, "lifeboat pack v1", o2);
		ok(memcmp(o1, o2, 32) != 0, "another salt, another key");
	}
}

static void test_scrypt(void)
{
	uint8_t a[32], b[32];

	ok(lb_scrypt("", 0, (const uint8_t *)"", 0, 16, 1, 1, a) == 0 &&
	   hexeq(a, 32, "77d6576238657b203b19ca42c18a0497f16b4844e3074ae8dfdffa3fede21442"),
	   "RFC 7914 vector 1 (\"\", \"\", N=16, r=1, p=1), first 32 bytes");
	ok(lb_scrypt("password", 8, (const uint8_t *)"NaCl", 4, 1024, 8, 16, a) == 0 &&
	   hexeq(a, 32, "fdbabe1c9d3472007856e7190d01e9fe7c6ad7cbc8237830e77376634b373162"),
	   "RFC 7914 vector 2 (\"password\", \"NaCl\", N=1024, r=8, p=16), first 32 bytes");
	ok(lb_scrypt("pw", 2, (const uint8_t *)"salt", 4, 16, 1, 1, a) == 0 &&
	   lb_scrypt("pw", 2, (const uint8_t *)"salt", 4, 16, 1, 1, b) == 0 && !memcmp(a, b, 32),
	   "small-N scrypt is deterministic");
	ok(hexeq(a, 32, "086be1ce38ba574b6133f2c1cfafecb7f2406cc739054fb368b2cb0f556daf00"),
	   "and matches Python's hashlib.scrypt");
	lb_scrypt("pw", 2, (const uint8_t *)"salu", 4, 16, 1, 1, b);
	ok(memcmp(a, b, 32) != 0, "another salt, another key");
	lb_scrypt("pX", 2, (const uint8_t *)"salt", 4, 16, 1, 1, b);
	ok(memcmp(a, b, 32) != 0, "another password, another key");
	lb_scrypt("pw", 2, (const uint8_t *)"salt", 4, 32, 1, 1, b);
	ok(memcmp(a, b, 32) != 0, "another N, another key");
	ok(lb_scrypt("pw", 2, (const uint8_t *)"salt", 4, 1000, 1, 1, b) < 0, "N not a power of two is refused");
}

int main(void)
{
	ok(lb_crypto_init() == 0, "lb_crypto_init");
	ok(lb_crypto_init() == 0, "lb_crypto_init twice");
	test_hmac();
	test_hmac_threads();
	test_sha256();
	test_gcm_vectors();
	test_aead_mode(LB_ENC_AES256GCM, "aes-256-gcm");
	test_aead_mode(LB_ENC_NONE, "none");
	test_aead_misc();
	test_hkdf();
	test_scrypt();
	return done_testing();
}
