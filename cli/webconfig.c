// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --web.config.file, in the format of the Prometheus exporter-toolkit
 * (https://github.com/prometheus/exporter-toolkit, docs/web-configuration.md):
 *
 *   tls_server_config:
 *     cert_file: server.crt          # relative names: to the file's directory
 *     key_file: server.key
 *     client_auth_type: RequireAndVerifyClientCert   # the default with a CA
 *     client_ca_file: ca.crt
 *   basic_auth_users:
 *     prometheus: $2b$10$...         # bcrypt
 *
 * Read once, at start, with libyaml's document loader.  Anything it does not
 * know is refused rather than ignored: a key misspelled would otherwise
 * leave the exporter open where its operator meant it closed.
 */
#include <crypt.h>
#include <errno.h>
#include <fcntl.h>
#include <gnutls/crypto.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>
#include "webconfig.h"

#define WEB_FILE_MAX (1 << 20)	/* a config, certificate or key file */
#define WEB_USERS_MAX 1024
#define WEB_REMEMBERED 16	/* pairs that matched, remembered */

static int fail(char *why, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, len, fmt, ap);
	va_end(ap);
	return -1;
}

/* a whole regular file, NUL-terminated; NULL with errno */
static char *slurp(const char *path, size_t *lenp, struct stat *st)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	char *buf = NULL;
	size_t len = 0;

	if (fd < 0)
		return NULL;
	if (fstat(fd, st) || !S_ISREG(st->st_mode) || st->st_size > WEB_FILE_MAX) {
		int e = fstat(fd, st) ? errno : !S_ISREG(st->st_mode) ? EINVAL : EFBIG;

		close(fd);
		errno = e;
		return NULL;
	}
	buf = malloc((size_t)st->st_size + 1);
	while (buf) {
		ssize_t n = read(fd, buf + len, (size_t)st->st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (n < 0) {
				free(buf);
				buf = NULL;
			}
			break;
		}
		len += (size_t)n;
		if (len == (size_t)st->st_size)
			break;
	}
	close(fd);
	if (buf) {
		buf[len] = 0;
		if (lenp)
			*lenp = len;
	}
	return buf;
}

/* NAME of the config at CFG: relative names are the config file's directory's */
static char *file_beside(const char *cfg, const char *name, char *why, size_t wl, const char *key)
{
	char path[PATH_MAX], *out;
	const char *slash = strrchr(cfg, '/');
	struct stat st;

	if (name[0] == '/' || !slash)
		snprintf(path, sizeof(path), "%s", name);
	else
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - cfg), cfg, name);
	out = slurp(path, NULL, &st);
	if (!out)
		fail(why, wl, "--web.config.file %s: %s %s: %s", cfg, key, path, errno == EINVAL ? "not a regular file" : strerror(errno));
	return out;
}

