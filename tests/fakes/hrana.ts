/**
 * A fake Turso for tests: a real HTTP server speaking Hrana over HTTP (JSON, the `/v2` and `/v3`
 * pipeline endpoints) as sqld does, backed by a real embedded libSQL database file, so the
 * production path through `@libsql/client/web` runs end to end on one machine.
 *
 * `@libsql/client/web` 0.18 talks protocol version 2 (it never probes: `GET /v2` support is
 * assumed, `POST /v2/pipeline` carries every request). Version 3 over JSON is served as well
 * (`get_autocommit`, `is_autocommit` conditions); the protobuf encoding and cursors are not.
 */
import { createClient } from "@libsql/client";
import { FakeStream, StreamError, toHranaError } from "./_hrana_stream.ts";

/** The running fake. */
export interface FakeTurso extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, the URL form for `openDatabase` (libsql:// would mean TLS). */
  url: string;
  /** The libSQL file behind it, for tests that read it back with a connection of their own. */
  path: string;
  /** HTTP requests received so far, refused ones included. */
  readonly requests: number;
  /** Streams open now (a baton is outstanding for each). */
  readonly openStreams: number;
  close(): Promise<void>;
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });

const text = (body: string, status = 200) =>
  new Response(body, { status, headers: { "content-type": "text/plain" } });

/** Starts the fake on a random local port, with a fresh database file of its own. */
export async function startFakeTurso(options: { authToken?: string } = {}): Promise<FakeTurso> {
  const dbPath = await Deno.makeTempFile({ prefix: "capwatch-turso-", suffix: ".db" });
  const dbUrl = `file:${dbPath}`;
  // WAL, as sqld runs: readers on other streams never wait for a writer.
  const setup = createClient({ url: dbUrl });
  await setup.execute("PRAGMA journal_mode = WAL");
  setup.close();

  const streams = new Map<string, FakeStream>();
  let requests = 0;

  /** sqld answers a bad token with 401 and `{ "error": "Unauthorized: …" }`. */
  const refused = (req: Request): Response | undefined => {
    if (options.authToken === undefined) return undefined;
    const header = req.headers.get("authorization");
    if (header === `Bearer ${options.authToken}`) return undefined;
    const why = header ? "The JWT is invalid" : "Authentication required";
    return json({ error: `Unauthorized: \`${why}\`` }, 401);
  };

  const pipeline = async (req: Request, version: 2 | 3): Promise<Response> => {
    let body;
    try {
      body = await req.json();
    } catch {
      return text("Could not deserialize JSON request body", 400);
    }
    if (!Array.isArray(body?.requests)) return text("Field `requests` is missing", 400);
    let stream: FakeStream;
    if (body.baton == null) {
      stream = new FakeStream(dbUrl);
    } else {
      const found = streams.get(body.baton);
      // Every baton is good for one request: the next one must carry the baton answered.
      if (!found) {
        return json({ message: "Stream not found or baton reused", code: "BATON_INVALID" }, 400);
      }
      streams.delete(body.baton);
      stream = found;
    }
    const results = [];
    let closed = false;
    for (const request of body.requests) {
      try {
        if (closed) throw new StreamError("The stream has already been closed", "STREAM_CLOSED");
        if (request?.type === "close") {
          stream.close();
          closed = true;
          results.push({ type: "ok", response: { type: "close" } });
          continue;
        }
        if (version < 3 && request?.type === "get_autocommit") {
          throw new StreamError("get_autocommit needs protocol version 3", "NOT_SUPPORTED");
        }
        results.push({ type: "ok", response: await stream.handle(request) });
      } catch (error) {
        results.push({ type: "error", error: toHranaError(error) });
      }
    }
    let baton: string | null = null;
    if (!closed) {
      baton = crypto.randomUUID();
      streams.set(baton, stream);
    }
    return json({ baton, base_url: null, results });
  };

  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    requests++;
    const denied = refused(req);
    if (denied) {
      await req.body?.cancel();
      return denied;
    }
    const { pathname } = new URL(req.url);
    const route = `${req.method} ${pathname}`;
    if (route === "GET /v2" || route === "GET /v3") {
      return text("Hello, this is HTTP API v2 (Hrana over HTTP)");
    }
    if (route === "POST /v2/pipeline") return await pipeline(req, 2);
    if (route === "POST /v3/pipeline") return await pipeline(req, 3);
    await req.body?.cancel();
    return text("Not found", 404);
  });

  const close = async () => {
    for (const stream of streams.values()) stream.close();
    streams.clear();
    await server.shutdown();
    for (const suffix of ["", "-wal", "-shm"]) await Deno.remove(dbPath + suffix).catch(() => {});
  };

  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    path: dbPath,
    get requests() {
      return requests;
    },
    get openStreams() {
      return streams.size;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
