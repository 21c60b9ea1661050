/**
 * Keeps what Netdata has been told: which charts are defined (with which labels) and when each
 * chart was last sent, so that definitions go out once (again when labels change) and every
 * BEGIN after the first carries the microseconds since the previous one.
 */
import type { ChartDef } from '../../charts/catalog.ts';
import { chartData, chartDefinition, chartObsolete } from './writer.ts';
import type { ChartLabel, ChartValues } from '../model/chart-values.ts';

export class ProtocolEmitter {
  private readonly defined = new Map<string, string>();
  private readonly lastSentUs = new Map<string, number>();

  constructor(
    private readonly updateEvery: number,
    /** `--once` sends no durations: there is no previous collection. */
    private readonly withDurations = true,
  ) {}

  /** Definition text if the chart is new or its labels changed, else ''. */
  define(type: string, chart: ChartDef, module: string, labels: readonly ChartLabel[], signature = labelSignature(labels)): string {
    const key = `${type}.${chart.id}`;
    if (this.defined.get(key) === signature) return '';
    this.defined.set(key, signature);
    return chartDefinition(type, chart, this.updateEvery, module, labels);
  }

  /** Marks every chart defined under `type` obsolete and forgets it; '' when none was. */
  obsoleteType(type: string, charts: readonly ChartDef[], module: string): string {
    let out = '';
    for (const chart of charts) {
      const key = `${type}.${chart.id}`;
      if (!this.defined.delete(key)) continue;
      this.lastSentUs.delete(key);
      out += chartObsolete(type, chart, this.updateEvery, module);
    }
    return out;
  }

  data(type: string, chart: ChartDef, values: ChartValues, nowUs: number): string {
    const key = `${type}.${chart.id}`;
    const last = this.lastSentUs.get(key);
    this.lastSentUs.set(key, nowUs);
    return chartData(type, chart, values, this.withDurations && last !== undefined ? nowUs - last : undefined);
  }
}

/** A string that changes when the labels do (computed once per job per iteration). */
export function labelSignature(labels: readonly ChartLabel[]): string {
  return labels.map((l) => `${l.name}=${l.value}`).join('\0');
}
