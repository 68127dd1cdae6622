/*
 * transport.c - SFTP (libssh2) and local-directory transports: connect with a strict host key check,
 * list, download atomically with SHA-256, upload without ever overwriting, archive.
 *
 * See transport.h for the rules. Layout of this file: pure helpers (names, patterns, fingerprints),
 * the one libssh2 error translation (ssh_error), connection set-up, then list/get/put/archive, each
 * with an sftp and a dir branch sharing the same checks.
 */
#include "transport.h"
#include "utf8.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libssh2.h>
#include <libssh2_sftp.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "progress.h"
#include "signals.h"
#include "util.h"

/* 256 KiB reads: libssh2 splits them into 30,000-byte SFTP requests and keeps them in flight. */
#ifndef XFER_BUFSZ
#define XFER_BUFSZ (256 * 1024)
#endif
/* Progress bars only for transfers at least this large, and only on a terminal. */
#define PROGRESS_MIN_BYTES (16LL * 1024 * 1024)
#define KEEPALIVE_S 15
#define WRITEBACK_CHUNK (8LL * 1024 * 1024)

/* Strong algorithms only (what libssh2 1.10 does not know is dropped by method_pref). */
static const char KEX_PREF[] =
    "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
    "ecdh-sha2-nistp521,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512,"
    "diffie-hellman-group14-sha256,diffie-hellman-group-exchange-sha256";
static const char HOSTKEY_PREF[] =
    "ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256";
static const char CIPHER_PREF[] =
    "aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr";
static const char MAC_PREF[] =
    "hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,hmac-sha2-256,hmac-sha2-512";

struct transport {
	const struct endpoint_cfg *ep;  /* borrowed: the config outlives the connection */
	char *desc;
	/* sftp */
	int sock;
	LIBSSH2_SESSION *session;
	LIBSSH2_SFTP *sftp;
	bool broken;                    /* connection lost or timed out: no graceful goodbye */
};

/* ------------------------------------------------------------------ pure helpers */

bool
transport_name_safe(const char *name, size_t len, const char **why)
{
	const char *dummy, *bad = "";
	size_t i;

	if (why == NULL)
		why = &dummy;
	if (name == NULL || len == 0) {
		*why = "is empty";
		return false;
	}
	if (len > 255) {
		*why = "is longer than 255 bytes";
		return false;
	}
	if (strnlen(name, len) != len) {
		*why = "contains a NUL byte";
		return false;
	}
	if (name[0] == '.') {
		*why = "starts with '.'";
		return false;
	}
	for (i = 0; i < len; i++)
		if (name[i] == '/' || name[i] == '\\') {
			*why = "contains a path separator ('/' or '\\')";
			return false;
		}
	/* Printable, strict UTF-8 (no overlongs, surrogates, C0/C1 controls; TAB too is refused). */
	if (memchr(name, '\t', len) != NULL || text_check(name, len, &bad) != (size_t)-1) {
		*why = memchr(name, '\t', len) != NULL || strstr(bad, "control") ? "contains a control character"
		    : "is not valid UTF-8";
		return false;
	}
	return true;
}

enum perr
transport_pattern_expand(const char *pattern, date_t date, char **out)
{
	int y, m, d;
	size_t cap, n = 0;
	const char *p;
	char *buf;

	*out = NULL;
	if (pattern == NULL)
		return perr_set(PERR_CONFIG, "pattern: missing");
	date_to_ymd(date, &y, &m, &d);
	if (y < 0 || y > 9999)
		return perr_set(PERR_DATE, "pattern %s: year %d out of range", pattern, y);
	cap = strlen(pattern) * 2 + 1;   /* every %X expands to at most 4 bytes */
	buf = xmalloc(cap);
	for (p = pattern; *p != '\0'; p++) {
		if (*p != '%') {
			buf[n++] = *p;
			continue;
		}
		p++;
		switch (*p) {
		case 'Y': n += (size_t)snprintf(buf + n, cap - n, "%04d", y); break;
		case 'm': n += (size_t)snprintf(buf + n, cap - n, "%02d", m); break;
		case 'd': n += (size_t)snprintf(buf + n, cap - n, "%02d", d); break;
		case 'y': n += (size_t)snprintf(buf + n, cap - n, "%02d", y % 100); break;
		case '%': buf[n++] = '%'; break;
		case '\0':
			free(buf);
			return perr_set(PERR_CONFIG, "pattern %s: ends with a lone '%%' (write %%%% for a percent sign)",
			    pattern);
		default:
			free(buf);
			return perr_set(PERR_CONFIG, "pattern %s: unknown date field '%%%c' (expected %%Y, %%m, %%d, %%y or %%%%)",
			    pattern, *p);
		}
	}
	buf[n] = '\0';
	*out = buf;
	return PERR_OK;
}

void
transport_fingerprint(const unsigned char *blob, size_t len, char buf[TRANSPORT_FP_BUFSZ])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char b64[64];
	int n;

	EVP_Digest(blob, len, md, &mdlen, EVP_sha256(), NULL);
	n = EVP_EncodeBlock((unsigned char *)b64, md, (int)mdlen);
	while (n > 0 && b64[n - 1] == '=')
		n--;
	b64[n] = '\0';
	memcpy(buf, "SHA256:", 7);
	memcpy(buf + 7, b64, (size_t)n + 1);   /* 43 characters for a 32-byte digest */
}

/* Fingerprint of a base64 key as stored in known_hosts; "SHA256:?" if it does not decode. */
static void
fingerprint_b64(const char *b64, char buf[TRANSPORT_FP_BUFSZ])
{
	size_t len = strlen(b64);
	unsigned char *raw = xmalloc(len + 3);
	int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)len);

	if (n < 0) {
		snprintf(buf, TRANSPORT_FP_BUFSZ, "SHA256:?");
	} else {
		/* EVP_DecodeBlock counts padding bytes as data: take them off. */
		if (len >= 1 && b64[len - 1] == '=')
			n--;
		if (len >= 2 && b64[len - 2] == '=')
			n--;
		transport_fingerprint(raw, (size_t)n, buf);
	}
	free(raw);
}

bool
transport_retryable(enum perr e)
{
	return e == PERR_SSH_CONNECT || e == PERR_SSH_TIMEOUT;
}

void
remote_list_free(struct remote_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		free(l->v[i].name);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
sleep_ms(int64_t ms)
{
	struct timespec ts;

	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR && stop_check() == PERR_OK)
		;   /* a stop ends the wait: the caller's next step (connect) refuses */
}

/* "dir/name" (a new string owned by the caller). */
static char *
join_path(const char *dir, const char *name)
{
	size_t dl = strlen(dir);

	if (dl > 0 && dir[dl - 1] == '/')
		return xasprintf("%s%s", dir, name);
	return xasprintf("%s/%s", dir, name);
}

/* ------------------------------------------------------------------ libssh2 errors */

static const char *
fx_text(unsigned long fx)
{
	switch (fx) {
	case LIBSSH2_FX_EOF: return "end of file";
	case LIBSSH2_FX_NO_SUCH_FILE: return "no such file";
	case LIBSSH2_FX_PERMISSION_DENIED: return "permission denied";
	case LIBSSH2_FX_FAILURE: return "failure";
	case LIBSSH2_FX_BAD_MESSAGE: return "bad message";
	case LIBSSH2_FX_NO_CONNECTION: return "no connection";
	case LIBSSH2_FX_CONNECTION_LOST: return "connection lost";
	case LIBSSH2_FX_OP_UNSUPPORTED: return "operation unsupported";
	case LIBSSH2_FX_INVALID_HANDLE: return "invalid handle";
	case LIBSSH2_FX_NO_SUCH_PATH: return "no such path";
	case LIBSSH2_FX_FILE_ALREADY_EXISTS: return "file already exists";
	case LIBSSH2_FX_WRITE_PROTECT: return "write protected";
	case LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM: return "no space left on the server";
	case LIBSSH2_FX_QUOTA_EXCEEDED: return "quota exceeded";
	default: return "error";
	}
}

/* The SFTP status of the last failed operation (LIBSSH2_FX_OK if it was not an SFTP status). */
static unsigned long
sftp_status(const struct transport *t)
{
	if (t->session == NULL || t->sftp == NULL)
		return LIBSSH2_FX_OK;
	if (libssh2_session_last_errno(t->session) != LIBSSH2_ERROR_SFTP_PROTOCOL)
		return LIBSSH2_FX_OK;
	return libssh2_sftp_last_error(t->sftp);
}

