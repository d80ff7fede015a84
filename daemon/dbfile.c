/* The SQLite files of the state directory (dbfile.h). */
#include "dbfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

/* Makes sure the database file exists, is a regular file the daemon can
 * write, and is readable by its owner only (SQLite gives its WAL and
 * shared-memory files the same mode), whatever the umask. */
static int prepare_file(const char *path, const char *what, dev_t *dev, ino_t *ino, char *err,
                        size_t errlen)
{
    struct stat st;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0600);

    if (fd < 0) {
        errbuf_set(err, errlen, "cannot write %s: %s", path, strerror(errno));
        return -1;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        errbuf_set(err, errlen, "%s is not a regular file", path);
        close(fd);
        return -1;
    }
    if ((st.st_mode & 0077) && fchmod(fd, st.st_mode & 0700) < 0)
        log_warn("%s %s: cannot make it private: %s", what, path, strerror(errno));
    *dev = st.st_dev;
    *ino = st.st_ino;
    close(fd);
    return 0;
}

int dbfile_open(const char *path, const char *what, const char *pragmas, const char *schema,
                int version, sqlite3 **db, dev_t *dev, ino_t *ino, char *err, size_t errlen)
{
    char *msg = NULL, *set = NULL;
    int found = 0, rc;

    *db = NULL;
    if (prepare_file(path, what, dev, ino, err, errlen) < 0)
        return SQLITE_CANTOPEN;
    rc = sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                         NULL);
    if (rc != SQLITE_OK) {
        errbuf_set(err, errlen, "cannot open %s: %s", path,
                   *db ? sqlite3_errmsg(*db) : "out of memory");
        return rc;
    }
    sqlite3_busy_timeout(*db, 1000);
    if ((rc = sqlite3_exec(*db, pragmas, NULL, NULL, &msg)) != SQLITE_OK ||
        (rc = sqlite3_exec(*db, schema, NULL, NULL, &msg)) != SQLITE_OK) {
        errbuf_set(err, errlen, "cannot set up %s: %s", path, msg ? msg : sqlite3_errmsg(*db));
        sqlite3_free(msg);
        return rc;
    }
    sqlite3_stmt *v;
    if (sqlite3_prepare_v2(*db, "PRAGMA user_version", -1, &v, NULL) == SQLITE_OK) {
        if (sqlite3_step(v) == SQLITE_ROW)
            found = sqlite3_column_int(v, 0);
        sqlite3_finalize(v);
    }
    if (found > version) {
        errbuf_set(err, errlen, "%s was written by a newer upmond (schema %d, this one knows %d)",
                   path, found, version);
        return SQLITE_ERROR;
    }
    set = xasprintf("PRAGMA user_version=%d", version);
    rc = sqlite3_exec(*db, set, NULL, NULL, &msg);
    free(set);
    if (rc != SQLITE_OK || sqlite3_db_readonly(*db, "main") == 1) {
        errbuf_set(err, errlen, "cannot write %s: %s", path,
                   msg ? msg : "the database is read-only");
        sqlite3_free(msg);
        return rc != SQLITE_OK ? rc : SQLITE_READONLY;
    }
    return SQLITE_OK;
}

bool dbfile_damaged(int rc)
{
    return (rc & 0xff) == SQLITE_CORRUPT || (rc & 0xff) == SQLITE_NOTADB;
}

int dbfile_move_aside(const char *path, const char *what, const char *kind, char *stamp_out,
                      size_t stamplen)
{
    static const char *const suffixes[] = {"", "-wal", "-shm"};
    char stamp[32];
    time_t now = time(NULL);
    struct tm tm;

    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
    for (size_t i = 0; i < ARRAY_SIZE(suffixes); i++) {
        char *from = xasprintf("%s%s", path, suffixes[i]);
        char *to = xasprintf("%s.%s-%s%s", path, kind, stamp, suffixes[i]);
        int rc = rename(from, to);
        if (rc < 0 && errno != ENOENT) {
            log_err("%s %s: cannot move it aside: %s", what, from, strerror(errno));
            free(from);
            free(to);
            return -1;
        }
        free(from);
        free(to);
    }
    snprintf(stamp_out, stamplen, "%s", stamp);
    return 0;
}
