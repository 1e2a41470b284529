import zlib from 'node:zlib';
import { SPDY3_DICTIONARY } from './dictionary.js';

/**
 * One direction's SPDY/3 header compression context: a single zlib stream primed with the SPDY/3
 * dictionary that lives as long as the session, each header block ending at a sync flush. Calls are
 * serialized so that every block's output is exactly what its own flush produced.
 */
export class HeaderCodec {
  private readonly stream: zlib.Inflate | zlib.Deflate;
  private queue: Promise<unknown> = Promise.resolve();
  private output: Buffer[] = [];
  private failure: Error | undefined;
  private rejectCurrent: ((err: Error) => void) | undefined;

  constructor(direction: 'inflate' | 'deflate') {
    this.stream =
      direction === 'inflate'
        ? zlib.createInflate({ dictionary: SPDY3_DICTIONARY })
        : zlib.createDeflate({ dictionary: SPDY3_DICTIONARY });
    this.stream.on('data', (chunk: Buffer) => this.output.push(chunk));
    this.stream.on('error', (err: Error) => {
      // A corrupt block poisons the context for good: zlib state cannot be rewound.
      this.failure = err;
      this.rejectCurrent?.(err);
    });
  }

  /** Compresses or decompresses one header block, in call order. */
  process(block: Buffer): Promise<Buffer> {
    const run = this.queue.then(
      () =>
        new Promise<Buffer>((resolve, reject) => {
          if (this.failure !== undefined) {
            reject(this.failure);
            return;
          }
          this.output = [];
          this.rejectCurrent = reject;
          this.stream.write(block);
          this.stream.flush(zlib.constants.Z_SYNC_FLUSH, () => {
            this.rejectCurrent = undefined;
            if (this.failure !== undefined) reject(this.failure);
            else resolve(Buffer.concat(this.output));
          });
        }),
    );
    this.queue = run.catch(() => undefined);
    return run;
  }

  close(): void {
    this.stream.close();
  }
}
