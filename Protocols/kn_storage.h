/*
 * kn_storage.h: the `storage` service, version 1.0: key-value, append-only
 * logs and SQL, provided by the core plugin `storage` over embedded SQLite
 * (default) or PostgreSQL.
 *
 * A plugin lists "storage" in depends_on and looks the table up (the rule
 * of host->lookup_service in kn_plugin.h applies: see "The service table"
 * below):
 *
 *     const kn_storage_api *storage;
 *     uint32_t minor;
 *     if (host->lookup_service(self, KN_STORAGE_SERVICE, KN_STORAGE_MAJOR, 0,
 *                              (const void **)&storage, &minor) != KN_OK) ...
 *
 *     static void on_put(void *user_data, kn_status status, const char *message,
 *                        const kn_storage_entry *entry) {
 *         if (status == KN_OK) printf("version %llu\n", (unsigned long long)entry->version);
 *     }
 *     storage->kv_put(self, NULL, key, value, 0, on_put, NULL);
 *
 * Conventions (the words of kn_plugin.h: callback, borrowed, copied, owned
 * by X until F, any thread):
 *
 *   Asynchronous.  Every operation takes a completion callback, `done`, and
 *                  its `user_data`. `done` runs exactly once, on any thread:
 *                  one of the storage plugin's threads, or the caller's own
 *                  inside the function, before it returns, when the
 *                  arguments are refused. `user_data` is owned by the
 *                  service until it calls `done` (free it there). The
 *                  functions never block. Any thread.
 *   Results.       Everything `done` receives (message, entry, page, batch,
 *                  rows) is borrowed for the duration of `done`: copy what
 *                  you keep.
 *   Arguments.     Copied: every pointer passed in is copied before the
 *                  function returns; the caller may free its buffers right
 *                  after.
 *   Errors.        `status` is KN_OK or a kn_status; `message` is one line of
 *                  UTF-8, NUL-terminated, "" on success, never NULL.
 *                    KN_ERR_INVALID_ARGUMENT  malformed key, name, SQL or parameter;
 *                                             a transaction that is closed
 *                    KN_ERR_NOT_FOUND         unknown namespace (see below)
 *                    KN_ERR_CONFLICT          stale compare-and-set version; unique
 *                                             constraint violated
 *                    KN_ERR_TOO_LARGE         over a limit below
 *                    KN_ERR_UNAVAILABLE       the backend cannot be reached (retry later);
 *                                             the storage plugin has stopped
 *                    KN_ERR_TIMEOUT           a lock or transaction waited too long
 *                    KN_ERR_INTERNAL          anything else
 *   Caller.        Every function takes the calling plugin's own handle
 *                  (`self` of its init): the service names the caller with
 *                  host->plugin_name to namespace what it keeps.
 *   Namespaces.    `ns` NULL or "" (or the caller's own name) is the caller's
 *                  private namespace. A name starting with "shared." (then
 *                  [a-z0-9_.-], KN_STORAGE_MAX_NAMESPACE_BYTES in all) is a shared namespace
 *                  every plugin reaches by asking for it. Any other name is
 *                  KN_ERR_NOT_FOUND: a plugin cannot reach another's keys.
 *                  Keys and log streams live in a namespace; SQL tables live
 *                  in the caller's own database space (a database file per
 *                  plugin on SQLite, a schema per plugin on PostgreSQL).
 *   Growth.        The table and the result structs begin with struct_size
 *                  and only grow at the end. kn_storage_value never changes.
 * ------------------------------------------------------------------------- */
#ifndef KN_STORAGE_H
#define KN_STORAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "kn_plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define KN_STORAGE_SERVICE "storage"
#define KN_STORAGE_MAJOR 1
#define KN_STORAGE_MINOR 0

/* Limits: every limit the service enforces. Over them: KN_ERR_TOO_LARGE
 * (keys, scan prefixes and cursors, values, records, SQL, parameters) or
 * KN_ERR_INVALID_ARGUMENT (names; an empty key; a page limit of 0). Larger
 * page limits are clamped, not refused. */
