/*
 * test_config.c - lib/config.h: the INI file, sources relative to it, the
 * environment overrides and the Latch settings check.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "err.h"

static const char *const env_names[] = {
	"UNITSYNC_LATCH_URL",          "UNITSYNC_TOKEN_URL",     "UNITSYNC_CLIENT_ID",
	"UNITSYNC_CLIENT_SECRET_FILE", "UNITSYNC_CLIENT_SECRET", "UNITSYNC_SMTP_PASSWORD",
	"UNITSYNC_WEBHOOK_SECRET",     "UNITSYNC_METRICS_FILE",
};

/* A temporary folder DIR holding conf/unitsync.ini and a few more files;
 * DIR is canonical (realpath) so that resolved paths compare. */
struct fixture {
	char dir[PATH_MAX];  /* realpath of the mkdtemp folder */
	char conf[PATH_MAX]; /* DIR/conf/unitsync.ini */
	struct config c;     /* loaded by the test, released by teardown */
};

static void clear_env(void)
{
	for (size_t i = 0; i < sizeof(env_names) / sizeof(env_names[0]); i++)
		unsetenv(env_names[i]);
}

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char tmpl[] = "/tmp/test_config.XXXXXX";
	char sub[PATH_MAX + 8];

	if (!fx || !mkdtemp(tmpl) || !realpath(tmpl, fx->dir)) {
		free(fx);
		return -1;
	}
	snprintf(sub, sizeof(sub), "%s/conf", fx->dir);
	if (mkdir(sub, 0700) != 0) {
		rmdir(fx->dir);
		free(fx);
		return -1;
	}
	snprintf(fx->conf, sizeof(fx->conf), "%s/conf/unitsync.ini", fx->dir);
	clear_env();
	*state = fx;
	return 0;
}

