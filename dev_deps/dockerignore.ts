// Development only (the container test): Docker's own .dockerignore matching rules, ported to npm.
// deno-lint-ignore no-import-prefix -- one CommonJS package whose typing needs the wrapper below
import dockerignore from "npm:@balena/dockerignore@^1.0.2";

/** A .dockerignore matcher: `ignores(path)` for a path relative to the build context, "/"-separated. */
export interface DockerIgnore {
  ignores(path: string): boolean;
}

/** Parses .dockerignore text with Docker's rules (`**`, `!` exceptions, parent folders). */
export function dockerIgnore(text: string): DockerIgnore {
  // CommonJS: Deno hands over module.exports (the factory), which the .d.ts types as a namespace.
  const create = dockerignore as unknown as () => { add(text: string): DockerIgnore };
  return create().add(text);
}
