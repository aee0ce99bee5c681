/**
 * Bounded concurrent mixed load (creates, stops, edits, deletes, gets) against several capwatch
 * processes of one database, recording every acknowledged answer in a ledger that
 * `checkLedger` (tests/helpers/ledger_check.ts) later holds the database to.
 */
import { mintToken } from "../../auth/mint.ts";
import { TEST_SECRET } from "./context.ts";

/** What became of one request that may have written: acknowledged, refused, or not known. */
type Outcome = "acked" | "refused" | "unknown";

/** One capture the ledger saw acknowledged with 201, and what was acknowledged about it since. */
export interface LedgerCapture {
  id: number;
  owner: string;
  /** The create's name, then each edit's name in the order sent (edits are never concurrent). */
  names: Array<{ name: string; outcome: Outcome }>;
  /** `end` (epoch ms) of every 200 answer to a stop. More than one is a double stop. */
  stops: number[];
  deleted: "no" | "yes" | "maybe";
  /** An edit or delete is in flight; stops still race freely. */
  busy: boolean;
}

/** One request as the load generator saw it; `status` 0 means no HTTP answer (connection error). */
export interface Sent {
  op: "create" | "get" | "stop" | "edit" | "delete";
  target: number;
  status: number;
  /** performance.now() when sent, and the milliseconds until answered or failed. */
  at: number;
  ms: number;
  retryAfter: string | null;
}

/** Everything a run acknowledged, plus every request it sent. */
export interface Ledger {
  captures: Map<number, LedgerCapture>;
  /** Ids a 201 acknowledged a second time, to another create: each is a doubled write. */
  doubledIds: number[];
  sent: Sent[];
}

export interface LoadOptions {
  /** Base URLs; a killed process stays in the list, its requests fail to connect. */
  targets: string[];
  envId: number;
  users: string[];
  /** The user who administers the environment: may stop, edit and delete any capture. */
  admin: string;
  round: number;
  total: number;
  concurrency: number;
  /**
   * Of `concurrency`, workers that only read, one GET every 50 ms each: writers blocked behind a
   * held lock must not starve the reads whose latency is measured meanwhile.
   */
  readers?: number;
  maxMs: number;
  /** Called (not awaited) once that many requests were sent or `ms` passed, whichever is first. */
  at?: Array<{ sent: number; ms: number; run: () => unknown }>;
  /** Keeps the load going past `total` (within `maxMs`) while this answers true. */
  keepGoing?: () => boolean;
}

const pick = <T>(items: T[]): T => items[Math.floor(Math.random() * items.length)];