/*
 * THE translation of libssh2 errors into enum perr (the only one in the program). Reads the
 * session's last error (and the SFTP status for SFTP_PROTOCOL), records "desc: what: libssh2's
 * message (code)" as the detail, marks the connection broken when it is gone, returns the code.
 * `fallback` is the code for errors that say nothing more specific (PERR_SSH_CONNECT while setting
 * up, PERR_SFTP for file operations, PERR_SSH_AUTH while authenticating).
 */
static enum perr
ssh_error(struct transport *t, enum perr fallback, const char *fmt, ...)
{
	char what[512];
	char *msg = NULL;
	int rc = 0, len = 0;
	unsigned long fx = LIBSSH2_FX_OK;
	enum perr e = fallback;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	/*
	 * Stopping (signals.h): the signal interrupts libssh2's wait on the socket, which it reports
	 * as a timeout. It is the stop, not a retryable connection problem; the session may be
	 * mid-packet, so no goodbye and no further request on it.
	 */
	if (stop_check() != PERR_OK) {
		t->broken = true;
		return perr_set(PERR_INTERRUPTED, "%s: %s: %s", t->desc, what, perr_detail());
	}
	if (t->session != NULL)
		rc = libssh2_session_last_error(t->session, &msg, &len, 0);
	if (msg == NULL)
		msg = (char *)"";

	switch (rc) {
	case LIBSSH2_ERROR_TIMEOUT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
		e = PERR_SSH_TIMEOUT;
		break;
	case LIBSSH2_ERROR_SOCKET_NONE:
	case LIBSSH2_ERROR_BANNER_RECV:
	case LIBSSH2_ERROR_BANNER_SEND:
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_BAD_SOCKET:
	case LIBSSH2_ERROR_CHANNEL_CLOSED:
	case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
	case LIBSSH2_ERROR_CHANNEL_FAILURE:
	case LIBSSH2_ERROR_CHANNEL_UNKNOWN:
	case LIBSSH2_ERROR_INVALID_MAC:
	case LIBSSH2_ERROR_DECRYPT:
	case LIBSSH2_ERROR_ENCRYPT:
	case LIBSSH2_ERROR_PROTO:
	case LIBSSH2_ERROR_KEX_FAILURE:
	case LIBSSH2_ERROR_KEY_EXCHANGE_FAILURE:
	case LIBSSH2_ERROR_HOSTKEY_INIT:
	case LIBSSH2_ERROR_HOSTKEY_SIGN:
	case LIBSSH2_ERROR_METHOD_NONE:
	case LIBSSH2_ERROR_COMPRESS:
	case LIBSSH2_ERROR_ZLIB:
		e = PERR_SSH_CONNECT;
		break;
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
	case LIBSSH2_ERROR_PUBLICKEY_PROTOCOL:
	case LIBSSH2_ERROR_PASSWORD_EXPIRED:
	case LIBSSH2_ERROR_KEYFILE_AUTH_FAILED:
	case LIBSSH2_ERROR_FILE:
		e = PERR_SSH_AUTH;
		break;
	case LIBSSH2_ERROR_ALLOC:
		e = PERR_NOMEM;
		break;
	case LIBSSH2_ERROR_SFTP_PROTOCOL:
		fx = t->sftp != NULL ? libssh2_sftp_last_error(t->sftp) : LIBSSH2_FX_OK;
		if (fx == LIBSSH2_FX_CONNECTION_LOST || fx == LIBSSH2_FX_NO_CONNECTION)
			e = PERR_SSH_CONNECT;
		else
			e = PERR_SFTP;
		break;
	default:
		break;
	}
	/* A method/auth-file failure during authentication is an authentication error. */
	if (fallback == PERR_SSH_AUTH && (rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED || rc == LIBSSH2_ERROR_INVAL))
		e = PERR_SSH_AUTH;
	if (e == PERR_SSH_CONNECT || e == PERR_SSH_TIMEOUT)
		t->broken = true;

	if (fx != LIBSSH2_FX_OK)
		return perr_set(e, "%s: %s: %s (SFTP status %lu)", t->desc, what, fx_text(fx), fx);
	if (e == PERR_SSH_TIMEOUT)
		return perr_set(e, "%s: %s: no answer within %d s (io_timeout) (libssh2 %d: %s)", t->desc, what,
		    t->ep->io_timeout_s, rc, msg);
	return perr_set(e, "%s: %s: %s (libssh2 %d)", t->desc, what, *msg != '\0' ? msg : "failed", rc);
}

/* ------------------------------------------------------------------ connecting */

static int libssh2_ready;

static enum perr
tcp_connect(struct transport *t)
{
	const struct endpoint_cfg *ep = t->ep;
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int rc, fd = -1, err = 0;
	int timeout_ms = (ep->connect_timeout_s > 0 ? ep->connect_timeout_s : 15) * 1000;
	bool timed_out = false;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof portstr, "%d", ep->port > 0 ? ep->port : 22);
	rc = getaddrinfo(ep->host, portstr, &hints, &res);
	if (rc != 0)
		return perr_set(PERR_SSH_CONNECT, "%s: cannot resolve host %s: %s", t->desc, ep->host,
		    gai_strerror(rc));
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		struct pollfd pfd;
		socklen_t elen = sizeof err;
		int flags, one = 1;

		if (stop_check() != PERR_OK)    /* stopping: no further address is tried */
			break;
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			err = errno;
			continue;
		}
		flags = fcntl(fd, F_GETFL);
		fcntl(fd, F_SETFL, flags | O_NONBLOCK);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			goto connected;
		if (errno != EINPROGRESS) {
			err = errno;
			close(fd);
			fd = -1;
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		do
			rc = poll(&pfd, 1, timeout_ms);
		while (rc < 0 && errno == EINTR && stop_check() == PERR_OK);
		if (rc == 0) {
			timed_out = true;
			close(fd);
			fd = -1;
			continue;
		}
		if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0) {
			if (rc < 0)
				err = errno;
			close(fd);
			fd = -1;
			continue;
		}
connected:
		fcntl(fd, F_SETFL, flags);
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		break;
	}
	freeaddrinfo(res);
	if (fd < 0 && stop_check() != PERR_OK)     /* the wait was cut short by a stop: not retryable */
		return perr_set(PERR_INTERRUPTED, "%s: connecting: %s", t->desc, perr_detail());
	if (fd < 0) {
		if (timed_out && err == 0)
			return perr_set(PERR_SSH_TIMEOUT, "%s: no TCP connection within %d s (connect_timeout)",
			    t->desc, timeout_ms / 1000);
		return perr_set(PERR_SSH_CONNECT, "%s: cannot connect: %s", t->desc, strerror(err));
	}
	t->sock = fd;
	return PERR_OK;
}

static const char *
hostkey_type_name(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: return "ssh-rsa";
	case LIBSSH2_HOSTKEY_TYPE_DSS: return "ssh-dss";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return "ecdsa-sha2-nistp256";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return "ecdsa-sha2-nistp384";
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ecdsa-sha2-nistp521";
	case LIBSSH2_HOSTKEY_TYPE_ED25519: return "ssh-ed25519";
	default: return "unknown";
	}
}

