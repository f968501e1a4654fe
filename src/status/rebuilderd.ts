/**
 * What a rebuilderd instance says about a distribution's packages. The v1 API is asked first
 * (`GET /api/v1/packages/binary?distribution=D&limit=N&after=ID`: pages of
 * `{total, records: [{id, name, version, status: GOOD|BAD|UNKWN|null, ...}]}` in id order); a
 * server without it (404) is asked the v0 list arch-repro-status uses
 * (`GET /api/v0/pkgs/list?distro=D`: `[{name, version, status, ...}]`).
 */
import { ReproError, escapeControl } from '../model/errors.js';
import { request, safeUrl, type RetryPolicy } from '../fetch/http.js';

export type Verdict = 'GOOD' | 'BAD' | 'UNKWN';

export interface RebuilderRecord {
  /** rebuilderd's name of the distribution (`archlinux`, `debian`). */
  distribution: string;
  name: string;
  version: string;
  status: Verdict;
}

export interface RebuilderAnswer {
  api: 'v1' | 'v0';
  records: RebuilderRecord[];
}

export const V1_PAGE = 1000;
/** A bound on paging, so that a server that never stops cannot keep us. */
const MAX_PAGES = 10000;
const BODY_LIMIT = 512 << 20;
/** A v1 page is asked for `limit` records (a few hundred KB): a server that sends more is refused sooner. */
const PAGE_LIMIT = 64 << 20;

function verdict(v: unknown): Verdict {
  return v === 'GOOD' || v === 'BAD' ? v : 'UNKWN';
}

/**
 * The longest one answer's body may take to arrive: a page of a thousand records is a few
 * hundred KB, minutes even on a slow link. A server that drips bytes (never idle for the 30 s idle
 * timeout) is cut off here.
 */
export const BODY_DEADLINE_MS = 120_000;

/**
 * The longest a whole answer may take, every page with its retries: a server that answers page
 * after page, each in time, could otherwise keep `status` and `audit` for ever (10,000 pages of
 * two minutes). 100,000 records are 100 pages of a few hundred KB.
 */
export const QUERY_DEADLINE_MS = 600_000;

async function getJson(url: string, retry: RetryPolicy | undefined, where: string, limit = BODY_LIMIT, deadlineMs = BODY_DEADLINE_MS, signal?: AbortSignal): Promise<{ status: number; json?: unknown }> {
  const r = await request({ url, headers: { accept: 'application/json' }, noRetryStatuses: [404], ...(retry ? { retry } : {}), ...(signal ? { signal } : {}) });
  if (r.status !== 200) {
    r.discard();
    return { status: r.status };
  }
  let text: string;
  try {
    text = await r.text(limit, deadlineMs);
  } catch (e) {
    // A body that stalls or breaks off is the rebuilder's failure, named as such (it said only
    // "body stalled for 30000 ms"); a string past V8's longest is as bad as one past the limit.
    const cut = e instanceof ReproError && e.code === 'E_NETWORK' && e.cause instanceof Error ? e.cause : e;
    if (cut instanceof ReproError) throw cut;
    const code = (cut as NodeJS.ErrnoException)?.code;
    if (code === 'ERR_STRING_TOO_LONG') throw new ReproError('E_BAD_INPUT', `${where}: response larger than ${limit} bytes`);
    throw new ReproError('E_NETWORK', `${where}: ${escapeControl((cut as Error)?.message ?? String(cut))}`);
  }
  try {
    return { status: 200, json: JSON.parse(text) as unknown };
  } catch (e) {
    // Not V8's message: it quotes the text, newlines and all, which would put the server's words
    // on a line of our own. Only a position, when the engine gives one.
    const at = /position (\d+)/.exec((e as Error).message)?.[1];
    throw new ReproError('E_BAD_INPUT', `${where}: not JSON${at === undefined ? '' : ` (at character ${at})`}`);
  }
}

function record(x: unknown, i: number, distribution: string, where: string): RebuilderRecord & { id?: number } {
  const o = x as Record<string, unknown> | null;
  if (!o || typeof o !== 'object' || typeof o['name'] !== 'string' || typeof o['version'] !== 'string') {
    // Named by its place, never quoted: a record nested deep enough overflowed JSON.stringify's
    // stack, and the rebuilder's text has no business in our message.
    throw new ReproError('E_BAD_INPUT', `${where}: record ${i} has no name and version (strings)`);
  }
  const r: RebuilderRecord & { id?: number } = { distribution, name: o['name'], version: o['version'], status: verdict(o['status']) };
  if (typeof o['id'] === 'number') r.id = o['id'];
  return r;
}