/** Runs the load to its bounds (`maxMs`, `total`, never past 3 × `total`); answers the ledger. */
export async function runMixedLoad(options: LoadOptions): Promise<Ledger> {
  const tokens = new Map<string, string>();
  for (const user of options.users) {
    tokens.set(user, await mintToken(TEST_SECRET, { sub: user, ttlSeconds: 3600 }));
  }
  const ledger: Ledger = { captures: new Map(), doubledIds: [], sent: [] };
  const started = performance.now();
  const pending = [...(options.at ?? [])];
  const due = () => {
    const elapsed = performance.now() - started;
    for (const event of pending.filter((e) => ledger.sent.length >= e.sent || elapsed >= e.ms)) {
      pending.splice(pending.indexOf(event), 1);
      event.run();
    }
  };
  let seq = 0;

  const send = async (
    op: Sent["op"],
    method: string,
    path: string,
    user: string,
    body?: unknown,
  ) => {
    const target = Math.floor(Math.random() * options.targets.length);
    const record: Sent = { op, target, status: 0, at: performance.now(), ms: 0, retryAfter: null };
    ledger.sent.push(record);
    due();
    let json: Record<string, unknown> | null = null;
    try {
      const res = await fetch(`${options.targets[target]}${path}`, {
        method,
        headers: {
          Authorization: `Bearer ${tokens.get(user)}`,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(15_000),
      });
      const text = await res.text();
      record.status = res.status;
      record.retryAfter = res.headers.get("retry-after");
      json = text ? JSON.parse(text) : null;
    } catch {
      // Refused, reset or timed out: the write may or may not have happened.
    }
    record.ms = performance.now() - record.at;
    return { status: record.status, json };
  };
  /**
   * 2xx acknowledges; 4xx and 503 (the database stayed locked: nothing was written, retry)
   * refuse; a connection error, a 500 or a timeout leaves it unknown.
   */
  const outcomeOf = (status: number): Outcome =>
    status >= 200 && status < 300
      ? "acked"
      : (status >= 400 && status < 500) || status === 503
      ? "refused"
      : "unknown";
  const live = () => [...ledger.captures.values()].filter((c) => c.deleted === "no");
  const manager = (c: LedgerCapture) => Math.random() < 0.5 ? c.owner : options.admin;

  const create = async () => {
    const user = pick(options.users);
    const name = `r${options.round}-c${seq++}`;
    const res = await send("create", "POST", "/api/captures", user, { name, envId: options.envId });
    if (res.status !== 201) return;
    const id = Number(res.json!.id);
    if (ledger.captures.has(id)) {
      ledger.doubledIds.push(id);
      return;
    }
    ledger.captures.set(id, {
      id,
      owner: user,
      names: [{ name, outcome: "acked" }],
      stops: [],
      deleted: "no",
      busy: false,
    });
  };
  const stop = async (c: LedgerCapture) => {
    const res = await send("stop", "POST", `/api/captures/${c.id}/stop`, manager(c));
    if (res.status === 200) c.stops.push(Date.parse(String(res.json!.end)));
  };
  const edit = async (c: LedgerCapture) => {
    c.busy = true;
    const name = `r${options.round}-e${seq++}`;
    const res = await send("edit", "PATCH", `/api/captures/${c.id}`, manager(c), { name });
    c.names.push({ name, outcome: outcomeOf(res.status) });
    c.busy = false;
  };
  const remove = async (c: LedgerCapture) => {
    c.busy = true;
    const res = await send("delete", "DELETE", `/api/captures/${c.id}`, manager(c));
    const outcome = outcomeOf(res.status);
    if (outcome === "refused") c.busy = false;
    else c.deleted = outcome === "acked" ? "yes" : "maybe";
  };

  const step = async () => {
    const candidates = live();
    const idle = candidates.filter((c) => !c.busy);
    const roll = Math.random();
    if (candidates.length < 5 || roll < 0.3) return await create();
    if (roll < 0.6) {
      const c = pick(candidates);
      await send("get", "GET", `/api/captures/${c.id}`, pick(options.users));
      return;
    }
    if (roll < 0.75 || idle.length === 0) {
      const c = pick(candidates);
      // Now and then two stops of one capture race through two processes.
      if (Math.random() < 0.3) await Promise.all([stop(c), stop(c)]);
      else await stop(c);
      return;
    }
    if (roll < 0.9) return await edit(pick(idle));
    await remove(pick(idle));
  };

  const inBounds = () =>
    performance.now() - started < options.maxMs && ledger.sent.length < 3 * options.total &&
    (ledger.sent.length < options.total || (options.keepGoing?.() ?? false));
  const read = async () => {
    const candidates = live();
    if (candidates.length > 0) {
      await send("get", "GET", `/api/captures/${pick(candidates).id}`, pick(options.users));
    }
    await new Promise((r) => setTimeout(r, 50));
  };
  const readers = options.readers ?? 0;
  await Promise.all(Array.from({ length: options.concurrency }, async (_, i) => {
    while (inBounds()) await (i < readers ? read() : step());
  }));
  return ledger;
}

/** The p-th percentile (0–100) of `values`, nearest rank; NaN when empty. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = values.toSorted((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
