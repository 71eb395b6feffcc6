/*
 * test_sha256.c - lib/sha256.h: FIPS 180-4 vectors, files, streaming.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "sha256.h"

#define SHA_EMPTY "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SHA_ABC "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define TWO_BLOCKS "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
#define SHA_TWO_BLOCKS "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"

/* A temporary folder and one file in it. */
struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_sha256.XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/data.bin", fx->dir);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void sha256_hex_matches_the_fips_vectors(void **state)
{
	char hex[SHA256_HEX_LEN + 1];

	(void)state;
	assert_int_equal(sha256_hex("", 0, hex), 0);
	assert_string_equal(hex, SHA_EMPTY);
	assert_int_equal(sha256_hex("abc", 3, hex), 0);
	assert_string_equal(hex, SHA_ABC);
	assert_int_equal(sha256_hex(TWO_BLOCKS, strlen(TWO_BLOCKS), hex), 0);
	assert_string_equal(hex, SHA_TWO_BLOCKS);
	assert_int_equal(strlen(hex), SHA256_HEX_LEN);
}

/* Bytes that differ from block to block, so that a dropped or repeated
 * read changes the digest. */
static unsigned char *pattern(size_t n)
{
	unsigned char *b = malloc(n);

	assert_non_null(b);
	for (size_t i = 0; i < n; i++)
		b[i] = (unsigned char)((i * 31 + i / 251) & 0xff);
	return b;
}

static void sha256_file_equals_sha256_hex_of_the_same_bytes(void **state)
{
	struct fixture *fx = *state;
	/* larger than the 64 KiB read buffer and not a multiple of it */
	size_t n = 3 * 65536 + 1234;
	unsigned char *b = pattern(n);
	char want[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];
	long long size = -1;
	FILE *fp = fopen(fx->path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(b, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(sha256_hex(b, n, want), 0);
	assert_int_equal(sha256_file(fx->path, got, &size), 0);
	assert_string_equal(got, want);
	assert_int_equal(size, (long long)n);
	free(b);
}

static void sha256_file_of_an_empty_file_is_the_empty_digest(void **state)
{
	struct fixture *fx = *state;
	char got[SHA256_HEX_LEN + 1];
	long long size = -1;
	FILE *fp = fopen(fx->path, "wb");

	assert_non_null(fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(sha256_file(fx->path, got, &size), 0);
	assert_string_equal(got, SHA_EMPTY);
	assert_int_equal(size, 0);
}

static void sha256_file_fails_naming_a_missing_file(void **state)
{
	struct fixture *fx = *state;
	char got[SHA256_HEX_LEN + 1];
	long long size = -1;

	assert_int_equal(sha256_file(fx->path, got, &size), -1);
	assert_non_null(strstr(err_msg(), fx->path));
}

static void sha256_streaming_in_pieces_equals_one_shot(void **state)
{
	static const size_t pieces[] = { 0, 1, 63, 64, 65, 0, 127, 1000, 4096 };
	size_t total = 0, off = 0;
	unsigned char *b;
	char want[SHA256_HEX_LEN + 1], got[SHA256_HEX_LEN + 1];
	struct sha256 h;

	(void)state;
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++)
		total += pieces[i];
	b = pattern(total);
	assert_int_equal(sha256_hex(b, total, want), 0);
	assert_int_equal(sha256_init(&h), 0);
	for (size_t i = 0; i < sizeof(pieces) / sizeof(pieces[0]); i++) {
		sha256_update(&h, b + off, pieces[i]);
		off += pieces[i];
	}
	sha256_final(&h, got);
	assert_null(h.ctx);
	assert_string_equal(got, want);

	/* and byte by byte, on a known vector */
	assert_int_equal(sha256_init(&h), 0);
	for (size_t i = 0; i < strlen(TWO_BLOCKS); i++)
		sha256_update(&h, TWO_BLOCKS + i, 1);
	sha256_final(&h, got);
	assert_string_equal(got, SHA_TWO_BLOCKS);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sha256_hex_matches_the_fips_vectors),
		cmocka_unit_test_setup_teardown(sha256_file_equals_sha256_hex_of_the_same_bytes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(sha256_file_of_an_empty_file_is_the_empty_digest,
						setup, teardown),
		cmocka_unit_test_setup_teardown(sha256_file_fails_naming_a_missing_file, setup,
						teardown),
		cmocka_unit_test(sha256_streaming_in_pieces_equals_one_shot),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
