/** Parsing of job URLs: redis://, rediss://, unix://. Pure. */
import type { RedisTarget } from './types.ts';
import { UrlError } from '../errors.ts';

export interface ParsedUrl {
  target: RedisTarget;
  username: string | undefined;
  password: string | undefined;
  db: number;
  /** Without the password. */
  display: string;
}

export function parseRedisUrl(raw: string): ParsedUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UrlError('not a valid URL (expected redis://host:port, rediss://host:port or unix:///path)');
  }
  const username = url.username ? decodeURIComponent(url.username) : undefined;
  const password = url.password ? decodeURIComponent(url.password) : undefined;
  const safe = new URL(raw);
  if (safe.password) safe.password = '***';
  const display = safe.toString();
  if (url.protocol === 'unix:') {
    const path = decodeURIComponent(url.pathname);
    if (!path.startsWith('/')) throw new UrlError('a unix:// URL needs an absolute socket path');
    const dbParam = url.searchParams.get('db');
    return { target: { kind: 'unix', path }, username, password, db: parseDb(dbParam), display };
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') {
    throw new UrlError(`unsupported scheme "${url.protocol.replace(/:$/, '')}" (use redis, rediss or unix)`);
  }
  if (!url.hostname) throw new UrlError('the URL names no host');
  const port = url.port ? Number(url.port) : 6379;
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new UrlError(`port ${url.port} is out of range`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const dbPath = url.pathname.replace(/^\//, '');
  return {
    target: { kind: 'tcp', host, port, tls: url.protocol === 'rediss:' },
    username,
    password,
    db: parseDb(dbPath || url.searchParams.get('db')),
    display,
  };
}

function parseDb(raw: string | null): number {
  if (raw === null || raw === '') return 0;
  const db = Number(raw);
  if (!Number.isInteger(db) || db < 0) throw new UrlError(`database "${raw}" is not a number`);
  return db;
}
