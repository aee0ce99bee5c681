/**
 * SVG charts of a capture's metrics (small multiples, one panel a series) and of a comparison
 * (baseline and candidate overlaid on the relative axis). Scales, ticks and path geometry come
 * from d3-scale and d3-shape; the same data always gives the same bytes (no clock, no randomness,
 * coordinates to 2 decimals).
 */
import { scaleLinear, scaleUtc } from "d3-scale";
import { line } from "d3-shape";
import type { CaptureMetrics } from "./capture_metrics.ts";
import type { Comparison, OffsetPoint } from "./compare.ts";
import { displayUnit } from "./catalogue.ts";

/** The media type of the chart answers. */
export const SVG_MEDIA_TYPE = "image/svg+xml; charset=utf-8";

const WIDTH = 800;
const PANEL_HEIGHT = 170;
const PANEL_GAP = 56;
const MARGIN = { top: 64, right: 24, bottom: 40, left: 80 };
const PLOT_WIDTH = WIDTH - MARGIN.left - MARGIN.right;
const COLORS = { baseline: "#1f77b4", candidate: "#d62728" } as const;

/** Escapes text for XML content and attribute values. */
const esc = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

const fixed = (n: number) => String(Math.round(n * 100) / 100);

/** A compact number for axis labels and descriptions (3 significant digits, SI-free). */
const num = (n: number) => Number(n.toPrecision(3)).toString();

interface Panel {
  heading: string;
  unit: string;
  lines: Array<{ name: string; color: string; dash?: string; points: Array<[number, number]> }>;
}

/** Y domain over every line of a panel, from 0 when all values are positive; [0, 1] when empty. */
function yDomain(panel: Panel): [number, number] {
  const values = panel.lines.flatMap((l) => l.points.map(([, v]) => v));
  if (values.length === 0) return [0, 1];
  const low = Math.min(0, ...values);
  const high = Math.max(...values);
  return low === high ? [low, low + 1] : [low, high];
}

