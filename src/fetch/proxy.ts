/**
 * HTTP proxies, chosen as Go's net/http (and so skopeo and podman) chooses them from the
 * environment: HTTP_PROXY (or http_proxy) for http: URLs, HTTPS_PROXY (or https_proxy) for https:
 * URLs, and NO_PROXY (or no_proxy) for the hosts that go direct. Requests to localhost and loopback
 * addresses never use a proxy. A NO_PROXY entry is `*` (no proxy at all), an IP address or CIDR
 * block, or a domain name that matches itself and its subdomains (`.example.com` and
 * `*.example.com`: subdomains only), each optionally with `:port`. A proxy is an http:// URL; its
 * user and password, if any, go in Proxy-Authorization and never into a message.
 *
 * The CLI reads the environment and calls `useProxies` once; the HTTP client asks `proxyFor`.
 */
import { BlockList, isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { ReproError } from '../model/errors.js';

export interface ProxySettings {
  http?: string;
  https?: string;
  noProxy?: string;
}

interface NoProxyRule {
  /** A domain (lower case, ASCII, no leading dot), an IP address, or a CIDR block. */
  kind: 'domain' | 'ip' | 'cidr';
  value: string;
  /** For domains: whether the name itself matches, or only its subdomains. */
  exact: boolean;
  port?: string;
  /** For addresses and CIDR blocks: the set to check against. */
  cidr?: BlockList;
}

interface Resolved {
  /** A proxy, or the error its URL gives: reported when a request would use it, not before. */
  http?: URL | ReproError;
  https?: URL | ReproError;
  all: boolean;
  rules: NoProxyRule[];
}

let current: Resolved = { all: false, rules: [] };

/** The proxy settings of an environment, as Go reads them (upper case first, then lower case). */
export function proxySettingsFromEnv(env: NodeJS.ProcessEnv): ProxySettings {
  const pick = (...names: string[]): string | undefined => {
    for (const n of names) {
      const v = env[n];
      if (v !== undefined && v !== '') return v;
    }
    return undefined;
  };
  const s: ProxySettings = {};
  // Under CGI, HTTP_PROXY is a request header ("httpoxy"): Go then proxies no plain HTTP at all.
  const http = env['REQUEST_METHOD'] ? undefined : pick('HTTP_PROXY', 'http_proxy');
  const https = pick('HTTPS_PROXY', 'https_proxy');
  const noProxy = pick('NO_PROXY', 'no_proxy');
  if (http !== undefined) s.http = http;
  if (https !== undefined) s.https = https;
  if (noProxy !== undefined) s.noProxy = noProxy;
  return s;
}

function proxyUrl(value: string, variable: string): URL | ReproError {
  let url: URL;
  try {
    url = new URL(/^[a-z][a-z0-9+.-]*:\/\//i.test(value) ? value : `http://${value}`);
  } catch {
    return new ReproError('E_USAGE', `${variable}: not a proxy URL`);
  }
  if (url.protocol !== 'http:') return new ReproError('E_USAGE', `${variable}: only http:// proxies are supported, not ${url.protocol}//`);
  if (url.hostname === '') return new ReproError('E_USAGE', `${variable}: the proxy URL names no host`);
  return url;
}

function splitHostPort(entry: string): { host: string; port?: string } {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed) return { host: bracketed[1]!, ...(bracketed[2] ? { port: bracketed[2] } : {}) };
  if (isIP(entry) === 6) return { host: entry };
  const m = /^(.*):(\d+)$/.exec(entry);
  return m ? { host: m[1]!, port: m[2]! } : { host: entry };
}

function parseNoProxy(value: string): { all: boolean; rules: NoProxyRule[] } {
  const rules: NoProxyRule[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim().toLowerCase();
    if (entry === '') continue;
    if (entry === '*') return { all: true, rules: [] };
    const slash = entry.indexOf('/');
    if (slash > 0 && isIP(entry.slice(0, slash)) !== 0) {
      const addr = entry.slice(0, slash);
      const bits = Number(entry.slice(slash + 1));
      const family = isIP(addr) === 6 ? 'ipv6' : 'ipv4';
      if (!Number.isInteger(bits) || bits < 0 || bits > (family === 'ipv6' ? 128 : 32)) continue;
      const cidr = new BlockList();
      cidr.addSubnet(addr, bits, family);
      rules.push({ kind: 'cidr', value: entry, exact: true, cidr });
      continue;
    }
    const { host, port } = splitHostPort(entry);
    if (isIP(host) !== 0) {
      // Compared as addresses, not as text (2001:db8:0::1 is 2001:db8::1).
      const one = new BlockList();
      one.addAddress(host, isIP(host) === 6 ? 'ipv6' : 'ipv4');
      rules.push({ kind: 'ip', value: host, exact: true, cidr: one, ...(port ? { port } : {}) });
      continue;
    }
    const subdomainsOnly = host.startsWith('.') || host.startsWith('*.');
    const name = domainToASCII(host.replace(/^\*?\./, '').replace(/\.$/, ''));
    if (name !== '') rules.push({ kind: 'domain', value: name, exact: !subdomainsOnly, ...(port ? { port } : {}) });
  }
  return { all: false, rules };
}

/**
 * Sets the proxies every later request uses (undefined: none). A proxy URL the client cannot use
 * is an error (exit 2) for the requests that would go through it, and only for them: a command
 * that stays off the network, or a host NO_PROXY exempts, is not stopped by it.
 */
export function useProxies(settings: ProxySettings | undefined): void {
  if (!settings) {
    current = { all: false, rules: [] };
    return;
  }
  const next: Resolved = { all: false, rules: [] };
  if (settings.http !== undefined) next.http = proxyUrl(settings.http, 'HTTP_PROXY');
  if (settings.https !== undefined) next.https = proxyUrl(settings.https, 'HTTPS_PROXY');
  if (settings.noProxy !== undefined) Object.assign(next, parseNoProxy(settings.noProxy));
  current = next;
}

function isLoopback(host: string): boolean {
  if (host === 'localhost' || host.endsWith('.localhost')) return true;
  const family = isIP(host);
  if (family === 4) return host.startsWith('127.');
  if (family === 6) return host === '::1' || host === '0:0:0:0:0:0:0:1';
  return false;
}

/** The proxy for a URL under the current settings, or undefined to go direct; throws for an unusable proxy URL. */
export function proxyFor(url: URL): URL | undefined {
  const proxy = url.protocol === 'https:' ? current.https : url.protocol === 'http:' ? current.http : undefined;
  if (!proxy || current.all) return undefined;
  const host = bareHost(url).toLowerCase().replace(/\.$/, '');
  if (isLoopback(host)) return undefined;
  const port = url.port || (url.protocol === 'https:' ? '443' : '80');
  const family = isIP(host);
  for (const r of current.rules) {
    if (r.port !== undefined && r.port !== port) continue;
    if (r.kind === 'cidr' || r.kind === 'ip') {
      if (family !== 0 && r.cidr!.check(host, family === 6 ? 'ipv6' : 'ipv4')) return undefined;
    } else if (family === 0) {
      if ((r.exact && host === r.value) || host.endsWith(`.${r.value}`)) return undefined;
    }
  }
  if (proxy instanceof ReproError) throw proxy;
  return proxy;
}

/** A URL's host name as a socket wants it: an IPv6 address without its brackets. */
export function bareHost(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** `Proxy-Authorization` for a proxy URL with a user, else undefined. */
export function proxyAuthorization(proxy: URL): string | undefined {
  if (proxy.username === '' && proxy.password === '') return undefined;
  const creds = `${decodeURIComponent(proxy.username)}:${decodeURIComponent(proxy.password)}`;
  return `Basic ${Buffer.from(creds, 'utf8').toString('base64')}`;
}
