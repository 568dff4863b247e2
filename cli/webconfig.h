/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The exporter's --web.config.file, in the Prometheus exporter-toolkit's
 * format (TLS and basic auth, as node_exporter reads it), read with libyaml.
 */
#ifndef MEMLENS_CLI_WEBCONFIG_H
#define MEMLENS_CLI_WEBCONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* tls_server_config.client_auth_type, exporter-toolkit's names */
enum web_client_auth {
	WEB_NO_CLIENT_CERT,		/* NoClientCert */
	WEB_REQUEST_CLIENT_CERT,	/* RequestClientCert: asked, not checked */
	WEB_REQUIRE_ANY_CLIENT_CERT,	/* RequireAnyClientCert: one, not checked */
	WEB_VERIFY_CLIENT_CERT_IF_GIVEN,	/* VerifyClientCertIfGiven */
	WEB_REQUIRE_AND_VERIFY_CLIENT_CERT,	/* RequireAndVerifyClientCert */
};

struct web_user {
	char *name;
	char *hash;		/* bcrypt: $2a$, $2b$ or $2y$ */
};

struct web_config {
	bool tls;
	char *cert_pem, *key_pem, *ca_pem;	/* the files' contents (ca_pem: NULL without client_ca_file) */
	enum web_client_auth client_auth;
	struct web_user *users;			/* basic_auth_users */
	size_t nusers;
};

/* PATH read into *wc: 0, or -1 with a one-line reason in why (the file
 * malformed, unreadable, writable by others, a key it does not know, a
 * hash that is not bcrypt, a certificate or key file that cannot be read) */
int web_config_load(const char *path, struct web_config *wc, char *why, size_t why_len);
void web_config_free(struct web_config *wc);

/* user and password against basic_auth_users (bcrypt, libcrypt's crypt_r):
 * true if they match.  A match is remembered (a SHA-256 of the pair), so a
 * scraper asking every 15 s pays bcrypt's cost once, not per scrape. */
bool web_config_check(struct web_config *wc, const char *user, const char *password);

#endif
