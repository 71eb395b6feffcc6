/*
 * config.h - the configuration file (INI, read with inih) and the
 * environment overrides of DESIGN.md §4.
 *
 *   [latch]
 *   base_url = https://api.example.com        ; UNITSYNC_LATCH_URL
 *   token_url = https://auth.example.com/token ; UNITSYNC_TOKEN_URL
 *   client_id = ...                            ; UNITSYNC_CLIENT_ID
 *   client_secret_file = /etc/unitsync/secret  ; UNITSYNC_CLIENT_SECRET_FILE, or
 *                                              ; UNITSYNC_CLIENT_SECRET (the value)
 *   audience = ...
 *
 *   [property "ID"]        ; one per property the nightly job extracts
 *   format = xml | csv
 *   profile = generic      ; CSV profile (csv only)
 *   source = PATH          ; repeatable; relative to the config file's folder
 *
 * The client secret is read from the file (first line, trailing white space
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
	struct config_property *next; /* file order */
};

struct config {
	char *path;                         /* the file read, owned; NULL when none */
	char *base_url;                     /* Latch API base, owned */
	char *token_url;                    /* OAuth2 token endpoint, owned */
	char *client_id;                    /* owned */
	char *client_secret;                /* owned; wiped by config_release() */
	char *client_secret_file;           /* owned */
	char *audience;                     /* owned */
	struct config_property *properties; /* owned list */
};

/*
 * Read PATH (NULL: no file, environment only) and apply the overrides.
 * Errors name the file and line.  Release with config_release() even on
 * failure.
 */
int config_load(struct config *c, const char *path);

/*
 * Check that the [latch] settings needed to talk to the API are present
 * and read the secret file; -1 with err_set() naming what is missing.
 */
int config_require_latch(struct config *c);

/*
 * Make c->client_secret available: from the environment, else read from
 * client_secret_file (which must be private, mode 0600 or stricter).  -1
 * with err_set() saying why not.  The secret is wiped by config_release().
 */
int config_read_secret(struct config *c);

void config_release(struct config *c);

#endif
