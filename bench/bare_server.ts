// The bare runtime the load benchmark compares capwatch with: Deno.serve answering "ok".
// Usage: deno run --allow-net bench/bare_server.ts <port> [reuse]
const port = Number(Deno.args[0] ?? 0);
Deno.serve(
  {
    hostname: "127.0.0.1",
    port,
    reusePort: Deno.args[1] === "reuse",
    onListen: ({ port }) => console.log(`listening ${port}`),
  },
  () => new Response("ok"),
);
