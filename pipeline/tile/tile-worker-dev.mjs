// Entry of a tiling worker when the TypeScript sources run directly (tests, tsx): registers
// tsx's loader in the worker, then loads the real entry. Built code starts tile-worker.js instead.
import { register } from 'tsx/esm/api';

register();
await import('./tile-worker.ts');
