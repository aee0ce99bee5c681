import { preparedPerDatabase } from "../db/prepared.ts";
import type { Database } from "../db/client.ts";

/** The most the cache of one database may hold, in (estimated) bytes. */
export const SNAPSHOT_CACHE_BYTES = 4 * 1024 * 1024;

/**
 * A least-recently-used map of string keys to immutable values, bounded by the sum of the values'
 * estimated sizes in bytes: adding past `maxBytes` forgets the least recently used first, and a
 * value larger than a quarter of the bound is not kept at all.
 */
export class ByteBoundedCache<V> {
  #entries = new Map<string, { value: V; bytes: number }>();
  #bytes = 0;

  constructor(readonly maxBytes: number) {}

  /** The value under `key`, now the most recently used; undefined when not kept. */
  get(key: string): V | undefined {
    const entry = this.#entries.get(key);
    if (entry === undefined) return undefined;
    this.#entries.delete(key);
    this.#entries.set(key, entry);
    return entry.value;
  }

  /** Keeps `value` (of about `bytes` bytes) under `key`, forgetting older entries to fit. */
  set(key: string, value: V, bytes: number): void {
    this.delete(key);
    if (bytes > this.maxBytes / 4) return;
    this.#entries.set(key, { value, bytes });
    this.#bytes += bytes;
    for (const [oldest, entry] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= entry.bytes;
    }
  }

  delete(key: string): void {
    const entry = this.#entries.get(key);
    if (entry === undefined) return;
    this.#entries.delete(key);
    this.#bytes -= entry.bytes;
  }

  /** The estimated bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  get size(): number {
    return this.#entries.size;
  }
}

/**
 * The process's cache of snapshot reads of `db` (metrics/snapshot_series.ts). Safe because a
 * stored snapshot never changes: it is inserted once, whole, in one batch, later writers are
 * ignored (ON CONFLICT DO NOTHING), it goes only with its capture, and capture ids are never
 * reused (AUTOINCREMENT). Callers check access on every request before asking it, so a deleted
 * capture or a refused caller never reaches an entry. Keyed by the database, so tests and
 * processes with several databases never share entries.
 */
export const snapshotCacheOf: (db: Database) => ByteBoundedCache<unknown> = preparedPerDatabase(
  () => new ByteBoundedCache(SNAPSHOT_CACHE_BYTES),
);

/** The most the cache of one database's snapshot answer bodies may hold, in bytes. */
export const SNAPSHOT_ANSWER_CACHE_BYTES = 4 * 1024 * 1024;

/**
 * The process's cache of whole snapshot answers of `db` as sent (the JSON text of
 * GET /api/captures/{id}/metrics), keyed by capture_metrics.ts snapshotAnswerKey: the capture, its
 * snapshot's identity, its window and the parsed query. Nothing in such an answer depends on the
 * caller or (once settled) on the time; callers run the access check, which reads the key's
 * parts afresh, before every lookup, so a deleted capture, a changed window or a caller who may not
 * read it never reaches an entry, whichever process changed it.
 */
export const snapshotAnswerCacheOf: (db: Database) => ByteBoundedCache<string> =
  preparedPerDatabase(() => new ByteBoundedCache(SNAPSHOT_ANSWER_CACHE_BYTES));