/* Remove DIR and everything under it (two levels at most here). */
static void remove_tree(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	while (d && (e = readdir(d))) {
		char p[PATH_MAX + 256];

		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		if (unlink(p) != 0)
			remove_tree(p);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	config_release(&fx->c);
	clear_env();
	remove_tree(fx->dir);
	free(fx);
	return 0;
}

static void write_file(const char *path, const char *text)
{
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	assert_int_equal(fclose(fp), 0);
	/* secrets must be private (config.h); every fixture file may hold one */
	assert_int_equal(chmod(path, 0600), 0);
}

/* DIR/REL as a string in BUF. */
static const char *in_dir(const struct fixture *fx, const char *rel, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s", fx->dir, rel);
	return buf;
}

static void config_load_reads_the_latch_section(void **state)
{
	struct fixture *fx = *state;
	char want[PATH_MAX + 64];

	write_file(fx->conf, "[latch]\n"
			     "base_url = https://api.example.com\n"
			     "token_url = https://auth.example.com/token\n"
			     "client_id = unitsync-prod\n"
			     "client_secret_file = secret.txt\n"
			     "audience = https://api.example.com/\n");
	if (config_load(&fx->c, fx->conf) != 0)
		fail_msg("config_load: %s", err_msg());
	assert_string_equal(fx->c.path, fx->conf);
	assert_string_equal(fx->c.base_url, "https://api.example.com");
	assert_string_equal(fx->c.token_url, "https://auth.example.com/token");
	assert_string_equal(fx->c.client_id, "unitsync-prod");
	assert_string_equal(fx->c.audience, "https://api.example.com/");
	assert_string_equal(fx->c.client_secret_file,
			    in_dir(fx, "conf/secret.txt", want, sizeof(want)));
	assert_null(fx->c.client_secret);
	assert_null(fx->c.properties);
}

static void config_load_ignores_inline_comments(void **state)
{
	struct fixture *fx = *state;

	write_file(fx->conf, "; unitsync\n"
			     "[latch]\n"
			     "base_url = https://api.example.com        ; UNITSYNC_LATCH_URL\n"
			     "# a comment\n"
			     "client_id = abc ; UNITSYNC_CLIENT_ID\n");
	if (config_load(&fx->c, fx->conf) != 0)
		fail_msg("config_load: %s", err_msg());
	assert_string_equal(fx->c.base_url, "https://api.example.com");
	assert_string_equal(fx->c.client_id, "abc");
}

static void config_load_reads_properties_in_file_order(void **state)
{
	struct fixture *fx = *state;
	struct config_property *p;
	char want[PATH_MAX + 64];

	write_file(fx->conf, "[property \"P1\"]\n"
			     "format = xml\n"
			     "source = exports/p1.xml\n"
			     "source = /srv/pms/p1-extra.xml\n"
			     "source = ../shared/p1-late.xml\n"
			     "\n"
			     "[property \"Oak Street 2\"]\n"
			     "format = csv\n"
			     "profile = appfolio-rent-roll\n"
			     "source = oak.csv\n"
			     "\n"
			     "[property \"P3\"]\n"
			     "source = p3.csv\n");
	if (config_load(&fx->c, fx->conf) != 0)
		fail_msg("config_load: %s", err_msg());

	p = fx->c.properties;
	assert_non_null(p);
	assert_string_equal(p->id, "P1");
	assert_string_equal(p->format, "xml");
	assert_int_equal(p->n_sources, 3);
	assert_string_equal(p->sources[0], in_dir(fx, "conf/exports/p1.xml", want, sizeof(want)));
	assert_string_equal(p->sources[1], "/srv/pms/p1-extra.xml");
	assert_string_equal(p->sources[2],
			    in_dir(fx, "conf/../shared/p1-late.xml", want, sizeof(want)));

	p = p->next;
	assert_non_null(p);
	assert_string_equal(p->id, "Oak Street 2");
	assert_string_equal(p->format, "csv");
	assert_string_equal(p->profile, "appfolio-rent-roll");
	assert_int_equal(p->n_sources, 1);
	assert_string_equal(p->sources[0], in_dir(fx, "conf/oak.csv", want, sizeof(want)));

	/* the defaults */
	p = p->next;
	assert_non_null(p);
	assert_string_equal(p->id, "P3");
	assert_string_equal(p->format, "csv");
	assert_string_equal(p->profile, "generic");
	assert_int_equal(p->n_sources, 1);
	assert_null(p->next);
}

static void config_load_resolves_sources_from_the_config_folder_not_the_cwd(void **state)
{
	struct fixture *fx = *state;
	char cwd[PATH_MAX], want[PATH_MAX + 64];
	int rc;

	write_file(fx->conf, "[property \"P1\"]\nsource = p1.csv\n");
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(fx->dir), 0);
	rc = config_load(&fx->c, "conf/unitsync.ini");
	assert_int_equal(chdir(cwd), 0);
	if (rc != 0)
		fail_msg("config_load: %s", err_msg());
	assert_non_null(fx->c.properties);
	assert_int_equal(fx->c.properties->n_sources, 1);
	/* still right once the program has moved elsewhere */
	assert_string_equal(fx->c.properties->sources[0],
			    in_dir(fx, "conf/p1.csv", want, sizeof(want)));
}

/* config_load() must refuse TEXT, naming the file and line LINE. */
static void assert_config_refused(struct fixture *fx, const char *text, int line)
{
	char want[64];

	write_file(fx->conf, text);
	if (config_load(&fx->c, fx->conf) != -1)
		fail_msg("accepted:\n%s", text);
	snprintf(want, sizeof(want), "line %d", line);
	if (!strstr(err_msg(), fx->conf) || !strstr(err_msg(), want))
		fail_msg("message '%s' does not name the file and %s", err_msg(), want);
	config_release(&fx->c);
}

static void config_load_refuses_a_client_secret_in_the_file(void **state)
{
	struct fixture *fx = *state;

	assert_config_refused(fx,
			      "[latch]\n"
			      "base_url = https://api.example.com\n"
			      "client_secret = hunter2\n",
			      3);
	/* the message says where the secret belongs, and never holds it */
	write_file(fx->conf, "[latch]\nclient_secret = hunter2\n");
	assert_int_equal(config_load(&fx->c, fx->conf), -1);
	assert_non_null(strstr(err_msg(), "client_secret_file"));
	assert_null(strstr(err_msg(), "hunter2"));
}

/*
 * config_load() must accept TEXT but find property P1 bad, with a problem
 * naming the file, line LINE and WHAT; the other property, P2, stays good.
 */
