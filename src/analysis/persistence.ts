/** Redis's own rules about saves and refused writes (SPEC §6). Pure. */
import type { RedisInfo } from '../redis/info.ts';
import type { RedisConfigValues } from '../model/redis-config.ts';

/** `save ""` disables RDB snapshots; anything else lists save points. undefined: unknown. */
export function savePointsSet(config: RedisConfigValues | undefined): boolean | undefined {
  const save = config?.save;
  if (save === undefined) return undefined;
  return save.trim() !== '';
}

function yes(value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  return value.trim().toLowerCase() === 'yes';
}

/**
 * Writes are refused (-MISCONF) when stop-writes-on-bgsave-error is yes and save points are set
 * and the last bgsave failed, or when AOF is on and its last write failed. An AOF-rewrite failure
 * never refuses writes. undefined: cannot tell (CONFIG unavailable while a save failed).
 */
export function writesRefused(info: RedisInfo, config: RedisConfigValues | undefined): boolean | undefined {
  if (info.aofEnabled && info.aofLastWriteOk === false) return true;
  if (info.rdbLastBgsaveOk !== false) return info.rdbLastBgsaveOk === undefined ? undefined : false;
  const stopWrites = yes(config?.['stop-writes-on-bgsave-error']);
  const savePoints = savePointsSet(config);
  if (stopWrites === undefined || savePoints === undefined) return undefined;
  return stopWrites && savePoints;
}

/** Failures go silent: save points set but stop-writes-on-bgsave-error no. */
export function failureMasked(config: RedisConfigValues | undefined): boolean | undefined {
  const stopWrites = yes(config?.['stop-writes-on-bgsave-error']);
  const savePoints = savePointsSet(config);
  if (stopWrites === undefined || savePoints === undefined) return undefined;
  return savePoints && !stopWrites;
}
