#include "sha256.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <string.h>
#include <unistd.h>

/*
 * The N bytes of MD as lower-case hex into HEX (2N digits and a NUL).  A
 * table, not snprintf("%02x") a byte: load computes an Idempotency-Key a
 * delta row, and the 32 calls were 6% of its CPU (docs/PERFORMANCE.md,
 * issue 18: load without latency).
 */
static void to_hex(const unsigned char *md, unsigned int n, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned int i = 0; i < n; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 0x0f];
	}
	hex[2 * n] = '\0';
}

int sha256_init(struct sha256 *h)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		err_set("cannot start a SHA-256 digest");
		return -1;
	}
	h->ctx = ctx;
	return 0;
}

void sha256_update(struct sha256 *h, const void *data, size_t len)
{
	EVP_DigestUpdate(h->ctx, data, len);
}

void sha256_final(struct sha256 *h, char hex[SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	EVP_DigestFinal_ex(h->ctx, md, &n);
	to_hex(md, n, hex);
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

int sha256_hex(const void *data, size_t len, char hex[SHA256_HEX_LEN + 1])
{
	struct sha256 h;

	if (sha256_init(&h) < 0)
		return -1;
	sha256_update(&h, data, len);
	sha256_final(&h, hex);
	return 0;
}

int sha256_file(const char *path, char hex[SHA256_HEX_LEN + 1], long long *size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	*size = 0;
	if (fd < 0) {
		err_set("cannot open '%s': %s", path, strerror(errno));
		return -1;
	}
	rc = sha256_fd(fd, path, hex, size);
	close(fd);
	return rc;
}

int sha256_fd(int fd, const char *name, char hex[SHA256_HEX_LEN + 1], long long *size)
{
	unsigned char buf[1 << 16];
	struct sha256 h = { 0 };
	ssize_t n;
	int rc = -1;

	*size = 0;
	if (sha256_init(&h) < 0)
		goto out;
	while ((n = pread(fd, buf, sizeof(buf), (off_t)*size)) > 0) {
		sha256_update(&h, buf, (size_t)n);
		*size += (long long)n;
	}
	if (n < 0) {
		err_set("cannot read '%s': %s", name, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (h.ctx) {
		char scratch[SHA256_HEX_LEN + 1];

		sha256_final(&h, rc == 0 ? hex : scratch);
	}
	return rc;
}

int sha256_hmac_hex(const void *key, size_t key_len, const void *data, size_t len,
		    char hex[SHA256_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!HMAC(EVP_sha256(), key, (int)key_len, data, len, md, &n) || n != 32) {
		err_set("cannot compute HMAC-SHA256");
		return -1;
	}
	to_hex(md, n, hex);
	return 0;
}
