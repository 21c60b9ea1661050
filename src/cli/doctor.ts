/**
 * `doctor`: the diagnosis for people (or --json for machines), live from the configured Redis
 * servers, or offline from a saved `redis-cli INFO all` and optionally a copy of the host files.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';
import { diagnose, doctorExitCode, formatDiagnoses, type Diagnosis } from '../analysis/doctor.ts';
import { Collector } from '../collector/runner.ts';
import { diagnoseJob } from '../collector/diagnose.ts';
import { HostFs, readKernelFacts, readProcessFacts } from '../host/read.ts';
import { parseRedisInfo } from '../redis/info.ts';
import type { KernelFacts } from '../host/facts.ts';
import { strictRoom, type OwnFootprint } from '../analysis/own-footprint.ts';
import { ConfigError, errorMessage } from '../errors.ts';
import { resolveConfig, type SourceOptions } from './settings.ts';

export interface DoctorOptions extends SourceOptions {
  json?: boolean;
  info?: string;
  hostRoot?: string;
}

export async function runDoctor(options: DoctorOptions, logger: Logger, write: (text: string) => void): Promise<number> {
  let diagnoses: Diagnosis[];
  let kernel: KernelFacts | undefined;
  try {
    if (options.info !== undefined) diagnoses = [offlineDiagnosis(options.info, options.hostRoot)];
    else ({ diagnoses, kernel } = await liveDiagnoses(options, logger));
  } catch (err) {
    const message = err instanceof ConfigError ? `invalid configuration: ${err.message}` : errorMessage(err);
    if (options.json) write(`${JSON.stringify({ error: message, exit: 2 }, null, 2)}\n`);
    else write(`doctor could not look: ${message}\n`);
    return 2;
  }
  const exit = doctorExitCode(diagnoses);
  // Live only: the kernel facts the collection read, and this process's own charge.
  const tight = kernel === undefined ? undefined : strictRoom(kernel, ownFootprint());
  if (options.json) write(`${JSON.stringify({ instances: diagnoses, exit, ...(tight ? { note: tight.note, tightRoom: { roomBytes: tight.roomBytes, neededBytes: tight.neededBytes } } : {}) }, null, 2)}\n`);
  else write(`${tight ? `Note: ${tight.note}\n\n` : ''}${formatDiagnoses(diagnoses)}`);
  return exit;
}

/**
 * This process's own charge, read as the plugin reads Redis's: the mappings the kernel accounts
 * (VM_ACCOUNT in smaps, exact), else VmData + VmStk (an upper bound).
 */
function ownFootprint(): OwnFootprint | undefined {
  const fs = new HostFs('');
  try {
    const self = readProcessFacts(fs, process.pid, undefined);
    if (self?.charge === undefined || self.vmSize === undefined) return undefined;
    return { chargeBytes: self.charge.bytes, totalVmBytes: self.vmSize };
  } finally {
    fs.closeHeld();
  }
}

async function liveDiagnoses(options: DoctorOptions, logger: Logger): Promise<{ diagnoses: Diagnosis[]; kernel: KernelFacts | undefined }> {
  const config = await resolveConfig(options, 1, logger);
  const collector = new Collector(config, { hostFs: new HostFs(options.hostRoot), logger, updateEvery: 1, once: true });
  try {
    await collector.iterate();
    return { diagnoses: collector.jobs.map(diagnoseJob), kernel: collector.kernelFacts };
  } finally {
    await collector.close();
  }
}

export function offlineDiagnosis(infoFile: string, hostRoot: string | undefined): Diagnosis {
  const info = parseRedisInfo(readFileSync(infoFile, 'utf8'));
  const fs = hostRoot === undefined ? undefined : new HostFs(hostRoot);
  const kernel = fs ? readKernelFacts(fs) : undefined;
  const proc = fs && info.processId !== undefined ? readProcessFacts(fs, info.processId, undefined) : undefined;
  return diagnose({
    job: infoFile,
    snapshot: { state: info.loading ? 'loading' : 'up', info, config: undefined, kernel, process: proc },
    // Host files were given: they are this Redis's host, whether or not its process is among them.
    locality: hostRoot ? 'local' : 'unknown',
    configProblem: 'a saved INFO holds no CONFIG values',
    offline: true,
  });
}
