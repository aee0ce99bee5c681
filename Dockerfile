# capwatch's image: the official Deno image, runtime packages only, run as the image's `deno` user.
# Build: docker build -t capwatch .   Run: see README.md, "Deploy" (JWT_SECRET or JWKS_URL is
# required: dev mode refuses HOST=0.0.0.0).
FROM denoland/deno:2.9.6

WORKDIR /app
RUN mkdir -p /data && chown deno:deno /app /data
USER deno

COPY --chown=deno:deno . .
# deno.lock also pins the test and codegen tools, and `deno install` installs every package of the
# lockfile it reads; deno.runtime.lock holds only what main.ts imports (deno task lock:runtime).
RUN mv deno.runtime.lock deno.lock && deno install --frozen --entrypoint main.ts

ENV HOST=0.0.0.0 PORT=8000 DATABASE_URL=file:/data/capwatch.db MALLOC_ARENA_MAX=1
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["deno", "eval", "const r = await fetch(`http://127.0.0.1:${Deno.env.get('PORT')}/health`); Deno.exit(r.ok ? 0 : 1)"]
# The same command as `deno task start` (deno.json), with the same permissions; exec'd directly so
# SIGTERM from `docker stop` reaches capwatch, which drains for up to 10 s: stop with -t 15 or more.
CMD ["deno", "run", "--v8-flags=--max-semi-space-size=4,--heap-growing-percent=30", "--allow-net", "--allow-env", "--allow-read", "--allow-write", "--allow-ffi", "--allow-sys", "main.ts"]