static int
hostkey_knownhost_mask(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA;
	case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519;
	default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

static const char *
knownhost_type_name(int typemask)
{
	switch (typemask & LIBSSH2_KNOWNHOST_KEY_MASK) {
	case LIBSSH2_KNOWNHOST_KEY_SSHRSA: return "ssh-rsa";
	case LIBSSH2_KNOWNHOST_KEY_SSHDSS: return "ssh-dss";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_256: return "ecdsa-sha2-nistp256";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_384: return "ecdsa-sha2-nistp384";
	case LIBSSH2_KNOWNHOST_KEY_ECDSA_521: return "ecdsa-sha2-nistp521";
	case LIBSSH2_KNOWNHOST_KEY_ED25519: return "ssh-ed25519";
	default: return "unknown";
	}
}

/*
 * Checks the host key the server presented against ep->known_hosts. Runs after the key exchange
 * and before anything is sent that identifies us (no user name, no key).
 */
static enum perr
check_host_key(struct transport *t)
{
	const struct endpoint_cfg *ep = t->ep;
	LIBSSH2_KNOWNHOSTS *kh = NULL;
	struct libssh2_knownhost *found = NULL, *it = NULL;
	const char *key;
	size_t keylen;
	int type, rc, port = ep->port > 0 ? ep->port : 22;
	char presented[TRANSPORT_FP_BUFSZ], expected[TRANSPORT_FP_BUFSZ];
	char hostport[300], others[600];
	size_t olen = 0;
	enum perr e;

	key = libssh2_session_hostkey(t->session, &keylen, &type);
	if (key == NULL)
		return ssh_error(t, PERR_SSH_HOSTKEY, "reading the server's host key");
	transport_fingerprint((const unsigned char *)key, keylen, presented);
	if (port == 22)
		snprintf(hostport, sizeof hostport, "%s", ep->host);
	else
		snprintf(hostport, sizeof hostport, "[%s]:%d", ep->host, port);

	if (ep->known_hosts == NULL || access(ep->known_hosts, R_OK) != 0)
		return perr_set(PERR_SSH_HOSTKEY,
		    "%s:%d: known_hosts file %s cannot be read (%s); the server presented %s %s; nothing was sent",
		    ep->host, port, ep->known_hosts ? ep->known_hosts : "(none)", strerror(errno),
		    hostkey_type_name(type), presented);
	kh = libssh2_knownhost_init(t->session);
	if (kh == NULL)
		return ssh_error(t, PERR_SSH_HOSTKEY, "initialising the known_hosts check");
	rc = libssh2_knownhost_readfile(kh, ep->known_hosts, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	if (rc < 0) {
		e = perr_set(PERR_SSH_HOSTKEY, "%s:%d: known_hosts file %s could not be parsed (libssh2 %d); nothing was sent",
		    ep->host, port, ep->known_hosts, rc);
		libssh2_knownhost_free(kh);
		return e;
	}
	rc = libssh2_knownhost_checkp(kh, ep->host, port, key, keylen,
	    LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | hostkey_knownhost_mask(type), &found);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		libssh2_knownhost_free(kh);
		return PERR_OK;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		fingerprint_b64(found != NULL && found->key != NULL ? found->key : "", expected);
		e = perr_set(PERR_SSH_HOSTKEY,
		    "%s:%d: host key mismatch: %s expects %s %s, the server presented %s %s; nothing was sent. "
		    "If the server's key really changed, confirm the new fingerprint with its owner and replace the %s line in %s",
		    ep->host, port, ep->known_hosts, knownhost_type_name(found != NULL ? found->typemask : 0), expected,
		    hostkey_type_name(type), presented, hostport, ep->known_hosts);
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		/* Name what known_hosts does hold for this host (other key types), if anything. */
		others[0] = '\0';
		while (libssh2_knownhost_get(kh, &it, it) == 0) {
			if (it->name != NULL && (strcmp(it->name, hostport) == 0 ||
			    (port != 22 && strcmp(it->name, ep->host) == 0)) && it->key != NULL) {
				fingerprint_b64(it->key, expected);
				olen += (size_t)snprintf(others + olen, olen < sizeof others ? sizeof others - olen : 0,
				    "%s%s %s", olen ? ", " : "", knownhost_type_name(it->typemask), expected);
				if (olen >= sizeof others)
					olen = sizeof others - 1;
			}
		}
		if (others[0] != '\0')
			e = perr_set(PERR_SSH_HOSTKEY,
			    "%s:%d: host key mismatch: %s expects %s, the server presented %s %s; nothing was sent",
			    ep->host, port, ep->known_hosts, others, hostkey_type_name(type), presented);
		else
			e = perr_set(PERR_SSH_HOSTKEY,
			    "%s:%d: unknown host: %s has no key for %s, the server presented %s %s; nothing was sent. "
			    "Confirm the fingerprint with the server's owner, then add the line \"%s %s <base64 key>\" to %s",
			    ep->host, port, ep->known_hosts, hostport, hostkey_type_name(type), presented, hostport,
			    hostkey_type_name(type), ep->known_hosts);
		break;
	default:
		e = perr_set(PERR_SSH_HOSTKEY, "%s:%d: the host key check failed (libssh2 %d); the server presented %s %s; nothing was sent",
		    ep->host, port, rc, hostkey_type_name(type), presented);
		break;
	}
	libssh2_knownhost_free(kh);
	return e;
}

static enum perr
authenticate(struct transport *t)
{
	const struct endpoint_cfg *ep = t->ep;
	struct stat st;
	const char *pass = NULL;
	char *pub = NULL;
	int rc;

	if (ep->key_file == NULL || ep->user == NULL)
		return perr_set(PERR_CONFIG, "%s: user and key_file are required for sftp", t->desc);
	if (stat(ep->key_file, &st) != 0)
		return perr_set(PERR_CONFIG, "%s: key_file %s: %s", t->desc, ep->key_file, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return perr_set(PERR_CONFIG, "%s: key_file %s is not a regular file", t->desc, ep->key_file);
	if ((st.st_mode & 077) != 0)
		return perr_set(PERR_CONFIG, "%s: key_file %s is accessible by group or others (mode %04o): chmod 600 it",
		    t->desc, ep->key_file, (unsigned)(st.st_mode & 07777));
	if (ep->key_passphrase_env != NULL && *ep->key_passphrase_env != '\0') {
		pass = getenv(ep->key_passphrase_env);
		if (pass == NULL)
			return perr_set(PERR_CONFIG, "%s: key_passphrase_env names %s, which is not set", t->desc,
			    ep->key_passphrase_env);
	}
	/*
	 * Without a .pub beside it, libssh2 derives the public key from the private key. With a
	 * passphrase we always let it: deriving decrypts the key before anything is sent, so a wrong
	 * passphrase is a local LIBSSH2_ERROR_FILE naming the key. Given the .pub, libssh2 would offer
	 * it first and fail only in the signing callback ("Callback returned error", -19), which read
	 * as if the server had refused the key.
	 */
	pub = pass != NULL ? NULL : xasprintf("%s.pub", ep->key_file);
	if (pub != NULL && access(pub, R_OK) != 0) {
		free(pub);
		pub = NULL;
	}
	rc = libssh2_userauth_publickey_fromfile_ex(t->session, ep->user, (unsigned)strlen(ep->user), pub,
	    ep->key_file, pass);
	free(pub);
	if (rc != 0) {
		if (rc == LIBSSH2_ERROR_FILE || rc == LIBSSH2_ERROR_KEYFILE_AUTH_FAILED ||
		    rc == LIBSSH2_ERROR_METHOD_NOT_SUPPORTED)
			return ssh_error(t, PERR_SSH_AUTH, "cannot use key %s for user %s (wrong passphrase, or not an Ed25519/ECDSA key)",
			    ep->key_file, ep->user);
		return ssh_error(t, PERR_SSH_AUTH, "the server refused key %s for user %s", ep->key_file, ep->user);
	}
	return PERR_OK;
}

/*
 * Restricts one algorithm list to `wanted` (comma-separated, in our order of preference), keeping
 * only what this libssh2 supports. Filtering here rather than letting libssh2_session_method_pref
 * drop unknown names matters: libssh2 1.10 drops them with an overlapping memcpy (undefined
 * behaviour that AddressSanitizer reports).
 */
static enum perr
set_pref(struct transport *t, int method, const char *wanted)
{
	const char **algs = NULL;
	int n = libssh2_session_supported_algs(t->session, method, &algs);
	char *list = xmalloc(strlen(wanted) + 1), *copy = xstrdup(wanted), *tok, *save = NULL;
	size_t len = 0;
	enum perr e = PERR_OK;
	int i;

	list[0] = '\0';
	if (n < 0) {
		free(list);
		free(copy);
		return ssh_error(t, PERR_INTERNAL, "asking libssh2 for its algorithms");
	}
	for (tok = strtok_r(copy, ",", &save); tok != NULL; tok = strtok_r(NULL, ",", &save))
		for (i = 0; i < n; i++)
			if (strcmp(algs[i], tok) == 0) {
				len += (size_t)sprintf(list + len, "%s%s", len ? "," : "", tok);
				break;
			}
	if (algs != NULL)
		libssh2_free(t->session, (void *)algs);
	if (len == 0)
		e = perr_set(PERR_SSH_CONNECT, "%s: this libssh2 supports none of the strong algorithms %s", t->desc,
		    wanted);
	else if (libssh2_session_method_pref(t->session, method, list) != 0)
		e = ssh_error(t, PERR_INTERNAL, "setting algorithm preferences %s", list);
	free(list);
	free(copy);
	return e;
}

static enum perr
sftp_connect(struct transport *t)
{
	const struct endpoint_cfg *ep = t->ep;
	enum perr e;
	int io_ms = (ep->io_timeout_s > 0 ? ep->io_timeout_s : 60) * 1000;

	if (!libssh2_ready) {
		if (libssh2_init(0) != 0)
			return perr_set(PERR_SSH_CONNECT, "libssh2_init failed");
		libssh2_ready = 1;
	}
	if (ep->host == NULL || *ep->host == '\0')
		return perr_set(PERR_CONFIG, "%s: host is required for sftp", t->desc);
	e = tcp_connect(t);
	if (e != PERR_OK)
		return e;
	t->session = libssh2_session_init();
	if (t->session == NULL)
		return perr_set(PERR_NOMEM, "%s: libssh2_session_init failed", t->desc);
	libssh2_session_set_blocking(t->session, 1);
	libssh2_session_set_timeout(t->session, io_ms);
	if ((e = set_pref(t, LIBSSH2_METHOD_KEX, KEX_PREF)) != PERR_OK ||
	    (e = set_pref(t, LIBSSH2_METHOD_HOSTKEY, HOSTKEY_PREF)) != PERR_OK ||
	    (e = set_pref(t, LIBSSH2_METHOD_CRYPT_CS, CIPHER_PREF)) != PERR_OK ||
	    (e = set_pref(t, LIBSSH2_METHOD_CRYPT_SC, CIPHER_PREF)) != PERR_OK ||
	    (e = set_pref(t, LIBSSH2_METHOD_MAC_CS, MAC_PREF)) != PERR_OK ||
	    (e = set_pref(t, LIBSSH2_METHOD_MAC_SC, MAC_PREF)) != PERR_OK ||
	    (e = set_pref(t, LIBSSH2_METHOD_COMP_CS, "none")) != PERR_OK ||
	    (e = set_pref(t, LIBSSH2_METHOD_COMP_SC, "none")) != PERR_OK)
		return e;
	if (libssh2_session_handshake(t->session, t->sock) != 0) {
		if (libssh2_session_last_errno(t->session) == LIBSSH2_ERROR_KEX_FAILURE)
			return ssh_error(t, PERR_SSH_CONNECT,
			    "SSH handshake: no algorithm in common (the pipeline offers only strong key exchanges, "
			    "host keys, ciphers and MACs; see docs/fetch.md)");
		return ssh_error(t, PERR_SSH_CONNECT, "SSH handshake");
	}
	e = check_host_key(t);
	if (e != PERR_OK)
		return e;
	libssh2_keepalive_config(t->session, 1, KEEPALIVE_S);
	e = authenticate(t);
	if (e != PERR_OK)
		return e;
	t->sftp = libssh2_sftp_init(t->session);
	if (t->sftp == NULL)
		return ssh_error(t, PERR_SFTP, "starting the SFTP subsystem");
	return PERR_OK;
}

enum perr
transport_open(const struct endpoint_cfg *ep, struct transport **out)
{
	struct transport *t;
	enum perr e;
	struct stat st;

	*out = NULL;
	if ((e = stop_check()) != PERR_OK)      /* stopping: no new connection */
		return e;
	t = xcalloc(1, sizeof *t);
	t->ep = ep;
	t->sock = -1;
	if (ep->transport == TRANSPORT_DIR) {
		t->desc = xasprintf("dir:%s", ep->remote_dir ? ep->remote_dir : "(none)");
		if (ep->remote_dir == NULL || stat(ep->remote_dir, &st) != 0) {
			e = perr_set(PERR_NOT_AVAILABLE, "%s: directory does not exist (%s)", t->desc,
			    ep->remote_dir ? strerror(errno) : "remote_dir not set");
			transport_close(t);
			return e;
		}
		if (!S_ISDIR(st.st_mode)) {
			e = perr_set(PERR_IO, "%s: not a directory", t->desc);
			transport_close(t);
			return e;
		}
		*out = t;
		return PERR_OK;
	}
	t->desc = xasprintf("sftp://%s@%s:%d%s", ep->user ? ep->user : "?", ep->host ? ep->host : "?",
	    ep->port > 0 ? ep->port : 22, ep->remote_dir ? ep->remote_dir : "");
	e = sftp_connect(t);
	if (e != PERR_OK) {
		/* A refused key or host key must not be followed by a long goodbye. */
		t->broken = true;
		transport_close(t);
		return e;
	}
	*out = t;
	return PERR_OK;
}

void
transport_close(struct transport *t)
{
	if (t == NULL)
		return;
	if (t->session != NULL && t->broken)
		libssh2_session_set_timeout(t->session, 1000);  /* do not wait another io_timeout */
	if (t->sftp != NULL)
		libssh2_sftp_shutdown(t->sftp);
	if (t->session != NULL) {
		if (!t->broken)
			libssh2_session_disconnect(t->session, "done");
		libssh2_session_free(t->session);
	}
	if (t->sock >= 0)
		close(t->sock);
	free(t->desc);
	free(t);
}

bool
transport_broken(const struct transport *t)
{
	return t->broken;
}

const char *
transport_describe(const struct transport *t)
{
	return t->desc;
}

/* Is `alg` one of the comma-separated names in `list`? */
static bool
in_list(const char *alg, const char *list)
{
	size_t n = strlen(alg);
	const char *p = list;

	while ((p = strstr(p, alg)) != NULL) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
			return true;
		p += n;
	}
	return false;
}

bool
transport_negotiated(const struct transport *t, char *buf, size_t n)
{
	static const struct { int method; const char *name, *strong; } m[] = {
		{ LIBSSH2_METHOD_KEX, "kex", KEX_PREF },
		{ LIBSSH2_METHOD_HOSTKEY, "hostkey", HOSTKEY_PREF },
		{ LIBSSH2_METHOD_CRYPT_CS, "cipher", CIPHER_PREF },
		{ LIBSSH2_METHOD_CRYPT_SC, "cipher_in", CIPHER_PREF },
		{ LIBSSH2_METHOD_MAC_CS, "mac", MAC_PREF },
		{ LIBSSH2_METHOD_MAC_SC, "mac_in", MAC_PREF },
	};
	size_t i, len = 0;
	bool strong = true;
	const char *prev = "";

	buf[0] = '\0';
	if (t->session == NULL)
		return true;
	for (i = 0; i < sizeof m / sizeof m[0]; i++) {
		const char *alg = libssh2_session_methods(t->session, m[i].method);

		if (alg == NULL)
			alg = "?";
		strong = strong && in_list(alg, m[i].strong);
		/* the server-to-client entries (cipher_in, mac_in) only when they differ */
		if (!(strstr(m[i].name, "_in") && !strcmp(alg, prev)) && len < n)
			len += (size_t)snprintf(buf + len, n - len, "%s%s=%s", len ? " " : "", m[i].name, alg);
		prev = alg;
	}
	return strong;
}

/* ------------------------------------------------------------------ list */

static int
entry_cmp(const void *a, const void *b)
{
	const struct remote_entry *x = a, *y = b;
	size_t n = x->name_len < y->name_len ? x->name_len : y->name_len;
	int c = memcmp(x->name, y->name, n);

	if (c != 0)
		return c;
	return x->name_len < y->name_len ? -1 : x->name_len > y->name_len;
}

static void
list_push(struct remote_list *l, size_t *cap, const char *name, size_t len, enum remote_type type,
    int64_t size, int64_t mtime)
{
	struct remote_entry *r;

	if (l->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		l->v = xrealloc(l->v, *cap * sizeof *l->v);
	}
	r = &l->v[l->n++];
	r->name = xmalloc(len + 1);
	memcpy(r->name, name, len);
	r->name[len] = '\0';
	r->name_len = len;
	r->type = type;
	r->size = size;
	r->mtime = mtime;
}

/*
 * The listing limits (docs/fetch.md, "Limits"), checked after each entry: an endless or huge
 * listing from a hostile server is cut off with PERR_LIMIT instead of filling memory.
 */
static enum perr
list_limits(struct transport *t, const struct remote_list *l, int64_t name_bytes, int64_t t0)
{
	const struct endpoint_cfg *ep = t->ep;

	if (ep->list_max_entries > 0 && (int64_t)l->n > ep->list_max_entries)
		return perr_set(PERR_LIMIT, "%s: listing %s: more than %lld entries (list_max_entries)", t->desc,
		    ep->remote_dir, (long long)ep->list_max_entries);
	if (ep->list_max_bytes > 0 && name_bytes > ep->list_max_bytes)
		return perr_set(PERR_LIMIT, "%s: listing %s: more than %lld bytes of names (list_max_bytes)", t->desc,
		    ep->remote_dir, (long long)ep->list_max_bytes);
	if (ep->list_timeout_s > 0 && mono_ms() - t0 > (int64_t)ep->list_timeout_s * 1000)
		return perr_set(PERR_LIMIT, "%s: listing %s: not finished within %d s (list_timeout)", t->desc,
		    ep->remote_dir, ep->list_timeout_s);
	return PERR_OK;
}

/* Names up to this long are read whole (and then refused by name rules if over max_name_len). */
#define LIST_NAME_BUFSZ (32 * 1024)

static enum perr
list_sftp(struct transport *t, struct remote_list *out)
{
	LIBSSH2_SFTP_HANDLE *dh;
	LIBSSH2_SFTP_ATTRIBUTES attrs;
	char *name = xmalloc(LIST_NAME_BUFSZ);
	size_t cap = 0;
	int64_t bytes = 0, t0 = mono_ms();
	enum perr e = PERR_OK;
	int n;

	dh = libssh2_sftp_open_ex(t->sftp, t->ep->remote_dir, (unsigned)strlen(t->ep->remote_dir), 0, 0,
	    LIBSSH2_SFTP_OPENDIR);
	if (dh == NULL) {
		free(name);
		return ssh_error(t, PERR_SFTP, "listing %s", t->ep->remote_dir);
	}
	for (;;) {
		enum remote_type type = REMOTE_OTHER;

		/*
		 * libssh2 returns 0 both at the end of the listing and for an entry with a zero-length
		 * name. It clears attrs for every entry and leaves them alone at the end, so a marker
		 * in attrs.flags tells the two apart: an empty name is an entry (refused later by
		 * transport_name_safe, with a warning), never the end of the listing.
		 */
		memset(&attrs, 0xff, sizeof attrs);
		n = libssh2_sftp_readdir_ex(dh, name, LIST_NAME_BUFSZ - 1, NULL, 0, &attrs);
		if (n == 0 && attrs.flags == (unsigned long)-1)
			break;
		if (n < 0) {
			if (n == LIBSSH2_ERROR_BUFFER_TOO_SMALL) {
				e = perr_set(PERR_UNSAFE_NAME, "%s: listing %s: a name longer than %d bytes", t->desc,
				    t->ep->remote_dir, LIST_NAME_BUFSZ - 1);
				t->broken = true;   /* the directory stream is out of step now */
			} else {
				e = ssh_error(t, PERR_SFTP, "listing %s", t->ep->remote_dir);
			}
			break;
		}
		bytes += n;
		if ((n == 1 && name[0] == '.') || (n == 2 && name[0] == '.' && name[1] == '.'))
			continue;
		if (attrs.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) {
			if (LIBSSH2_SFTP_S_ISREG(attrs.permissions))
				type = REMOTE_FILE;
			else if (LIBSSH2_SFTP_S_ISDIR(attrs.permissions))
				type = REMOTE_DIR;
			else if (LIBSSH2_SFTP_S_ISLNK(attrs.permissions))
				type = REMOTE_SYMLINK;
		}
		list_push(out, &cap, name, (size_t)n, type,
		    (attrs.flags & LIBSSH2_SFTP_ATTR_SIZE) ? (int64_t)attrs.filesize : -1,
		    (attrs.flags & LIBSSH2_SFTP_ATTR_ACMODTIME) ? (int64_t)attrs.mtime : -1);
		if ((e = list_limits(t, out, bytes, t0)) != PERR_OK) {
			t->broken = true;   /* the server may still be sending: no polite goodbye */
			break;
		}
	}
	libssh2_sftp_closedir(dh);
	free(name);
	if (e != PERR_OK)
		remote_list_free(out);
	return e;
}

static enum perr
list_dir(struct transport *t, struct remote_list *out)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	size_t cap = 0;
	int64_t bytes = 0, t0 = mono_ms();
	enum perr e;

	d = opendir(t->ep->remote_dir);
	if (d == NULL)
		return perr_set(PERR_IO, "%s: cannot list: %s", t->desc, strerror(errno));
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		enum remote_type type = REMOTE_OTHER;
		int64_t size = -1, mtime = -1;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			if (S_ISREG(st.st_mode))
				type = REMOTE_FILE;
			else if (S_ISDIR(st.st_mode))
				type = REMOTE_DIR;
			else if (S_ISLNK(st.st_mode))
				type = REMOTE_SYMLINK;
			size = (int64_t)st.st_size;
			mtime = (int64_t)st.st_mtime;
		}
		list_push(out, &cap, de->d_name, strlen(de->d_name), type, size, mtime);
		bytes += (int64_t)strlen(de->d_name);
		if ((e = list_limits(t, out, bytes, t0)) != PERR_OK) {
			closedir(d);
			remote_list_free(out);
			return e;
		}
		errno = 0;
	}
	if (errno != 0) {
		e = perr_set(PERR_IO, "%s: cannot list: %s", t->desc, strerror(errno));

		closedir(d);
		remote_list_free(out);
		return e;
	}
	closedir(d);
	return PERR_OK;
}