#define KN_STORAGE_MAX_KEY_BYTES       1024u                 /* a key: 1..1024 bytes; also a scan's prefix and cursor */
#define KN_STORAGE_MAX_VALUE_BYTES     (1024u * 1024u)       /* a value: 1 MiB */
#define KN_STORAGE_MAX_RECORD_BYTES    (1024u * 1024u)       /* a log record: 1 MiB */
#define KN_STORAGE_MAX_STREAM_BYTES    128u                  /* a stream name: [A-Za-z0-9._-]{1,128} */
#define KN_STORAGE_MAX_NAMESPACE_BYTES 64u                   /* a shared namespace: "shared." then [a-z0-9_.-], 64 bytes in all */
#define KN_STORAGE_MAX_PAGE            1000u                 /* entries per scan, records per read */
#define KN_STORAGE_MAX_SQL_BYTES       (1024u * 1024u)       /* SQL text, also of each migration */
#define KN_STORAGE_MAX_PARAM_BYTES     (16u << 20)           /* one TEXT or BLOB parameter: 16 MiB */

/* ======================================================================== */
/* Key-value                                                                */
/* ======================================================================== */

/* One key and its value. `version` increases with every write of any key
 * and is never reused, so a compare-and-set cannot be fooled by a delete and
 * a re-create. `expires_at_ms`: Unix epoch milliseconds, 0 when the key has
 * no TTL. An expired key reads as absent. */
typedef struct kn_storage_entry {
    uint32_t struct_size;
    kn_bytes key;
    kn_bytes value;
    uint64_t version;
    int64_t expires_at_ms;
} kn_storage_entry;

/* Callback (`done` of the key-value functions). `entry`: the entry read,
 * written or deleted, borrowed; NULL when the key is absent (get, delete)
 * or on error. */
typedef void (*kn_storage_entry_fn)(void *user_data, kn_status status, const char *message,
                                    const kn_storage_entry *entry);

/* One page of a scan, keys in ascending byte order. `next_cursor` is the
 * cursor of the next page, empty when this page is the last. */
typedef struct kn_storage_page {
    uint32_t struct_size;
    const kn_storage_entry *entries;
    size_t count;
    kn_bytes next_cursor;
} kn_storage_page;

/* Callback (`done` of kv_scan). `page` borrowed; NULL on error. */
typedef void (*kn_storage_page_fn)(void *user_data, kn_status status, const char *message,
                                   const kn_storage_page *page);

/* ======================================================================== */
/* Logs                                                                     */
/* ======================================================================== */

/* One record of a stream. Offsets start at 0 and grow by 1 per append. */
typedef struct kn_storage_record {
    uint32_t struct_size;
    uint64_t offset;
    int64_t appended_at_ms;
    kn_bytes payload;
} kn_storage_record;

/* The result of a read. `first_offset` is the oldest retained offset,
 * `next_offset` the one the next append gets. `gap` is true when the read
 * asked for offsets older than retention (trimmed): the records start at
 * `first_offset` and the reader has missed records in between. */
typedef struct kn_storage_batch {
    uint32_t struct_size;
    const kn_storage_record *records;
    size_t count;
    uint64_t first_offset;
    uint64_t next_offset;
    bool gap;
} kn_storage_batch;

/* Callback (`done` of log_read). `batch` borrowed; NULL on error. */
typedef void (*kn_storage_batch_fn)(void *user_data, kn_status status, const char *message,
                                    const kn_storage_batch *batch);

/* Callback (`done` of log_append and log_trim). `offset`: of the appended
 * record (append); the first retained offset after a trim. `count`: records
 * removed (trim); 0 for append. Both 0 on error. */
typedef void (*kn_storage_offset_fn)(void *user_data, kn_status status, const char *message,
                                     uint64_t offset, uint64_t count);

