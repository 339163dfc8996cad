// Versioned schema of the SQLite store. A migration is never edited once released: a schema change is
// a new entry at the end of `migrations`. Each migration runs in its own transaction together with the
// row that records it, so a crash mid-upgrade leaves the file at the last fully applied version and the
// next start simply resumes from there.

import type { Database } from 'better-sqlite3';
import { PersistenceError } from '../errors.js';

export interface Migration {
  /** 1, 2, 3, ... in order, no gaps. */
  readonly version: number;
  readonly description: string;
  readonly up: (db: Database) => void;
}

/**
 * Sorts open runs after every closed one in a DESC listing (Temporal's COALESCE(close_time, max)).
 * Listing queries must repeat the exact expression of the index for SQLite to use it.
 */
export const OPEN_RUN_CLOSE_TIME = '9223372036854775807';

export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'namespaces, executions, current executions, history events, timer tasks',
    up(db) {
      // STRICT: a wrongly typed bind (say a string where a time belongs) fails loudly instead of
      // being stored and silently breaking ordering.
      db.exec(`
        CREATE TABLE namespaces (
          id TEXT PRIMARY KEY,
          name TEXT NOT NULL UNIQUE,
          data BLOB NOT NULL,
          version INTEGER NOT NULL
        ) STRICT;

        CREATE TABLE executions (
          namespace_id TEXT NOT NULL,
          workflow_id TEXT NOT NULL,
          run_id TEXT NOT NULL,
          state BLOB NOT NULL,
          version INTEGER NOT NULL,
          needs_dispatch INTEGER NOT NULL,
          workflow_type TEXT NOT NULL,
          task_queue TEXT NOT NULL,
          status INTEGER NOT NULL,
          start_time_ms INTEGER NOT NULL,
          execution_time_ms INTEGER NOT NULL,
          close_time_ms INTEGER,
          history_length INTEGER NOT NULL,
          PRIMARY KEY (namespace_id, workflow_id, run_id)
        ) STRICT;
        -- Start-up scans only the few runs with pending work, not every run ever stored.
        CREATE INDEX executions_needing_dispatch
          ON executions (namespace_id, workflow_id, run_id) WHERE needs_dispatch = 1;
        -- Covers the whole ORDER BY of listExecutions so a page is read in order, without a sort.
        CREATE INDEX executions_list_order
          ON executions (namespace_id, COALESCE(close_time_ms, ${OPEN_RUN_CLOSE_TIME}) DESC,
                         start_time_ms DESC, run_id);

        CREATE TABLE current_executions (
          namespace_id TEXT NOT NULL,
          workflow_id TEXT NOT NULL,
          run_id TEXT NOT NULL,
          status INTEGER NOT NULL,
          PRIMARY KEY (namespace_id, workflow_id)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE history_events (
          namespace_id TEXT NOT NULL,
          workflow_id TEXT NOT NULL,
          run_id TEXT NOT NULL,
          event_id INTEGER NOT NULL,
          data BLOB NOT NULL,
          PRIMARY KEY (namespace_id, workflow_id, run_id, event_id)
        ) STRICT, WITHOUT ROWID;

        CREATE TABLE timer_tasks (
          task_id TEXT PRIMARY KEY,
          fire_at_ms INTEGER NOT NULL,
          namespace_id TEXT NOT NULL,
          workflow_id TEXT NOT NULL,
          run_id TEXT NOT NULL,
          data BLOB NOT NULL
        ) STRICT;
        CREATE INDEX timer_tasks_by_fire_time ON timer_tasks (fire_at_ms, task_id);
      `);
    },
  },
  {
    version: 2,
    description: 'visibility columns on executions (search attributes, memo, sizes, parent/root), search attribute registry',
    up(db) {
      // New columns come last in every row, after the state blob; list and count read them (and the
      // summary columns of version 1) without the state. search_attribute_values is JSON that filters
      // read with json_extract / json_each; search_attributes and memo are the opaque encoded messages
      // list returns.
      db.exec(`
        ALTER TABLE executions ADD COLUMN history_size_bytes INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE executions ADD COLUMN state_transition_count INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE executions ADD COLUMN execution_duration_ms INTEGER;
        ALTER TABLE executions ADD COLUMN parent_workflow_id TEXT;
        ALTER TABLE executions ADD COLUMN parent_run_id TEXT;
        ALTER TABLE executions ADD COLUMN root_workflow_id TEXT;
        ALTER TABLE executions ADD COLUMN root_run_id TEXT;
        ALTER TABLE executions ADD COLUMN memo BLOB;
        ALTER TABLE executions ADD COLUMN search_attributes BLOB;
        ALTER TABLE executions ADD COLUMN search_attribute_values TEXT;

        -- Every list and count filters on TemporalNamespaceDivision (runs of other divisions, such as
        -- schedulers, are hidden unless asked for): a virtual column over the JSON and an index that
        -- also covers the status, so an unfiltered count (grouped or not) reads only the index.
        ALTER TABLE executions ADD COLUMN namespace_division ANY
          GENERATED ALWAYS AS (json_extract(search_attribute_values, '$."TemporalNamespaceDivision"')) VIRTUAL;
        CREATE INDEX executions_by_division ON executions (namespace_id, namespace_division, status);

        -- What can be derived for runs written before: every run so far is its own root.
        UPDATE executions SET root_workflow_id = workflow_id, root_run_id = run_id;
        UPDATE executions SET execution_duration_ms = MAX(0, close_time_ms - execution_time_ms)
          WHERE close_time_ms IS NOT NULL;

        CREATE TABLE search_attributes (
          namespace_id TEXT NOT NULL,
          name TEXT NOT NULL,
          type TEXT NOT NULL,
          PRIMARY KEY (namespace_id, name)
        ) STRICT, WITHOUT ROWID;
      `);
    },
  },
  {
    version: 3,
    description: 'index timer tasks by execution (deleting a run deletes its timers)',
    up(db) {
      db.exec('CREATE INDEX timer_tasks_by_execution ON timer_tasks (namespace_id, workflow_id, run_id);');
    },
  },
  {
    version: 4,
    description: 'signal request ids in rows of their own (a signal writes only its id, not all of them)',
    up(db) {
      db.exec(`
        CREATE TABLE signal_requests (
          namespace_id TEXT NOT NULL,
          workflow_id TEXT NOT NULL,
          run_id TEXT NOT NULL,
          request_id TEXT NOT NULL,
          PRIMARY KEY (namespace_id, workflow_id, run_id, request_id)
        ) STRICT, WITHOUT ROWID;
      `);
    },
  },
  {
    version: 5,
    description: 'an integer key for every run; history events keyed by it instead of three text ids',
    up(db) {
      // Each event row repeated the namespace, workflow and run ids (about 90 bytes: as much as a small
      // event itself). A run now has run_key, an alias of the rowid that VACUUM keeps, and AUTOINCREMENT
      // so a deleted run's key is never handed to a new one. The tables are rebuilt (SQLite cannot add
      // a primary key in place): the old one is renamed away first so the new one, its automatic index
      // and the indexes re-created below keep their names.
      db.exec(`
        ALTER TABLE executions RENAME TO executions_v4;
        CREATE TABLE executions (
          run_key INTEGER PRIMARY KEY AUTOINCREMENT,
          namespace_id TEXT NOT NULL,
          workflow_id TEXT NOT NULL,
          run_id TEXT NOT NULL,
          state BLOB NOT NULL,
          version INTEGER NOT NULL,
          needs_dispatch INTEGER NOT NULL,
          workflow_type TEXT NOT NULL,
          task_queue TEXT NOT NULL,
          status INTEGER NOT NULL,
          start_time_ms INTEGER NOT NULL,
          execution_time_ms INTEGER NOT NULL,
          close_time_ms INTEGER,
          history_length INTEGER NOT NULL,
          history_size_bytes INTEGER NOT NULL DEFAULT 0,
          state_transition_count INTEGER NOT NULL DEFAULT 0,
          execution_duration_ms INTEGER,
          parent_workflow_id TEXT,
          parent_run_id TEXT,
          root_workflow_id TEXT,
          root_run_id TEXT,
          memo BLOB,
          search_attributes BLOB,
          search_attribute_values TEXT,
          namespace_division ANY
            GENERATED ALWAYS AS (json_extract(search_attribute_values, '$."TemporalNamespaceDivision"')) VIRTUAL,
          UNIQUE (namespace_id, workflow_id, run_id)
        ) STRICT;
        INSERT INTO executions (run_key, namespace_id, workflow_id, run_id, state, version, needs_dispatch,
          workflow_type, task_queue, status, start_time_ms, execution_time_ms, close_time_ms, history_length,
          history_size_bytes, state_transition_count, execution_duration_ms, parent_workflow_id, parent_run_id,
          root_workflow_id, root_run_id, memo, search_attributes, search_attribute_values)
        SELECT rowid, namespace_id, workflow_id, run_id, state, version, needs_dispatch,
          workflow_type, task_queue, status, start_time_ms, execution_time_ms, close_time_ms, history_length,
          history_size_bytes, state_transition_count, execution_duration_ms, parent_workflow_id, parent_run_id,
          root_workflow_id, root_run_id, memo, search_attributes, search_attribute_values
        FROM executions_v4;
        DROP TABLE executions_v4;
        CREATE INDEX executions_needing_dispatch
          ON executions (namespace_id, workflow_id, run_id) WHERE needs_dispatch = 1;
        CREATE INDEX executions_list_order
          ON executions (namespace_id, COALESCE(close_time_ms, ${OPEN_RUN_CLOSE_TIME}) DESC,
                         start_time_ms DESC, run_id);
        CREATE INDEX executions_by_division ON executions (namespace_id, namespace_division, status);

        ALTER TABLE history_events RENAME TO history_events_v4;
        CREATE TABLE history_events (
          run_key INTEGER NOT NULL,
          event_id INTEGER NOT NULL,
          data BLOB NOT NULL,
          PRIMARY KEY (run_key, event_id)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO history_events (run_key, event_id, data)
          SELECT e.run_key, h.event_id, h.data
          FROM history_events_v4 h JOIN executions e USING (namespace_id, workflow_id, run_id)
          ORDER BY e.run_key, h.event_id;
        DROP TABLE history_events_v4;
      `);
    },
  },
  {
    version: 6,
    description: 'schedules',
    up(db) {
      db.exec(`
        CREATE TABLE schedules (
          namespace_id TEXT NOT NULL,
          schedule_id TEXT NOT NULL,
          data BLOB NOT NULL,
          version INTEGER NOT NULL,
          PRIMARY KEY (namespace_id, schedule_id)
        ) STRICT, WITHOUT ROWID;
      `);
    },
  },
  {
    version: 7,
    description: 'timer tasks keyed by run and task id, in one b-tree plus the fire-time index',
    up(db) {
      // Before, a timer row lived in four b-trees (the rowid table, the task id's automatic index, the
      // fire-time index and the by-run index), so adding or deleting one wrote about four and a half
      // pages to the WAL. Keyed by (run, task id) without a rowid, the table itself is the by-run index
      // and the task id lookup: a delete names the run, and adding or deleting writes about two pages.
      db.exec(`
        ALTER TABLE timer_tasks RENAME TO timer_tasks_v6;
        DROP INDEX timer_tasks_by_fire_time;
        DROP INDEX timer_tasks_by_execution;
        CREATE TABLE timer_tasks (
          namespace_id TEXT NOT NULL,
          workflow_id TEXT NOT NULL,
          run_id TEXT NOT NULL,
          task_id TEXT NOT NULL,
          fire_at_ms INTEGER NOT NULL,
          data BLOB NOT NULL,
          PRIMARY KEY (namespace_id, workflow_id, run_id, task_id)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO timer_tasks (namespace_id, workflow_id, run_id, task_id, fire_at_ms, data)
          SELECT namespace_id, workflow_id, run_id, task_id, fire_at_ms, data FROM timer_tasks_v6;
        DROP TABLE timer_tasks_v6;
        CREATE INDEX timer_tasks_by_fire_time ON timer_tasks (fire_at_ms, task_id);
      `);
    },
  },
  {
    version: 8,
    description: "timer tasks keyed by their run's integer key",
    up(db) {
      // Keyed by the three text ids, a timer row sat wherever its workflow id sorted: the transitions of
      // one group commit (each adds a timer and deletes one) each wrote a leaf page of their own. Keyed by
      // run_key, which grows with every new run, the timers of the runs in flight share the last pages.
      // A timer whose run is gone (none should be: deleting a run deletes its timers) is dropped.
      db.exec(`
        ALTER TABLE timer_tasks RENAME TO timer_tasks_v7;
        DROP INDEX timer_tasks_by_fire_time;
        CREATE TABLE timer_tasks (
          run_key INTEGER NOT NULL,
          task_id TEXT NOT NULL,
          fire_at_ms INTEGER NOT NULL,
          data BLOB NOT NULL,
          PRIMARY KEY (run_key, task_id)
        ) STRICT, WITHOUT ROWID;
        INSERT INTO timer_tasks (run_key, task_id, fire_at_ms, data)
          SELECT e.run_key, t.task_id, t.fire_at_ms, t.data
          FROM timer_tasks_v7 t JOIN executions e USING (namespace_id, workflow_id, run_id)
          ORDER BY e.run_key, t.task_id;
        DROP TABLE timer_tasks_v7;
        CREATE INDEX timer_tasks_by_fire_time ON timer_tasks (fire_at_ms, task_id);
      `);
    },
  },
  {
    version: 9,
    description: 'the list order index ascending, read backwards',
    up(db) {
      // Descending, every new run's entry went to the front of its namespace's open runs, and pages split
      // there were left half empty: 192 bytes an entry, 94 of them unused (dbstat, 5,000 parked runs).
      // Ascending, new entries go to the end of that block, where a page fills before it splits: about
      // 110 bytes. Listing reads it backwards, which gives the same order (LIST_ORDER).
      db.exec(`
        DROP INDEX executions_list_order;
        CREATE INDEX executions_list_order
          ON executions (namespace_id, COALESCE(close_time_ms, ${OPEN_RUN_CLOSE_TIME}), start_time_ms, run_id DESC);
      `);
    },
  },
];

