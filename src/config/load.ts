/**
 * Reads and validates `redisfork.conf` (YAML) against `schema.json`, then resolves secrets.
 * Every problem is reported with its path in the file; nothing is thrown half-way.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { ErrorObject } from 'ajv';
import { parseDocument } from 'yaml';
import type schema from './schema.json';
import { validateConfig, validateJob } from './validators.generated.js';
import { ConfigError, type ConfigProblem, errorMessage } from '../errors.ts';
import { sanitizeJobName } from '../../charts/catalog.ts';
import { parseRedisUrl } from './url.ts';
import {
  DEFAULT_TIMEOUT_MS,
  DEFAULT_UPDATE_EVERY,
  type JobConfig,
  type PasswordSource,
  type PluginConfig,
  type TlsSettings,
} from './types.ts';

export const CONFIG_FILE_NAME = 'redisfork.conf';

interface RawJob {
  name: string;
  url: string;
  username?: string;
  password?: string;
  password_file?: string;
  password_env?: string;
  tls?: { ca_file?: string; cert_file?: string; key_file?: string; server_name?: string; insecure_skip_verify?: boolean };
  timeout_ms?: number;
  pid?: 'auto' | number | string;
  container?: string;
}

/** RawJob and RawConfig must name exactly the keys schema.json allows: checked by the compiler here. */
type SameKeys<A, B> = [Exclude<keyof A, keyof B>, Exclude<keyof B, keyof A>] extends [never, never] ? true : false;
const jobKeysAgree: SameKeys<RawJob, typeof schema.definitions.job.properties> = true;
const configKeysAgree: SameKeys<RawConfig, typeof schema.properties> = true;
void [jobKeysAgree, configKeysAgree];

interface RawConfig {
  update_every?: number;
  jobs?: RawJob[];
}

/**
 * The schema's validators, compiled at build time (scripts/gen-validators.mjs) rather than by ajv at
 * every start. `validateJob` checks one job alone: so that the jobs that are well-formed get their
 * deeper checks even when others are not.
 */
const validateSchema = validateConfig;

/** Where Netdata keeps configs: user dir first, then the stock dir (SPEC §2). */
export function configSearchPath(env: NodeJS.ProcessEnv = process.env): string[] {
  const dirs = [env.NETDATA_USER_CONFIG_DIR, env.NETDATA_STOCK_CONFIG_DIR].filter((d): d is string => !!d);
  // Run by hand, outside Netdata, the variables are unset: look where Debian and upstream keep them.
  if (dirs.length === 0) dirs.push('/etc/netdata', '/usr/lib/netdata/conf.d', '/opt/netdata/etc/netdata');
  return dirs.map((dir) => join(dir, CONFIG_FILE_NAME));
}

export function findConfigFile(env: NodeJS.ProcessEnv = process.env): string | undefined {
  return configSearchPath(env).find((file) => {
    try {
      return statSync(file).isFile();
    } catch {
      return false;
    }
  });
}

export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env): PluginConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(file, [{ path: '', message: `cannot read the file: ${errorMessage(err)}` }], {
      cause: err,
      code: 'ERR_CONFIG_READ',
    });
  }
  return parseConfigText(text, file, env);
}