enum perr
transport_list(struct transport *t, struct remote_list *out)
{
	enum perr e;

	out->v = NULL;
	out->n = 0;
	if (t->ep->remote_dir == NULL)
		return perr_set(PERR_CONFIG, "%s: remote_dir is not set", t->desc);
	e = t->sftp != NULL ? list_sftp(t, out) : list_dir(t, out);
	if (e == PERR_OK && out->n > 1)
		qsort(out->v, out->n, sizeof *out->v, entry_cmp);
	return e;
}

/* ------------------------------------------------------------------ download */

/* An open remote file: an SFTP handle or a local descriptor. */
struct rfile {
	struct transport *t;
	LIBSSH2_SFTP_HANDLE *h;
	int fd;
	char *path;     /* full remote path, for messages */
	int64_t size;   /* what the server reported for the open handle (-1: it did not say) */
	int64_t mtime;  /* likewise, -1 if unknown */
	bool careful;   /* one READ in flight at a time (after a short answer): see stream_file */
};

/* Size and mtime of the open file as the server reports them now (-1 where it does not say). */
static enum perr
rfile_stat(struct rfile *rf, bool *regular, int64_t *size, int64_t *mtime)
{
	*size = *mtime = -1;
	if (rf->h != NULL) {
		LIBSSH2_SFTP_ATTRIBUTES a;

		memset(&a, 0, sizeof a);
		if (libssh2_sftp_fstat_ex(rf->h, &a, 0) != 0)
			return ssh_error(rf->t, PERR_SFTP, "stat of %s", rf->path);
		*regular = (a.flags & LIBSSH2_SFTP_ATTR_PERMISSIONS) && LIBSSH2_SFTP_S_ISREG(a.permissions);
		if (a.flags & LIBSSH2_SFTP_ATTR_SIZE)
			*size = (int64_t)a.filesize;
		if (a.flags & LIBSSH2_SFTP_ATTR_ACMODTIME)
			*mtime = (int64_t)a.mtime;
	} else {
		struct stat st;

		if (fstat(rf->fd, &st) != 0)
			return perr_set(PERR_IO, "%s: stat of %s: %s", rf->t->desc, rf->path, strerror(errno));
		*regular = S_ISREG(st.st_mode);
		*size = (int64_t)st.st_size;
		*mtime = (int64_t)st.st_mtime;
	}
	return PERR_OK;
}

