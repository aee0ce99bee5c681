/** Reading the few leaf fields capwatch needs from AWS Query-protocol XML answers (STS, RDS). */

/** The text of the first `<name>` element, XML entities decoded; undefined when absent. */
export function xmlField(xml: string, name: string): string | undefined {
  const raw = new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];
  if (raw === undefined) return undefined;
  return raw.replace(/&(#x[0-9a-fA-F]+|#\d+|amp|lt|gt|quot|apos);/g, (_, entity: string) => {
    if (entity[0] === "#") {
      const code = entity[1] === "x" ? parseInt(entity.slice(2), 16) : Number(entity.slice(1));
      return String.fromCodePoint(code);
    }
    return { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" }[entity]!;
  });
}

/** The inner text of each `<name>…</name>` block, in order (non-nested elements only). */
export function xmlBlocks(xml: string, name: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`<${name}>([\\s\\S]*?)</${name}>`, "g");
  for (const m of xml.matchAll(re)) out.push(m[1]);
  return out;
}
