/** One measured figure in `npm run bench`. */
export interface BenchRow {
  name: string;
  value: number;
  unit: string;
  /** Context: the anchor it is compared with, the machine, the data used. */
  note?: string;
}
