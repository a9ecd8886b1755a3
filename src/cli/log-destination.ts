import pino, { type DestinationStream } from 'pino';

/** Options of a BatchedLogDestination. */
export interface BatchedLogOptions {
  /** Characters of log lines gathered before they are handed on as one block. Default 8,192 (~30 request lines). */
  blockChars?: number;
  /** Longest a line waits in memory, ms: a quiet server's lines still show up promptly. Default 500. */
  flushMs?: number;
}

/** What pino.destination returns (sonic-boom, which plantiles does not depend on directly). */
type SonicBoom = ReturnType<typeof pino.destination>;

/**
 * Log lines gathered in memory and handed to an asynchronous pino destination
 * (sonic-boom on a file descriptor) a block at a time. Writing each line through
 * sonic-boom costs a request several microseconds (it re-measures its growing buffer
 * on every line) and, synchronous, a write syscall per request; a block costs one
 * array push per line and one asynchronous write per block. Lines are written out on
 * flush(), every `flushMs`, and synchronously when the process exits; a kill -9 loses
 * at most the last `flushMs`.
 */
export class BatchedLogDestination implements DestinationStream {
  private lines: string[] = [];
  private chars = 0;
  private readonly blockChars: number;
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly sink: SonicBoom, options: BatchedLogOptions = {}) {
    this.blockChars = options.blockChars ?? 8192;
    this.timer = setInterval(() => this.handOn(), options.flushMs ?? 500).unref();
    // pino ends the sink at beforeExit once it has written what it holds: hand it ours first.
    process.on('beforeExit', () => this.handOn());
    process.on('exit', () => this.flushSync());
  }

  /** Opens fd 1 or 2 for batched asynchronous writes. */
  static toFd(fd: number, options?: BatchedLogOptions): BatchedLogDestination {
    return new BatchedLogDestination(pino.destination({ fd, sync: false, minLength: 0 }), options);
  }

  write(line: string): void {
    this.lines.push(line);
    this.chars += line.length;
    if (this.chars >= this.blockChars) this.handOn();
  }

  /** Hands on what is gathered; `done` once the sink has written it. */
  flush(done?: (err?: Error) => void): void {
    this.handOn();
    if (this.sinkClosed()) done?.();
    else this.sink.flush(done);
  }

  /** Writes everything out now, blocking (process exit). */
  flushSync(): void {
    this.handOn();
    if (this.sinkClosed()) return;
    try {
      this.sink.flushSync();
    } catch {
      // The descriptor is gone (closed pipe) or not writable right now: nothing more can be done at exit.
    }
  }

  /** Stops the timer; what is gathered is handed on. */
  close(): void {
    clearInterval(this.timer);
    this.handOn();
  }

  /** sonic-boom's `destroyed` (not in its type declarations): pino ends the sink at exit, and a closed sink throws on write. */
  private sinkClosed(): boolean {
    return (this.sink as unknown as { destroyed?: boolean }).destroyed === true;
  }

  private handOn(): void {
    if (this.lines.length === 0 || this.sinkClosed()) return;
    const block = this.lines.join('');
    this.lines = [];
    this.chars = 0;
    this.sink.write(block);
  }
}
