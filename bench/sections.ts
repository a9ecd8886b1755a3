import type { BenchSection } from './section.js';

/** The sections of `npm run bench`, in order. Each lives in its own file. */
export const SECTIONS: BenchSection[] = [];
