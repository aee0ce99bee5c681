/** Rules for the statistic and period of a metrics query; pure, no I/O. */

/** The most points a series gets when the period is chosen for the caller. */
export const DEFAULT_MAX_POINTS = 1440;

/** The most points a series may have when the caller asks for a period. */
export const EXPLICIT_MAX_POINTS = 10_080;

const DAY_MS = 86_400_000;

// CloudWatch keeps 1-minute data 15 days, 5-minute data 63 days and 1-hour data 455 days;
// past each age only the coarser resolution is left, so the period must be its multiple.
const RETENTION = [
  { maxAgeDays: 15, multiple: 60, kept: "1-minute data is kept 15 days" },
  { maxAgeDays: 63, multiple: 300, kept: "5-minute data is kept 63 days" },
  { maxAgeDays: 455, multiple: 3600, kept: "1-hour data is kept 455 days" },
] as const;

/** CloudWatch's named statistics; a percentile (p99, p99.9) is the other kind of stat. */
export const NAMED_STATS = ["Average", "Minimum", "Maximum", "Sum", "SampleCount"] as const;
export type NamedStat = typeof NAMED_STATS[number];

/** The stats a metrics query accepts, in words, for documents and problem messages. */
export const STAT_RULE = `${NAMED_STATS.join(", ")}, or a percentile such as p99`;

/** True for a named stat (exact case) and percentiles such as p50 or p99.9. */
export function isValidStat(stat: string): boolean {
  if ((NAMED_STATS as readonly string[]).includes(stat)) return true;
  // CloudWatch takes up to two decimals (p99.99); the value must lie strictly between 0 and 100.
  const m = /^p(0|[1-9]\d?)(\.\d{1,2})?$/.exec(stat);
  if (!m) return false;
  const value = Number(stat.slice(1));
  return value > 0 && value < 100;
}

/** Stat names are case-sensitive at CloudWatch; "average" or "P99" is taken as a courtesy. */
export function normaliseStat(stat: string): string {
  const named = NAMED_STATS.find((s) => s.toLowerCase() === stat.toLowerCase());
  return named ?? stat.replace(/^P/, "p");
}

/**
 * The outcome of choosing a period: the period in seconds, or why none fits. `gone` says the
 * window is older than anything CloudWatch keeps, so no period at all would do.
 */
export type PeriodChoice =
  | { ok: true; period: number }
  | { ok: false; gone: boolean; message: string };

/** The query window `[startTime, endTime)` in epoch seconds; points fall at `startTime + k·period`. */
export interface AlignedWindow {
  startTime: number;
  endTime: number;
}

/**
 * How CloudWatch rounds a StartTime down, in seconds: to the minute under 15 days old, to 5
 * minutes up to 63 days, to the hour beyond (reference cloudwatch.md §2.2).
 */
export function startRounding(start: Date, now: Date): number {
  const ageMs = now.getTime() - start.getTime();
  return RETENTION.find((t) => ageMs <= t.maxAgeDays * DAY_MS)?.multiple ?? 3600;
}

/**
 * The query window for `[start, end)`: it starts at the start's minute and its periods count from
 * there, so no point is stamped before the capture started. CloudWatch rounds an older StartTime
 * down to 5 minutes or an hour, which would stamp the first point earlier, so with `now` such a
 * start is moved up to the next boundary instead. Without `now` the window is taken as recent.
 */
export function alignWindow(start: Date, end: Date, period: number, now?: Date): AlignedWindow {
  const rounding = now ? startRounding(start, now) : 60;
  const startMinute = Math.floor(start.getTime() / 60_000) * 60;
  const startTime = Math.ceil(startMinute / rounding) * rounding;
  // CloudWatch rejects StartTime >= EndTime, and a window that just opened still has one period.
  const periods = Math.max(1, Math.ceil((end.getTime() / 1000 - startTime) / period));
  return { startTime, endTime: startTime + periods * period };
}

/** How many points one series has over the aligned window. */
export function pointCount(start: Date, end: Date, period: number, now?: Date): number {
  const { startTime, endTime } = alignWindow(start, end, period, now);
  return (endTime - startTime) / period;
}

/**
 * The period for a window: the caller's, checked, or the smallest one that keeps a series within
 * 1,440 points and within what CloudWatch still keeps for the window's age.
 */
export function choosePeriod(
  input: { start: Date; end: Date; now: Date; requested?: number },
): PeriodChoice {
  const { start, end, now, requested } = input;
  if (end.getTime() < start.getTime()) {
    return { ok: false, gone: false, message: "The window ends before it starts" };
  }
  const ageMs = now.getTime() - start.getTime();
  const tier = RETENTION.find((t) => ageMs <= t.maxAgeDays * DAY_MS);
  if (!tier) {
    return {
      ok: false,
      gone: true,
      message: `CloudWatch keeps metrics for 455 days; this window starts ${
        daysAgo(ageMs)
      } days ago, so CloudWatch no longer has its data`,
    };
  }
  if (requested === undefined) {
    return {
      ok: true,
      period: smallestPeriod(start, end, now, tier.multiple, DEFAULT_MAX_POINTS),
    };
  }
  if (!Number.isInteger(requested) || requested <= 0 || requested % 60 !== 0) {
    return {
      ok: false,
      gone: false,
      message: `period must be a positive multiple of 60 seconds (got ${requested})`,
    };
  }
  if (requested % tier.multiple !== 0) {
    const previous = RETENTION[RETENTION.indexOf(tier) - 1];
    return {
      ok: false,
      gone: false,
      message: `${previous.kept}; this window starts ${
        daysAgo(ageMs)
      } days ago, use a period that is a multiple of ${tier.multiple}`,
    };
  }
  const points = pointCount(start, end, requested, now);
  if (points > EXPLICIT_MAX_POINTS) {
    const least = smallestPeriod(start, end, now, tier.multiple, EXPLICIT_MAX_POINTS);
    return {
      ok: false,
      gone: false,
      message:
        `period ${requested} gives ${points} points per series; the most is ${EXPLICIT_MAX_POINTS}, ` +
        `use a period of at least ${least}`,
    };
  }
  return { ok: true, period: requested };
}

function smallestPeriod(
  start: Date,
  end: Date,
  now: Date,
  multiple: number,
  maxPoints: number,
): number {
  const spanSeconds = (end.getTime() - start.getTime()) / 1000;
  let period = Math.max(1, Math.ceil(spanSeconds / maxPoints / multiple)) * multiple;
  // The last period can reach past the end, so step up until the aligned count fits.
  while (pointCount(start, end, period, now) > maxPoints) period += multiple;
  return period;
}

function daysAgo(ageMs: number): string {
  const days = ageMs / DAY_MS;
  return String(days < 100 ? Math.floor(days * 10) / 10 : Math.floor(days));
}
