/**
 * The few CONFIG GET keys the diagnosis needs (SPEC §3), and their values as Redis reported them.
 * `appendonly` and `maxmemory` are not among them: INFO persistence (`aof_enabled`) and INFO
 * memory (`maxmemory`) carry the same every second.
 */
export const CONFIG_KEYS = ['save', 'stop-writes-on-bgsave-error', 'disable-thp', 'oom-score-adj'] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];
export type RedisConfigValues = Partial<Record<ConfigKey, string>>;
