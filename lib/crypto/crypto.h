/* lifeboat — keyed ids, AEAD sealing, key derivation (OpenSSL 3). */
#ifndef LB_CRYPTO_H
#define LB_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define LB_ID_LEN 32
#define LB_KEY_LEN 32
#define LB_NONCE_LEN 12
#define LB_TAG_LEN 16
#define LB_SALT_LEN 16
#define LB_SCRYPT_MAXMEM (1ull << 30) /* what scrypt may allocate */

/* How sealed objects are protected.  NONE still authenticates (an HMAC tag
 * in place of the GCM tag) so damage is always detected; it only gives up
 * confidentiality. */
enum lb_enc {
	LB_ENC_NONE = 0,
	LB_ENC_AES256GCM = 1,
};

/* The repository's secret material, unwrapped from a key file. */
struct lb_keys {
	uint8_t enc[LB_KEY_LEN];   /* root of every AEAD subkey (HKDF per object) */
	uint8_t id[LB_KEY_LEN];    /* HMAC-SHA256 key for blob and snapshot ids */
	uint8_t chunk[LB_KEY_LEN]; /* seeds the chunker's gear table */
};

/* Process-wide algorithm handles; call once before threads start. */
int lb_crypto_init(void);

/* ---- keyed ids ---- */

struct lb_idhash;
/* A reusable HMAC-SHA256 state keyed with key; safe to share between
 * threads (lb_idhash_sum copies the precomputed state). */
int lb_idhash_new(const uint8_t key[LB_KEY_LEN], struct lb_idhash **ret);
void lb_idhash_free(struct lb_idhash *h);
int lb_idhash_sum(const struct lb_idhash *h, const void *data, size_t n, uint8_t out[LB_ID_LEN]);

/* ---- AEAD ---- */

struct lb_aead;
/* An AEAD under one key: AES-256-GCM, or for LB_ENC_NONE plaintext with a
 * truncated HMAC tag.  Not thread-safe; make one per thread and key. */
int lb_aead_new(enum lb_enc mode, const uint8_t key[LB_KEY_LEN], struct lb_aead **ret);
void lb_aead_free(struct lb_aead *a);
/* out receives n bytes of ciphertext then LB_TAG_LEN bytes of tag. */
int lb_aead_seal(struct lb_aead *a, const uint8_t nonce[LB_NONCE_LEN], const void *aad,
		 size_t aadlen, const void *in, size_t n, uint8_t *out);
/* in holds n bytes of ciphertext then the tag; out receives n bytes.
 * Returns -LB_E_AUTH when the tag does not match. */
int lb_aead_open(struct lb_aead *a, const uint8_t nonce[LB_NONCE_LEN], const void *aad,
		 size_t aadlen, const uint8_t *in, size_t n, uint8_t *out);
/* nonce = 4-byte big-endian domain | 8-byte big-endian counter */
void lb_nonce(uint8_t nonce[LB_NONCE_LEN], uint32_t domain, uint64_t counter);

/* ---- derivation ---- */

/* HKDF-SHA256(ikm = key, salt, info) -> 32 bytes. */
int lb_hkdf(const uint8_t key[LB_KEY_LEN], const uint8_t *salt, size_t saltlen,
	    const char *info, uint8_t out[LB_KEY_LEN]);
/* scrypt(password, salt, N, r, p) -> 32 bytes. */
int lb_scrypt(const char *password, size_t pwlen, const uint8_t *salt, size_t saltlen,
	      uint64_t n, uint32_t r, uint32_t p, uint8_t out[LB_KEY_LEN]);
/* Plain SHA-256 (for content checks that need no key). */
int lb_sha256(const void *data, size_t n, uint8_t out[32]);
/* SHA-256 of many small messages in turn (a table's rows): one state,
 * allocated once, the algorithm fetched once.  Not for sharing between
 * threads. */
struct lb_sha256_state;
int lb_sha256_new(struct lb_sha256_state **ret);
void lb_sha256_free(struct lb_sha256_state *h);
int lb_sha256_begin(struct lb_sha256_state *h);
int lb_sha256_add(struct lb_sha256_state *h, const void *data, size_t n);
int lb_sha256_end(struct lb_sha256_state *h, uint8_t out[32]);

void lb_wipe(void *p, size_t n);

#endif
