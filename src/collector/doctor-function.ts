/** Answers the `redisfork:doctor` Netdata function from the collector's latest snapshots. */
import type { Diagnosis, Verdict } from '../analysis/doctor.ts';
import { VERDICT_RANK, doctorExitCode } from '../analysis/doctor.ts';

/** Worst first. */
const byVerdictWorstFirst = (a: Verdict, b: Verdict) => VERDICT_RANK[b] - VERDICT_RANK[a];
import { netdataMajor } from '../protocol/functions.ts';

const HELP = 'Explains the fork health of each Redis instance and predicts whether its next fork will be refused.';

/** Netdata 2.x row colours (SPEC §12). */
const SEVERITY: Readonly<Record<Verdict, string>> = { critical: 'critical', warning: 'warning', unknown: 'notice', ok: 'normal' };

interface Column {
  id: string;
  name: string;
  visible?: boolean;
  sticky?: boolean;
  filter?: 'multiselect' | 'none';
  wrap?: boolean;
  fullWidth?: boolean;
  uniqueKey?: boolean;
  dummy?: boolean;
}

const COLUMNS: readonly Column[] = [
  { id: 'rowid', name: 'Row', visible: false, uniqueKey: true },
  { id: 'job', name: 'Job', sticky: true, filter: 'multiselect' },
  { id: 'verdict', name: 'Verdict', filter: 'multiselect' },
  { id: 'check', name: 'Check', filter: 'multiselect' },
  { id: 'summary', name: 'Summary', wrap: true, fullWidth: true },
  { id: 'evidence', name: 'Evidence', wrap: true },
  { id: 'remedy', name: 'Remedy', wrap: true },
  { id: 'rowOptions', name: 'rowOptions', visible: false, dummy: true },
];

function tableColumns(): Record<string, unknown> {
  return Object.fromEntries(
    COLUMNS.map((c, index) => [
      c.id,
      {
        index,
        unique_key: c.uniqueKey ?? false,
        name: c.name,
        type: 'string',
        visible: c.visible ?? true,
        sortable: !c.dummy,
        sticky: c.sticky ?? false,
        filter: c.filter ?? 'none',
        full_width: c.fullWidth ?? false,
        wrap: c.wrap ?? false,
        ...(c.dummy ? { dummy: true } : {}),
      },
    ]),
  );
}

/** Per instance: one summary row (its verdict, what it is, the rule that decides its forks), then its findings, worst first. */
function tableRows(diagnoses: readonly Diagnosis[]): unknown[][] {
  const row = (id: string, job: string, verdict: Verdict, check: string, summary: string, evidence: string, remedy: string) => [
    id, job, verdict, check, summary, evidence, remedy, { rowOptions: { severity: SEVERITY[verdict] } },
  ];
  return [...diagnoses]
    .sort((a, b) => byVerdictWorstFirst(a.verdict, b.verdict) || a.job.localeCompare(b.job))
    .flatMap((d) => {
      const what = [d.engine && `${d.engine} ${d.version ?? ''}`.trim(), d.locality, d.pid !== undefined ? `pid ${d.pid}` : undefined, d.container].filter(Boolean).join(', ');
      const worstFirst = [...d.findings].sort((a, b) => byVerdictWorstFirst(a.verdict, b.verdict));
      const problems = worstFirst.filter((f) => f.verdict === 'critical' || f.verdict === 'warning').map((f) => f.title);
      return [
        row(`${d.job}:overall`, d.job, d.verdict, 'overall', `${what}. ${problems.length ? `Needs attention: ${problems.join('; ')}.` : 'Nothing needs attention.'}${d.forkRule ? ` ${d.forkRule}` : ''}`, d.url ?? '', ''),
        ...worstFirst.map((f) => row(`${d.job}:${f.check}`, d.job, f.verdict, f.title, f.summary, f.evidence.join('\n'), f.remedy.join('\n'))),
      ];
    });
}

export function doctorFunctionBody(diagnoses: Diagnosis[], netdataVersion: string | undefined): unknown {
  const major = netdataMajor(netdataVersion);
  if (major === undefined || major < 2) {
    return { status: 200, type: 'redisfork-doctor', help: HELP, exit: doctorExitCode(diagnoses), instances: diagnoses };
  }
  return {
    status: 200,
    type: 'table',
    has_history: false,
    help: HELP,
    update_every: 10,
    columns: tableColumns(),
    data: tableRows(diagnoses),
    default_sort_column: 'rowid',
  };
}

export { HELP as DOCTOR_HELP };
