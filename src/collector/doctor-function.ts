/** Answers the `redisfork:doctor` Netdata function from the collector's latest snapshots. */
import type { Diagnosis } from '../analysis/doctor.ts';
import { doctorExitCode } from '../analysis/doctor.ts';
import { netdataMajor } from '../protocol/functions.ts';

const HELP = 'Explains the fork health of each Redis instance and predicts whether its next fork will be refused.';

export function doctorFunctionBody(diagnoses: Diagnosis[], netdataVersion: string | undefined): unknown {
  const major = netdataMajor(netdataVersion);
  if (major === undefined || major < 2) {
    return { status: 200, type: 'redisfork-doctor', help: HELP, exit: doctorExitCode(diagnoses), instances: diagnoses };
  }
  // Netdata 2.x table format: one row per finding.
  const columns: Record<string, unknown> = {};
  const names = ['job', 'check', 'verdict', 'summary', 'evidence', 'remedy'];
  names.forEach((id, index) => {
    columns[id] = {
      index,
      unique_key: false,
      name: id[0]?.toUpperCase() + id.slice(1),
      type: 'string',
      visible: id !== 'evidence',
      sortable: true,
      sticky: id === 'job',
      filter: id === 'job' || id === 'verdict' || id === 'check' ? 'multiselect' : 'none',
      full_width: id === 'summary',
    };
  });
  columns.rowid = { index: names.length, unique_key: true, name: 'Row', type: 'string', visible: false };
  const data = diagnoses.flatMap((d) =>
    d.findings.map((f) => [d.job, f.check, f.verdict, f.summary, f.evidence.join('; '), f.remedy.join('; '), `${d.job}:${f.check}`]),
  );
  return { status: 200, type: 'table', has_history: false, help: HELP, update_every: 10, columns, data, default_sort_column: 'verdict' };
}

export { HELP as DOCTOR_HELP };
