import type { BenchSection } from './section.js';
import { ingestSection } from './ingest-bench.js';
import { servingBench } from './serving-bench.js';
import { syncBench } from './sync-bench.js';
import { tilingBench } from './tiling-bench.js';

/** The sections of `npm run bench`, in order. Each lives in its own file. */
export const SECTIONS: BenchSection[] = [ingestSection, tilingBench, syncBench, servingBench];
