/*
 * transport.h - the pipeline's only door to the outside: list, fetch and deliver files over SFTP
 * (libssh2) or from/to a local directory ("dir" transport), with the same rules for both.
 *
 * Rules every function here keeps:
 *  - SFTP: the server's host key is checked against the endpoint's known_hosts BEFORE any
 *    authentication; unknown and mismatched keys are refused (PERR_SSH_HOSTKEY) and the detail names
 *    host:port with the expected and presented "SHA256:..." fingerprints. Only strong KEX, host key,
 *    cipher and MAC algorithms are offered. Public-key authentication only, from a key file that must
 *    not be readable by group or others. Connect timeout and I/O timeout (a server that accepts and
 *    never answers fails with PERR_SSH_TIMEOUT, it does not hang).
 *  - Remote names are untrusted: transport_name_safe() decides; listings report the file type so
 *    that only regular files are taken; sizes are checked against a limit before and while reading.
 *  - Downloads are atomic: a temporary file in the destination directory, fsync, rename; no partial
 *    file ever appears under the final name. SHA-256 and size are computed while reading.
 *  - Uploads never overwrite: temporary remote name, then rename into place; an existing destination
 *    with the same SHA-256 is a no-op, with different content PERR_REMOTE_CONFLICT.
 *  - libssh2 error codes are translated into enum perr in exactly one function (transport.c).
 *  - This module never touches the database (stages/fetch.c does the bookkeeping).
 */
#ifndef PIPELINE_TRANSPORT_H
#define PIPELINE_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bizdate.h"
#include "config.h"
#include "errors.h"

/* An open connection to an endpoint (an SFTP session, or a local directory). Opaque. */
struct transport;

enum remote_type { REMOTE_FILE = 0, REMOTE_DIR = 1, REMOTE_SYMLINK = 2, REMOTE_OTHER = 3 };

/* One directory entry as the server reported it. `name` may hold anything but NUL (see name_len). */
struct remote_entry {
	char *name;               /* NUL-terminated copy; if the raw name held a NUL, name_len > strlen */
	size_t name_len;          /* length of the raw name as sent by the server */
	enum remote_type type;
	int64_t size;             /* -1 if the server did not say */
	int64_t mtime;            /* seconds since the epoch, -1 if unknown */
};

struct remote_list {
	struct remote_entry *v;
	size_t n;
};

/* Safe to call with NULL. Frees the entries and their names, not the struct itself. */
void remote_list_free(struct remote_list *l);

/*
 * Connects to the endpoint: for sftp, TCP connect with ep->connect_timeout_s, SSH handshake with
 * strong algorithms only, host key check, public-key authentication, SFTP subsystem; for dir,
 * checks the directory exists. On success *out is owned by the caller (transport_close).
 * Errors: PERR_SSH_CONNECT, PERR_SSH_TIMEOUT, PERR_SSH_HOSTKEY, PERR_SSH_AUTH, PERR_SFTP, PERR_CONFIG
 * (e.g. key file readable by others), PERR_IO (dir transport: not a directory), PERR_NOT_AVAILABLE
 * (dir transport: the directory does not exist yet); detail in perr_detail().
 */
enum perr transport_open(const struct endpoint_cfg *ep, struct transport **out);

/* Disconnects and frees. Safe to call with NULL. */
void transport_close(struct transport *t);

/* True once the connection is unusable (lost, timed out, or a transfer cut off by a limit). */
bool transport_broken(const struct transport *t);

/* "sftp://user@host:port/dir" or "dir:/path": for log lines and messages. Owned by t. */
const char *transport_describe(const struct transport *t);

/*
 * What an open SFTP session negotiated, "kex=K hostkey=H cipher=C mac=M" (both directions shown
 * when they differ), into buf (size n). Returns true if every one of them is in the pipeline's
 * list of strong algorithms (it offers nothing else, so false means libssh2 misbehaved). The dir
 * transport writes "" and returns true.
 */
bool transport_negotiated(const struct transport *t, char *buf, size_t n);