static enum perr
rfile_open_read(struct transport *t, const char *name, struct rfile *rf)
{
	bool regular = false;
	enum perr e;

	memset(rf, 0, sizeof *rf);
	rf->t = t;
	rf->fd = -1;
	rf->size = rf->mtime = -1;
	rf->path = join_path(t->ep->remote_dir, name);
	if (t->sftp != NULL) {
		rf->h = libssh2_sftp_open_ex(t->sftp, rf->path, (unsigned)strlen(rf->path), LIBSSH2_FXF_READ, 0,
		    LIBSSH2_SFTP_OPENFILE);
		if (rf->h == NULL)
			return ssh_error(t, PERR_SFTP, "opening %s", rf->path);
	} else {
		/* O_NOFOLLOW: a symlink is refused; O_NONBLOCK: a FIFO cannot block the open. */
		rf->fd = open(rf->path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
		if (rf->fd < 0) {
			if (errno == ELOOP)
				return perr_set(PERR_UNSAFE_NAME, "%s: %s is a symbolic link", t->desc, rf->path);
			return perr_set(PERR_IO, "%s: cannot open %s: %s", t->desc,
			    rf->path, strerror(errno));
		}
	}
	if ((e = rfile_stat(rf, &regular, &rf->size, &rf->mtime)) != PERR_OK)
		return e;
	if (!regular)
		return perr_set(PERR_UNSAFE_NAME, "%s: %s is not a regular file", t->desc, rf->path);
	return PERR_OK;
}

/* Reads up to len bytes: >0 bytes read, 0 at end of file, <0 on error (detail recorded, *err set). */
static ssize_t
rfile_read(struct rfile *rf, char *buf, size_t len, enum perr *err)
{
	ssize_t n;

	if (rf->h != NULL) {
		n = libssh2_sftp_read(rf->h, buf, len);
		if (n < 0)
			*err = ssh_error(rf->t, PERR_SFTP, "reading %s", rf->path);
		return n;
	}
	do
		n = read(rf->fd, buf, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		*err = perr_set(PERR_IO, "%s: reading %s: %s", rf->t->desc, rf->path, strerror(errno));
	return n;
}

static void
rfile_close(struct rfile *rf)
{
	if (rf->h != NULL)
		libssh2_sftp_close_handle(rf->h);   /* also frees the handle when the connection is gone */
	if (rf->fd >= 0)
		close(rf->fd);
	free(rf->path);
	memset(rf, 0, sizeof *rf);
	rf->fd = -1;
}

/*
 * After a short SFTP answer: continue at exactly `offset` (what we have received and kept) with
 * one READ request in flight at a time. libssh2 1.10 pipelines READs and, when an answer is
 * shorter than asked, either takes the server's EOF for the next request as the end of the file
 * or fails with "Read Packet At Unexpected Offset": a 1-byte answer then looked like a 1-byte
 * file. Seeking drops every request in flight; a buffer of CAREFUL_BUFSZ keeps libssh2 to one
 * request (it reads ahead 4 buffers, at most 30,000 bytes a request), so every short answer is
 * simply followed by a request for the rest.
 */
#define CAREFUL_BUFSZ 7500

static bool
rfile_resume(struct rfile *rf, int64_t offset, int64_t expect)
{
	char a[24], b[24];

	if (rf->h == NULL || rf->careful || rf->t->broken || offset >= expect)
		return false;
	libssh2_sftp_seek64(rf->h, (libssh2_uint64_t)offset);
	rf->careful = true;
	snprintf(a, sizeof a, "%lld", (long long)offset);
	snprintf(b, sizeof b, "%lld", (long long)expect);
	log_event(LOG_INFO, "transport", "short read from the server; continuing one request at a time",
	    "file", rf->path, "received", a, "size", b, (const char *)NULL);
	return true;
}

static void
hex_digest(EVP_MD_CTX *md, char hex[65])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	EVP_DigestFinal_ex(md, d, &n);
	for (i = 0; i < n && i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", d[i]);
	hex[64] = '\0';
}

static enum perr
write_all(int fd, const char *buf, size_t len, const char *path)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return perr_set(PERR_IO, "%s: write: %s", path, strerror(errno));
		}
		buf += n;
		len -= (size_t)n;
	}
	return PERR_OK;
}

