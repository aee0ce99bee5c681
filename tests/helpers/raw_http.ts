/** HTTP/1.1 over a bare TCP socket, for bytes fetch() refuses to send (control characters, CR/LF). */

/** One parsed HTTP/1.1 answer; `headers` keeps names lower-cased and values as raw Latin-1 text. */
export interface RawAnswer {
  status: number;
  headers: Array<[string, string]>;
  body: string;
}

const latin1 = new TextDecoder("latin1");

/** Concatenates byte arrays and strings (strings as UTF-8) into one buffer. */
export function bytes(...parts: Array<string | Uint8Array>): Uint8Array {
  const chunks = parts.map((p) => typeof p === "string" ? new TextEncoder().encode(p) : p);
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const chunk of chunks) {
    out.set(chunk, at);
    at += chunk.length;
  }
  return out;
}

/** Opens a TCP connection to the URL's host and port. */
export function connectTo(url: string): Promise<Deno.TcpConn> {
  const { hostname, port } = new URL(url);
  return Deno.connect({ hostname, port: Number(port) });
}

/** Writes all of `data` (Conn.write may take only part of it). */
export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let at = 0; at < data.length;) at += await conn.write(data.subarray(at));
}

/** Reads from `conn` until the peer closes it (or `timeoutMs` passes); returns the bytes. */
export async function readToClose(conn: Deno.Conn, timeoutMs = 10_000): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    const buffer = new Uint8Array(16 * 1024);
    for (;;) {
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) break;
      chunks.push(buffer.slice(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
  return bytes(...chunks);
}

/**
 * Reads from `conn` until one whole answer (head and Content-Length body) has arrived, without
 * waiting for the peer to close; throws after `timeoutMs`.
 */
export async function readAnswer(conn: Deno.Conn, timeoutMs = 10_000): Promise<RawAnswer> {
  const chunks: Uint8Array[] = [];
  const timer = setTimeout(() => conn.close(), timeoutMs);
  try {
    const buffer = new Uint8Array(16 * 1024);
    for (;;) {
      const text = latin1.decode(bytes(...chunks));
      const end = text.indexOf("\r\n\r\n");
      if (end >= 0) {
        const answer = parseAnswer(bytes(...chunks));
        const length = Number(answer.headers.find(([name]) => name === "content-length")?.[1]);
        if (answer.body.length >= length) return answer;
      }
      const n = await conn.read(buffer).catch(() => null);
      if (n === null) throw new Error(`no whole answer; got ${JSON.stringify(text.slice(0, 200))}`);
      chunks.push(buffer.slice(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
}

/** Parses the first HTTP/1.1 answer in `raw`. */
export function parseAnswer(raw: Uint8Array): RawAnswer {
  const text = latin1.decode(raw);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) throw new Error(`no complete HTTP answer in: ${JSON.stringify(text.slice(0, 200))}`);
  const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1]);
  const headers = lines.map((line): [string, string] => {
    const colon = line.indexOf(":");
    return [line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim()];
  });
  return { status, headers, body: text.slice(end + 4) };
}

/** Sends `request` as it is on a fresh connection and reads the answer; the request should
 * carry `Connection: close` so the server ends the connection after answering. */
export async function rawRequest(url: string, request: Uint8Array): Promise<RawAnswer> {
  const conn = await connectTo(url);
  try {
    await writeAll(conn, request);
    return parseAnswer(await readToClose(conn));
  } finally {
    try {
      conn.close();
    } catch {
      // Already closed by readToClose's timer.
    }
  }
}
