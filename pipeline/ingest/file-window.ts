import { open, type FileHandle } from 'node:fs/promises';

const WINDOW_BYTES = 1 << 20;

/**
 * Positional reads through a read-ahead window: sequential record reads cost one
 * system call per megabyte, and only the window (or one large record) is in memory.
 */
export class FileWindow {
  private window = Buffer.alloc(0);
  private windowStart = 0;

  private constructor(private readonly handle: FileHandle, readonly size: number) {}

  /** Opens a file for reading. */
  static async open(file: string): Promise<FileWindow> {
    const handle = await open(file, 'r');
    try {
      const { size } = await handle.stat();
      return new FileWindow(handle, size);
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** `length` bytes at `position`; fewer when the file ends first (the caller reports truncation). */
  async readAt(position: number, length: number): Promise<Buffer> {
    const offset = position - this.windowStart;
    if (offset >= 0 && offset + length <= this.window.length) return this.window.subarray(offset, offset + length);
    const want = Math.max(length, WINDOW_BYTES);
    const buffer = Buffer.allocUnsafe(Math.max(0, Math.min(want, this.size - position)));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await this.handle.read(buffer, filled, buffer.length - filled, position + filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.window = buffer.subarray(0, filled);
    this.windowStart = position;
    return this.window.subarray(0, Math.min(length, filled));
  }

  /** Releases the file. */
  async close(): Promise<void> {
    await this.handle.close();
  }
}
