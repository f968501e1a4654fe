/**
 * The build as a list of named steps, run in order over one context, each step's report collected
 * in one place (the build result lists them). apko reads the same way: a pipeline is data, and
 * what each step did is visible afterwards.
 */

import type { PassReport } from './passes.js';

/** What a step changed (a pass, an install effect, the spec's files), as the build report shows it. */
export type StepReport = PassReport;

export interface Step<C> {
  /** source, passes, layers, config, manifest, output, … */
  name: string;
  run(ctx: C): Promise<StepReport[] | void> | StepReport[] | void;
}

export interface StepRecord {
  step: string;
  reports: StepReport[];
}

/** Runs the steps in order; the records say what each did. */
export async function runSteps<C>(steps: ReadonlyArray<Step<C>>, ctx: C): Promise<StepRecord[]> {
  const records: StepRecord[] = [];
  for (const s of steps) records.push({ step: s.name, reports: (await s.run(ctx)) ?? [] });
  return records;
}
