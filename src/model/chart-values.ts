/** What a chart is given each iteration, and the labels it carries. Built by analysis, written by protocol. */

/** Values per dimension id in the chart's display units; undefined or missing = a gap. */
export type ChartValues = Readonly<Record<string, number | undefined>>;

export interface ChartLabel {
  name: string;
  value: string;
}