static void assert_property_bad(struct fixture *fx, const char *text, int line, const char *what)
{
	const struct config_property *p;
	const struct config_problem *pr;
	char want[64];
	int found = 0;

	write_file(fx->conf, text);
	if (config_load(&fx->c, fx->conf) != 0)
		fail_msg("a bad property section stopped the whole file: %s", err_msg());
	snprintf(want, sizeof(want), "line %d: ", line);
	for (pr = fx->c.problems; pr; pr = pr->next) {
		assert_non_null(pr->property);
		assert_string_equal(pr->property, "P1");
		found |= strstr(pr->message, fx->conf) && strstr(pr->message, want) &&
			 strstr(pr->message, what);
	}
	if (!found)
		fail_msg("no problem names the file, %s and '%s' for:\n%s", want, what, text);
	for (p = fx->c.properties; p; p = p->next)
		assert_int_equal(p->problems > 0, strcmp(p->id, "P2") != 0);
	assert_int_equal(fx->c.fatal, 0);
	config_release(&fx->c);
}

static void config_load_refuses_unknown_keys_sections_and_formats(void **state)
{
	struct fixture *fx = *state;
	const char *p2 = "[property \"P2\"]\nsource = b.csv\n";
	char text[512];

	/* fatal: the whole file; sections are named at their header's line */
	assert_config_refused(fx, "[latch]\nbase_url = https://x\nbase_uri = y\n", 3);
	assert_config_refused(fx, "[latch]\nbase_url = ftp://x\n", 2);
	assert_config_refused(fx, "[latch]\nbase_url = https://x\n[lacth]\nclient_id = y\n", 3);
	assert_config_refused(fx, "[property P1]\nsource = a.csv\n", 1);
	assert_config_refused(fx, "[property \"\"]\nsource = a.csv\n", 1);
	assert_config_refused(fx, "[property \"-x\"]\nsource = a.csv\n", 1);
	assert_config_refused(fx, "base_url = x\n", 1);
	assert_config_refused(fx, "[latch]\nthis line has no equals sign\n", 2);

	/* a bad property section: that property only */
	snprintf(text, sizeof(text), "%s[property \"P1\"]\nformat = json\nsource = a.csv\n", p2);
	assert_property_bad(fx, text, 4, "format: 'json' is not csv or xml");
	snprintf(text, sizeof(text), "%s[property \"P1\"]\nsorce = a.csv\n", p2);
	assert_property_bad(fx, text, 4, "unknown key 'sorce' (did you mean 'source'?)");
	snprintf(text, sizeof(text), "[property \"P1\"]\nprofile = appfolio\nsource = a\n%s", p2);
	assert_property_bad(fx, text, 2, "unknown CSV profile 'appfolio'");
	snprintf(text, sizeof(text), "[property \"P1\"]\nformat = xml\n\n%s", p2);
	assert_property_bad(fx, text, 1, "has no source");
	snprintf(text, sizeof(text), "[property \"P1\"]\nsource =\n%s", p2);
	assert_property_bad(fx, text, 2, "source: empty value");
}

