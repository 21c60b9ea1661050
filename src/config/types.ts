/** The configuration after validation, with secrets resolved. */

export type RedisTarget =
  | { kind: 'tcp'; host: string; port: number; tls: boolean }
  | { kind: 'unix'; path: string };

export interface TlsSettings {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  serverName?: string;
  insecureSkipVerify: boolean;
}

export type PasswordSource = 'none' | 'inline' | 'file' | 'env' | 'url';

export interface JobConfig {
  name: string;
  /** The URL with any password removed: safe to log. */
  displayUrl: string;
  target: RedisTarget;
  username: string | undefined;
  /** Never log this. */
  password: string | undefined;
  passwordSource: PasswordSource;
  db: number;
  tls: TlsSettings | undefined;
  timeoutMs: number;
  pid: 'auto' | number | string;
  /** A container id prefix or name: the Redis process is looked for in that container. */
  container?: string | undefined;
}

export interface PluginConfig {
  updateEvery: number;
  jobs: JobConfig[];
  /** The file it came from, or `autodetect`, or `--url`. */
  source: string;
  warnings: string[];
  /** Set for a file that lists no jobs (no `jobs` key): the Redis servers are to be found by autodetection. */
  autodetect?: true;
}

export const DEFAULT_TIMEOUT_MS = 1000;
export const DEFAULT_UPDATE_EVERY = 1;
