/**
 * The SQLite schema as numbered migrations, compiled into the binary (never
 * read from disk at run time). `user_version` records how many have run;
 * `application_id` marks the file as gearbox's so a foreign file is refused.
 *
 * @module
 */

/** "GBX1" as a 32-bit integer: PRAGMA application_id of a gearbox store. */
export const APPLICATION_ID = 0x47425831;

export const MIGRATIONS: readonly string[] = [
  // 1: background jobs, keyed by an internal id (never by function+unique:
  // gearmand's sqlite queue let two empty-unique jobs overwrite each other).
  `CREATE TABLE job (
     id          INTEGER PRIMARY KEY,
     handle      TEXT    NOT NULL UNIQUE,
     function    TEXT    NOT NULL,
     uniq        TEXT    NOT NULL,
     data        BLOB    NOT NULL,
     reducer     TEXT    NOT NULL DEFAULT '',
     priority    INTEGER NOT NULL,
     run_after   INTEGER NOT NULL DEFAULT 0,
     created_at  INTEGER NOT NULL,
     retries     INTEGER NOT NULL DEFAULT 0
   )`,
  // 2: TheSchwartz's job model: the failure log (JSON, NULL when empty) and,
  // for jobs that ended but are kept, outcome, exit status and expiry. An
  // ended row stays in this table so a failed job can be retried as it was.
  `ALTER TABLE job ADD COLUMN failures TEXT;
   ALTER TABLE job ADD COLUMN outcome TEXT;
   ALTER TABLE job ADD COLUMN exit_status INTEGER;
   ALTER TABLE job ADD COLUMN ended_at INTEGER;
   ALTER TABLE job ADD COLUMN delete_after INTEGER`,
  // 3: no UNIQUE index on handle. Handles are unique by construction (boot id
  // and job id), and keeping a text index in step cost every insert about a
  // tenth of its time. SQLite cannot drop a constraint, so the table is rebuilt.
  `CREATE TABLE job_v3 (
     id          INTEGER PRIMARY KEY,
     handle      TEXT    NOT NULL,
     function    TEXT    NOT NULL,
     uniq        TEXT    NOT NULL,
     data        BLOB    NOT NULL,
     reducer     TEXT    NOT NULL DEFAULT '',
     priority    INTEGER NOT NULL,
     run_after   INTEGER NOT NULL DEFAULT 0,
     created_at  INTEGER NOT NULL,
     retries     INTEGER NOT NULL DEFAULT 0,
     failures    TEXT,
     outcome     TEXT,
     exit_status INTEGER,
     ended_at    INTEGER,
     delete_after INTEGER
   );
   INSERT INTO job_v3 SELECT id, handle, function, uniq, data, reducer, priority, run_after, created_at, retries,
     failures, outcome, exit_status, ended_at, delete_after FROM job;
   DROP TABLE job;
   ALTER TABLE job_v3 RENAME TO job`,
  // 4: CRC-32s of a row's unchanging columns and of its workload (see
  // row_checksum.ts), so a damaged file is refused or a damaged workload
  // fails its job, never delivered. NULL in rows written before.
  `ALTER TABLE job ADD COLUMN meta_crc INTEGER;
   ALTER TABLE job ADD COLUMN data_crc INTEGER`,
  // 5: recurring schedules' progress (docs/schedules.md): the next slot, and
  // the server's JSON state. A slot's job and this row change in one commit.
  `CREATE TABLE schedule (
     name       TEXT    PRIMARY KEY,
     next_slot  INTEGER NOT NULL,
     state      TEXT    NOT NULL
   ) WITHOUT ROWID`,
];
