/**
 * Debian's chromium, headless, driven over the DevTools protocol on a pipe (--remote-debugging-pipe:
 * JSON messages ending in NUL on fds 3 and 4), so that a test can open a page, run script in it,
 * click, read the DOM and take screenshots. A fresh profile directory each time; no network of its
 * own (background networking, updates, sync, first run off).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

export const CHROMIUM_FLAGS = [
  '--headless', '--no-sandbox', '--disable-gpu',
  '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-default-apps',
  '--disable-extensions', '--no-first-run', '--metrics-recording-only', '--disable-domain-reliability',
  '--hide-scrollbars', '--font-render-hinting=none',
];

export function chromiumPath(): string | undefined {
  for (const c of ['chromium', 'chromium-browser']) {
    const r = spawnSync('sh', ['-c', 'command -v "$0"', c], { encoding: 'utf8' });
    if (r.status === 0) return r.stdout.trim();
  }
  return undefined;
}

interface Pending {
  resolve: (v: Record<string, unknown>) => void;
  reject: (e: Error) => void;
}

export class Browser {
  private readonly child: ChildProcess;
  private readonly profile: string;
  private readonly pending = new Map<number, Pending>();
  private readonly listeners: Array<(m: Record<string, unknown>) => void> = [];
  private nextId = 1;
  private buffer = '';
  private session = '';
  private stderr = '';

  private constructor(path: string, width: number, height: number) {
    this.profile = mkdtempSync(join(tmpdir(), 'repro-chromium-'));
    this.child = spawn(path, [...CHROMIUM_FLAGS, `--user-data-dir=${this.profile}`, '--remote-debugging-pipe', `--window-size=${width},${height}`, 'about:blank'],
      { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] });
    this.child.stderr!.on('data', (d: Buffer) => { if (this.stderr.length < 20000) this.stderr += d.toString(); });
    const out = this.child.stdio[4] as Readable;
    out.on('data', (d: Buffer) => {
      this.buffer += d.toString('utf8');
      let end: number;
      while ((end = this.buffer.indexOf('\0')) >= 0) {
        const msg = JSON.parse(this.buffer.slice(0, end)) as Record<string, unknown>;
        this.buffer = this.buffer.slice(end + 1);
        const id = msg['id'] as number | undefined;
        if (id !== undefined && this.pending.has(id)) {
          const p = this.pending.get(id)!;
          this.pending.delete(id);
          if (msg['error']) p.reject(new Error(`chromium: ${JSON.stringify(msg['error'])}`));
          else p.resolve((msg['result'] ?? {}) as Record<string, unknown>);
        } else {
          for (const l of this.listeners) l(msg);
        }
      }
    });
    this.child.on('exit', () => {
      for (const p of this.pending.values()) p.reject(new Error(`chromium exited: ${this.stderr.slice(-2000)}`));
      this.pending.clear();
    });
  }

  /** Starts chromium and attaches to a new page of the given size. */
  static async launch(path: string, width = 1400, height = 1000): Promise<Browser> {
    const b = new Browser(path, width, height);
    const { targetId } = await b.send('Target.createTarget', { url: 'about:blank' }, false) as { targetId: string };
    const { sessionId } = await b.send('Target.attachToTarget', { targetId, flatten: true }, false) as { sessionId: string };
    b.session = sessionId;
    await b.send('Page.enable');
    await b.send('Emulation.setDeviceMetricsOverride', { width, height, deviceScaleFactor: 1, mobile: false });
    return b;
  }

  send(method: string, params: Record<string, unknown> = {}, inSession = true, timeoutMs = 60_000): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    const msg: Record<string, unknown> = { id, method, params };
    if (inSession) msg['sessionId'] = this.session;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { this.pending.delete(id); reject(new Error(`chromium: ${method} took longer than ${timeoutMs} ms`)); }, timeoutMs);
      this.pending.set(id, { resolve: (v) => { clearTimeout(timer); resolve(v); }, reject: (e) => { clearTimeout(timer); reject(e); } });
      (this.child.stdio[3] as Writable).write(`${JSON.stringify(msg)}\0`);
    });
  }

  /** Opens a URL and waits for its load event. */
  async open(url: string): Promise<void> {
    const loaded = new Promise<void>((resolve) => {
      const l = (m: Record<string, unknown>): void => {
        if (m['method'] === 'Page.loadEventFired') {
          this.listeners.splice(this.listeners.indexOf(l), 1);
          resolve();
        }
      };
      this.listeners.push(l);
    });
    await this.send('Page.navigate', { url });
    await loaded;
  }

  /** Evaluates an expression in the page and returns its value (awaiting a promise). */
  async eval<T>(expression: string): Promise<T> {
    const r = await this.send('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }) as { result: { value: T }; exceptionDetails?: unknown };
    if (r.exceptionDetails) throw new Error(`in the page: ${JSON.stringify(r.exceptionDetails)}`);
    return r.result.value;
  }

  /** A PNG of the viewport. */
  async screenshot(): Promise<Buffer> {
    const r = await this.send('Page.captureScreenshot', { format: 'png' }) as { data: string };
    return Buffer.from(r.data, 'base64');
  }

  async close(): Promise<void> {
    if (this.child.exitCode === null) {
      const exited = new Promise((ok) => this.child.once('exit', ok));
      try {
        await this.send('Browser.close', {}, false, 5000);
      } catch {
        this.child.kill('SIGKILL');
      }
      await Promise.race([exited, new Promise((ok) => setTimeout(ok, 5000))]);
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
    }
    rmSync(this.profile, { recursive: true, force: true });
  }
}

/** Width, height and whether a PNG's pixels are not all one colour (sampled from its IDAT size). */
export function pngSize(png: Buffer): { width: number; height: number } {
  if (png.subarray(0, 8).toString('hex') !== '89504e470d0a1a0a') throw new Error('not a PNG');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}