/* [notify] and the notify_ keys of a property (issue 20). */
static void config_load_reads_notify_settings(void **state)
{
	struct fixture *fx = *state;
	const char *p2 = "[property \"P2\"]\nsource = b.csv\n";
	char text[512], buf[PATH_MAX + 16];
	const struct config_property *p;

	write_file(fx->conf, "[notify]\nsmtp_url = smtps://mail.example.com\n"
			     "smtp_from = unitsync@example.com\nsmtp_password_file = pw\n"
			     "[property \"P1\"]\nsource = a.csv\n"
			     "notify_email = a@example.com ,b.c+d@mail.example.org\n"
			     "notify_daily_summary = yes\n");
	assert_int_equal(config_load(&fx->c, fx->conf), 0);
	assert_string_equal(fx->c.smtp_url, "smtps://mail.example.com");
	assert_string_equal(fx->c.smtp_from, "unitsync@example.com");
	/* paths, as every other, relative to the config file's folder */
	assert_string_equal(fx->c.smtp_password_file, in_dir(fx, "conf/pw", buf, sizeof(buf)));
	p = fx->c.properties;
	assert_int_equal(p->n_notify_email, 2);
	assert_string_equal(p->notify_email[0], "a@example.com");
	assert_string_equal(p->notify_email[1], "b.c+d@mail.example.org");
	assert_int_equal(p->daily_summary, 1);
	assert_null(fx->c.problems);
	config_release(&fx->c);

	/* fatal: [notify] is the whole file's */
	assert_config_refused(fx, "[notify]\nsmtp_url = http://mail\n", 2);
	assert_config_refused(fx, "[notify]\nsmtp_url = smtp://u:secret@mail.example.com\n", 2);
	assert_null(strstr(err_msg(), "secret"));
	assert_config_refused(fx, "[notify]\nsmtp_url = smtp://\n", 2);
	assert_config_refused(fx, "[notify]\nsmtp_from = not-an-address\n", 2);
	assert_config_refused(fx, "[notify]\nsmtp_user = a\nsmtp_usr = b\n", 3);
	assert_config_refused(fx, "[notify]\nsmtp_url = smtp://a\nsmtp_url = smtp://b\n", 3);
	/* a property's own keys: that property only */
	snprintf(text, sizeof(text), "%s[property \"P1\"]\nsource = a\nnotify_email = a@x.org, b\n",
		 p2);
	assert_property_bad(fx, text, 5, "notify_email: 'b' is not an e-mail address");
	snprintf(text, sizeof(text),
		 "%s[property \"P1\"]\nsource = a\nnotify_email = a <a@x.org>\n", p2);
	assert_property_bad(fx, text, 5, "is not an e-mail address");
	snprintf(text, sizeof(text), "%s[property \"P1\"]\nsource = a\nnotify_daily_summary = 1\n",
		 p2);
	assert_property_bad(fx, text, 5, "'1' is not yes or no");
	snprintf(text, sizeof(text), "%s[property \"P1\"]\nsource = a\nnotify_webhook = ftp://x\n",
		 p2);
	assert_property_bad(fx, text, 5, "not an http:// or https:// URL");
	snprintf(text, sizeof(text),
		 "%s[property \"P1\"]\nsource = a\nnotify_email = a@x.org\nnotify_email = b@x.org\n",
		 p2);
	assert_property_bad(fx, text, 6, "notify_email given twice (first at line 5)");
	snprintf(text, sizeof(text), "%s[property \"P1\"]\nsource = a\nnotify_emial = a@x.org\n",
		 p2);
	assert_property_bad(fx, text, 5, "did you mean 'notify_email'?");
}

/* The [notify] secrets: from their private files or the environment. */
static void config_read_notify_secrets_reads_files_and_environment(void **state)
{
	struct fixture *fx = *state;
	char pw[PATH_MAX + 16], text[PATH_MAX + 256];

	in_dir(fx, "pw", pw, sizeof(pw));
	snprintf(text, sizeof(text),
		 "[notify]\nsmtp_url = smtp://m.example.com\nsmtp_from = u@example.com\n"
		 "smtp_user = u\nsmtp_password_file = %s\n",
		 pw);
	write_file(fx->conf, text);
	write_file(pw, "pa55 word\n");
	assert_int_equal(config_load(&fx->c, fx->conf), 0);
	assert_int_equal(config_read_notify_secrets(&fx->c), 0);
	assert_string_equal(fx->c.smtp_password, "pa55 word");
	config_release(&fx->c);
	/* readable by others: refused, as the client secret */
	assert_int_equal(chmod(pw, 0644), 0);
	assert_int_equal(config_load(&fx->c, fx->conf), 0);
	assert_int_equal(config_read_notify_secrets(&fx->c), -1);
	assert_non_null(strstr(err_msg(), "readable by others"));
	config_release(&fx->c);
	/* the environment wins */
	setenv("UNITSYNC_SMTP_PASSWORD", "from-env", 1);
	assert_int_equal(config_load(&fx->c, fx->conf), 0);
	assert_int_equal(config_read_notify_secrets(&fx->c), 0);
	assert_string_equal(fx->c.smtp_password, "from-env");
	config_release(&fx->c);
	unsetenv("UNITSYNC_SMTP_PASSWORD");
	/* a user without any password is said, naming both ways to give one */
	write_file(fx->conf, "[notify]\nsmtp_user = u\n");
	assert_int_equal(config_load(&fx->c, fx->conf), 0);
	assert_int_equal(config_read_notify_secrets(&fx->c), -1);
	assert_non_null(strstr(err_msg(), "UNITSYNC_SMTP_PASSWORD"));
}

