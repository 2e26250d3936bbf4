#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

#include "crypto/crypto.h"
#include "util/util.h"

/* Explicit fetches: OpenSSL 3 otherwise re-fetches the algorithm on every
 * init, which costs a lock round trip per blob. */
static EVP_MD *md_sha256;
static EVP_CIPHER *cipher_gcm;
static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static int crypto_init_ok;

static void crypto_init_once(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	cipher_gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
	crypto_init_ok = md_sha256 && cipher_gcm;
}

int lb_crypto_init(void)
{
	pthread_once(&crypto_once, crypto_init_once);
	if (!crypto_init_ok)
		return lb_err(-ENOSYS, "OpenSSL lacks SHA-256 or AES-256-GCM");
	return 0;
}

void lb_wipe(void *p, size_t n)
{
	OPENSSL_cleanse(p, n);
}

/* ---- keyed ids: HMAC-SHA256 with precomputed inner/outer states ---- */

struct lb_idhash {
	EVP_MD_CTX *inner;
	EVP_MD_CTX *outer;
};

void lb_idhash_free(struct lb_idhash *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->inner);
	EVP_MD_CTX_free(h->outer);
	free(h);
}

int lb_idhash_new(const uint8_t key[LB_KEY_LEN], struct lb_idhash **ret)
{
	uint8_t ipad[64], opad[64];
	struct lb_idhash *h;
	int r = lb_crypto_init();

	if (r < 0)
		return r;
	h = calloc(1, sizeof *h);
	if (!h)
		return -ENOMEM;
	memset(ipad, 0x36, sizeof ipad);
	memset(opad, 0x5c, sizeof opad);
	for (int i = 0; i < LB_KEY_LEN; i++) {
		ipad[i] ^= key[i];
		opad[i] ^= key[i];
	}
	h->inner = EVP_MD_CTX_new();
	h->outer = EVP_MD_CTX_new();
	if (!h->inner || !h->outer || !EVP_DigestInit_ex(h->inner, md_sha256, NULL) ||
	    !EVP_DigestInit_ex(h->outer, md_sha256, NULL) ||
	    !EVP_DigestUpdate(h->inner, ipad, 64) || !EVP_DigestUpdate(h->outer, opad, 64)) {
		r = lb_err(-EIO, "HMAC-SHA256 setup failed");
		goto out;
	}
	*ret = h;
	h = NULL;
	r = 0;
out:
	lb_wipe(ipad, sizeof ipad);
	lb_wipe(opad, sizeof opad);
	lb_idhash_free(h);
	return r;
}

/* One digest context per thread, reused: allocating one per blob costs
 * more than hashing a small blob. */
static pthread_key_t mdctx_key;
static pthread_once_t mdctx_once = PTHREAD_ONCE_INIT;

static void mdctx_free(void *p)
{
	EVP_MD_CTX_free(p);
}

static void mdctx_init(void)
{
	pthread_key_create(&mdctx_key, mdctx_free);
}

static EVP_MD_CTX *thread_mdctx(void)
{
	EVP_MD_CTX *c;

	pthread_once(&mdctx_once, mdctx_init);
	c = pthread_getspecific(mdctx_key);
	if (!c) {
		c = EVP_MD_CTX_new();
		if (c)
			pthread_setspecific(mdctx_key, c);
	}
	return c;
}

int lb_idhash_sum(const struct lb_idhash *h, const void *data, size_t n, uint8_t out[LB_ID_LEN])
{
	uint8_t inner[32];
	unsigned len = 0;
	EVP_MD_CTX *c = thread_mdctx();
	int r = -EIO;

	if (!c)
		return -ENOMEM;
	if (!EVP_MD_CTX_copy_ex(c, h->inner) || !EVP_DigestUpdate(c, data, n) ||
	    !EVP_DigestFinal_ex(c, inner, &len))
		goto out;
	if (!EVP_MD_CTX_copy_ex(c, h->outer) || !EVP_DigestUpdate(c, inner, sizeof inner) ||
	    !EVP_DigestFinal_ex(c, out, &len))
		goto out;
	r = 0;
out:
	if (r < 0)
		lb_err(r, "HMAC-SHA256 failed");
	return r;
}

int lb_sha256(const void *data, size_t n, uint8_t out[32])
{
	unsigned len = 0;

	if (lb_crypto_init() < 0 || !EVP_Digest(data, n, out, &len, md_sha256, NULL))
		return lb_err(-EIO, "SHA-256 failed");
	return 0;
}

struct lb_sha256_state {
	EVP_MD_CTX *ctx;
};

int lb_sha256_new(struct lb_sha256_state **ret)
{
	struct lb_sha256_state *h;

	*ret = NULL;
	if (lb_crypto_init() < 0)
		return lb_err(-EIO, "SHA-256 unavailable");
	if (!(h = calloc(1, sizeof *h)) || !(h->ctx = EVP_MD_CTX_new())) {
		free(h);
		return -ENOMEM;
	}
	*ret = h;
	return 0;
}