export function parseConfigText(text: string, file: string, env: NodeJS.ProcessEnv = process.env): PluginConfig {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      file,
      doc.errors.map((e) => ({
        path: e.linePos ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : '',
        message: `invalid YAML: ${e.message.split('\n')[0]}`,
      })),
    );
  }
  const raw: unknown = doc.toJS() ?? {};
  const schemaOk = validateSchema(raw);
  const shapeProblems = schemaOk ? [] : schemaProblems(validateSchema.errors ?? []);
  // Every problem in one message: the deeper checks (duplicate names, password files, URLs) run on
  // the well-formed jobs even when the file as a whole fails the schema.
  const rawJobs: unknown[] = typeof raw === 'object' && raw !== null && Array.isArray((raw as RawConfig).jobs) ? ((raw as RawConfig).jobs as unknown[]) : [];
  const resolved = resolveJobs(rawJobs, env);
  const problems = [...shapeProblems, ...resolved.problems];
  // A file without a `jobs` key (the stock example, all of it commented) leaves finding Redis to
  // autodetection; a `jobs` list with nothing in it is a mistake.
  const listsJobs = typeof raw === 'object' && raw !== null && 'jobs' in raw;
  if (schemaOk && listsJobs && rawJobs.length === 0) problems.push({ path: 'jobs', message: 'no jobs: list at least one Redis, or remove the key to let the plugin find them' });
  if (problems.length > 0) throw new ConfigError(file, problems);
  const config: PluginConfig = { updateEvery: (raw as RawConfig).update_every ?? DEFAULT_UPDATE_EVERY, jobs: resolved.jobs, source: file, warnings: resolved.warnings };
  return listsJobs ? config : { ...config, autodetect: true };
}

/** `/jobs/1/url` -> `jobs[1].url` */
export function jsonPointerToPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((part) => part.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : path ? `${path}.${part}` : part), '');
}

