/** The methods registered for a path, so an unsupported method answers 405 with Allow. */
export function allowedMethods(routes: { method: string; path: string }[], path: string) {
  const methods = new Set<string>();
  for (const route of routes) {
    if (route.method === "ALL" || route.path.includes("*")) continue;
    if (toRegExp(route.path).test(path)) methods.add(route.method);
  }
  if (methods.has("GET")) methods.add("HEAD");
  return [...methods].sort();
}

const cache = new Map<string, RegExp>();

function toRegExp(pattern: string): RegExp {
  let re = cache.get(pattern);
  if (!re) {
    const source = pattern.split("/").map((part) =>
      part.startsWith(":") ? "[^/]+" : part.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")
    ).join("/");
    re = new RegExp(`^${source}/?$`);
    cache.set(pattern, re);
  }
  return re;
}
