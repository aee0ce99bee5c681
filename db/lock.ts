/**
 * A FIFO async lock: `acquire` resolves with the function that releases it. `tryAcquire` takes a
 * free lock at once without allocating a promise (the uncontended case on the hot path).
 */
export class Lock {
  #held = false;
  #waiters: (() => void)[] = [];

  /** The release function when the lock was free (and is now held), else undefined. */
  tryAcquire(): (() => void) | undefined {
    if (this.#held) return undefined;
    this.#held = true;
    return this.#releaser();
  }

  acquire(): Promise<() => void> {
    const release = this.tryAcquire();
    if (release) return Promise.resolve(release);
    return new Promise((resolve) => this.#waiters.push(() => resolve(this.#releaser())));
  }

  /** A release that acts once: a second call must not free a later holder's turn. */
  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiters.shift();
      // Handed straight to the next waiter, so the lock never looks free while one waits.
      if (next) next();
      else this.#held = false;
    };
  }
}
