/** What kind of problem a feature has; each class has its own onInvalid policy. */
export type ProblemClass = 'geometry' | 'topology' | 'identity' | 'mixed' | 'attributes';

/** One specific problem, as counted in the validation summary. */
export type ProblemCode =
  | 'no-geometry' | 'empty-geometry' | 'unknown-geometry' | 'malformed-geometry' | 'non-finite' | 'out-of-area'
  | 'unclosed-ring' | 'too-few-points' | 'too-many-vertices'
  | 'self-intersection' | 'hole-outside-shell' | 'nested-holes'
  | 'missing-id' | 'duplicate-id'
  | 'mixed-type'
  | 'oversized-attribute' | 'bad-attribute';

/** A problem found in one feature. */
export interface Problem {
  code: ProblemCode;
  /** Says what is wrong, for a data clerk ("exterior ring is not closed (first and last points differ)"). */
  message: string;
}

/** reject: the publish fails; skip: the feature is left out; warn: the feature is kept as it can be. */
export type InvalidPolicy = 'reject' | 'skip' | 'warn';

/** A layer's `onInvalid`: one policy for everything, or one per problem class. */
export type OnInvalid = InvalidPolicy | Partial<Record<ProblemClass, InvalidPolicy>>;

/** The class of each problem code. */
export const PROBLEM_CLASS: Record<ProblemCode, ProblemClass> = {
  'no-geometry': 'geometry', 'empty-geometry': 'geometry', 'unknown-geometry': 'geometry', 'malformed-geometry': 'geometry',
  'non-finite': 'geometry', 'out-of-area': 'geometry', 'unclosed-ring': 'geometry', 'too-few-points': 'geometry',
  'too-many-vertices': 'geometry',
  'self-intersection': 'topology', 'hole-outside-shell': 'topology', 'nested-holes': 'topology',
  'missing-id': 'identity', 'duplicate-id': 'identity',
  'mixed-type': 'mixed',
  'oversized-attribute': 'attributes', 'bad-attribute': 'attributes',
};

/** Defaults: refuse what cannot be tiled or identified, warn about topology. */
export const DEFAULT_POLICIES: Readonly<Record<ProblemClass, InvalidPolicy>> = {
  geometry: 'reject', topology: 'warn', identity: 'reject', mixed: 'reject', attributes: 'reject',
};

/** Classes whose features cannot be kept as they are: `warn` leaves them out (and lists them). */
const CANNOT_KEEP: ReadonlySet<ProblemClass> = new Set(['geometry', 'mixed']);

/** The policy of every class, from a layer's `onInvalid` (absent = defaults). */
export function resolvePolicies(onInvalid: OnInvalid | undefined): Record<ProblemClass, InvalidPolicy> {
  if (onInvalid === undefined) return { ...DEFAULT_POLICIES };
  if (typeof onInvalid === 'string') {
    return { geometry: onInvalid, topology: onInvalid, identity: onInvalid, mixed: onInvalid, attributes: onInvalid };
  }
  return { ...DEFAULT_POLICIES, ...onInvalid };
}

/** What happens to a feature with this problem under these policies. */
export function actionFor(problem: ProblemCode, policies: Record<ProblemClass, InvalidPolicy>): 'reject' | 'skip' | 'keep' {
  const cls = PROBLEM_CLASS[problem];
  const policy = policies[cls];
  if (policy === 'reject') return 'reject';
  if (policy === 'skip' || CANNOT_KEEP.has(cls)) return 'skip';
  return 'keep';
}

/** One feature listed in the summary. */
export interface ProblemExample {
  /** "BSM=371502000000000005" or "#12". */
  feature: string;
  code: ProblemCode;
  problem: string;
  action: 'skipped' | 'kept';
}

/** What validation found in a layer: counts per problem and the first features by id. */
export interface ValidationSummary {
  /** Features read from the source. */
  read: number;
  /** Features left out. */
  skipped: number;
  /** Features kept despite a problem. */
  warned: number;
  counts: Partial<Record<ProblemCode, number>>;
  /** The first features with a problem, in source order. */
  examples: ProblemExample[];
}

/** How many features the summary lists by id. */
export const MAX_EXAMPLES = 20;

/** Collects problems into a ValidationSummary. */
export class ValidationCollector {
  private readonly summary: ValidationSummary = { read: 0, skipped: 0, warned: 0, counts: {}, examples: [] };

  /** Counts a feature as read. */
  countRead(): void {
    this.summary.read++;
  }

  /** Records a problem on a feature that was skipped or kept. */
  record(feature: string, problem: Problem, action: 'skipped' | 'kept'): void {
    this.summary.counts[problem.code] = (this.summary.counts[problem.code] ?? 0) + 1;
    if (this.summary.examples.length < MAX_EXAMPLES) this.summary.examples.push({ feature, code: problem.code, problem: problem.message, action });
  }

  /** Counts a feature once, after all its problems were recorded. */
  settle(outcome: 'skipped' | 'kept-with-problems' | 'clean'): void {
    if (outcome === 'skipped') this.summary.skipped++;
    else if (outcome === 'kept-with-problems') this.summary.warned++;
  }

  /** The summary so far. */
  result(): ValidationSummary {
    return { ...this.summary, counts: { ...this.summary.counts }, examples: [...this.summary.examples] };
  }
}

/** A one-line description of a summary: "2 skipped, 3 kept with warnings (self-intersection 3, non-finite 2)". */
export function describeValidation(s: ValidationSummary): string {
  const counts = Object.entries(s.counts).map(([code, n]) => `${code} ${n}`).join(', ');
  if (!counts) return 'no problems';
  return `${s.skipped} skipped, ${s.warned} kept with warnings (${counts})`;
}