/*
 * A download is complete only if it received exactly the size the server reported for the open
 * handle, and the file still has that size and mtime now. Otherwise: the file changed while it
 * was read (PERR_REMOTE_CHANGING: the caller looks again later), or the server sent more or fewer
 * bytes than it announced and stands by it (PERR_REMOTE_OVERRUN).
 */
static enum perr
check_complete(struct rfile *rf, int64_t total)
{
	int64_t size, mtime;
	bool regular = false;
	enum perr e;

	if ((e = rfile_stat(rf, &regular, &size, &mtime)) != PERR_OK)
		return e;
	if (size != rf->size || mtime != rf->mtime)
		return perr_set(PERR_REMOTE_CHANGING,
		    "%s: %s changed while it was read (size %lld, now %lld; %lld bytes received); not taken",
		    rf->t->desc, rf->path, (long long)rf->size, (long long)size, (long long)total);
	if (total > rf->size)
		return perr_set(PERR_REMOTE_OVERRUN,
		    "%s: %s: the server sent more than the %lld bytes it announced; not taken", rf->t->desc,
		    rf->path, (long long)rf->size);
	if (total < rf->size)
		return perr_set(PERR_REMOTE_OVERRUN,
		    "%s: %s: the server ended the file after %lld of the %lld bytes it announced; not taken",
		    rf->t->desc, rf->path, (long long)total, (long long)rf->size);
	return PERR_OK;
}

/* The per-file time limit (file_timeout): a server that drips bytes is cut off. */
static enum perr
check_file_time(struct rfile *rf, int64_t t0, int64_t total)
{
	int limit = rf->t->ep->file_timeout_s;

	if (limit > 0 && mono_ms() - t0 > (int64_t)limit * 1000) {
		rf->t->broken = true;   /* READs may still be in flight */
		return perr_set(PERR_LIMIT, "%s: %s: not received within %d s (file_timeout; %lld of %lld bytes)",
		    rf->t->desc, rf->path, limit, (long long)total, (long long)rf->size);
	}
	return PERR_OK;
}

/*
 * Streams an open remote file into fd (if fd >= 0) while hashing, up to the size the server
 * announced (one byte more tells an overrun); stops with PERR_TOO_LARGE past max_size (max_size < 0:
 * no limit). A short answer is continued at the right offset (rfile_resume).
 */
static enum perr
stream_file(struct rfile *rf, int fd, const char *local_path, int64_t max_size,
    const char *label, struct transfer_info *info)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char *buf = xmalloc(XFER_BUFSZ);
	struct progress_bar *pg;
	enum perr e = PERR_OK;
	int64_t expect = rf->size, total = 0, synced = 0, t0 = mono_ms();
	time_t next_ka = 0;

	if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1) {
		free(buf);
		EVP_MD_CTX_free(md);
		return perr_set(PERR_INTERNAL, "SHA-256 initialisation failed");
	}
	/* A bar only for large files, on a terminal (progress_bar_start returns NULL otherwise). */
	pg = label != NULL && expect >= PROGRESS_MIN_BYTES ? progress_bar_start(label, expect, PROGRESS_BYTES)
	    : NULL;
	for (;;) {
		ssize_t n;

		if ((e = stop_check()) != PERR_OK) {     /* stopping: per 256 KiB chunk */
			e = perr_set(e, "%s: %s: %s", rf->t->desc, rf->path, perr_detail());
			goto out;
		}
		if ((e = check_file_time(rf, t0, total)) != PERR_OK)
			goto out;
		n = rfile_read(rf, buf, rf->careful ? CAREFUL_BUFSZ : XFER_BUFSZ, &e);
		if (n < 0 && rf->h != NULL && libssh2_session_last_errno(rf->t->session) == LIBSSH2_ERROR_SFTP_PROTOCOL
		    && rfile_resume(rf, total, expect)) {
			e = PERR_OK;
			continue;
		}
		if (n < 0)
			goto out;
		if (n == 0 && rfile_resume(rf, total, expect))
			continue;
		if (n == 0)
			break;
		total += n;
		if (max_size >= 0 && total > max_size) {
			e = perr_set(PERR_TOO_LARGE, "%s: %s is larger than the limit of %lld bytes (max_size)",
			    rf->t->desc, rf->path, (long long)max_size);
			goto out;
		}
		if (total > expect)
			break;      /* more than announced: check_complete says which error */
		EVP_DigestUpdate(md, buf, (size_t)n);
		if (fd >= 0) {
			e = write_all(fd, buf, (size_t)n, local_path);
			if (e != PERR_OK)
				goto out;
			/*
			 * Start write-back of each completed 8 MiB while the network keeps going, so the
			 * final fsync has little left to do (a hint only: errors surface at fsync).
			 */
			if (total - synced >= WRITEBACK_CHUNK) {
				sync_file_range(fd, synced, total - synced, SYNC_FILE_RANGE_WRITE);
				synced = total;
			}
		}
		progress_bar_update(pg, total);
		if (rf->t->session != NULL && time(NULL) >= next_ka) {
			int secs = KEEPALIVE_S;

			libssh2_keepalive_send(rf->t->session, &secs);
			next_ka = time(NULL) + secs;
		}
	}
	progress_bar_end(pg);
	pg = NULL;
	if ((e = check_complete(rf, total)) != PERR_OK)
		goto out;
	if (info != NULL) {
		info->size = total;
		hex_digest(md, info->sha256);
		info->elapsed_ms = mono_ms() - t0;
	}
out:
	progress_bar_end(pg);       /* after a failure: ends the bar's line; NULL is fine */
	free(buf);
	EVP_MD_CTX_free(md);
	return e;
}