/* For log_trim: no bound on the count kept. */
#define KN_STORAGE_KEEP_ALL UINT64_MAX

/* ======================================================================== */
/* SQL                                                                      */
/* ======================================================================== */

#define KN_STORAGE_NULL    0
#define KN_STORAGE_INTEGER 1 /* `integer` */
#define KN_STORAGE_REAL    2 /* `real` */
#define KN_STORAGE_TEXT    3 /* `bytes`, UTF-8 */
#define KN_STORAGE_BLOB    4 /* `bytes` */
#define KN_STORAGE_BOOL    5 /* `integer` 0 or 1 (SQLite stores and returns INTEGER) */

/* A typed value: a parameter (copied, with its bytes), or one cell of a row
 * (borrowed like the rows). Fixed layout (used in arrays, never grows).
 * PostgreSQL types without an equivalent (numeric, timestamps, uuid, json)
 * come back as TEXT in their text form. */
typedef struct kn_storage_value {
    uint32_t type;
    int64_t integer;
    double real;
    kn_bytes bytes;
} kn_storage_value;

/* Rows of a statement. `values` holds row_count * column_count cells, row
 * after row. `rows_affected`: rows inserted, updated or deleted. */
typedef struct kn_storage_rows {
    uint32_t struct_size;
    size_t column_count;
    const kn_bytes *columns;
    size_t row_count;
    const kn_storage_value *values;
    uint64_t rows_affected;
} kn_storage_rows;

/* Callback (`done` of sql_run). `rows` borrowed, with every cell and
 * column name in it; NULL on error. */
typedef void (*kn_storage_rows_fn)(void *user_data, kn_status status, const char *message,
                                   const kn_storage_rows *rows);

/* A transaction handle; 0 means "no transaction". */
typedef uint64_t kn_storage_tx;

/* Callback (`done` of sql_begin): the new transaction, 0 on error. */
typedef void (*kn_storage_tx_fn)(void *user_data, kn_status status, const char *message,
                                 kn_storage_tx tx);

/* Callback (`done` of sql_commit, sql_rollback and sql_migrate). */
typedef void (*kn_storage_done_fn)(void *user_data, kn_status status, const char *message);

/* One schema migration: applied once, in ascending `version` order, each in
 * its own transaction together with the record that it was applied. */
typedef struct kn_storage_migration {
    uint32_t struct_size;
    int64_t version;          /* > 0, unique */
    const char *sql;          /* NUL-terminated; may hold several statements */
} kn_storage_migration;

/* ======================================================================== */
/* The service table                                                        */
/* ======================================================================== */
/*
 * Registered by the storage plugin as service "storage" 1.0. The table is
 * borrowed by the rule of host->lookup_service (kn_plugin.h): valid while
 * that version of the storage plugin runs; look it up again when the event
 * "kernel.plugin.reloaded" names "storage". Until you do, the stopped
 * version forwards every call made through its table to the current one,
 * so the call succeeds; with no storage plugin running it fails with
 * KN_ERR_UNAVAILABLE. Listing "storage" in depends_on keeps it loaded while
 * you are. Every function: any thread, never blocks, `done` called exactly
 * once (see Conventions).
 */
