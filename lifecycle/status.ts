import type { CaptureStatus } from "../vocabulary.ts";

/** The stored fields that decide a capture's status; times in epoch milliseconds. */
export interface CaptureTimes {
  status: CaptureStatus;
  scheduledStart: number | null;
  start: number | null;
  end: number | null;
  /** Planned length in seconds; null runs until stopped. */
  duration: number | null;
}

/** What a capture is at a moment: its status and the window it has covered so far. */
export interface EffectiveCapture {
  status: CaptureStatus;
  start: number | null;
  end: number | null;
}

/**
 * A capture's status at `now`, from its stored fields alone: SCHEDULED until scheduledStart,
 * RUNNING until start + duration, then DONE. Reads apply it, so answers are right to the second
 * even when no sweeper has persisted the transition yet.
 */
export function statusAt(capture: CaptureTimes, now: number): EffectiveCapture {
  const { status } = capture;
  if (status === "DONE" || status === "FAILED") {
    return { status, start: capture.start, end: capture.end };
  }
  const start = capture.start ?? capture.scheduledStart;
  if (status === "SCHEDULED" && (start === null || now < start)) {
    return { status: "SCHEDULED", start: null, end: null };
  }
  const plannedEnd = plannedEndOf(capture);
  if (plannedEnd !== null && now >= plannedEnd) return { status: "DONE", start, end: plannedEnd };
  return { status: "RUNNING", start, end: null };
}

/** When the capture is planned to end (start or scheduledStart + duration), or null. */
export function plannedEndOf(capture: CaptureTimes): number | null {
  const start = capture.start ?? capture.scheduledStart;
  if (start === null || capture.duration === null) return null;
  return start + capture.duration * 1000;
}

/**
 * The first instant (epoch ms) after `now` at which statusAt(capture, ·) may answer differently
 * from statusAt(capture, now); Infinity when never. Between `now` and it, the status and the
 * window statusAt gives (and so every field of the capture's representation) stay the same.
 */
export function statusStableUntil(capture: CaptureTimes, now: number): number {
  const { status } = capture;
  if (status === "DONE" || status === "FAILED") return Infinity;
  const start = capture.start ?? capture.scheduledStart;
  if (status === "SCHEDULED") {
    if (start === null) return Infinity;
    if (now < start) return start;
  }
  const plannedEnd = plannedEndOf(capture);
  return plannedEnd !== null && now < plannedEnd ? plannedEnd : Infinity;
}