export interface MigrationResult {
  readonly fromVersion: number;
  readonly toVersion: number;
}

/**
 * Brings the schema of `db` up to the last of `list`. `label` names the database in errors.
 * Refuses a file written by a newer Kairos: running old code on a newer schema could corrupt it.
 */
export function migrate(db: Database, label: string, list: readonly Migration[] = migrations): MigrationResult {
  list.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration #${index} has version ${migration.version}; versions must be 1, 2, 3, ...`);
    }
  });
  db.exec(`CREATE TABLE IF NOT EXISTS schema_version (
    version INTEGER PRIMARY KEY,
    description TEXT NOT NULL
  ) STRICT`);
  const fromVersion =
    db.prepare<[], number | null>('SELECT MAX(version) FROM schema_version').pluck().get() ?? 0;
  const latest = list.length;
  if (fromVersion > latest) {
    throw new PersistenceError(
      `database file ${label} has schema version ${fromVersion}, but this Kairos build knows only up to ` +
        `version ${latest}; run a newer Kairos on it (or point this one at another file)`,
    );
  }
  const record = db.prepare<[number, string]>('INSERT INTO schema_version (version, description) VALUES (?, ?)');
  for (const migration of list.slice(fromVersion)) {
    db.transaction(() => {
      migration.up(db);
      record.run(migration.version, migration.description);
    })();
  }
  return { fromVersion, toVersion: latest };
}

/** The version a database is at (0 before any migration); for diagnostics and tests. */
export function schemaVersion(db: Database): number {
  const exists = db
    .prepare<[], number>("SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = 'schema_version'")
    .pluck()
    .get();
  if (!exists) return 0;
  return db.prepare<[], number | null>('SELECT MAX(version) FROM schema_version').pluck().get() ?? 0;
}
