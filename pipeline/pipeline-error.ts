/** Where in the input a problem was found. */
export interface ProblemLocation {
  /** The source file (or upload) being read. */
  file: string;
  /** The feature, by id value where it has one, else by index ("#12"). */
  feature?: string;
}

/** A publish that cannot go on; the message names the file, the feature and the problem on one line. */
export class PipelineError extends Error {
  override readonly name = 'PipelineError';
  constructor(readonly location: ProblemLocation, readonly problem: string) {
    super(formatProblem(location, problem));
  }
}

/** "farmland.shp: feature BSM=3715…: ring 2 is not closed". */
export function formatProblem(location: ProblemLocation, problem: string): string {
  return `${location.file}: ${location.feature ? `feature ${location.feature}: ` : ''}${problem}`;
}