typedef struct kn_storage_api {
    uint32_t struct_size;

    /* "sqlite" or "postgres": the SQL dialect. Static string. */
    const char *(*backend)(void);

    /* --- Key-value -------------------------------------------------------- */

    /* The entry of `key`, or NULL (status KN_OK) when absent or expired. */
    void (*kv_get)(kn_plugin *self, const char *ns, kn_bytes key,
                   kn_storage_entry_fn done, void *user_data);
    /* Writes `value`; `ttl_ms` 0 for no expiry. Reports the new entry. The
     * write is durable when `done` reports KN_OK. */
    void (*kv_put)(kn_plugin *self, const char *ns, kn_bytes key, kn_bytes value,
                   uint64_t ttl_ms, kn_storage_entry_fn done, void *user_data);
    /* Writes `value` only if the key's current version is `expected_version`
     * (0: only if the key is absent). KN_ERR_CONFLICT otherwise: of many
     * concurrent callers with the same expected version, exactly one wins. */
    void (*kv_compare_and_set)(kn_plugin *self, const char *ns, kn_bytes key,
                               uint64_t expected_version, kn_bytes value, uint64_t ttl_ms,
                               kn_storage_entry_fn done, void *user_data);
    /* Deletes `key`; reports the deleted entry, or NULL when it was absent. */
    void (*kv_delete)(kn_plugin *self, const char *ns, kn_bytes key,
                      kn_storage_entry_fn done, void *user_data);
    /* Keys starting with `prefix` (empty: all), after `cursor` (empty: from
     * the first), at most `limit` (1..KN_STORAGE_MAX_PAGE). */
    void (*kv_scan)(kn_plugin *self, const char *ns, kn_bytes prefix, kn_bytes cursor,
                    uint32_t limit, kn_storage_page_fn done, void *user_data);

    /* --- Logs ------------------------------------------------------------- */

    /* Appends one record to `stream` (created on first append); reports its
     * offset. Durable when reported. */
    void (*log_append)(kn_plugin *self, const char *ns, const char *stream, kn_bytes payload,
                       kn_storage_offset_fn done, void *user_data);
    /* Up to `limit` records from offset `from` on. A stream never appended
     * to reads as empty (offsets 0, 0). */
    void (*log_read)(kn_plugin *self, const char *ns, const char *stream, uint64_t from,
                     uint32_t limit, kn_storage_batch_fn done, void *user_data);
    /* Removes the oldest records: all but the newest `keep_last`
     * (KN_STORAGE_KEEP_ALL: no count bound), and every record appended
     * before `before_ms` (Unix epoch ms; 0: no age bound). Reports the new
     * first offset and the number removed. */
    void (*log_trim)(kn_plugin *self, const char *ns, const char *stream, uint64_t keep_last,
                     int64_t before_ms, kn_storage_offset_fn done, void *user_data);

    /* --- SQL (the backend's dialect; parameters $1, $2, ... on both) ------ */

    /* Opens a transaction on a connection of its own. It stays open until
     * commit or rollback; one idle for longer than the storage plugin's
     * `transaction_timeout_ms` (default 30000) is rolled back and closed,
     * so a caller that fails mid-way never leaves locks behind. */
    void (*sql_begin)(kn_plugin *self, kn_storage_tx_fn done, void *user_data);
    /* Runs one statement with `params` (count values, may be NULL when 0),
     * inside `tx` or on its own (tx 0, autocommit). A tx that is committed,
     * rolled back, timed out or not the caller's: KN_ERR_INVALID_ARGUMENT.
     * A statement that fails inside a transaction leaves it open: the
     * caller decides (PostgreSQL then refuses statements until rollback). */
    void (*sql_run)(kn_plugin *self, kn_storage_tx tx, const char *sql,
                    const kn_storage_value *params, size_t count,
                    kn_storage_rows_fn done, void *user_data);
    void (*sql_commit)(kn_plugin *self, kn_storage_tx tx, kn_storage_done_fn done, void *user_data);
    void (*sql_rollback)(kn_plugin *self, kn_storage_tx tx, kn_storage_done_fn done, void *user_data);
    /* Applies the migrations not applied yet to the caller's database space,
     * each once, even when several instances ask at the same time. A
     * failing migration is rolled back and stops the run (the message
     * names its version); those before it stay applied. */
    void (*sql_migrate)(kn_plugin *self, const kn_storage_migration *migrations, size_t count,
                        kn_storage_done_fn done, void *user_data);
} kn_storage_api;

#ifdef __cplusplus
}
#endif

#endif /* KN_STORAGE_H */