static const char *scalar(yaml_document_t *doc, yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static const struct { const char *name; enum web_client_auth v; } auth_types[] = {
	{ "NoClientCert", WEB_NO_CLIENT_CERT },
	{ "RequestClientCert", WEB_REQUEST_CLIENT_CERT },
	{ "RequireAnyClientCert", WEB_REQUIRE_ANY_CLIENT_CERT },
	{ "VerifyClientCertIfGiven", WEB_VERIFY_CLIENT_CERT_IF_GIVEN },
	{ "RequireAndVerifyClientCert", WEB_REQUIRE_AND_VERIFY_CLIENT_CERT },
};

/* a bcrypt hash as crypt(3) writes it: $2[aby]$NN$ and 53 characters of ./A-Za-z0-9 */
static bool is_bcrypt(const char *h)
{
	if (strlen(h) != 60 || h[0] != '$' || h[1] != '2' || !strchr("aby", h[2]) || h[3] != '$' ||
	    h[4] < '0' || h[4] > '3' || h[5] < '0' || h[5] > '9' || h[6] != '$' || (h[4] == '3' && h[5] > '1') ||
	    (h[4] == '0' && h[5] < '4'))
		return false;
	for (const char *p = h + 7; *p; p++)
		if (!strchr("./ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789", *p))
			return false;
	return true;
}

static int tls_section(const char *path, yaml_document_t *doc, yaml_node_t *map, struct web_config *wc, char *why,
		       size_t wl)
{
	const char *cert = NULL, *key = NULL, *ca = NULL, *auth = NULL;

	if (map->type != YAML_MAPPING_NODE)
		return fail(why, wl, "--web.config.file %s: tls_server_config is not a mapping", path);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(doc, yaml_document_get_node(doc, p->key));
		const char *v = scalar(doc, yaml_document_get_node(doc, p->value));

		if (!k || !v)
			return fail(why, wl, "--web.config.file %s: tls_server_config: a key and value must be strings", path);
		if (!strcmp(k, "cert_file"))
			cert = v;
		else if (!strcmp(k, "key_file"))
			key = v;
		else if (!strcmp(k, "client_ca_file"))
			ca = v;
		else if (!strcmp(k, "client_auth_type"))
			auth = v;
		else
			return fail(why, wl, "--web.config.file %s: tls_server_config.%s is not supported by memlens", path, k);
	}
	if (!cert || !key || !*cert || !*key)
		return fail(why, wl, "--web.config.file %s: tls_server_config needs cert_file and key_file", path);
	wc->tls = true;
	wc->client_auth = ca && *ca ? WEB_REQUIRE_AND_VERIFY_CLIENT_CERT : WEB_NO_CLIENT_CERT;
	if (auth && *auth) {
		size_t i;

		for (i = 0; i < sizeof(auth_types) / sizeof(auth_types[0]); i++)
			if (!strcmp(auth, auth_types[i].name))
				break;
		if (i == sizeof(auth_types) / sizeof(auth_types[0]))
			return fail(why, wl, "--web.config.file %s: client_auth_type %s: NoClientCert, RequestClientCert, RequireAnyClientCert, "
				    "VerifyClientCertIfGiven or RequireAndVerifyClientCert", path, auth);
		wc->client_auth = auth_types[i].v;
	}
	/* libmicrohttpd asks for a client certificate only with a CA to check it by */
	if (wc->client_auth != WEB_NO_CLIENT_CERT && !(ca && *ca))
		return fail(why, wl, "--web.config.file %s: client_auth_type %s needs client_ca_file", path, auth);
	if (!(wc->cert_pem = file_beside(path, cert, why, wl, "cert_file")) ||
	    !(wc->key_pem = file_beside(path, key, why, wl, "key_file")))
		return -1;
	if (ca && *ca && !(wc->ca_pem = file_beside(path, ca, why, wl, "client_ca_file")))
		return -1;
	return 0;
}

static int users_section(const char *path, yaml_document_t *doc, yaml_node_t *map, struct web_config *wc, char *why,
			 size_t wl)
{
	size_t n;

	if (map->type != YAML_MAPPING_NODE)
		return fail(why, wl, "--web.config.file %s: basic_auth_users is not a mapping of user: bcrypt hash", path);
	n = (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
	if (n > WEB_USERS_MAX)
		return fail(why, wl, "--web.config.file %s: more than %d basic_auth_users", path, WEB_USERS_MAX);
	wc->users = calloc(n ? n : 1, sizeof(*wc->users));
	if (!wc->users)
		return fail(why, wl, "--web.config.file %s: out of memory", path);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = scalar(doc, yaml_document_get_node(doc, p->key));
		const char *v = scalar(doc, yaml_document_get_node(doc, p->value));

		if (!k || !v || !*k || strchr(k, ':'))
			return fail(why, wl, "--web.config.file %s: basic_auth_users: each a user name (no ':') and its bcrypt hash", path);
		if (!is_bcrypt(v))
			return fail(why, wl, "--web.config.file %s: basic_auth_users.%s: not a bcrypt hash ($2b$10$ and 53 more characters)",
				    path, k);
		for (size_t i = 0; i < wc->nusers; i++)
			if (!strcmp(wc->users[i].name, k))
				return fail(why, wl, "--web.config.file %s: basic_auth_users.%s given twice", path, k);
		wc->users[wc->nusers].name = strdup(k);
		wc->users[wc->nusers].hash = strdup(v);
		if (!wc->users[wc->nusers].name || !wc->users[wc->nusers].hash) {
			free(wc->users[wc->nusers].name);
			free(wc->users[wc->nusers].hash);
			return fail(why, wl, "--web.config.file %s: out of memory", path);
		}
		wc->nusers++;
	}
	return 0;
}