function schemaProblems(errors: ErrorObject[]): ConfigProblem[] {
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    let path = jsonPointerToPath(error.instancePath);
    let message: string;
    if (error.keyword === 'additionalProperties') {
      const key = String((error.params as { additionalProperty: string }).additionalProperty);
      path = path ? `${path}.${key}` : key;
      message = 'unknown key';
    } else if (error.keyword === 'required') {
      const key = String((error.params as { missingProperty: string }).missingProperty);
      path = path ? `${path}.${key}` : key;
      message = 'is required';
    } else if (error.instancePath.endsWith('/pid')) {
      message = 'must be "auto", a process id, or an absolute pidfile path';
    } else if (error.keyword === 'pattern' && error.instancePath.endsWith('/url')) {
      message = 'must start with redis://, rediss:// or unix://';
    } else {
      message = error.message ?? error.keyword;
    }
    const key = `${path}\0${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push({ path, message });
  }
  return problems;
}

function resolveJobs(rawJobs: unknown[], env: NodeJS.ProcessEnv): { jobs: JobConfig[]; problems: ConfigProblem[]; warnings: string[] } {
  const problems: ConfigProblem[] = [];
  const warnings: string[] = [];
  const jobs: JobConfig[] = [];
  const chartTypes = new Map<string, string>();
  rawJobs.forEach((job, index) => {
    const at = (key: string) => `jobs[${index}]${key ? `.${key}` : ''}`;
    const name = (job as { name?: unknown } | null)?.name;
    if (typeof name === 'string') {
      const sanitized = sanitizeJobName(name);
      const clash = chartTypes.get(sanitized);
      if (clash !== undefined) {
        problems.push({ path: at('name'), message: clash === name ? `duplicate job name "${name}"` : `"${name}" and "${clash}" give the same chart id` });
      } else {
        chartTypes.set(sanitized, name);
      }
    }
    if (!validateJob(job)) return;
    const resolvedJob = resolveJob(job as RawJob, at, env, problems, warnings);
    if (resolvedJob) jobs.push(resolvedJob);
  });
  return { jobs, problems, warnings };
}

function resolveJob(
  job: RawJob,
  at: (key: string) => string,
  env: NodeJS.ProcessEnv,
  problems: ConfigProblem[],
  warnings: string[],
): JobConfig | undefined {
  const before = problems.length;
  let parsed: ReturnType<typeof parseRedisUrl> | undefined;
  try {
    parsed = parseRedisUrl(job.url);
  } catch (err) {
    problems.push({ path: at('url'), message: errorMessage(err) });
  }

  const sources = (['password', 'password_file', 'password_env'] as const).filter((key) => job[key] !== undefined);
  if (sources.length > 1) problems.push({ path: at(sources[1] ?? ''), message: `use only one of ${sources.join(', ')}` });
  if (sources.length > 0 && parsed?.password !== undefined) {
    problems.push({ path: at('url'), message: `the URL holds a password and ${sources[0]} is set too; keep one` });
  }

  let password: string | undefined = parsed?.password;
  let passwordSource: PasswordSource = password === undefined ? 'none' : 'url';
  if (job.password !== undefined) {
    password = job.password;
    passwordSource = 'inline';
  } else if (job.password_file !== undefined) {
    const secret = readSecretFile(job.password_file, at('password_file'), problems, warnings);
    if (secret !== undefined) {
      password = secret;
      passwordSource = 'file';
    }
  } else if (job.password_env !== undefined) {
    const value = env[job.password_env];
    if (value === undefined) problems.push({ path: at('password_env'), message: `environment variable ${job.password_env} is not set` });
    else {
      password = value;
      passwordSource = 'env';
    }
  }

  let tls: TlsSettings | undefined;
  if (job.tls !== undefined) {
    if (parsed && !(parsed.target.kind === 'tcp' && parsed.target.tls)) {
      problems.push({ path: at('tls'), message: 'TLS settings need a rediss:// URL' });
    }
    tls = { insecureSkipVerify: job.tls.insecure_skip_verify ?? false };
    const readPem = (key: 'ca_file' | 'cert_file' | 'key_file') => {
      const path = job.tls?.[key];
      if (path === undefined) return undefined;
      try {
        return readFileSync(path);
      } catch (err) {
        problems.push({ path: at(`tls.${key}`), message: `cannot read ${path}: ${errorMessage(err)}` });
        return undefined;
      }
    };
    const ca = readPem('ca_file');
    const cert = readPem('cert_file');
    const key = readPem('key_file');
    if (ca) tls.ca = ca;
    if (cert) tls.cert = cert;
    if (key) tls.key = key;
    if ((job.tls.cert_file === undefined) !== (job.tls.key_file === undefined)) {
      problems.push({ path: at('tls'), message: 'cert_file and key_file go together' });
    }
    if (job.tls.server_name !== undefined) tls.serverName = job.tls.server_name;
  } else if (parsed?.target.kind === 'tcp' && parsed.target.tls) {
    tls = { insecureSkipVerify: false };
  }

  if (problems.length > before || parsed === undefined) return undefined;
  return {
    name: job.name,
    displayUrl: parsed.display,
    target: parsed.target,
    username: job.username ?? parsed.username,
    password,
    passwordSource,
    db: parsed.db,
    tls,
    timeoutMs: job.timeout_ms ?? DEFAULT_TIMEOUT_MS,
    pid: job.pid ?? 'auto',
    ...(job.container === undefined ? {} : { container: job.container }),
  };
}

function readSecretFile(path: string, at: string, problems: ConfigProblem[], warnings: string[]): string | undefined {
  try {
    const stat = statSync(path);
    if ((stat.mode & 0o004) !== 0) {
      warnings.push(`${at}: ${path} is readable by every user; chmod 640 it (owner root, group netdata)`);
    }
    // One trailing newline is what `echo secret > file` leaves; it is not part of the password.
    return readFileSync(path, 'utf8').replace(/\r?\n$/, '');
  } catch (err) {
    problems.push({ path: at, message: `cannot read ${path}: ${(err as NodeJS.ErrnoException).code ?? errorMessage(err)}` });
    return undefined;
  }
}

/** A config for one URL given on the command line (`--url`). */
export function configFromUrl(url: string, updateEvery: number, timeoutMs = DEFAULT_TIMEOUT_MS): PluginConfig {
  const text = JSON.stringify({ update_every: updateEvery, jobs: [{ name: jobNameForUrl(url), url, timeout_ms: timeoutMs }] });
  return parseConfigText(text, '--url');
}

/** `redis://127.0.0.1:6380` -> `127_0_0_1_6380`; `unix:///run/redis/redis.sock` -> `redis_sock`. */
export function jobNameForUrl(url: string): string {
  try {
    const { target } = parseRedisUrl(url);
    if (target.kind === 'unix') return sanitizeJobName(target.path.split('/').pop() ?? 'unix');
    return sanitizeJobName(`${target.host}_${target.port}`);
  } catch {
    return 'cli';
  }
}
