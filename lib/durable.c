#include "durable.h"
#include "err.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <dirent.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int dur_open(struct dur_file *f, const char *path, mode_t mode)
{
	size_t n = strlen(path) + 32;
	int fd;

	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	f->tmp = malloc(n);
	if (!f->path || !f->tmp) {
		err_set("out of memory");
		goto fail;
	}
	snprintf(f->tmp, n, "%s.tmp.%ld", path, (long)getpid());
	/* a stale temp file from a crashed run is ours to replace; never follow a link */
	unlink(f->tmp);
	fd = open(f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode);
	if (fd < 0) {
		err_set("cannot create '%s': %s", f->tmp, strerror(errno));
		goto fail;
	}
	fchmod(fd, mode); /* umask must not widen nor narrow what we promise */
	f->fp = fdopen(fd, "w");
	if (!f->fp) {
		err_set("cannot open '%s': %s", f->tmp, strerror(errno));
		close(fd);
		unlink(f->tmp);
		goto fail;
	}
	return 0;
fail:
	free(f->path);
	free(f->tmp);
	memset(f, 0, sizeof(*f));
	return -1;
}

int dur_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	int rc = 0;

	if (fd < 0) {
		err_set("cannot open directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	if (fsync(fd) < 0) {
		err_set("cannot sync directory '%s': %s", dir, strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

int dur_commit(struct dur_file *f)
{
	char *copy = NULL;
	int rc = -1;

	if (fflush(f->fp) != 0 || fsync(fileno(f->fp)) != 0) {
		err_set("cannot write '%s': %s", f->tmp, strerror(errno));
		fclose(f->fp);
		unlink(f->tmp);
		goto out;
	}
	if (fclose(f->fp) != 0) {
		err_set("cannot write '%s': %s", f->tmp, strerror(errno));
		unlink(f->tmp);
		goto out;
	}
	if (rename(f->tmp, f->path) != 0) {
		err_set("cannot rename '%s' to '%s': %s", f->tmp, f->path, strerror(errno));
		unlink(f->tmp);
		goto out;
	}
	copy = strdup(f->path);
	if (!copy || dur_sync_dir(dirname(copy)) < 0)
		goto out;
	rc = 0;
out:
	free(copy);
	free(f->path);
	free(f->tmp);
	memset(f, 0, sizeof(*f));
	return rc;
}

void dur_abort(struct dur_file *f)
{
	if (f->fp) {
		fclose(f->fp);
		unlink(f->tmp);
	}
	free(f->path);
	free(f->tmp);
	memset(f, 0, sizeof(*f));
}

int dur_mkdir(const char *dir, mode_t mode)
{
	if (mkdir(dir, mode) != 0 && errno != EEXIST) {
		err_set("cannot create directory '%s': %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int dur_owner_gone(const char *name, const char *end)
{
	const char *dot, *p;
	long pid = 0;

	if (!end)
		end = name + strlen(name);
	for (dot = end; dot > name && dot[-1] != '.'; dot--)
		;
	if (dot == name || dot == end)
		return 0;
	for (p = dot; p < end; p++) {
		if (*p < '0' || *p > '9' || pid > 4194304)
			return 0;
		pid = pid * 10 + (*p - '0');
	}
	if (pid <= 0 || pid == (long)getpid())
		return 0;
	return kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int dur_clean_stale(const char *dir, const char *base)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = strlen(base);
	int removed = 0;

	if (!d)
		return 0;
	while ((e = readdir(d)) != NULL) {
		char path[PATH_MAX];

		if (strncmp(e->d_name, base, n) || strncmp(e->d_name + n, ".tmp.", 5) ||
		    !dur_owner_gone(e->d_name, NULL))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		removed += unlink(path) == 0;
	}
	closedir(d);
	return removed;
}
