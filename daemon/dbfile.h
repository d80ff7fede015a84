/* The SQLite files of the state directory (the store's upmon.db, the
 * history's history.db): made private, opened in WAL mode with their
 * schema, refused when a newer upmond wrote them, and moved aside when
 * damaged, the same way for both. */
#ifndef UPMON_DBFILE_H
#define UPMON_DBFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <sqlite3.h>

/* Opens (creating, mode 0600 whatever the umask) the database at path:
 * runs pragmas, then schema, checks that user_version is not above
 * version and writes it (a write now, so a database that cannot be
 * written is an error at start, not a stream of them later). *db is set
 * even on failure (to sqlite3_close); *dev and *ino identify the file.
 * Returns an SQLite result code, with a reason in err; what names the
 * file in log lines ("state database"). */
int dbfile_open(const char *path, const char *what, const char *pragmas, const char *schema,
                int version, sqlite3 **db, dev_t *dev, ino_t *ino, char *err, size_t errlen);

/* Whether a result code of dbfile_open says the file is damaged or not a
 * database at all: it is then moved aside and a new one started. */
bool dbfile_damaged(int rc);

/* Renames path and its -wal and -shm files to PATH.KIND-TIME (UTC, as in
 * 20240310T120000Z, given back in stamp), kept for a post-mortem. */
int dbfile_move_aside(const char *path, const char *what, const char *kind, char *stamp,
                      size_t stamplen);

#endif
