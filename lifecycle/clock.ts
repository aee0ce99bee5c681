/** Where time comes from; tests pass one they can move. */
export type Clock = () => Date;

/** The wall clock. */
export const systemClock: Clock = () => new Date();

/** A clock tests can set and advance. */
export function manualClock(start: string | Date) {
  let now = new Date(start);
  const clock: Clock & { set(t: string | Date): void; advance(ms: number): void } = Object.assign(
    () => new Date(now),
    {
      set(t: string | Date) {
        now = new Date(t);
      },
      advance(ms: number) {
        now = new Date(now.getTime() + ms);
      },
    },
  );
  return clock;
}
