/*
 * util.c - allocation that dies on exhaustion, SHA-256 (OpenSSL libcrypto), atomic files.
 */
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

static void
oom(void)
{
	fputs("pipeline: out of memory\n", stderr);
	abort();
}

void *
xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (p == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		oom();
	return q;
}

char *
xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");

	if (p == NULL)
		oom();
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (p == NULL)
		oom();
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	if (vasprintf(&p, fmt, ap) < 0)
		oom();
	va_end(ap);
	return p;
}

static void
to_hex(const unsigned char *md, unsigned len, char hex[65])
{
	static const char digits[] = "0123456789abcdef";
	unsigned i;

	for (i = 0; i < len && i < 32; i++) {
		hex[2 * i] = digits[md[i] >> 4];
		hex[2 * i + 1] = digits[md[i] & 15];
	}
	hex[2 * i] = '\0';
}

void
sha256_hex(const void *buf, size_t len, char hex[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;

	if (!EVP_Digest(buf, len, md, &mdlen, EVP_sha256(), NULL))
		oom();
	to_hex(md, mdlen, hex);
}

enum perr
sha256_file(const char *path, char hex[65], int64_t *size_out)
{
	unsigned char md[EVP_MAX_MD_SIZE], buf[1 << 16];
	unsigned mdlen = 0;
	EVP_MD_CTX *ctx;
	int64_t total = 0;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0)
		return perr_set(PERR_IO, "%s: cannot open: %s", path, strerror(errno));
	if ((ctx = EVP_MD_CTX_new()) == NULL || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL))
		oom();
	while ((n = read(fd, buf, sizeof buf)) > 0) {
		EVP_DigestUpdate(ctx, buf, (size_t)n);
		total += n;
	}
	if (n < 0) {
		int e = errno;

		close(fd);
		EVP_MD_CTX_free(ctx);
		return perr_set(PERR_IO, "%s: read failed: %s", path, strerror(e));
	}
	close(fd);
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	to_hex(md, mdlen, hex);
	if (size_out)
		*size_out = total;
	return PERR_OK;
}

enum perr
mkdir_p(const char *path, unsigned mode)
{
	char *p = xstrdup(path), *s;

	for (s = p + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;

			*s = '\0';
			if (mkdir(p, mode) != 0 && errno != EEXIST) {
				enum perr e = perr_set(PERR_IO, "%s: cannot create directory: %s", p,
				    strerror(errno));
				free(p);
				return e;
			}
			*s = c;
			if (c == '\0')
				break;
		}
	}
	free(p);
	return PERR_OK;
}

enum perr
fsync_dir_of(const char *path, bool is_dir)
{
	char *dir = xstrdup(path);
	char *slash;
	int fd;

	if (!is_dir) {
		slash = strrchr(dir, '/');
		if (slash == NULL)
			strcpy(dir, ".");
		else if (slash == dir)
			dir[1] = '\0';
		else
			*slash = '\0';
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) != 0) {
		enum perr e = perr_set(PERR_IO, "%s: cannot sync directory: %s", dir, strerror(errno));

		if (fd >= 0)
			close(fd);
		free(dir);
		return e;
	}
	close(fd);
	free(dir);
	return PERR_OK;
}

enum perr
atomic_open(const char *path, struct atomic_file **out)
{
	struct atomic_file *af = xcalloc(1, sizeof *af);
	int fd;

	af->path = xstrdup(path);
	af->tmp_path = xasprintf("%s.tmp.%ld", path, (long)getpid());
	fd = open(af->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
	if (fd < 0 || (af->fp = fdopen(fd, "w")) == NULL) {
		enum perr e = perr_set(PERR_IO, "%s: cannot create: %s", af->tmp_path, strerror(errno));

		if (fd >= 0)
			close(fd);
		free(af->path);
		free(af->tmp_path);
		free(af);
		return e;
	}
	*out = af;
	return PERR_OK;
}

void
atomic_abort(struct atomic_file *af)
{
	if (af == NULL)
		return;
	if (af->fp)
		fclose(af->fp);
	unlink(af->tmp_path);
	free(af->path);
	free(af->tmp_path);
	free(af);
}

enum perr
atomic_commit(struct atomic_file *af)
{
	enum perr e = PERR_OK;
	int err = 0;

	if (fflush(af->fp) != 0 || ferror(af->fp) || fsync(fileno(af->fp)) != 0)
		err = errno ? errno : EIO;
	if (fclose(af->fp) != 0 && err == 0)
		err = errno;
	af->fp = NULL;
	if (err != 0)
		e = perr_set(PERR_IO, "%s: write failed: %s", af->tmp_path, strerror(err));
	else if (rename(af->tmp_path, af->path) != 0)
		e = perr_set(PERR_IO, "%s: cannot rename into place: %s", af->path, strerror(errno));
	else
		e = fsync_dir_of(af->path, false);
	if (e != PERR_OK)
		unlink(af->tmp_path);
	free(af->path);
	free(af->tmp_path);
	free(af);
	return e;
}

enum perr
atomic_write_file(const char *path, const void *buf, size_t len)
{
	struct atomic_file *af;
	enum perr e;

	if ((e = atomic_open(path, &af)) != PERR_OK)
		return e;
	if (len > 0 && fwrite(buf, 1, len, af->fp) != len) {
		e = perr_set(PERR_IO, "%s: write failed: %s", af->tmp_path, strerror(errno));
		atomic_abort(af);
		return e;
	}
	return atomic_commit(af);
}

enum perr
remove_leftovers(const char *dir, const char *prefix)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	enum perr e = PERR_OK;
	size_t n = strlen(prefix);

	if (d == NULL)
		return PERR_OK;
	while (e == PERR_OK && (de = readdir(d)) != NULL) {
		char *path;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || strncmp(de->d_name, prefix, n) != 0)
			continue;
		path = xasprintf("%s/%s", dir, de->d_name);
		if (unlink(path) != 0 && errno != ENOENT)
			e = perr_set(PERR_IO, "%s: cannot remove a leftover temporary file: %s", path, strerror(errno));
		free(path);
	}
	closedir(d);
	return e;
}

enum perr
read_file(const char *path, char **out, size_t *len_out, size_t max_len)
{
	FILE *fp = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (fp == NULL)
		return perr_set(PERR_IO, "%s: cannot open: %s", path, strerror(errno));
	do {
		if (cap - len < 65536) {
			cap = cap ? cap * 2 : 65536;
			buf = xrealloc(buf, cap + 1);
		}
		n = fread(buf + len, 1, cap - len, fp);
		len += n;
		if (len > max_len) {
			fclose(fp);
			free(buf);
			return perr_set(PERR_TOO_LARGE, "%s: larger than %zu bytes", path, max_len);
		}
	} while (n > 0);
	if (ferror(fp)) {
		fclose(fp);
		free(buf);
		return perr_set(PERR_IO, "%s: read failed", path);
	}
	fclose(fp);
	if (buf == NULL)
		buf = xmalloc(1);
	buf[len] = '\0';
	*out = buf;
	if (len_out)
		*len_out = len;
	return PERR_OK;
}

bool
is_terminal(int fd)
{
	return isatty(fd) == 1;
}

int64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
