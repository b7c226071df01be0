// A token bucket: `take()` resolves when a token is free. Used for the client-side API rate limit
// and the work queue's overall rate.

export class TokenBucket {
  private tokens: number;
  private last = performance.now();
  private waiters: Array<() => void> = [];
  private timer: NodeJS.Timeout | undefined;

  private readonly ratePerSec: number;
  private readonly burst: number;

  constructor(ratePerSec: number, burst: number) {
    this.ratePerSec = ratePerSec;
    this.burst = burst;
    this.tokens = burst;
  }

  private refill() {
    const now = performance.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.ratePerSec);
    this.last = now;
  }

  take(): Promise<void> {
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiters.push(resolve);
      this.schedule();
    });
  }

  private schedule() {
    if (this.timer) return;
    const wait = Math.max(1, ((1 - this.tokens) / this.ratePerSec) * 1000);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.refill();
      while (this.waiters.length && this.tokens >= 1) {
        this.tokens -= 1;
        this.waiters.shift()?.();
      }
      if (this.waiters.length) this.schedule();
    }, wait);
  }
}
