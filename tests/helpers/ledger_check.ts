/**
 * Holds a database to a mixed load's ledger (tests/helpers/mixed_load.ts): every acknowledged
 * create, stop, edit and delete must be there, read through the API of a survivor and straight
 * from the file with a fresh libSQL connection.
 */
import { createClient } from "@libsql/client";
import { mintToken } from "../../auth/mint.ts";
import { TEST_SECRET } from "./context.ts";
import { type Ledger, percentile } from "./mixed_load.ts";

/** A capture as stored (or as the API presents it): `end` in epoch ms. */
export interface SeenCapture {
  id: number;
  name: string;
  status: string;
  end: number | null;
}

/** Every capture of `envId` through `GET /api/captures`, following the Link header's pages. */
export async function capturesViaApi(url: string, envId: number, user: string) {
  const token = await mintToken(TEST_SECRET, { sub: user });
  const seen = new Map<number, SeenCapture>();
  let path: string | null = `/api/captures?envId=${envId}&limit=200`;
  while (path) {
    const res: Response = await fetch(`${url}${path}`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    if (res.status !== 200) throw new Error(`listing captures: ${res.status} ${await res.text()}`);
    for (const c of await res.json()) {
      seen.set(c.id, { id: c.id, name: c.name, status: c.status, end: c.end && Date.parse(c.end) });
    }
    path = /<([^>]+)>;\s*rel="next"/.exec(res.headers.get("link") ?? "")?.[1] ?? null;
  }
  return seen;
}

/** Every capture of `envId` read from the file with a new connection, and integrity_check. */
export async function capturesViaFile(path: string, envId: number) {
  const client = createClient({ url: `file:${path}` });
  try {
    const integrity = await client.execute("PRAGMA integrity_check");
    const { rows } = await client.execute({
      sql: 'SELECT id, name, status, "end" FROM captures WHERE env_id = ?',
      args: [envId],
    });
    const seen = new Map<number, SeenCapture>();
    for (const r of rows) {
      const end = r.end === null ? null : Number(r.end);
      seen.set(Number(r.id), {
        id: Number(r.id),
        name: String(r.name),
        status: String(r.status),
        end,
      });
    }
    return { seen, integrity: integrity.rows.map((r) => String(r[0])).join("; ") };
  } finally {
    client.close();
  }
}

/** Acknowledged writes the view contradicts ("lost"), and writes acknowledged twice. */
export function checkLedger(ledger: Ledger, seen: Map<number, SeenCapture>, view: string) {
  const lost: string[] = [];
  const doubled = ledger.doubledIds.map((id) => `${view}: id ${id} acknowledged to two creates`);
  for (const c of ledger.captures.values()) {
    if (c.stops.length > 1) {
      doubled.push(`${view}: capture ${c.id} stopped ${c.stops.length}× (200)`);
    }
    const row = seen.get(c.id);
    if (c.deleted === "yes") {
      if (row) lost.push(`${view}: capture ${c.id} is back after an acknowledged delete`);
      continue;
    }
    if (!row) {
      if (c.deleted === "no") lost.push(`${view}: acknowledged capture ${c.id} is missing`);
      continue;
    }
    // The last acknowledged name, or an edit sent after it whose answer never came.
    const lastAcked = c.names.findLastIndex((n) => n.outcome === "acked");
    const allowed = c.names.slice(lastAcked).filter((n) => n.outcome !== "refused");
    if (!allowed.some((n) => n.name === row.name)) {
      lost.push(
        `${view}: capture ${c.id} is named "${row.name}", acknowledged "${
          c.names[lastAcked].name
        }"`,
      );
    }
    if (c.stops.length > 0 && (row.status !== "DONE" || row.end !== c.stops[0])) {
      lost.push(
        `${view}: capture ${c.id} was stopped at ${c.stops[0]} (200) but is ${row.status} ` +
          `with end ${row.end}`,
      );
    }
  }
  return { lost, doubled };
}

/** Counts of a ledger's answers, and the p99 of reads sent within `window` (performance.now()). */
export function tally(ledger: Ledger, window?: { from: number; to: number }) {
  const count = (test: (s: Ledger["sent"][number]) => boolean) => ledger.sent.filter(test).length;
  const acks = {
    created: count((s) => s.op === "create" && s.status === 201),
    stopped: count((s) => s.op === "stop" && s.status === 200),
    edited: count((s) => s.op === "edit" && s.status === 200),
    deleted: count((s) => s.op === "delete" && s.status === 204),
  };
  const heldReads = window
    ? ledger.sent.filter((s) => s.op === "get" && s.at >= window.from && s.at <= window.to)
    : [];
  return {
    requests: ledger.sent.length,
    acknowledged: acks.created + acks.stopped + acks.edited + acks.deleted,
    acks,
    errors500: count((s) => s.status >= 500 && s.status !== 503),
    busy503: count((s) => s.status === 503),
    unretryable503: count((s) => s.status === 503 && s.retryAfter === null),
    connectionErrors: count((s) => s.status === 0),
    heldReads: heldReads.length,
    heldReadP99: percentile(heldReads.map((s) => s.ms), 99),
  };
}
