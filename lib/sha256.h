/*
 * sha256.h - SHA-256 (FIPS 180-4) through OpenSSL's EVP interface, as
 * lower-case hex: what `sha256sum` prints, what snapshots, manifests,
 * SHA256SUMS and Idempotency-Keys carry.
 */
#ifndef UNITSYNC_SHA256_H
#define UNITSYNC_SHA256_H

#include <stddef.h>

#define SHA256_HEX_LEN 64

/* A running digest; owns an EVP context freed by sha256_final(). */
struct sha256 {
	void *ctx; /* EVP_MD_CTX *, owned */
};

int sha256_init(struct sha256 *h);
void sha256_update(struct sha256 *h, const void *data, size_t len);
/* Write 64 hex digits and a NUL into HEX and free the context. */
void sha256_final(struct sha256 *h, char hex[SHA256_HEX_LEN + 1]);

/* Digest of one buffer. */
int sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1]);

/*
 * HMAC-SHA256 (RFC 2104) of LEN bytes of DATA under KEY (KEY_LEN bytes),
 * as hex: the webhook signature (lib/webhook).  -1 with err_set() when
 * OpenSSL fails.
 */
int sha256_hmac_hex(const void *key, size_t key_len, const void *data, size_t len,
		    char hex[SHA256_HEX_LEN + 1]);

/* Digest and size in bytes of a file; -1 with err_set() when unreadable. */
int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], long long *size);

/* The same for the file open on FD, read from its start with pread (the
 * offset is left alone); NAME names it in messages. */
int sha256_fd(int fd, const char *name, char hex[SHA256_HEX_LEN + 1], long long *size);

#endif
