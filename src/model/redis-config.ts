/** The few CONFIG GET keys the diagnosis needs (SPEC §3), and their values as Redis reported them. */
export const CONFIG_KEYS = ['save', 'stop-writes-on-bgsave-error', 'appendonly', 'disable-thp', 'maxmemory', 'oom-score-adj'] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];
export type RedisConfigValues = Partial<Record<ConfigKey, string>>;
