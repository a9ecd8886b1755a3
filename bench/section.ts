/** What every benchmark section gets from the harness. */
export interface BenchContext {
  /** A scratch folder for this run (removed afterwards unless BENCH_KEEP=1). */
  workDir: string;
  /** The seeded farmland layer (>= 200k parcels, EPSG:4326 GeoJSON), generated once per run. */
  parcels(): Promise<BenchLayerFile>;
  /** The seeded urban-boundary layer (few, very detailed polygons), generated once per run. */
  urbanBoundaries(): Promise<BenchLayerFile>;
  /** Progress lines for the operator (stderr). */
  log(message: string): void;
}

/** A generated input file. */
export interface BenchLayerFile {
  file: string;
  features: number;
  bytes: number;
}

/** One part of `npm run bench`; returns its part of docs/BENCHMARKS.md as Markdown. */
export interface BenchSection {
  name: string;
  run(ctx: BenchContext): Promise<string>;
}
