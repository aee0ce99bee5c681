/** Reading GetMetricData answers defensively and merging their pages into series. */
import { metricInfo, type MetricType, metricTypeForQueryId } from "./catalogue.ts";

/** One point of a series; `timestamp` is ISO-8601 UTC. */
export interface Datapoint {
  timestamp: string;
  value: number;
}

/** One metric's points over the window, ascending. */
export interface MetricSeries {
  type: MetricType;
  label: string;
  unit: string;
  /** False when CloudWatch said its data is partial or failed (PartialData, InternalError). */
  complete: boolean;
  datapoints: Datapoint[];
}

/** Every requested series, plus CloudWatch's own remarks. */
export interface MetricDataResult {
  series: MetricSeries[];
  complete: boolean;
  messages: string[];
}

interface Accumulated {
  points: Map<number, number>;
  status?: string;
  messages: string[];
}

/** The most CloudWatch messages one call keeps; the rest are counted. */
export const MAX_MESSAGES = 20;

/** The window a call asked for: epoch seconds (UTC) and its period (s). */
export interface MergeWindow {
  startTime: number;
  endTime: number;
  period: number;
}

/**
 * Collects the pages of one GetMetricData call, keyed by query Id. Only what the call asked for
 * is kept, whatever an upstream sends: points inside the window (at most one a period per series)
 * and MAX_MESSAGES messages.
 */
export class PageMerger {
  #byType = new Map<MetricType, Accumulated>();
  #messages: string[] = [];
  #droppedMessages = 0;
  #window?: { startMs: number; endMs: number; maxPoints: number };

  constructor(readonly metrics: MetricType[], window?: MergeWindow) {
    for (const type of metrics) this.#byType.set(type, { points: new Map(), messages: [] });
    if (window) {
      this.#window = {
        startMs: window.startTime * 1000,
        endMs: window.endTime * 1000,
        maxPoints: Math.ceil((window.endTime - window.startTime) / window.period) + 1,
      };
    }
  }

  /** Keeps `messages` while fewer than MAX_MESSAGES are kept in all; counts the rest. */
  #keep(into: string[], messages: string[]): void {
    for (const message of messages) {
      if (this.#keptMessages() < MAX_MESSAGES) into.push(message);
      else this.#droppedMessages++;
    }
  }

  #keptMessages(): number {
    let kept = this.#messages.length;
    for (const acc of this.#byType.values()) kept += acc.messages.length;
    return kept;
  }

  /** Adds one parsed page; returns its NextToken, if any. */
  add(page: Record<string, unknown>): string | undefined {
    this.#keep(this.#messages, readMessages(page.Messages));
    for (const raw of asArray(page.MetricDataResults)) {
      if (!isObject(raw) || typeof raw.Id !== "string") continue;
      const type = metricTypeForQueryId(raw.Id);
      const acc = type && this.#byType.get(type);
      if (!type || !acc) continue;
      if (typeof raw.StatusCode === "string") acc.status = raw.StatusCode;
      this.#keep(acc.messages, readMessages(raw.Messages).map((m) => `${type}: ${m}`));
      const timestamps = asArray(raw.Timestamps);
      const values = asArray(raw.Values);
      const window = this.#window;
      for (let i = 0; i < Math.min(timestamps.length, values.length); i++) {
        const ms = epochMillis(timestamps[i]);
        const value = values[i];
        // "NaN" and "Infinity" arrive as strings under AWS JSON; JSON has no place for them.
        if (ms === undefined || typeof value !== "number" || !Number.isFinite(value)) continue;
        if (window) {
          if (ms < window.startMs || ms > window.endMs) continue;
          if (acc.points.size >= window.maxPoints && !acc.points.has(ms)) continue;
        }
        acc.points.set(ms, value);
      }
    }
    const token = page.NextToken;
    return typeof token === "string" && token !== "" ? token : undefined;
  }

  /** The first query whose final status is Forbidden, with CloudWatch's messages for it. */
  forbidden(): { type: MetricType; messages: string[] } | undefined {
    for (const [type, acc] of this.#byType) {
      if (acc.status === "Forbidden") return { type, messages: acc.messages };
    }
    return undefined;
  }

  /** Notes something about the whole call, such as stopping before the last page. */
  note(message: string): void {
    this.#messages.push(message);
  }

  /** The messages an upstream sent past MAX_MESSAGES, which were not kept. */
  get droppedMessages(): number {
    return this.#droppedMessages;
  }

  /** The merged result; `extraIncomplete` marks every series incomplete (pages left unread). */
  result(extraIncomplete = false): MetricDataResult {
    const messages = [...this.#messages];
    const series = [...this.#byType].map(([type, acc]): MetricSeries => {
      for (const message of acc.messages) messages.push(message);
      if (acc.status === undefined) messages.push(`${type}: CloudWatch returned no result`);
      const complete = !extraIncomplete && acc.status !== undefined &&
        acc.status !== "PartialData" && acc.status !== "InternalError";
      const { label, unit } = metricInfo(type);
      const datapoints = [...acc.points]
        .sort(([a], [b]) => a - b)
        .map(([ms, value]) => ({ timestamp: new Date(ms).toISOString(), value }));
      return { type, label, unit, complete, datapoints };
    });
    if (this.#droppedMessages > 0) {
      messages.push(`and ${this.#droppedMessages} more messages from CloudWatch`);
    }
    return { series, complete: series.every((s) => s.complete), messages };
  }
}

/** Epoch seconds (a number, possibly fractional or in exponent form, or a numeric string) in ms. */
function epochMillis(raw: unknown): number | undefined {
  const seconds = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : NaN;
  if (!Number.isFinite(seconds) || (typeof raw === "string" && raw.trim() === "")) return undefined;
  const ms = Math.round(seconds * 1000);
  return Number.isFinite(new Date(ms).getTime()) ? ms : undefined;
}

function readMessages(raw: unknown): string[] {
  return asArray(raw).flatMap((m) => {
    if (!isObject(m)) return [];
    const code = typeof m.Code === "string" ? m.Code : "";
    const value = typeof m.Value === "string" ? m.Value : "";
    return code || value ? [code && value ? `${code}: ${value}` : code || value] : [];
  });
}

function asArray(raw: unknown): unknown[] {
  return Array.isArray(raw) ? raw : [];
}

function isObject(raw: unknown): raw is Record<string, unknown> {
  return raw !== null && typeof raw === "object" && !Array.isArray(raw);
}
