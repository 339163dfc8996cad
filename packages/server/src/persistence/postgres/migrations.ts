// Versioned schema of the PostgreSQL store, the same tables as the SQLite store (sqlite/migrations.ts)
// in PostgreSQL's types. A migration is never edited once released: a schema change is a new entry at
// the end of `migrations`. Each migration runs in its own transaction together with the row that
// records it (PostgreSQL DDL is transactional), and the whole run holds an advisory lock, so several
// nodes starting at once on one database migrate it exactly once.

import type pg from 'pg';
import { PersistenceError } from '../errors.js';

export interface Migration {
  /** 1, 2, 3, ... in order, no gaps. */
  readonly version: number;
  readonly description: string;
  readonly up: (client: pg.ClientBase) => Promise<void>;
}

/**
 * Sorts open runs after every closed one in a DESC listing (Temporal's COALESCE(close_time, max)).
 * Listing queries repeat the exact expression of the index so the planner can use it.
 */
export const OPEN_RUN_CLOSE_TIME = '9223372036854775807';

/** Arbitrary, fixed: the advisory lock key that serializes migrations of one database. */
const MIGRATION_LOCK_KEY = 0x4b414952; // "KAIR"

// Identifiers and text that keys or orders rows use COLLATE "C": byte-wise comparison, the order the
// SQLite store (BINARY) and the reference evaluator use, whatever locale the database was created with.
export const migrations: readonly Migration[] = [
  {
    version: 1,
    description: 'namespaces, executions with visibility columns, current executions, history events, timer tasks, search attributes',
    async up(client) {
      await client.query(`
        CREATE TABLE namespaces (
          id text COLLATE "C" PRIMARY KEY,
          name text COLLATE "C" NOT NULL UNIQUE,
          data bytea NOT NULL,
          version bigint NOT NULL
        );

        CREATE TABLE executions (
          namespace_id text COLLATE "C" NOT NULL,
          workflow_id text COLLATE "C" NOT NULL,
          run_id text COLLATE "C" NOT NULL,
          version bigint NOT NULL,
          needs_dispatch boolean NOT NULL,
          workflow_type text COLLATE "C" NOT NULL,
          task_queue text COLLATE "C" NOT NULL,
          status integer NOT NULL,
          start_time_ms bigint NOT NULL,
          execution_time_ms bigint NOT NULL,
          close_time_ms bigint,
          history_length bigint NOT NULL,
          history_size_bytes bigint NOT NULL,
          state_transition_count bigint NOT NULL,
          execution_duration_ms bigint,
          parent_workflow_id text COLLATE "C",
          parent_run_id text COLLATE "C",
          root_workflow_id text COLLATE "C",
          root_run_id text COLLATE "C",
          -- Typed search attribute values, read by filters (visibility-sql.ts).
          search_attribute_values jsonb,
          -- The words (textTokens) of every string value, by attribute: what Text matching reads, so
          -- the tokenizer is the one in persistence/visibility.ts and not a database locale's.
          search_attribute_words jsonb,
          -- Every list and count filters on TemporalNamespaceDivision (runs of other divisions, such as
          -- schedulers, are hidden unless asked for): its value in a column of its own, indexed with the
          -- status so that an unfiltered count (grouped or not) reads only the index.
          namespace_division jsonb GENERATED ALWAYS AS (search_attribute_values -> 'TemporalNamespaceDivision') STORED,
          memo bytea,
          search_attributes bytea,
          -- Last: the largest column, which listing never reads.
          state bytea NOT NULL,
          PRIMARY KEY (namespace_id, workflow_id, run_id)
        );
        -- Start-up scans only the few runs with pending work, not every run ever stored.
        CREATE INDEX executions_needing_dispatch ON executions (namespace_id, workflow_id, run_id) WHERE needs_dispatch;
        -- The whole ORDER BY of listExecutions, so a page is read in order, without a sort.
        CREATE INDEX executions_list_order
          ON executions (namespace_id, COALESCE(close_time_ms, ${OPEN_RUN_CLOSE_TIME}) DESC, start_time_ms DESC, run_id);
        CREATE INDEX executions_by_division ON executions (namespace_id, namespace_division, status);

        CREATE TABLE current_executions (
          namespace_id text COLLATE "C" NOT NULL,
          workflow_id text COLLATE "C" NOT NULL,
          run_id text COLLATE "C" NOT NULL,
          status integer NOT NULL,
          PRIMARY KEY (namespace_id, workflow_id)
        );

        CREATE TABLE history_events (
          namespace_id text COLLATE "C" NOT NULL,
          workflow_id text COLLATE "C" NOT NULL,
          run_id text COLLATE "C" NOT NULL,
          event_id bigint NOT NULL,
          data bytea NOT NULL,
          PRIMARY KEY (namespace_id, workflow_id, run_id, event_id)
        );

        CREATE TABLE timer_tasks (
          task_id text COLLATE "C" PRIMARY KEY,
          fire_at_ms bigint NOT NULL,
          namespace_id text COLLATE "C" NOT NULL,
          workflow_id text COLLATE "C" NOT NULL,
          run_id text COLLATE "C" NOT NULL,
          data bytea NOT NULL
        );
        CREATE INDEX timer_tasks_by_fire_time ON timer_tasks (fire_at_ms, task_id);
        -- Deleting a run deletes its timers.
        CREATE INDEX timer_tasks_by_execution ON timer_tasks (namespace_id, workflow_id, run_id);

        CREATE TABLE search_attributes (
          namespace_id text COLLATE "C" NOT NULL,
          name text COLLATE "C" NOT NULL,
          type text NOT NULL,
          PRIMARY KEY (namespace_id, name)
        );
      `);
    },
  },
  {
    version: 2,
    description: 'cluster: history shards leased to nodes (range id fencing), node membership, shard columns',
    async up(client) {
      await client.query(`
        -- The shard of a row is a function of (namespace id, workflow id) and the cluster's shard count
        -- (cluster/shards.ts), stored so that a node taking a shard loads only that shard's work.
        -- shard_range_id: the lease range id its last writer held (the fencing token it wrote under).
        ALTER TABLE executions ADD COLUMN shard_id integer NOT NULL DEFAULT 0,
          ADD COLUMN shard_range_id bigint NOT NULL DEFAULT 0;
        ALTER TABLE timer_tasks ADD COLUMN shard_id integer NOT NULL DEFAULT 0;
        DROP INDEX executions_needing_dispatch;
        CREATE INDEX executions_needing_dispatch ON executions (shard_id) WHERE needs_dispatch;
        CREATE INDEX timer_tasks_by_shard ON timer_tasks (shard_id, fire_at_ms, task_id);

        -- Settings fixed for the life of the database (shard_count).
        CREATE TABLE cluster_settings (
          name text COLLATE "C" PRIMARY KEY,
          value text NOT NULL
        );

        -- One row per shard: the node holding its lease, until when (database time), and the range id
        -- every write of the shard checks (bumped by each acquisition).
        CREATE TABLE cluster_shards (
          shard_id integer PRIMARY KEY,
          owner text COLLATE "C",
          range_id bigint NOT NULL DEFAULT 0,
          lease_until timestamptz NOT NULL DEFAULT 'epoch'
        );

        -- Live nodes: each heartbeats and holds the session advisory lock (cluster lock class, lock_no)
        -- while its process lives.
        CREATE TABLE cluster_members (
          node_id text COLLATE "C" PRIMARY KEY,
          address text NOT NULL,
          lock_no integer NOT NULL UNIQUE,
          started_at timestamptz NOT NULL DEFAULT now(),
          heartbeat_at timestamptz NOT NULL DEFAULT now()
        );
        CREATE SEQUENCE cluster_member_lock_no;
      `);
    },
  },
  {
    version: 3,
    description: 'signal request ids in rows of their own (a signal writes only its id, not all of them)',
    async up(client) {
      await client.query(`
        CREATE TABLE signal_requests (
          namespace_id text COLLATE "C" NOT NULL,
          workflow_id text COLLATE "C" NOT NULL,
          run_id text COLLATE "C" NOT NULL,
          request_id text COLLATE "C" NOT NULL,
          PRIMARY KEY (namespace_id, workflow_id, run_id, request_id)
        );
      `);
    },
  },  {
    version: 4,
    description: 'schedules',
    async up(client) {
      await client.query(`
        CREATE TABLE schedules (
          namespace_id text COLLATE "C" NOT NULL,
          schedule_id text COLLATE "C" NOT NULL,
          data bytea NOT NULL,
          version bigint NOT NULL,
          PRIMARY KEY (namespace_id, schedule_id)
        );
      `);
    },
  },
];

