/**
 * The thresholds operators use (SPEC §5). The doctor reads them here; health.d/redisfork.conf
 * states the same numbers, and a unit test keeps the two in step.
 */
export const THRESHOLDS = {
  forkLatencyWarnMs: 500,
  forkLatencyCritMs: 1000,
  forkMsPerGbWarn: 200,
  cowRatioWarnPercent: 50,
  /** The guide's rule: RSS above half of RAM without overcommit_memory=1. */
  overcommitRiskRssPercent: 50,
  commitHeadroomWarnPercent: 10,
  /** Room for new tasks under the pids limit, as a share of that limit. */
  tasksRoomWarnPercent: 10,
  memoryHeadroomWarnPercent: 80,
  memoryHeadroomCritPercent: 90,
  /** RSS + the expected copy-on-write of a save, as a share of the limit that applies. */
  saveFitWarnPercent: 90,
  saveFitCritPercent: 100,
  /** AnonHugePages that count: above both of these (the few MB mapped before Redis opts out do not). */
  thpAnonHugeMinBytes: 8 * 1024 * 1024,
  thpAnonHugeMinRssPercent: 5,
} as const;
