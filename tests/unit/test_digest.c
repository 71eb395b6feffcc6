/*
 * test_digest.c - lib/digest.h: every exception kind transform or load can
 * report has a "what to do" for the digest (a kind added to
 * exception_kinds[] without one fails here), and an unknown kind has none.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>

#include "delta.h"
#include "digest.h"

static void every_exception_kind_has_a_hint(void **state)
{
	(void)state;
	for (size_t i = 0; exception_kinds[i]; i++)
		if (!digest_hint(exception_kinds[i]))
			fail_msg("exception kind '%s' has no hint in lib/digest.c",
				 exception_kinds[i]);
	assert_null(digest_hint("no_such_kind"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_exception_kind_has_a_hint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
