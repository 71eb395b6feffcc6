/*
 * config.h - the configuration file (INI, read with inih) and the
 * environment overrides of unitsync-config(1).
 *
 *   [latch]
 *   base_url = https://api.example.com        ; UNITSYNC_LATCH_URL
 *   token_url = https://auth.example.com/token ; UNITSYNC_TOKEN_URL
 *   client_id = ...                            ; UNITSYNC_CLIENT_ID
 *   client_secret_file = /etc/unitsync/secret  ; UNITSYNC_CLIENT_SECRET_FILE, or
 *                                              ; UNITSYNC_CLIENT_SECRET (the value)
 *   audience = ...
 *   page_size = 1000   ; the pageSize the Latch listings ask for (config_page_size())
 *
 *   [notify]               ; issue 20: where the night's news goes (all optional)
 *   smtp_url = smtp://mail.example.com:587     ; STARTTLS required; smtps:// for TLS
 *   smtp_from = unitsync@example.com
 *   smtp_user = unitsync                       ; AUTH, with the password from
 *   smtp_password_file = /etc/unitsync/smtp    ; the file or UNITSYNC_SMTP_PASSWORD
 *   smtp_ca_file = /etc/unitsync/ca.pem        ; a CA bundle other than the system's
 *   webhook_url = https://hooks.example.com/x  ; every property's digest, as JSON
 *   webhook_secret_file = /etc/unitsync/hook   ; HMAC-SHA256 key, or UNITSYNC_WEBHOOK_SECRET
 *   metrics_file = /var/lib/node-exporter/unitsync.prom
 *   operator_email = oncall@example.com        ; the job's failures (unitsync notify --job-failed)
 *
 *   [property "ID"]        ; one per property the nightly job extracts
 *   format = xml | csv
 *   profile = generic      ; CSV profile (csv only)
 *   source = PATH          ; repeatable; relative to the config file's folder
 *   notify_email = a@example.com, b@example.com  ; the property's digest by e-mail
 *   notify_webhook = https://hooks.example.com/y ; and to this webhook too
 *   notify_daily_summary = no                    ; yes: a digest even on a quiet night
 *
 * Secrets (the client secret, the SMTP password, the webhook key) are read
 * from their files or the environment, never from the configuration file
 * itself or argv.  The client secret is read from the file (first line, trailing white space
 * dropped; the file must not be readable by group or others, as ssh
 * requires of private keys) or the environment, never from argv, and is
 * never logged.
 */
#ifndef UNITSYNC_CONFIG_H
#define UNITSYNC_CONFIG_H

#include <stddef.h>

struct config_property {
	char *id;       /* property id, owned */
	char *format;   /* "xml" or "csv", owned */
	char *profile;  /* CSV profile, owned, default "generic" */
	char **sources; /* absolute or config-relative resolved paths, owned */
	size_t n_sources;
	int line;            /* the section's first key, for messages */
	int profile_line;    /* the profile key's line, 0 when defaulted */
	int format_line;     /* the format key's line, 0 when defaulted */
	char *max_reject;    /* max_reject_percent as given (0 to 100, checked), owned;
			      * NULL: extract's default */
	char *encoding;      /* encoding (CSV only, a name enc_known() takes), owned;
			      * NULL: auto */
	int max_reject_line; /* where they were set, 0: not */
	int encoding_line;
	int path_problems;   /* config_check_paths() found its sources unusable:
				       * still listed (extract refuses them tonight) */
	int problems;        /* problems found in the section: the property is
			   * bad and fails alone (see config_load()) */
	char **notify_email; /* notify_email addresses, owned; NULL: none */
	size_t n_notify_email;
	char *notify_webhook;         /* owned, NULL: none */
	int daily_summary;            /* notify_daily_summary = yes */
	int notify_line[3];           /* where notify_email, _webhook, _daily_summary were set */
	struct config_property *next; /* file order */
};

/* One problem of the file: "config 'FILE' line N: MESSAGE". */
struct config_problem {
	int line;                    /* 0: not tied to a line */
	char *property;              /* the bad property's id, owned; NULL: the whole
				      * file is unusable ([latch], syntax, unknown
				      * section) */
	char *message;               /* owned, names the key */
	struct config_problem *next; /* file order */
};

/* CSV profiles a [property] section may name: extract-csv's, "auto"
 * included; a test compares the list with extract-csv's --help. */
extern const char *const config_csv_profiles[];

