import { constants as fsConstants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { FileExistsError, FileNotFoundError } from './errors.js';
import type { FileHandle, FileSystem, OpenMode } from './fs.js';

function errno(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function translate(err: unknown, path: string): unknown {
  const code = errno(err);
  if (code === 'ENOENT') return new FileNotFoundError(path);
  if (code === 'EEXIST') return new FileExistsError(path);
  return err;
}

async function wrap<T>(path: string, op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    throw translate(err, path);
  }
}

const FLAGS: Record<OpenMode, number> = {
  read: fsConstants.O_RDONLY,
  write: fsConstants.O_RDWR,
  create: fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_TRUNC,
  'create-new': fsConstants.O_RDWR | fsConstants.O_CREAT | fsConstants.O_EXCL,
};

class NodeFileHandle implements FileHandle {
  constructor(
    readonly path: string,
    private readonly fh: fsp.FileHandle,
  ) {}

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    // write(2) may be short; loop until the whole buffer is down.
    while (done < data.length) {
      const { bytesWritten } = await this.fh.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(buf, done, length - done, position + done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return buf.subarray(0, done);
  }

  async size(): Promise<number> {
    return (await this.fh.stat()).size;
  }

  truncate(length: number): Promise<void> {
    return this.fh.truncate(length);
  }

  sync(): Promise<void> {
    return this.fh.sync();
  }

  datasync(): Promise<void> {
    return this.fh.datasync();
  }

  close(): Promise<void> {
    return this.fh.close();
  }
}

/** The real disk, through fs/promises with fd-level fsync/fdatasync. */
export class NodeFileSystem implements FileSystem {
  async mkdir(dir: string): Promise<void> {
    await wrap(dir, () => fsp.mkdir(dir, { recursive: true }));
  }

  async readdir(dir: string): Promise<string[]> {
    const names = await wrap(dir, () => fsp.readdir(dir));
    return names.sort();
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fsp.stat(path);
      return true;
    } catch (err) {
      if (errno(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async open(path: string, mode: OpenMode): Promise<FileHandle> {
    const fh = await wrap(path, () => fsp.open(path, FLAGS[mode], 0o644));
    return new NodeFileHandle(path, fh);
  }

  async readFile(path: string): Promise<Uint8Array> {
    return wrap(path, () => fsp.readFile(path));
  }

  async rename(from: string, to: string): Promise<void> {
    await wrap(from, () => fsp.rename(from, to));
  }

  async unlink(path: string): Promise<void> {
    await wrap(path, () => fsp.unlink(path));
  }

  async syncDir(dir: string): Promise<void> {
    const fh = await wrap(dir, () => fsp.open(dir, fsConstants.O_RDONLY));
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  }
}
