/**
 * The SPDX License List: every license identifier and every exception identifier, current and
 * deprecated, as the exact-pinned packages spdx-license-ids (`index.json`, `deprecated.json`) and
 * spdx-exceptions (`index.json`, `deprecated.json`) give them. An identifier is looked up without
 * regard to case (SPDX 2.3 Annex D.2: `MIT`, `Mit` and `mIt` are one identifier) and answered in
 * the list's own spelling. The lists are read on the first look-up, not when the module loads: an
 * audit imports the package readers but reads no licenses, and pays nothing for them.
 */
import { createRequire } from 'node:module';

interface Lists {
  /** Lower-cased identifier → the list's spelling. */
  licenses: ReadonlyMap<string, string>;
  exceptions: ReadonlyMap<string, string>;
}

let lists: Lists | undefined;

/** SPDX 2.3 Annex D: `idstring = 1*(ALPHA / DIGIT / "-" / "." )`. */
export const IDSTRING = /^[A-Za-z0-9.-]+$/;

function load(): Lists {
  const require = createRequire(import.meta.url);
  const read = (file: string, into: Map<string, string>): void => {
    const ids = require(file) as unknown;
    if (!Array.isArray(ids)) throw new Error(`${file} is not a list of identifiers`);
    for (const id of ids) {
      // The packages are pinned; an entry that is no idstring would make an invalid expression.
      if (typeof id !== 'string' || !IDSTRING.test(id)) throw new Error(`${file}: ${JSON.stringify(id)} is not an SPDX identifier`);
      into.set(id.toLowerCase(), id);
    }
  };
  const licenses = new Map<string, string>();
  const exceptions = new Map<string, string>();
  read('spdx-license-ids/index.json', licenses);
  read('spdx-license-ids/deprecated.json', licenses);
  read('spdx-exceptions/index.json', exceptions);
  read('spdx-exceptions/deprecated.json', exceptions);
  return { licenses, exceptions };
}

function loaded(): Lists {
  lists ??= load();
  return lists;
}

/**
 * Only an idstring (ASCII) is looked up: `toLowerCase` folds some non-ASCII letters into ASCII
 * (KELVIN SIGN U+212A → `k`), and `No\u212Aia`, no identifier, must not become `Nokia`.
 */
const lookup = (map: ReadonlyMap<string, string>, id: string): string | undefined => (IDSTRING.test(id) ? map.get(id.toLowerCase()) : undefined);

/** A license identifier of the list in the list's spelling (`mit` → `MIT`), or undefined. */
export function listedLicense(id: string): string | undefined {
  return lookup(loaded().licenses, id);
}

/** An exception identifier of the list in the list's spelling (`classpath-exception-2.0` → `Classpath-exception-2.0`), or undefined. */
export function listedException(id: string): string | undefined {
  return lookup(loaded().exceptions, id);
}