void lb_sha256_free(struct lb_sha256_state *h)
{
	if (!h)
		return;
	EVP_MD_CTX_free(h->ctx);
	free(h);
}

int lb_sha256_begin(struct lb_sha256_state *h)
{
	return EVP_DigestInit_ex2(h->ctx, md_sha256, NULL) ? 0 : lb_err(-EIO, "SHA-256 failed");
}

int lb_sha256_add(struct lb_sha256_state *h, const void *data, size_t n)
{
	return EVP_DigestUpdate(h->ctx, data, n) ? 0 : lb_err(-EIO, "SHA-256 failed");
}

int lb_sha256_end(struct lb_sha256_state *h, uint8_t out[32])
{
	unsigned len = 0;

	return EVP_DigestFinal_ex(h->ctx, out, &len) ? 0 : lb_err(-EIO, "SHA-256 failed");
}

/* ---- AEAD ---- */

struct lb_aead {
	enum lb_enc mode;
	uint8_t key[LB_KEY_LEN];
	EVP_CIPHER_CTX *enc; /* keyed once; each call only sets the nonce */
	EVP_CIPHER_CTX *dec;
	struct lb_idhash *mac; /* LB_ENC_NONE: tag = HMAC(nonce | le64(aadlen) | aad | data)[0..16) */
};

void lb_aead_free(struct lb_aead *a)
{
	if (!a)
		return;
	EVP_CIPHER_CTX_free(a->enc);
	EVP_CIPHER_CTX_free(a->dec);
	lb_idhash_free(a->mac);
	lb_wipe(a->key, sizeof a->key);
	free(a);
}

int lb_aead_new(enum lb_enc mode, const uint8_t key[LB_KEY_LEN], struct lb_aead **ret)
{
	struct lb_aead *a;
	int r = lb_crypto_init();

	if (r < 0)
		return r;
	a = calloc(1, sizeof *a);
	if (!a)
		return -ENOMEM;
	a->mode = mode;
	memcpy(a->key, key, LB_KEY_LEN);
	if (mode == LB_ENC_AES256GCM) {
		a->enc = EVP_CIPHER_CTX_new();
		a->dec = EVP_CIPHER_CTX_new();
		if (!a->enc || !a->dec ||
		    !EVP_EncryptInit_ex2(a->enc, cipher_gcm, key, NULL, NULL) ||
		    !EVP_DecryptInit_ex2(a->dec, cipher_gcm, key, NULL, NULL)) {
			lb_aead_free(a);
			return lb_err(-EIO, "AES-256-GCM setup failed");
		}
	} else if (mode == LB_ENC_NONE) {
		r = lb_idhash_new(key, &a->mac);
		if (r < 0) {
			lb_aead_free(a);
			return r;
		}
	} else {
		free(a);
		return lb_err(-EINVAL, "unknown encryption scheme %d", (int)mode);
	}
	*ret = a;
	return 0;
}

void lb_nonce(uint8_t nonce[LB_NONCE_LEN], uint32_t domain, uint64_t counter)
{
	nonce[0] = (uint8_t)(domain >> 24);
	nonce[1] = (uint8_t)(domain >> 16);
	nonce[2] = (uint8_t)(domain >> 8);
	nonce[3] = (uint8_t)domain;
	lb_be64_put(nonce + 4, counter);
}

static int mac_tag(struct lb_aead *a, const uint8_t nonce[LB_NONCE_LEN], const void *aad,
		   size_t aadlen, const void *data, size_t n, uint8_t tag[LB_TAG_LEN])
{
	/* One buffer-free pass: HMAC over nonce | le64(aadlen) | aad | data. */
	uint8_t inner[32], full[32], lenbuf[8];
	unsigned len = 0;
	EVP_MD_CTX *c = thread_mdctx();
	int r = -EIO;

	if (!c)
		return -ENOMEM;
	lb_le64_put(lenbuf, aadlen);
	if (!EVP_MD_CTX_copy_ex(c, a->mac->inner) || !EVP_DigestUpdate(c, nonce, LB_NONCE_LEN) ||
	    !EVP_DigestUpdate(c, lenbuf, 8) || (aadlen && !EVP_DigestUpdate(c, aad, aadlen)) ||
	    (n && !EVP_DigestUpdate(c, data, n)) || !EVP_DigestFinal_ex(c, inner, &len))
		goto out;
	if (!EVP_MD_CTX_copy_ex(c, a->mac->outer) || !EVP_DigestUpdate(c, inner, 32) ||
	    !EVP_DigestFinal_ex(c, full, &len))
		goto out;
	memcpy(tag, full, LB_TAG_LEN);
	r = 0;
out:
	return r;
}

