/**
 * One error hierarchy with stable `code`s. Callers branch on `code`, never on message text;
 * the original error, when there is one, rides along as `cause`.
 */
export type ErrorCode =
  | 'ERR_CONFIG_READ'
  | 'ERR_CONFIG_INVALID'
  | 'ERR_CONFIG_URL'
  | 'ERR_SECRET_READ'
  | 'ERR_REDIS_UNREACHABLE'
  | 'ERR_REDIS_AUTH'
  | 'ERR_REDIS_TIMEOUT'
  | 'ERR_REDIS_LOADING'
  | 'ERR_REDIS_DENIED'
  | 'ERR_REDIS_REPLY'
  | 'ERR_INTERNAL';

export class RedisforkError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'RedisforkError';
    this.code = code;
  }
}

/** A config problem, with the path inside the file (e.g. `jobs[1].url`). */
export interface ConfigProblem {
  path: string;
  message: string;
}

export class ConfigError extends RedisforkError {
  readonly problems: readonly ConfigProblem[];
  readonly file: string;
  constructor(file: string, problems: readonly ConfigProblem[], options?: { cause?: unknown; code?: ErrorCode }) {
    super(
      options?.code ?? 'ERR_CONFIG_INVALID',
      `${file}: ${problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ')}`,
      options?.cause === undefined ? undefined : { cause: options.cause },
    );
    this.name = 'ConfigError';
    this.problems = problems;
    this.file = file;
  }
}

/** A job URL that cannot be used; the message says what is wrong with it. */
export class UrlError extends RedisforkError {
  constructor(message: string) {
    super('ERR_CONFIG_URL', message);
    this.name = 'UrlError';
  }
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
