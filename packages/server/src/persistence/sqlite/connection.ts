// Opening the one SQLite connection of the embedded backend, and checking it is what Kairos relies on.
//
// Ownership is an OS file lock, so it dies with the process (SIGKILL included) and a restart needs no
// cleanup. `locking_mode=EXCLUSIVE`, set before the file is first read, makes SQLite keep the WAL
// index in process memory (no -shm file) and hold an exclusive lock on the database file from the
// first transaction until close. A second opener, in this or another process, gets SQLITE_BUSY and is
// told who holds the file.

import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import Database from 'better-sqlite3';
import { DatabaseLockedError, DurabilityError, PersistenceError } from '../errors.js';
import { migrate } from './migrations.js';

/** How long start-up waits for the file lock: covers a predecessor that is still closing. */
const LOCK_WAIT_MS = 200;
/** Nothing else can hold the file once we own it; this only bounds the unexpected. */
const BUSY_TIMEOUT_MS = 5_000;
const SYNCHRONOUS_FULL = 2;
/** WAL frames (pages, 4 KiB) after which a commit checkpoints: SQLite's default is 1,000. */
const WAL_AUTOCHECKPOINT_PAGES = 4_000;

/** Opens (creating and migrating if needed) and locks the file; throws DatabaseLockedError if it is held. */
export function openConnection(filename: string): Database.Database {
  const memory = filename === ':memory:';
  const label = memory ? ':memory:' : resolve(filename);
  const db = new Database(filename);
  try {
    db.pragma(`busy_timeout = ${LOCK_WAIT_MS}`);
    db.pragma('locking_mode = EXCLUSIVE');
    if (!memory) db.pragma('journal_mode = WAL');
    // Explicitly, always: reading a file that is already in WAL mode replaces a `synchronous` never
    // set on the connection with the build's WAL default, NORMAL in better-sqlite3, which can lose
    // acknowledged commits on power loss.
    db.pragma('synchronous = FULL');
    if (process.platform === 'darwin') db.pragma('fullfsync = ON');
    db.pragma('foreign_keys = OFF');
    // A batch whose write failed its conditions runs again with each transition in a savepoint, so a page
    // a transition changes is first copied to the statement (sub)journal; in memory, that copy is a
    // memcpy instead of a write to a temp file.
    // Only rollbacks within an open transaction read it: durability does not depend on it.
    db.pragma('temp_store = MEMORY');
    // Checkpoint (copy the WAL into the file, two fsyncs) every ~16 MB of WAL rather than every ~4 MB:
    // hot pages (timer and history tails, busy runs) rewritten in between are copied once.
    db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
    // Take the exclusive lock now, even when there is nothing to migrate, and keep it until close.
    db.exec('BEGIN IMMEDIATE; COMMIT');
    assertDurablePragmas(db, label, memory);
    migrate(db, label);
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return db;
  } catch (error) {
    db.close();
    throw openError(error, label);
  }
}

/** Throws DurabilityError unless the connection really runs with the settings Kairos relies on. */
export function assertDurablePragmas(db: Database.Database, label: string, memory: boolean): void {
  const synchronous = db.pragma('synchronous', { simple: true });
  if (synchronous !== SYNCHRONOUS_FULL) {
    throw new DurabilityError(
      `SQLite synchronous is ${String(synchronous)} on ${label}, Kairos requires 2 (FULL): ` +
        'anything less can lose acknowledged commits on power loss or an OS crash',
    );
  }
  const journalMode = db.pragma('journal_mode', { simple: true });
  if (!memory && journalMode !== 'wal') {
    throw new DurabilityError(`SQLite journal_mode is ${String(journalMode)} on ${label}, Kairos requires wal`);
  }
  const lockingMode = db.pragma('locking_mode', { simple: true });
  if (lockingMode !== 'exclusive') {
    throw new PersistenceError(`SQLite locking_mode is ${String(lockingMode)} on ${label}, Kairos requires exclusive`);
  }
}

function openError(error: unknown, label: string): Error {
  if (error instanceof PersistenceError) return error;
  const code = error instanceof Database.SqliteError ? error.code : undefined;
  if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
    const pid = lockHolderPid(label);
    const holder = pid === undefined ? '' : pid === process.pid ? ` (this process, pid ${pid})` : ` (pid ${pid})`;
    const message = `database file ${label} is in use by another Kairos server${holder}`;
    return new DatabaseLockedError(message, { cause: error });
  }
  const reason = error instanceof Error ? error.message : String(error);
  return new PersistenceError(`cannot open database file ${label}: ${reason}`, { cause: error });
}

/**
 * Best effort, Linux only: the pid holding a POSIX lock on the file, from /proc/locks
 * ("1: POSIX ADVISORY WRITE <pid> <major>:<minor>:<inode> <start> <end>", device numbers in hex).
 */
function lockHolderPid(filename: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const { dev, ino } = statSync(filename, { bigint: true });
    const major = (dev >> 8n) & 0xfffn;
    const minor = (dev & 0xffn) | ((dev >> 12n) & 0xfff00n);
    for (const line of readFileSync('/proc/locks', 'utf8').split('\n')) {
      const match = /^\d+:\s+POSIX\s+\S+\s+\S+\s+(\d+)\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s/.exec(line);
      if (!match) continue;
      const [, pid = '', lockMajor = '', lockMinor = '', lockInode = ''] = match;
      if (BigInt(`0x${lockMajor}`) === major && BigInt(`0x${lockMinor}`) === minor && BigInt(lockInode) === ino) {
        const holder = Number(pid);
        if (holder > 0) return holder;
      }
    }
  } catch {
    // No /proc, or the file vanished: the message simply goes without a pid.
  }
  return undefined;
}

/**
 * Whether an error thrown while applying one transition inside a batch belongs to that transition alone
 * (its savepoint is rolled back, the batch goes on) rather than to the connection or the disk (the whole
 * batch is rolled back and fails). Ours (PersistenceError, e.g. a lost version race) and bad input
 * (constraint, oversized or mistyped values, binding errors from the driver) are the write's; any other
 * SQLite error (I/O, disk full, out of memory, corruption, busy, interrupted, ...) fails the batch.
 */
export function isWriteLocalError(error: unknown): error is Error {
  if (error instanceof PersistenceError) return true;
  if (error instanceof Database.SqliteError) {
    return /^SQLITE_(CONSTRAINT|TOOBIG|MISMATCH|RANGE)(_|$)/.test(error.code);
  }
  return error instanceof TypeError || error instanceof RangeError;
}