static void config_load_fails_naming_a_missing_file(void **state)
{
	struct fixture *fx = *state;

	assert_int_equal(config_load(&fx->c, fx->conf), -1);
	assert_non_null(strstr(err_msg(), fx->conf));
}

static void config_load_lets_the_environment_win(void **state)
{
	struct fixture *fx = *state;

	write_file(fx->conf, "[latch]\n"
			     "base_url = https://file.example.com\n"
			     "token_url = https://file.example.com/token\n"
			     "client_id = from-file\n"
			     "client_secret_file = secret.txt\n");
	setenv("UNITSYNC_LATCH_URL", "http://127.0.0.1:8080", 1);
	setenv("UNITSYNC_TOKEN_URL", "http://127.0.0.1:8080/token", 1);
	setenv("UNITSYNC_CLIENT_ID", "from-env", 1);
	setenv("UNITSYNC_CLIENT_SECRET_FILE", "/run/secrets/latch", 1);
	setenv("UNITSYNC_CLIENT_SECRET", "env-secret", 1);
	if (config_load(&fx->c, fx->conf) != 0)
		fail_msg("config_load: %s", err_msg());
	assert_string_equal(fx->c.base_url, "http://127.0.0.1:8080");
	assert_string_equal(fx->c.token_url, "http://127.0.0.1:8080/token");
	assert_string_equal(fx->c.client_id, "from-env");
	assert_string_equal(fx->c.client_secret_file, "/run/secrets/latch");
	assert_string_equal(fx->c.client_secret, "env-secret");
}

static void config_load_ignores_empty_environment_values(void **state)
{
	struct fixture *fx = *state;

	write_file(fx->conf, "[latch]\nbase_url = https://file.example.com\n");
	setenv("UNITSYNC_LATCH_URL", "", 1);
	if (config_load(&fx->c, fx->conf) != 0)
		fail_msg("config_load: %s", err_msg());
	assert_string_equal(fx->c.base_url, "https://file.example.com");
}

static void config_load_without_a_file_reads_the_environment(void **state)
{
	struct fixture *fx = *state;

	setenv("UNITSYNC_LATCH_URL", "https://api.example.com", 1);
	setenv("UNITSYNC_CLIENT_ID", "id", 1);
	if (config_load(&fx->c, NULL) != 0)
		fail_msg("config_load: %s", err_msg());
	assert_null(fx->c.path);
	assert_string_equal(fx->c.base_url, "https://api.example.com");
	assert_string_equal(fx->c.client_id, "id");
	assert_null(fx->c.token_url);
	assert_null(fx->c.properties);
}

static const char latch_conf[] = "[latch]\n"
				 "base_url = https://api.example.com\n"
				 "token_url = https://auth.example.com/token\n"
				 "client_id = unitsync\n"
				 "client_secret_file = secret.txt\n";

/* A secret file others can read is refused, naming the fix. */
static void config_require_latch_refuses_a_secret_file_others_can_read(void **state)
{
	struct fixture *fx = *state;
	char secret[PATH_MAX], text[PATH_MAX + 256];

	in_dir(fx, "conf/secret.txt", secret, sizeof(secret));
	write_file(secret, "s3cr3t\n");
	assert_int_equal(chmod(secret, 0644), 0);
	snprintf(text, sizeof(text),
		 "[latch]\nbase_url = http://x\ntoken_url = http://x/t\nclient_id = c\n"
		 "client_secret_file = %s\n",
		 secret);
	write_file(fx->conf, text);
	unsetenv("UNITSYNC_CLIENT_SECRET");
	assert_int_equal(config_load(&fx->c, fx->conf), 0);
	assert_int_equal(config_require_latch(&fx->c), -1);
	assert_non_null(strstr(err_msg(), "chmod 600"));
	assert_null(fx->c.client_secret);
}

static void config_require_latch_reads_the_secret_file(void **state)
{
	struct fixture *fx = *state;
	char secret[PATH_MAX + 64];

	write_file(fx->conf, latch_conf);
	write_file(in_dir(fx, "conf/secret.txt", secret, sizeof(secret)),
		   "s3cr3t-value  \r\nsecond line is ignored\n");
	assert_int_equal(config_load(&fx->c, fx->conf), 0);
	if (config_require_latch(&fx->c) != 0)
		fail_msg("config_require_latch: %s", err_msg());
	assert_string_equal(fx->c.client_secret, "s3cr3t-value");
}

