/*
 * test_durable.c - lib/durable.h: files appear whole, with their mode, or
 * not at all, and no temporary file is left behind.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "err.h"

/* A temporary folder; tests put at most a few files in it. */
struct fixture {
	char dir[64];
	char path[128]; /* DIR/out.csv */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (!fx)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/test_durable.XXXXXX");
	if (!mkdtemp(fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/out.csv", fx->dir);
	*state = fx;
	return 0;
}

/* Remove every entry of the folder (all plain files or empty folders). */
static int teardown(void **state)
{
	struct fixture *fx = *state;
	DIR *d = opendir(fx->dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char p[512];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", fx->dir, e->d_name);
		if (unlink(p) != 0)
			rmdir(p);
	}
	if (d)
		closedir(d);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* Names in DIR, sorted, joined by spaces. */
static void list_dir(const char *dir, char *out, size_t size)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);
	size_t len = 0;

	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") && strcmp(names[i]->d_name, ".."))
			len += (size_t)snprintf(out + len, size - len, "%s%s", len ? " " : "",
						names[i]->d_name);
		free(names[i]);
	}
	free(names);
}

static void assert_file_is(const char *path, const char *want)
{
	char buf[256];
	FILE *fp = fopen(path, "r");
	size_t n;

	assert_non_null(fp);
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	buf[n] = '\0';
	fclose(fp);
	assert_string_equal(buf, want);
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
}

static void dur_commit_creates_the_file_with_its_mode_and_content(void **state)
{
	struct fixture *fx = *state;
	struct dur_file f;
	struct stat st;
	char names[256];
	mode_t old = umask(077); /* a umask must neither narrow nor widen the mode */
	int rc = dur_open(&f, fx->path, 0640);

	umask(old);
	assert_int_equal(rc, 0);
	fputs("seq,op\n1,ASSIGN\n", f.fp);
	assert_int_equal(dur_commit(&f), 0);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0640);
	assert_file_is(fx->path, "seq,op\n1,ASSIGN\n");
	list_dir(fx->dir, names, sizeof(names));
	assert_string_equal(names, "out.csv");
}

static void dur_open_ignores_a_permissive_umask(void **state)
{
	struct fixture *fx = *state;
	struct dur_file f;
	struct stat st;
	mode_t old = umask(0);
	int rc = dur_open(&f, fx->path, 0600);

	umask(old);
	assert_int_equal(rc, 0);
	fputs("secret\n", f.fp);
	assert_int_equal(dur_commit(&f), 0);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

static void dur_commit_replaces_a_previous_version(void **state)
{
	struct fixture *fx = *state;
	struct dur_file f;
	char names[256];

	write_file(fx->path, "old contents that are longer than the new\n");
	assert_int_equal(dur_open(&f, fx->path, 0640), 0);
	fputs("new\n", f.fp);
	/* until the commit, the old version is what readers see */
	assert_file_is(fx->path, "old contents that are longer than the new\n");
	assert_int_equal(dur_commit(&f), 0);
	assert_file_is(fx->path, "new\n");
	list_dir(fx->dir, names, sizeof(names));
	assert_string_equal(names, "out.csv");
}

static void dur_abort_leaves_no_file(void **state)
{
	struct fixture *fx = *state;
	struct dur_file f;
	char names[256];

	assert_int_equal(dur_open(&f, fx->path, 0640), 0);
	fputs("half a file", f.fp);
	dur_abort(&f);
	assert_null(f.fp);
	assert_int_equal(access(fx->path, F_OK), -1);
	list_dir(fx->dir, names, sizeof(names));
	assert_string_equal(names, "");
}

static void dur_abort_keeps_the_previous_version_intact(void **state)
{
	struct fixture *fx = *state;
	struct dur_file f;
	struct stat st;
	char names[256];

	write_file(fx->path, "version 1\n");
	assert_int_equal(chmod(fx->path, 0644), 0);
	assert_int_equal(dur_open(&f, fx->path, 0600), 0);
	fputs("version 2, never finished", f.fp);
	fflush(f.fp);
	dur_abort(&f);
	assert_file_is(fx->path, "version 1\n");
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	list_dir(fx->dir, names, sizeof(names));
	assert_string_equal(names, "out.csv");
}

static void dur_open_fails_in_a_missing_folder(void **state)
{
	struct fixture *fx = *state;
	struct dur_file f;
	char path[256];

	snprintf(path, sizeof(path), "%s/no/such/out.csv", fx->dir);
	assert_int_equal(dur_open(&f, path, 0640), -1);
	assert_non_null(strstr(err_msg(), "cannot create"));
	assert_non_null(strstr(err_msg(), path));
	assert_null(f.fp);
	assert_null(f.path);
	assert_null(f.tmp);
}

static void dur_mkdir_creates_a_folder_and_accepts_an_existing_one(void **state)
{
	struct fixture *fx = *state;
	char sub[256];
	struct stat st;
	mode_t old;
	int rc;

	snprintf(sub, sizeof(sub), "%s/run", fx->dir);
	old = umask(0);
	rc = dur_mkdir(sub, 0750);
	umask(old);
	assert_int_equal(rc, 0);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0750);
	assert_int_equal(dur_mkdir(sub, 0750), 0);
	assert_int_equal(dur_sync_dir(sub), 0);
}

static void dur_mkdir_fails_when_the_parent_is_missing(void **state)
{
	struct fixture *fx = *state;
	char sub[256];

	snprintf(sub, sizeof(sub), "%s/a/b", fx->dir);
	assert_int_equal(dur_mkdir(sub, 0750), -1);
	assert_non_null(strstr(err_msg(), sub));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(dur_commit_creates_the_file_with_its_mode_and_content,
						setup, teardown),
		cmocka_unit_test_setup_teardown(dur_open_ignores_a_permissive_umask, setup,
						teardown),
		cmocka_unit_test_setup_teardown(dur_commit_replaces_a_previous_version, setup,
						teardown),
		cmocka_unit_test_setup_teardown(dur_abort_leaves_no_file, setup, teardown),
		cmocka_unit_test_setup_teardown(dur_abort_keeps_the_previous_version_intact, setup,
						teardown),
		cmocka_unit_test_setup_teardown(dur_open_fails_in_a_missing_folder, setup,
						teardown),
		cmocka_unit_test_setup_teardown(dur_mkdir_creates_a_folder_and_accepts_an_existing_one,
						setup, teardown),
		cmocka_unit_test_setup_teardown(dur_mkdir_fails_when_the_parent_is_missing, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