int lb_aead_seal(struct lb_aead *a, const uint8_t nonce[LB_NONCE_LEN], const void *aad,
		 size_t aadlen, const void *in, size_t n, uint8_t *out)
{
	int len = 0;

	if (n > INT32_MAX || aadlen > INT32_MAX)
		return lb_err(-EFBIG, "object too large to seal");
	if (a->mode == LB_ENC_NONE) {
		if (out != in)
			memmove(out, in, n);
		return mac_tag(a, nonce, aad, aadlen, out, n, out + n);
	}
	if (!EVP_EncryptInit_ex2(a->enc, NULL, NULL, nonce, NULL) ||
	    (aadlen && !EVP_EncryptUpdate(a->enc, NULL, &len, aad, (int)aadlen)) ||
	    !EVP_EncryptUpdate(a->enc, out, &len, in, (int)n) ||
	    !EVP_EncryptFinal_ex(a->enc, out + len, &len) ||
	    !EVP_CIPHER_CTX_ctrl(a->enc, EVP_CTRL_GCM_GET_TAG, LB_TAG_LEN, out + n))
		return lb_err(-EIO, "AES-256-GCM encryption failed");
	return 0;
}

int lb_aead_open(struct lb_aead *a, const uint8_t nonce[LB_NONCE_LEN], const void *aad,
		 size_t aadlen, const uint8_t *in, size_t n, uint8_t *out)
{
	uint8_t tag[LB_TAG_LEN];
	int len = 0, r;

	if (n > INT32_MAX || aadlen > INT32_MAX)
		return lb_err(-EFBIG, "object too large to open");
	if (a->mode == LB_ENC_NONE) {
		r = mac_tag(a, nonce, aad, aadlen, in, n, tag);
		if (r < 0)
			return lb_err(r, "HMAC failed");
		if (CRYPTO_memcmp(tag, in + n, LB_TAG_LEN) != 0)
			return lb_err(-LB_E_AUTH, "%s", lb_strerror(LB_E_AUTH));
		if (out != in)
			memmove(out, in, n);
		return 0;
	}
	memcpy(tag, in + n, LB_TAG_LEN);
	if (!EVP_DecryptInit_ex2(a->dec, NULL, NULL, nonce, NULL) ||
	    (aadlen && !EVP_DecryptUpdate(a->dec, NULL, &len, aad, (int)aadlen)) ||
	    !EVP_DecryptUpdate(a->dec, out, &len, in, (int)n) ||
	    !EVP_CIPHER_CTX_ctrl(a->dec, EVP_CTRL_GCM_SET_TAG, LB_TAG_LEN, tag))
		return lb_err(-EIO, "AES-256-GCM decryption failed");
	if (EVP_DecryptFinal_ex(a->dec, out + len, &len) <= 0) {
		lb_wipe(out, n);
		return lb_err(-LB_E_AUTH, "%s", lb_strerror(LB_E_AUTH));
	}
	return 0;
}

/* ---- KDFs ---- */

int lb_hkdf(const uint8_t key[LB_KEY_LEN], const uint8_t *salt, size_t saltlen,
	    const char *info, uint8_t out[LB_KEY_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "HKDF", NULL);
	EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[5], *p = params;
	int r = 0;

	*p++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, (char *)"SHA256", 0);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)key, LB_KEY_LEN);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, (void *)info, strlen(info));
	*p = OSSL_PARAM_construct_end();
	if (!c || EVP_KDF_derive(c, out, LB_KEY_LEN, params) <= 0)
		r = lb_err(-EIO, "HKDF failed");
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);
	return r;
}

int lb_scrypt(const char *password, size_t pwlen, const uint8_t *salt, size_t saltlen,
	      uint64_t n, uint32_t rr, uint32_t pp, uint8_t out[LB_KEY_LEN])
{
	EVP_KDF *kdf = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	EVP_KDF_CTX *c = kdf ? EVP_KDF_CTX_new(kdf) : NULL;
	OSSL_PARAM params[6], *p = params;
	uint64_t maxmem = LB_SCRYPT_MAXMEM;
	int r = 0;

	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, (void *)password, pwlen);
	*p++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, saltlen);
	*p++ = OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n);
	*p++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &rr);
	*p++ = OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &pp);
	*p = OSSL_PARAM_construct_end();
	if (!c || !EVP_KDF_CTX_set_params(c, params) ||
	    !EVP_KDF_CTX_set_params(c, (OSSL_PARAM[]){
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
		OSSL_PARAM_construct_end() }) ||
	    EVP_KDF_derive(c, out, LB_KEY_LEN, NULL) <= 0)
		r = lb_err(-EIO, "scrypt failed (N=%llu r=%u p=%u)", (unsigned long long)n, rr, pp);
	EVP_KDF_CTX_free(c);
	EVP_KDF_free(kdf);
	return r;
}