enum perr
transport_get(struct transport *t, const char *name, int64_t listed_size, const char *local_path,
    int64_t max_size, const char *progress_label, struct transfer_info *info)
{
	struct rfile rf;
	struct transfer_info ti;
	char *tmp = NULL, *slash;
	const char *why;
	int fd = -1;
	enum perr e;

	memset(&ti, 0, sizeof ti);
	if (!transport_name_safe(name, strlen(name), &why))
		return perr_set(PERR_UNSAFE_NAME, "%s: refusing remote name \"%s\": it %s", t->desc, name, why);
	e = rfile_open_read(t, name, &rf);
	if (e != PERR_OK)
		goto out;
	if (rf.size < 0) {
		e = perr_set(PERR_REMOTE_OVERRUN, "%s: %s: the server did not report the file's size, so a download"
		    " could not be checked for completeness; not taken", t->desc, rf.path);
		goto out;
	}
	if (listed_size >= 0 && listed_size != rf.size) {
		e = perr_set(PERR_REMOTE_CHANGING, "%s: %s changed since it was listed (%lld bytes, now %lld); not taken",
		    t->desc, rf.path, (long long)listed_size, (long long)rf.size);
		goto out;
	}
	if (max_size >= 0 && rf.size > max_size) {
		e = perr_set(PERR_TOO_LARGE, "%s: %s is %lld bytes, over the limit of %lld bytes (max_size)", t->desc,
		    rf.path, (long long)rf.size, (long long)max_size);
		goto out;
	}
	slash = strrchr(local_path, '/');
	if (slash != NULL)
		tmp = xasprintf("%.*s/.%s.part.%ld", (int)(slash - local_path), local_path, slash + 1, (long)getpid());
	else
		tmp = xasprintf(".%s.part.%ld", local_path, (long)getpid());
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0) {
		e = perr_set(PERR_IO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	e = stream_file(&rf, fd, tmp, max_size, progress_label, &ti);
	if (e != PERR_OK)
		goto out;
	if (fsync(fd) != 0) {
		e = perr_set(PERR_IO, "%s: fsync: %s", tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		e = perr_set(PERR_IO, "%s: close: %s", tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, local_path) != 0) {
		e = perr_set(PERR_IO, "%s: rename to %s: %s", tmp, local_path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	e = fsync_dir_of(local_path, false);
	if (e != PERR_OK)
		goto out;
	if (info != NULL)
		*info = ti;
out:
	if (fd >= 0)
		close(fd);
	if (tmp != NULL)
		unlink(tmp);
	free(tmp);
	if (rf.path != NULL || rf.h != NULL || rf.fd >= 0)
		rfile_close(&rf);
	return e;
}

/* ------------------------------------------------------------------ upload */

/* Hashes a remote file without keeping it: *exists false if there is no such file. */
static enum perr
remote_digest(struct transport *t, const char *name, bool *exists, struct transfer_info *info)
{
	struct rfile rf;
	enum perr e;

	*exists = false;
	if (t->sftp != NULL) {
		LIBSSH2_SFTP_ATTRIBUTES a;
		char *path = join_path(t->ep->remote_dir, name);
		int rc = libssh2_sftp_stat_ex(t->sftp, path, (unsigned)strlen(path), LIBSSH2_SFTP_LSTAT, &a);

		if (rc != 0) {
			unsigned long fx = sftp_status(t);

			if (fx == LIBSSH2_FX_NO_SUCH_FILE || fx == LIBSSH2_FX_NO_SUCH_PATH) {
				free(path);
				return PERR_OK;
			}
			e = ssh_error(t, PERR_SFTP, "stat of %s", path);
			free(path);
			return e;
		}
		free(path);
	} else {
		struct stat st;
		char *path = join_path(t->ep->remote_dir, name);
		int rc = lstat(path, &st);

		if (rc != 0) {
			e = errno == ENOENT ? PERR_OK : perr_set(PERR_IO, "%s: stat of %s: %s", t->desc, path, strerror(errno));
			free(path);
			return e;
		}
		free(path);
	}
	*exists = true;
	e = rfile_open_read(t, name, &rf);
	if (e == PERR_OK)
		e = stream_file(&rf, -1, NULL, -1, NULL, info);
	rfile_close(&rf);
	if (e == PERR_UNSAFE_NAME)   /* a directory or symlink of that name: never replace it either */
		return perr_set(PERR_REMOTE_CONFLICT, "%s: %s exists and is not a regular file; not replaced",
		    t->desc, name);
	return e;
}

static enum perr
local_digest(const char *path, struct transfer_info *info)
{
	struct transport lt;
	struct endpoint_cfg lep;
	struct rfile rf;
	enum perr e;
	char *dir = xstrdup(path), *slash = strrchr(dir, '/');
	const char *base = path;

	memset(&lt, 0, sizeof lt);
	memset(&lep, 0, sizeof lep);
	if (slash != NULL) {
		*slash = '\0';
		base = slash + 1;
		lep.remote_dir = dir;
	} else {
		lep.remote_dir = (char *)".";
	}
	lt.ep = &lep;
	lt.sock = -1;
	lt.desc = (char *)"local";
	e = rfile_open_read(&lt, base, &rf);
	if (e == PERR_OK)
		e = stream_file(&rf, -1, NULL, -1, NULL, info);
	rfile_close(&rf);
	free(dir);
	return e;
}

static enum perr
put_sftp_tmp(struct transport *t, const char *local_path, const char *tmp_path)
{
	LIBSSH2_SFTP_HANDLE *h;
	char *buf;
	int fd;
	enum perr e = PERR_OK;

	fd = open(local_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return perr_set(PERR_IO, "%s: %s", local_path, strerror(errno));
	h = libssh2_sftp_open_ex(t->sftp, tmp_path, (unsigned)strlen(tmp_path),
	    LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC, 0640, LIBSSH2_SFTP_OPENFILE);
	if (h == NULL) {
		close(fd);
		return ssh_error(t, PERR_SFTP, "creating %s", tmp_path);
	}
	buf = xmalloc(XFER_BUFSZ);
	for (;;) {
		ssize_t n, off = 0;

		if ((e = stop_check()) != PERR_OK)      /* stopping: per chunk; the caller removes the part */
			break;
		n = read(fd, buf, XFER_BUFSZ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = perr_set(PERR_IO, "%s: read: %s", local_path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		while (off < n) {
			ssize_t w = libssh2_sftp_write(h, buf + off, (size_t)(n - off));

			if (w < 0) {
				e = ssh_error(t, PERR_SFTP, "writing %s", tmp_path);
				break;
			}
			off += w;
		}
		if (e != PERR_OK)
			break;
	}
	free(buf);
	close(fd);
	/* Durable on the server before the rename makes it visible (fsync@openssh.com, where offered). */
	if (e == PERR_OK && libssh2_sftp_fsync(h) != 0 && sftp_status(t) != LIBSSH2_FX_OP_UNSUPPORTED)
		e = ssh_error(t, PERR_SFTP, "fsync of %s", tmp_path);
	if (libssh2_sftp_close_handle(h) != 0 && e == PERR_OK)
		e = ssh_error(t, PERR_SFTP, "closing %s", tmp_path);
	return e;
}

static enum perr
put_dir_tmp(struct transport *t, const char *local_path, const char *tmp_path)
{
	int in, out;
	char *buf;
	enum perr e = PERR_OK;

	in = open(local_path, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return perr_set(PERR_IO, "%s: %s", local_path, strerror(errno));
	out = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (out < 0) {
		e = perr_set(PERR_IO, "%s: %s: %s", t->desc, tmp_path, strerror(errno));
		close(in);
		return e;
	}
	buf = xmalloc(XFER_BUFSZ);
	for (;;) {
		ssize_t n;

		if ((e = stop_check()) != PERR_OK)
			break;
		n = read(in, buf, XFER_BUFSZ);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			e = perr_set(PERR_IO, "%s: read: %s", local_path, strerror(errno));
			break;
		}
		if (n == 0)
			break;
		e = write_all(out, buf, (size_t)n, tmp_path);
		if (e != PERR_OK)
			break;
	}
	free(buf);
	close(in);
	if (e == PERR_OK && fsync(out) != 0)
		e = perr_set(PERR_IO, "%s: fsync: %s", tmp_path, strerror(errno));
	if (close(out) != 0 && e == PERR_OK)
		e = perr_set(PERR_IO, "%s: close: %s", tmp_path, strerror(errno));
	return e;
}

/*
 * Renames tmp to final without replacing an existing final. SFTP v3 RENAME (what libssh2 sends to
 * OpenSSH) fails if the target exists; locally link()+unlink() gives the same guarantee.
 * *exists is set when the rename failed because final exists.
 */
static enum perr
rename_noreplace(struct transport *t, const char *tmp, const char *final, bool *exists)
{
	*exists = false;
	if (t->sftp != NULL) {
		if (libssh2_sftp_rename_ex(t->sftp, tmp, (unsigned)strlen(tmp), final, (unsigned)strlen(final),
		    LIBSSH2_SFTP_RENAME_ATOMIC | LIBSSH2_SFTP_RENAME_NATIVE) == 0)
			return PERR_OK;
		return ssh_error(t, PERR_SFTP, "renaming %s to %s", tmp, final);
	}
	if (link(tmp, final) != 0) {
		if (errno == EEXIST) {
			*exists = true;
			return perr_set(PERR_REMOTE_CONFLICT, "%s: %s appeared meanwhile", t->desc, final);
		}
		return perr_set(PERR_IO, "%s: link %s to %s: %s", t->desc, tmp, final, strerror(errno));
	}
	unlink(tmp);
	return fsync_dir_of(final, false);
}

static void
remove_remote(struct transport *t, const char *path)
{
	if (t->sftp != NULL) {
		if (!t->broken)
			libssh2_sftp_unlink_ex(t->sftp, path, (unsigned)strlen(path));
	} else {
		unlink(path);
	}
}

/* Compares the existing remote file with ours: same -> already there; different -> conflict. */
static enum perr
compare_existing(struct transport *t, const char *remote_name, const struct transfer_info *mine,
    bool *already_there)
{
	struct transfer_info theirs;
	bool exists;
	enum perr e;

	memset(&theirs, 0, sizeof theirs);
	e = remote_digest(t, remote_name, &exists, &theirs);
	if (e != PERR_OK)
		return e;
	if (!exists)
		return PERR_NOT_FOUND;
	if (theirs.size == mine->size && strcmp(theirs.sha256, mine->sha256) == 0) {
		*already_there = true;
		return PERR_OK;
	}
	return perr_set(PERR_REMOTE_CONFLICT,
	    "%s: %s already exists with different content (theirs %lld bytes SHA-256 %.16s..., ours %lld bytes %.16s...); not overwritten",
	    t->desc, remote_name, (long long)theirs.size, theirs.sha256, (long long)mine->size, mine->sha256);
}

/*
 * Removes ".NAME.part.PID" files an earlier, killed upload of NAME left in the remote directory
 * (ours have this exact shape; nothing else is touched). Called once NAME is in place, so the
 * bank's directory is left holding only whole files. Best effort: a failure is logged.
 */
static void
remove_stale_parts(struct transport *t, const char *remote_name)
{
	struct remote_list l;
	char *prefix = xasprintf(".%s.part.", remote_name);
	size_t plen = strlen(prefix), i;

	if (transport_list(t, &l) != PERR_OK) {
		log_event(LOG_WARN, "transport", "could not list for leftover temporary uploads",
		    "error", perr_detail(), (const char *)NULL);
		free(prefix);
		return;
	}
	for (i = 0; i < l.n; i++) {
		const char *n = l.v[i].name;
		char *path;

		if (l.v[i].type != REMOTE_FILE || strncmp(n, prefix, plen) != 0 || n[plen] == '\0'
		    || strspn(n + plen, "0123456789") != strlen(n + plen))
			continue;
		path = join_path(t->ep->remote_dir, n);
		remove_remote(t, path);
		log_event(LOG_INFO, "transport", "removed a temporary upload left by an interrupted run",
		    "file", n, (const char *)NULL);
		free(path);
	}
	remote_list_free(&l);
	free(prefix);
}

enum perr
transport_put_file(struct transport *t, const char *local_path, const char *remote_name,
    bool *already_there, struct transfer_info *info)
{
	struct transfer_info mine;
	char *tmp_name = NULL, *tmp_path = NULL, *final = NULL;
	const char *why;
	bool exists = false;
	enum perr e;

	*already_there = false;
	memset(&mine, 0, sizeof mine);
	if (!transport_name_safe(remote_name, strlen(remote_name), &why))
		return perr_set(PERR_UNSAFE_NAME, "%s: refusing to upload as \"%s\": the name %s", t->desc,
		    remote_name, why);
	e = local_digest(local_path, &mine);
	if (e != PERR_OK)
		return e;
	if (info != NULL)
		*info = mine;

	e = compare_existing(t, remote_name, &mine, already_there);
	if (e == PERR_OK)
		remove_stale_parts(t, remote_name);
	if (e != PERR_NOT_FOUND)
		return e;   /* OK (already there), conflict or an error */

	tmp_name = xasprintf(".%s.part.%ld", remote_name, (long)getpid());
	tmp_path = join_path(t->ep->remote_dir, tmp_name);
	final = join_path(t->ep->remote_dir, remote_name);
	e = t->sftp != NULL ? put_sftp_tmp(t, local_path, tmp_path) : put_dir_tmp(t, local_path, tmp_path);
	if (e != PERR_OK) {
		remove_remote(t, tmp_path);
		goto out;
	}
	e = rename_noreplace(t, tmp_path, final, &exists);
	if (e != PERR_OK && !t->broken) {
		/* Someone (or our own lost earlier attempt) put the file there meanwhile: decide by content. */
		enum perr saved = e;

		remove_remote(t, tmp_path);
		e = compare_existing(t, remote_name, &mine, already_there);
		if (e == PERR_NOT_FOUND)
			e = saved;
		goto out;
	}
	if (e != PERR_OK)
		goto out;
	/* Check what landed. */
	{
		struct transfer_info landed;
		bool ex2;

		memset(&landed, 0, sizeof landed);
		e = remote_digest(t, remote_name, &ex2, &landed);
		if (e == PERR_OK && (!ex2 || landed.size != mine.size || strcmp(landed.sha256, mine.sha256) != 0))
			e = perr_set(PERR_SFTP, "%s: %s: uploaded content does not match the local file (%lld vs %lld bytes)",
			    t->desc, remote_name, (long long)landed.size, (long long)mine.size);
	}
	if (e == PERR_OK)
		remove_stale_parts(t, remote_name);
out:
	free(tmp_name);
	free(tmp_path);
	free(final);
	return e;
}

enum perr
transport_put(const struct endpoint_cfg *ep, const char *local_path, const char *remote_name,
    bool *already_there)
{
	struct transport *t = NULL;
	int attempt, retries = ep->retries >= 0 ? ep->retries : 0;
	int64_t backoff = ep->retry_backoff_ms > 0 ? ep->retry_backoff_ms : 1000;
	bool there = false;
	enum perr e = PERR_OK;
	char num[16];

	for (attempt = 0;; attempt++) {
		e = transport_open(ep, &t);
		if (e == PERR_NOT_AVAILABLE)   /* a missing destination directory: not "try later" */
			e = perr_set(PERR_IO, "%s", strdupa(perr_detail()));
		if (e == PERR_OK) {
			e = transport_put_file(t, local_path, remote_name, &there, NULL);
			transport_close(t);
			t = NULL;
		}
		if (e == PERR_OK || !transport_retryable(e) || attempt >= retries)
			break;
		snprintf(num, sizeof num, "%d", attempt + 1);
		log_event(LOG_WARN, "transport", "connection problem, retrying", "error", perr_detail(),
		    "attempt", num, NULL);
		sleep_ms(backoff);
		if (backoff < 3600 * 1000)
			backoff *= 2;
	}
	if (already_there != NULL)
		*already_there = there;
	if (e == PERR_OK)
		log_event(LOG_INFO, "transport", there ? "already delivered" : "delivered", "file", remote_name,
		    "to", ep->remote_dir ? ep->remote_dir : "", NULL);
	return e;
}

/* ------------------------------------------------------------------ archive */

enum perr
transport_archive(struct transport *t, const char *name, const char *archive_dir)
{
	char *src, *adir, *dst;
	bool exists = false;
	enum perr e;

	if (archive_dir[0] == '/')
		adir = xstrdup(archive_dir);
	else
		adir = join_path(t->ep->remote_dir, archive_dir);
	src = join_path(t->ep->remote_dir, name);
	dst = join_path(adir, name);
	e = rename_noreplace(t, src, dst, &exists);
	if (e != PERR_OK && t->sftp != NULL && !t->broken) {
		/* Tell "already archived under that name" from other failures. */
		LIBSSH2_SFTP_ATTRIBUTES a;

		if (libssh2_sftp_stat_ex(t->sftp, dst, (unsigned)strlen(dst), LIBSSH2_SFTP_LSTAT, &a) == 0)
			e = perr_set(PERR_REMOTE_CONFLICT, "%s: cannot archive %s: %s already exists; left in place",
			    t->desc, name, dst);
	} else if (e == PERR_REMOTE_CONFLICT) {
		e = perr_set(PERR_REMOTE_CONFLICT, "%s: cannot archive %s: %s already exists; left in place", t->desc,
		    name, dst);
	}
	free(src);
	free(dst);
	free(adir);
	return e;
}
