/**
 * How much a monotonic counter grew within a sliding window (e.g. OOM kills in the last 10
 * minutes). Computed here rather than with a Netdata `lookup`, so the alert is a plain threshold
 * that evaluates at once on Netdata 1.37 and 2.x alike. A counter that goes down (the cgroup was
 * recreated) restarts from zero.
 */
export class CounterWindow {
  private samples: { t: number; value: number }[] = [];

  constructor(private readonly windowMs: number) {}

  /** Adds a reading and answers the growth within the window, or undefined for no reading. */
  push(t: number, value: number | undefined): number | undefined {
    if (value === undefined) return undefined;
    const last = this.samples.at(-1);
    if (last !== undefined && value < last.value) this.samples = [];
    this.samples.push({ t, value });
    // Keep the newest sample at or before the window start as the baseline.
    while (this.samples.length > 1 && (this.samples[1]?.t ?? Infinity) <= t - this.windowMs) this.samples.shift();
    const baseline = this.samples[0]!;
    return value - baseline.value;
  }
}