struct config {
	char *path;               /* the file read, owned; NULL when none */
	char *base_url;           /* Latch API base, owned */
	char *token_url;          /* OAuth2 token endpoint, owned */
	char *client_id;          /* owned */
	char *client_secret;      /* owned; wiped by config_release() */
	char *client_secret_file; /* owned */
	char *audience;           /* owned */
	char *page_size;          /* [latch] page_size as written (checked: a whole number
				   * from 1 to CONFIG_MAX_PAGE_SIZE), owned; NULL: unset */
	char *smtp_url;           /* [notify], each owned, NULL when unset */
	char *smtp_from;
	char *smtp_user;
	char *smtp_password_file;
	char *smtp_password; /* read by config_read_notify_secrets(); wiped */
	char *smtp_ca_file;
	char *webhook_url;
	char *webhook_secret_file;
	char *webhook_secret; /* read by config_read_notify_secrets(); wiped */
	char *metrics_file;
	char *operator_email;               /* addresses, as written (config_split_addresses()) */
	struct config_property *properties; /* owned list */
	struct config_problem *problems;    /* owned list, file order */
	int fatal;                          /* problems with no property */
	int secret_line[3];                 /* the lines that set client_secret_file,
					     * smtp_password_file and webhook_secret_file, 0
					     * when the file does not: messages name them */
	int smtp_user_line;                 /* the line of [notify] smtp_user, or 0 */
	int notify_line;                    /* the [notify] header's line, 0: no section */
};

/*
 * The page size the Latch listings ask for (pageSize: the units of a
 * building, the residents of a unit), [latch] page_size or
 * CONFIG_PAGE_SIZE.  Only a request: a server that pages smaller answers
 * fewer with a nextPageToken, which the listings follow.  The default is
 * the largest page the API contract promises (docs/latch-sim.1: "at most
 * 1000"; a server that takes less is asked too much, and by the usual
 * rule of paged APIs, Google AIP-158, answers its own maximum): a page a
 * round trip, and 2,500 units are 3 round trips rather than 25 of the
 * server's default 100.  A page of 1,000 units or residents is some
 * 100 KB, well within LATCH_MAX_BODY (lib/latch.h).
 */
#define CONFIG_PAGE_SIZE 1000
#define CONFIG_MAX_PAGE_SIZE 1000
int config_page_size(const struct config *c);

/*
 * Read PATH (NULL: no file, environment only) and apply the overrides,
 * collecting every problem of the file (each naming file, line and key)
 * in c->problems rather than stopping at the first: an unknown key, a
 * syntax error, an unknown section, a [latch] value that is not usable,
 * a format, profile or missing source of a [property] section; a
 * section or key given twice (the second would silently win); a line
 * longer than inih's buffer (198 bytes: never cut in two); an indented
 * line (no continuation lines).  A
 * problem inside a [property "ID"] section makes that property bad
 * (p->problems > 0: it fails alone, the others run); any other is fatal.
 * -1 with err_set() (the first fatal problem) when the file cannot be
 * read or has a fatal problem.  Release with config_release() even on
 * failure.
 */
int config_load(struct config *c, const char *path);

/*
 * The paths of the file, checked on disk (`unitsync config check`): each
 * source's folder must exist and the source, when there, be a regular
 * readable file (a source not there yet is reported by extract, not
 * here); client_secret_file, when set, must be readable and private.
 * Adds problems to c->problems; returns how many it added.
 */
int config_check_paths(struct config *c);

/*
 * A problem of property P's section, at its header's line ("config 'F'
 * line N: MESSAGE"): P is bad and fails alone, as with the problems
 * config_load() finds (`unitsync config check` adds one for a property the
 * state database does not have).  0, or -1 out of memory.
 */
int config_property_problem(struct config *c, struct config_property *p, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The same for the [latch] settings config_require_latch() needs: one
 * problem (fatal) for each missing one and for an unusable secret. */
int config_check_latch(struct config *c);

/*
 * Check that the [latch] settings needed to talk to the API are present
 * and read the secret file; -1 with err_set() naming what is missing.
 */
int config_require_latch(struct config *c);

/*
 * Make c->client_secret available: from the environment, else read from
 * client_secret_file (which must be private, mode 0600 or stricter).  -1
 * with err_set() saying why not, naming the file, line and key that set
 * the secret file ("config 'F' line N: [latch] client_secret_file: client
 * secret file 'X' is readable by others ...") or the environment variable.
 * The secret is wiped by config_release().
 */
int config_read_secret(struct config *c);

/*
 * Make the [notify] secrets available: the SMTP password (when smtp_user
 * is set) from UNITSYNC_SMTP_PASSWORD or smtp_password_file, the webhook
 * key (when a webhook is configured) from UNITSYNC_WEBHOOK_SECRET or
 * webhook_secret_file; each file private, as for the client secret.  -1
 * with err_set() naming what is missing or unusable, and the file, line
 * and key that asked for it, as config_read_secret().
 */
int config_read_notify_secrets(struct config *c);

/*
 * Split VALUE, e-mail addresses separated by commas (each trimmed of the
 * blanks around it, each local@domain), into *OUT (N strings, owned:
 * config_free_addresses()).  0; 1 when VALUE is not such a list, with the
 * reason in WHY (SIZE bytes) and nothing in *OUT; -1 out of memory.
 */
int config_split_addresses(const char *value, char ***out, size_t *n, char *why, size_t size);

void config_free_addresses(char **list, size_t n);

/*
 * Is notification configured at all: a [notify] section (even one that
 * names nobody), or a property's notify_email or notify_webhook?  Without
 * any, a night with no recipient is what the operator chose, not a gap to
 * warn of every night (cron mails every warning).
 */
int config_notify_configured(const struct config *c);

void config_release(struct config *c);

#endif