function render(options: {
  title: string;
  subtitle: string;
  desc: string;
  xDomain: [number, number];
  xLabel: string;
  utc: boolean;
  /** Seconds per x tick unit on the relative axis: 60 (minutes) or 3600 (hours). */
  offsetUnit: number;
  panels: Panel[];
}): string {
  const { panels } = options;
  const height = MARGIN.top + panels.length * (PANEL_HEIGHT + PANEL_GAP) - PANEL_GAP +
    MARGIN.bottom;
  const x = options.utc
    ? scaleUtc().domain(options.xDomain.map((ms) => new Date(ms))).range([0, PLOT_WIDTH])
    : scaleLinear().domain(options.xDomain).range([0, PLOT_WIDTH]);
  // Relative ticks are nice in the unit shown (minutes or hours), not in seconds.
  const unit = options.offsetUnit;
  const xTicks = options.utc
    ? scaleUtc().domain(options.xDomain.map((ms) => new Date(ms))).ticks(6).map((d) => +d)
    : scaleLinear().domain(options.xDomain.map((s) => s / unit)).ticks(6).map((t) => t * unit);
  // A window over more than one UTC day shows the date with each time.
  const spansDays = options.utc &&
    new Date(options.xDomain[0]).toISOString().slice(0, 10) !==
      new Date(options.xDomain[1]).toISOString().slice(0, 10);
  const xFormat = options.utc
    ? (ms: number) => new Date(ms).toISOString().slice(spansDays ? 5 : 11, 16).replace("T", " ")
    : (seconds: number) => num(seconds / unit);
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" ` +
      `viewBox="0 0 ${WIDTH} ${height}" role="img" aria-labelledby="chart-title chart-desc" ` +
      `font-family="sans-serif" font-size="11">`,
    `<title id="chart-title">${esc(options.title)}</title>`,
    `<desc id="chart-desc">${esc(options.desc)}</desc>`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${MARGIN.left}" y="24" font-size="16" font-weight="bold">${
      esc(options.title)
    }</text>`,
    `<text x="${MARGIN.left}" y="42" fill="#555555">${esc(options.subtitle)}</text>`,
  );
  panels.forEach((panel, index) => {
    const top = MARGIN.top + index * (PANEL_HEIGHT + PANEL_GAP);
    const y = scaleLinear().domain(yDomain(panel)).range([PANEL_HEIGHT, 0]).nice();
    const path = line<[number, number]>()
      .x(([t]) => x(t))
      .y(([, v]) => y(v))
      .digits(2);
    out.push(`<g class="panel" transform="translate(${MARGIN.left},${top})">`);
    out.push(`<text x="0" y="-8" font-weight="bold">${esc(panel.heading)}</text>`);
    // Y axis: gridlines and labels at the nice ticks, the unit beside it.
    for (const tick of y.ticks(4)) {
      const at = fixed(y(tick));
      out.push(
        `<line x1="0" x2="${PLOT_WIDTH}" y1="${at}" y2="${at}" stroke="#e5e5e5"/>`,
        `<text x="-6" y="${at}" text-anchor="end" dominant-baseline="middle">${num(tick)}</text>`,
      );
    }
    out.push(
      `<text transform="translate(-62,${PANEL_HEIGHT / 2}) rotate(-90)" text-anchor="middle">${
        esc(panel.unit)
      }</text>`,
      `<line x1="0" x2="0" y1="0" y2="${PANEL_HEIGHT}" stroke="#333333"/>`,
      `<line x1="0" x2="${PLOT_WIDTH}" y1="${PANEL_HEIGHT}" y2="${PANEL_HEIGHT}" stroke="#333333"/>`,
    );
    for (const tick of xTicks) {
      const at = fixed(x(tick));
      out.push(
        `<line x1="${at}" x2="${at}" y1="${PANEL_HEIGHT}" y2="${
          PANEL_HEIGHT + 4
        }" stroke="#333333"/>`,
        `<text x="${at}" y="${PANEL_HEIGHT + 16}" text-anchor="middle">${xFormat(tick)}</text>`,
      );
    }
    out.push(
      `<text x="${PLOT_WIDTH / 2}" y="${PANEL_HEIGHT + 32}" text-anchor="middle">${
        esc(options.xLabel)
      }</text>`,
    );
    panel.lines.forEach((l, i) => {
      const dash = l.dash ? ` stroke-dasharray="${l.dash}"` : "";
      out.push(
        `<path class="series" data-series="${esc(l.name)}" data-points="${l.points.length}" ` +
          `d="${path(l.points) ?? ""}" fill="none" stroke="${l.color}" stroke-width="1.5"${dash}/>`,
      );
      if (panel.lines.length > 1) {
        const lx = PLOT_WIDTH - 150 + i * 75;
        out.push(
          `<line x1="${lx}" x2="${lx + 16}" y1="-12" y2="-12" stroke="${l.color}" ` +
            `stroke-width="2"${dash}/>`,
          `<text x="${lx + 20}" y="-8">${esc(l.name)}</text>`,
        );
      }
      // A single point draws no line: a marker shows it.
      if (l.points.length === 1) {
        const [[t, v]] = l.points;
        out.push(
          `<circle class="marker" cx="${fixed(x(t))}" cy="${
            fixed(y(v))
          }" r="3" fill="${l.color}"/>`,
        );
      }
      if (l.points.length === 0) {
        out.push(
          `<text x="${PLOT_WIDTH / 2}" y="${
            PANEL_HEIGHT / 2 + i * 14
          }" text-anchor="middle" fill="#888888">No ${esc(l.name)} data</text>`,
        );
      }
    });
    out.push(`</g>`);
  });
  out.push(`</svg>`);
  return out.join("\n") + "\n";
}