static void config_require_latch_drops_all_trailing_white_space_of_the_secret(void **state)
{
	struct fixture *fx = *state;
	char secret[PATH_MAX + 64];

	write_file(fx->conf, latch_conf);
	write_file(in_dir(fx, "conf/secret.txt", secret, sizeof(secret)), "s3cr3t-value\t \n");
	assert_int_equal(config_load(&fx->c, fx->conf), 0);
	assert_int_equal(config_require_latch(&fx->c), 0);
	assert_string_equal(fx->c.client_secret, "s3cr3t-value");
}

static void config_require_latch_prefers_the_secret_from_the_environment(void **state)
{
	struct fixture *fx = *state;

	/* secret.txt does not exist: it must not be opened */
	write_file(fx->conf, latch_conf);
	setenv("UNITSYNC_CLIENT_SECRET", "from-env", 1);
	assert_int_equal(config_load(&fx->c, fx->conf), 0);
	if (config_require_latch(&fx->c) != 0)
		fail_msg("config_require_latch: %s", err_msg());
	assert_string_equal(fx->c.client_secret, "from-env");
}

/* With the [latch] section TEXT, config_require_latch() must fail with a
 * message holding WANT. */
static void assert_latch_refused(struct fixture *fx, const char *text, const char *want)
{
	write_file(fx->conf, text);
	if (config_load(&fx->c, fx->conf) != 0)
		fail_msg("config_load: %s", err_msg());
	if (config_require_latch(&fx->c) != -1)
		fail_msg("config_require_latch accepted:\n%s", text);
	if (!strstr(err_msg(), want))
		fail_msg("message '%s' lacks '%s'", err_msg(), want);
	config_release(&fx->c);
}

static void config_require_latch_names_what_is_missing(void **state)
{
	struct fixture *fx = *state;
	char secret[PATH_MAX + 64];

	assert_latch_refused(fx,
			     "[latch]\ntoken_url = https://a/t\nclient_id = c\n"
			     "client_secret_file = secret.txt\n",
			     "UNITSYNC_LATCH_URL");
	assert_latch_refused(fx,
			     "[latch]\nbase_url = https://a\nclient_id = c\n"
			     "client_secret_file = secret.txt\n",
			     "UNITSYNC_TOKEN_URL");
	assert_latch_refused(fx,
			     "[latch]\nbase_url = https://a\ntoken_url = https://a/t\n"
			     "client_secret_file = secret.txt\n",
			     "UNITSYNC_CLIENT_ID");
	assert_latch_refused(fx,
			     "[latch]\nbase_url = https://a\ntoken_url = https://a/t\n"
			     "client_id = c\n",
			     "no client secret");
	/* the secret file is named but missing */
	assert_latch_refused(fx, latch_conf, in_dir(fx, "conf/secret.txt", secret, sizeof(secret)));
	/* the secret file is empty, or holds only white space */
	write_file(secret, " \r\n");
	assert_latch_refused(fx, latch_conf, "empty");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(config_load_reads_the_latch_section),
		T(config_load_ignores_inline_comments),
		T(config_load_reads_properties_in_file_order),
		T(config_load_resolves_sources_from_the_config_folder_not_the_cwd),
		T(config_load_refuses_a_client_secret_in_the_file),
		T(config_load_refuses_unknown_keys_sections_and_formats),
		T(config_load_fails_naming_a_missing_file),
		T(config_load_reads_notify_settings),
		T(config_read_notify_secrets_reads_files_and_environment),
		T(config_load_lets_the_environment_win),
		T(config_load_ignores_empty_environment_values),
		T(config_load_without_a_file_reads_the_environment),
		T(config_require_latch_reads_the_secret_file),
		T(config_require_latch_refuses_a_secret_file_others_can_read),
		T(config_require_latch_drops_all_trailing_white_space_of_the_secret),
		T(config_require_latch_prefers_the_secret_from_the_environment),
		T(config_require_latch_names_what_is_missing),
	};
#undef T

	return cmocka_run_group_tests(tests, NULL, NULL);
}