int web_config_load(const char *path, struct web_config *wc, char *why, size_t wl)
{
	yaml_parser_t parser;
	yaml_document_t doc;
	yaml_node_t *root;
	struct stat st;
	size_t len = 0;
	char *text;
	int rc = 0;

	memset(wc, 0, sizeof(*wc));
	text = slurp(path, &len, &st);
	if (!text)
		return fail(why, wl, "--web.config.file %s: %s", path,
			    errno == EINVAL ? "not a regular file" : strerror(errno));
	/* it holds who may read every process's memory: refused if anyone
	 * but its owner and group can change it */
	if (st.st_mode & S_IWOTH) {
		free(text);
		return fail(why, wl, "--web.config.file %s: writable by every user (mode %04o): refused", path,
			    (unsigned)(st.st_mode & 07777));
	}
	if (!yaml_parser_initialize(&parser)) {
		free(text);
		return fail(why, wl, "--web.config.file %s: out of memory", path);
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &doc)) {
		rc = fail(why, wl, "--web.config.file %s: line %zu: %s", path, parser.problem_mark.line + 1,
			  parser.problem ? parser.problem : "not YAML");
		yaml_parser_delete(&parser);
		free(text);
		return rc;
	}
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		rc = 0;		/* an empty file: no TLS, no users (as the toolkit reads it) */
	} else if (root->type != YAML_MAPPING_NODE) {
		rc = fail(why, wl, "--web.config.file %s: not a mapping (tls_server_config, basic_auth_users)", path);
	} else {
		for (yaml_node_pair_t *p = root->data.mapping.pairs.start; !rc && p < root->data.mapping.pairs.top; p++) {
			const char *k = scalar(&doc, yaml_document_get_node(&doc, p->key));
			yaml_node_t *v = yaml_document_get_node(&doc, p->value);

			if (k && !strcmp(k, "tls_server_config") && !wc->tls)
				rc = tls_section(path, &doc, v, wc, why, wl);
			else if (k && !strcmp(k, "basic_auth_users") && !wc->users)
				rc = users_section(path, &doc, v, wc, why, wl);
			else
				rc = fail(why, wl, "--web.config.file %s: %s is not supported by memlens (or given twice)",
					  path, k ? k : "a key that is not a string");
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(text);
	if (rc)
		web_config_free(wc);
	return rc;
}

void web_config_free(struct web_config *wc)
{
	for (size_t i = 0; i < wc->nusers; i++) {
		free(wc->users[i].name);
		free(wc->users[i].hash);
	}
	free(wc->users);
	free(wc->cert_pem);
	if (wc->key_pem) {
		explicit_bzero(wc->key_pem, strlen(wc->key_pem));
		free(wc->key_pem);
	}
	free(wc->ca_pem);
	memset(wc, 0, sizeof(*wc));
}

/* the pairs that matched: SHA-256 of user NUL password NUL hash */
static unsigned char remembered[WEB_REMEMBERED][32];
static size_t nremembered, next_slot;

static bool digest(const char *user, const char *password, const char *hash, unsigned char out[32])
{
	size_t lu = strlen(user), lp = strlen(password), lh = strlen(hash);
	char *buf = malloc(lu + lp + lh + 3);
	bool ok;

	if (!buf)
		return false;
	memcpy(buf, user, lu + 1);
	memcpy(buf + lu + 1, password, lp + 1);
	memcpy(buf + lu + lp + 2, hash, lh + 1);
	ok = !gnutls_hash_fast(GNUTLS_DIG_SHA256, buf, lu + lp + lh + 3, out);
	explicit_bzero(buf, lu + lp + lh + 3);
	free(buf);
	return ok;
}

bool web_config_check(struct web_config *wc, const char *user, const char *password)
{
	const struct web_user *u = NULL;
	struct crypt_data *cd;
	unsigned char d[32];
	bool have_d, match = false;
	const char *out;

	for (size_t i = 0; i < wc->nusers; i++)
		if (!strcmp(wc->users[i].name, user))
			u = &wc->users[i];
	if (!u)
		return false;
	have_d = digest(user, password, u->hash, d);
	for (size_t i = 0; have_d && i < nremembered; i++)
		if (!memcmp(remembered[i], d, sizeof(d)))	/* a digest, not the secret */
			return true;
	cd = calloc(1, sizeof(*cd));
	if (!cd)
		return false;
	out = crypt_r(password, u->hash, cd);
	/* crypt_r gives the hash itself when the password is right */
	if (out && out[0] != '*' && strlen(out) == strlen(u->hash)) {
		unsigned char diff = 0;

		for (size_t i = 0; out[i]; i++)
			diff |= (unsigned char)(out[i] ^ u->hash[i]);
		match = !diff;
	}
	explicit_bzero(cd, sizeof(*cd));
	free(cd);
	if (match && have_d) {
		memcpy(remembered[next_slot], d, sizeof(d));
		next_slot = (next_slot + 1) % WEB_REMEMBERED;
		if (nremembered < WEB_REMEMBERED)
			nremembered++;
	}
	return match;
}