export interface QueryOptions {
  retry?: RetryPolicy;
  pageSize?: number;
  /**
   * Keep only the records of these names (the image's packages, binary and source names): what
   * is kept is bounded by the image, not by what the rebuilder knows (tens of thousands of
   * packages, or a hostile server's millions). Order is kept, so the last record still stands.
   */
  wanted?: ReadonlySet<string>;
  /** The longest an answer's body may take (default `BODY_DEADLINE_MS`). */
  bodyDeadlineMs?: number;
  /** The longest the whole answer may take, every page (default `QUERY_DEADLINE_MS`). */
  queryDeadlineMs?: number;
}

export async function queryRebuilder(base: string, distribution: string, opts: QueryOptions = {}): Promise<RebuilderAnswer> {
  const root = base.replace(/\/+$/, '');
  const deadlineMs = opts.queryDeadlineMs ?? QUERY_DEADLINE_MS;
  const stop = new AbortController();
  const timer = setTimeout(() => stop.abort(), deadlineMs);
  const pages = { read: 0 };
  try {
    return await queryPages(root, distribution, opts, stop.signal, pages);
  } catch (e) {
    // Whatever the cut looked like where it happened (a request abandoned, a body destroyed).
    if (stop.signal.aborted) throw new ReproError('E_NETWORK', `${safeUrl(root)}: the answer was not complete after ${deadlineMs} ms (${pages.read} pages read)`);
    throw e;
  } finally {
    clearTimeout(timer);
  }
}

async function queryPages(root: string, distribution: string, opts: QueryOptions, signal: AbortSignal, pages: { read: number }): Promise<RebuilderAnswer> {
  const limit = opts.pageSize ?? V1_PAGE;
  const records: RebuilderRecord[] = [];
  let seen = 0;
  let after: number | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const url = `${root}/api/v1/packages/binary?distribution=${encodeURIComponent(distribution)}&limit=${limit}${after === undefined ? '' : `&after=${after}`}`;
    const where = `${safeUrl(root)} (API v1)`;
    const r = await getJson(url, opts.retry, where, PAGE_LIMIT, opts.bodyDeadlineMs, signal);
    if (r.status === 404 && page === 0) return queryV0(root, distribution, opts.retry, opts.wanted, opts.bodyDeadlineMs, signal);
    pages.read++;
    if (r.status !== 200) throw new ReproError('E_NETWORK', `${where}: HTTP ${r.status}`);
    const body = r.json as { total?: unknown; records?: unknown } | null;
    if (!body || !Array.isArray(body.records)) throw new ReproError('E_BAD_INPUT', `${where}: expected {total, records: [...]}`);
    const got = body.records.map((x, i) => record(x, seen + i, distribution, where));
    seen += got.length;
    // One at a time: push(...got) takes every record as an argument, and a page of some 150,000
    // (a server that ignores limit=) overflowed the stack.
    for (const g of got) if (!opts.wanted || opts.wanted.has(g.name)) records.push(g);
    const last = got.at(-1)?.id;
    if (got.length === 0 || (typeof body.total === 'number' && seen >= body.total)) return { api: 'v1', records };
    if (last === undefined || (after !== undefined && last <= after)) throw new ReproError('E_BAD_INPUT', `${where}: records without increasing ids cannot be paged`);
    after = last;
  }
  throw new ReproError('E_BAD_INPUT', `${safeUrl(root)}: more than ${MAX_PAGES} pages of packages`);
}

async function queryV0(root: string, distribution: string, retry: RetryPolicy | undefined, wanted: ReadonlySet<string> | undefined, deadlineMs: number | undefined, signal: AbortSignal): Promise<RebuilderAnswer> {
  const where = `${safeUrl(root)} (API v0)`;
  const r = await getJson(`${root}/api/v0/pkgs/list?distro=${encodeURIComponent(distribution)}`, retry, where, undefined, deadlineMs, signal);
  if (r.status !== 200) throw new ReproError('E_NETWORK', `${where}: HTTP ${r.status}`);
  if (!Array.isArray(r.json)) throw new ReproError('E_BAD_INPUT', `${where}: expected a list of packages`);
  const records = r.json.map((x, i) => record(x, i, distribution, where));
  return { api: 'v0', records: wanted ? records.filter((x) => wanted.has(x.name)) : records };
}
