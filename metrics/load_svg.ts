/**
 * The `view=load` chart of a comparison: one horizontal bar per capture (baseline, candidate),
 * stacked by its top waits' average active sessions on one shared scale (d3-scale), so a wait that
 * grew or appeared shows at a glance. Same data, same bytes (no clock, coordinates to 2 decimals).
 */
import { scaleLinear } from "d3-scale";
import type { Comparison } from "./compare.ts";
import type { LoadComparison } from "./compare_load.ts";

const WIDTH = 800;
const MARGIN = { top: 64, right: 24, bottom: 40, left: 120 };
const BAR_HEIGHT = 48;
const BAR_GAP = 28;
const LEGEND_ROW = 20;
/** The most waits drawn; the rest are stacked as "other". */
const SHOWN_WAITS = 8;
const PALETTE = [
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
];

const esc = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const fixed = (n: number) => String(Math.round(n * 100) / 100);
const num = (n: number) => Number(n.toPrecision(3)).toString();

/** The chart of a comparison whose `load` is available. */
export function renderLoadComparisonSvg(
  comparison: Comparison & { load: LoadComparison & { available: true } },
): string {
  const { load } = comparison;
  const shown = load.waits.slice(0, SHOWN_WAITS);
  const rest = load.waits.slice(SHOWN_WAITS);
  const segments = [
    ...shown.map((w, i) => ({ label: w.label, color: PALETTE[i], of: w })),
    ...(rest.length
      ? [{ label: `other (${rest.length})`, color: PALETTE[SHOWN_WAITS], of: undefined }]
      : []),
  ];
  const sideLoad = (side: "baseline" | "candidate", of: typeof shown[number] | undefined) =>
    of ? of[side]?.load ?? 0 : rest.reduce((total, w) => total + (w[side]?.load ?? 0), 0);
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const totals = (["baseline", "candidate"] as const).map((side) =>
    segments.reduce((total, s) => total + sideLoad(side, s.of), 0)
  );
  const x = scaleLinear().domain([0, Math.max(...totals, 1e-9)]).nice().range([0, plotWidth]);
  const barsBottom = MARGIN.top + 2 * BAR_HEIGHT + BAR_GAP;
  const height = barsBottom + 36 + segments.length * LEGEND_ROW + MARGIN.bottom;
  const out: string[] = [];
  const title =
    `Capture "${comparison.candidate.name}" compared with "${comparison.baseline.name}": database load by wait`;
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="chart-title chart-desc" font-family="sans-serif" font-size="12">`,
    `<title id="chart-title">${esc(title)}</title>`,
    `<desc id="chart-desc">${
      esc(
        `Average active sessions stacked by wait event: baseline ${num(totals[0])}, candidate ${
          num(totals[1])
        }`,
      )
    }</desc>`,
    `<text x="${MARGIN.left}" y="24" font-size="15" font-weight="bold">${esc(title)}</text>`,
    `<text x="${MARGIN.left}" y="44" fill="#555">Average active sessions (Performance Insights db.load.avg) over each capture</text>`,
  );
  (["baseline", "candidate"] as const).forEach((side, row) => {
    const y = MARGIN.top + row * (BAR_HEIGHT + BAR_GAP);
    const name = side === "baseline" ? comparison.baseline.name : comparison.candidate.name;
    out.push(
      `<text x="${MARGIN.left - 8}" y="${fixed(y + BAR_HEIGHT / 2 + 4)}" text-anchor="end">${
        esc(`${side}: ${name}`.slice(0, 40))
      }</text>`,
    );
    let at = 0;
    for (const s of segments) {
      const value = sideLoad(side, s.of);
      if (value <= 0) continue;
      out.push(
        `<rect x="${fixed(MARGIN.left + x(at))}" y="${y}" width="${
          fixed(x(at + value) - x(at))
        }" height="${BAR_HEIGHT}" fill="${s.color}"><title>${
          esc(`${s.label}: ${num(value)}`)
        }</title></rect>`,
      );
      at += value;
    }
  });
  for (const tick of x.ticks(5)) {
    const tx = fixed(MARGIN.left + x(tick));
    out.push(
      `<line x1="${tx}" x2="${tx}" y1="${barsBottom}" y2="${barsBottom + 5}" stroke="#333"/>`,
      `<text x="${tx}" y="${barsBottom + 18}" text-anchor="middle">${num(tick)}</text>`,
    );
  }
  segments.forEach((s, i) => {
    const y = barsBottom + 36 + i * LEGEND_ROW;
    out.push(
      `<rect x="${MARGIN.left}" y="${y}" width="12" height="12" fill="${s.color}"/>`,
      `<text x="${MARGIN.left + 18}" y="${y + 10}">${
        esc(
          `${s.label}: ${num(sideLoad("baseline", s.of))} → ${num(sideLoad("candidate", s.of))}`,
        )
      }</text>`,
    );
  });
  out.push("</svg>");
  return out.join("\n") + "\n";
}