/*
 * Lists ep->remote_dir (every entry except "." and ".."; no filtering: the caller applies
 * transport_name_safe, the pattern and the type; an entry with an empty name is listed too, so that
 * it is refused with a warning rather than taken for the end of the listing). On success fills *out
 * (caller frees with remote_list_free); entries are sorted by name bytes. More entries than
 * ep->list_max_entries, more bytes of names than ep->list_max_bytes, or a listing taking longer than
 * ep->list_timeout_s is PERR_LIMIT.
 */
enum perr transport_list(struct transport *t, struct remote_list *out);

/* What a download or upload read/wrote. */
struct transfer_info {
	int64_t size;
	char sha256[65];          /* lower-case hex */
	int64_t elapsed_ms;
};

/*
 * Downloads remote_dir/`name` to `local_path` atomically: the bytes go to a temporary file in the
 * same directory (".<basename>.part.<pid>"), are hashed while read, fsynced, and the temporary file is
 * renamed to local_path (replacing it if it exists: the caller decides names). The remote file must
 * be a regular file (checked on the open handle) of at most max_size bytes (checked before and while
 * reading: PERR_TOO_LARGE, nothing left behind).
 *
 * Complete means exactly the size the server reported for the open handle, which must equal
 * `listed_size` (the listing's size; -1 if it gave none). Short answers are continued at the right
 * offset. A file whose size or mtime changes between the listing, the open and the end is
 * PERR_REMOTE_CHANGING (look again later); more bytes than announced, or an end before the
 * announced size, PERR_REMOTE_OVERRUN; a transfer longer than ep->file_timeout_s PERR_LIMIT. On
 * any failure the temporary file is removed. `progress_label` non-NULL shows a progress bar on a
 * terminal for large files.
 */
enum perr transport_get(struct transport *t, const char *name, int64_t listed_size, const char *local_path,
    int64_t max_size, const char *progress_label, struct transfer_info *info);

/*
 * Uploads local_path as remote_dir/`remote_name`: first a temporary remote name
 * (".<remote_name>.part.<pid>"), then a rename into place, which never replaces an existing file.
 * If remote_name already exists: same SHA-256 -> no-op, *already_there = true; different ->
 * PERR_REMOTE_CONFLICT and the remote file is left as it is. remote_name must pass
 * transport_name_safe. `info` (may be NULL) receives the local file's size and SHA-256.
 */
enum perr transport_put_file(struct transport *t, const char *local_path, const char *remote_name,
    bool *already_there, struct transfer_info *info);

/*
 * Moves remote_dir/`name` to archive_dir/`name` (archive_dir absolute on the server, or relative to
 * remote_dir for both transports). Never replaces an existing file in the archive: then
 * PERR_REMOTE_CONFLICT and the file stays where it was.
 */
enum perr transport_archive(struct transport *t, const char *name, const char *archive_dir);

/*
 * For the settle stage: connect, transport_put_file, disconnect, retrying on connection loss or
 * timeout up to ep->retries times with ep->retry_backoff_ms doubled each time. *already_there (may
 * be NULL) says the same file was already in place (a rerun), which is success.
 */
enum perr transport_put(const struct endpoint_cfg *ep, const char *local_path, const char *remote_name,
    bool *already_there);

/* True for errors worth a reconnect and retry (connection lost, timeout). */
bool transport_retryable(enum perr e);

/* ---- pure helpers (unit-tested) ---- */

/*
 * True if a remote name may become a local file name: 1..255 bytes, no NUL (len must equal
 * strlen), no '/', '\\', no leading '.', no control characters (0x00-0x1f, 0x7f), valid as written.
 * On false, *why (may be NULL) points to a static reason ("contains a control character", ...).
 */
bool transport_name_safe(const char *name, size_t len, const char **why);

/*
 * Replaces %Y (4-digit year), %m, %d (2 digits), %y (2-digit year) and %% in `pattern` by the
 * business date; any other %-sequence is PERR_CONFIG. *out is a new string owned by the caller.
 */
enum perr transport_pattern_expand(const char *pattern, date_t date, char **out);

/*
 * OpenSSH-style fingerprint of a raw SSH public key blob: "SHA256:" + base64 of the SHA-256 digest
 * without '=' padding. buf must hold TRANSPORT_FP_BUFSZ bytes.
 */
#define TRANSPORT_FP_BUFSZ 64
void transport_fingerprint(const unsigned char *blob, size_t len, char buf[TRANSPORT_FP_BUFSZ]);

#endif
