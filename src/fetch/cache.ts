/**
 * The content-addressed download cache: `<dir>/sha256/<hex>`, where a file is only ever put by a
 * verified download (see downloadVerified), so its name is its SHA-256. Any mirror can fill it;
 * builds read from it only.
 */
import { stat } from 'node:fs/promises';
import { mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { ioError } from '../model/errors.js';
import { downloadVerified, storeVerified, type DownloadOptions, type Expected } from './download.js';

/** `$XDG_CACHE_HOME/repro-image`, else `~/.cache/repro-image`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  const xdg = env['XDG_CACHE_HOME'];
  return join(xdg && xdg.startsWith('/') ? xdg : join(env['HOME'] || homedir(), '.cache'), 'repro-image');
}

export class Cache {
  constructor(readonly dir: string) {}

  path(sha256: string): string {
    return join(this.dir, 'sha256', sha256);
  }

  /** True when the cache holds a file of the expected size under that digest. */
  async has(e: Expected): Promise<boolean> {
    try {
      return (await stat(this.path(e.sha256))).size === e.size;
    } catch {
      return false;
    }
  }

  /** The cached file's path, downloading it from `urls` first if it is missing. */
  async ensure(name: string, urls: string[], e: Expected, opts: DownloadOptions = {}): Promise<{ path: string; downloaded: boolean }> {
    const path = this.path(e.sha256);
    if (await this.has(e)) return { path, downloaded: false };
    try {
      mkdirSync(join(this.dir, 'sha256'), { recursive: true });
    } catch (err) {
      throw ioError(err, `cannot create the cache ${this.dir}`);
    }
    await downloadVerified(name, urls, path, e, opts);
    return { path, downloaded: true };
  }

  /**
   * Puts a file whose bytes come from elsewhere (an inputs archive) into the cache: written to a
   * temporary name while hashed, renamed into place only when its size and SHA-256 are `e`'s.
   */
  async put(name: string, body: AsyncIterable<Buffer>, e: Expected): Promise<string> {
    const path = this.path(e.sha256);
    try {
      mkdirSync(join(this.dir, 'sha256'), { recursive: true });
    } catch (err) {
      throw ioError(err, `cannot create the cache ${this.dir}`);
    }
    await storeVerified(name, body, path, e);
    return path;
  }
}