export interface MigrationResult {
  readonly fromVersion: number;
  readonly toVersion: number;
}

/**
 * Brings the schema that `client`'s search_path points at up to the last of `list`. `label` names the
 * database in errors. Refuses a schema written by a newer Kairos: running old code on it could corrupt it.
 */
export async function migrate(client: pg.ClientBase, label: string, list: readonly Migration[] = migrations): Promise<MigrationResult> {
  list.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(`migration #${index} has version ${migration.version}; versions must be 1, 2, 3, ...`);
    }
  });
  return withMigrationLock(client, async () => {
    await client.query(`CREATE TABLE IF NOT EXISTS schema_version (
      version integer PRIMARY KEY,
      description text NOT NULL
    )`);
    const fromVersion = await schemaVersion(client);
    const latest = list.length;
    if (fromVersion > latest) {
      throw new PersistenceError(
        `database ${label} has schema version ${fromVersion}, but this Kairos build knows only up to ` +
          `version ${latest}; run a newer Kairos on it (or point this one at another database)`,
      );
    }
    for (const migration of list.slice(fromVersion)) {
      await client.query('BEGIN');
      try {
        await migration.up(client);
        await client.query('INSERT INTO schema_version (version, description) VALUES ($1, $2)', [migration.version, migration.description]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK');
        throw error;
      }
    }
    return { fromVersion, toVersion: latest };
  });
}

/**
 * Runs `work` holding the database's migration lock (a session advisory lock: re-entrant, and released
 * by PostgreSQL if the session dies), so that one node at a time changes the schema.
 */
export async function withMigrationLock<T>(client: pg.ClientBase, work: () => Promise<T>): Promise<T> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    return await work();
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]);
  }
}

/** The version the schema is at (0 before any migration); for diagnostics and tests. */
export async function schemaVersion(client: pg.ClientBase): Promise<number> {
  const exists = await client.query<{ found: string | null }>("SELECT to_regclass('schema_version')::text AS found");
  if (exists.rows[0]?.found == null) return 0;
  const result = await client.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_version');
  return result.rows[0]?.version ?? 0;
}