const utcText = (iso: string) => `${iso.slice(0, 16).replace("T", " ")} UTC`;

/** Small multiples of a capture's series over its window, times on a UTC axis. */
export function renderMetricsSvg(name: string, metrics: CaptureMetrics): string {
  const describe = metrics.series.map((s) => {
    const values = s.datapoints.map((p) => p.value);
    return values.length === 0
      ? `${s.label} (${displayUnit(s.type, s.unit)}): no data.`
      : `${s.label} (${displayUnit(s.type, s.unit)}): ${values.length} points, from ${
        num(Math.min(...values))
      } to ${num(Math.max(...values))}.`;
  });
  return render({
    title: `Capture "${name}" metrics`,
    subtitle: `${utcText(metrics.start)} – ${
      utcText(metrics.end)
    }; ${metrics.stat} per ${metrics.period} s`,
    desc:
      `${metrics.stat} of ${metrics.series.length} metrics of capture "${name}" (id ${metrics.captureId}) from ${
        utcText(metrics.start)
      } to ${utcText(metrics.end)}, one point every ${metrics.period} s. ${describe.join(" ")}`,
    xDomain: [Date.parse(metrics.start), Date.parse(metrics.end)],
    xLabel: "Time (UTC)",
    utc: true,
    offsetUnit: 1,
    panels: metrics.series.map((s) => ({
      heading: `${s.label} (${s.type})`,
      unit: displayUnit(s.type, s.unit),
      lines: [{
        name: s.type,
        color: COLORS.baseline,
        points: s.datapoints.map((p): [number, number] => [Date.parse(p.timestamp), p.value]),
      }],
    })),
  });
}

const asPairs = (points: OffsetPoint[]) => points.map((p): [number, number] => [p.offset, p.value]);

const percent = (relative: number | null) =>
  relative === null ? "n/a" : `${relative >= 0 ? "+" : ""}${num(relative * 100)} %`;

/** Baseline and candidate overlaid per series on the relative axis (minutes or hours since each start). */
export function renderComparisonSvg(comparison: Comparison): string {
  const { baseline, candidate } = comparison;
  const hours = comparison.commonDuration > 3 * 3600;
  const describe = comparison.series.map((s) => {
    const b = s.baseline.summary.mean;
    const c = s.candidate.summary.mean;
    return b === null || c === null
      ? `${s.label} (${displayUnit(s.type, s.unit)}): not enough data to compare.`
      : `${s.label} (${displayUnit(s.type, s.unit)}): mean ${num(b)} → ${num(c)} (${
        percent(s.change.mean.relative)
      }).`;
  });
  return render({
    title: `Capture "${candidate.name}" compared with "${baseline.name}"`,
    subtitle: `baseline ${utcText(baseline.start)}, candidate ${
      utcText(candidate.start)
    }; first ${comparison.commonDuration} s of each; ${comparison.stat} per ${comparison.period} s`,
    desc:
      `${comparison.stat} of capture "${candidate.name}" (candidate, id ${candidate.captureId}, ` +
      `from ${
        utcText(candidate.start)
      }) against "${baseline.name}" (baseline, id ${baseline.captureId}, from ${
        utcText(baseline.start)
      }) over the first ${comparison.commonDuration} s of each. ${describe.join(" ")}`,
    xDomain: [0, comparison.commonDuration],
    xLabel: `${hours ? "Hours" : "Minutes"} since each capture's start`,
    utc: false,
    offsetUnit: hours ? 3600 : 60,
    panels: comparison.series.map((s) => ({
      heading: `${s.label} (${s.type})`,
      unit: displayUnit(s.type, s.unit),
      lines: [
        { name: "baseline", color: COLORS.baseline, points: asPairs(s.baseline.datapoints) },
        {
          name: "candidate",
          color: COLORS.candidate,
          dash: "5 3",
          points: asPairs(s.candidate.datapoints),
        },
      ],
    })),
  });
}
