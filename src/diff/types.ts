/**
 * The data `diff` returns: what was compared, every difference found (with where it is and a named
 * finding), and the findings grouped with counts and examples. Renderers (text, JSON, HTML) only
 * read this; the JSON renderer writes it as it is (schema: docs/diff.md, docs/diff-schema.json).
 */

/** Version of the JSON document. A change that could break a reader bumps it. */
export const DIFF_SCHEMA_VERSION = 1;

/** A JSON value as it is reported (config fields, annotation values, entry fields). */
export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };

/** Where a difference lies, from the outside in. */
export interface Location {
  /** `platform linux/arm64` when both sides are multi-platform indexes, else absent. */
  platform?: string;
  /**
   * `index`, `manifest`, `config`, `layers`, `layer` or `filesystem` (flattened layers); for disk
   * images `disk` (the partition table) and `partition` (one partition and its file system).
   */
  level: 'index' | 'manifest' | 'config' | 'layers' | 'layer' | 'filesystem' | 'disk' | 'partition';
  /** 1-based GPT entry number (level `partition`). */
  partition?: number;
  /** The partition's GPT label on side A (else B), for display. */
  partitionLabel?: string;
  /** 1-based layer number (level `layer`). */
  layer?: number;
  /** The layer's digest on side A (else B), for display. */
  layerDigest?: string;
  /** Entry path inside a layer or the flattened filesystem ('.' for the root). */
  path?: string;
  /** When a path occurs more than once in a layer: which occurrence (2, 3, ...). */
  occurrence?: number;
}

/** Content detail of a regular file whose bytes differ. */
export interface ContentDetail {
  /** `text`: a unified diff; `binary`: first differing offset and a hex view; `gzip`: compared decompressed. */
  kind: 'text' | 'binary';
  /** gzip files: the decompressed content is what `kind` and `diff`/`hex` describe. */
  gzip?: { decompressedEqual: boolean; headerMtime: [number, number] };
  /** First byte offset where the two differ (undefined when beyond what was read for this comparison). */
  firstDifference?: number;
  /** Unified diff (text), at most --max-content-diff bytes. */
  diff?: string;
  /** Hex view around the first difference (binary): rows of `offset  hex  |ascii|` for A and B. */
  hex?: { a: string[]; b: string[] };
  /** The content shown was cut at --max-content-diff bytes. */
  truncated?: boolean;
  /** Why no diff is shown (e.g. the entries were far apart in the two archives). */
  note?: string;
}

export interface Difference {
  location: Location;
  /** Field name (see FIELDS in options.ts) or a JSON path such as `config.Env[1]`. */
  field: string;
  /** The value on each side; absent on the side where the thing does not exist. */
  a?: Value;
  b?: Value;
  /** Id of the finding this difference belongs to (see findings.ts). */
  finding: string;
  /** Regular files whose content differs. */
  content?: ContentDetail;
}

export interface Finding {
  id: string;
  /** One line: e.g. `mtime newer than SOURCE_DATE_EPOCH on 512 files`. */
  title: string;
  /** What usually causes it, and what to do. */
  hint: string;
  count: number;
  /** Up to 5 formatted locations, in output order. */
  examples: string[];
}

export interface SideSummary {
  reference: string;
  kind: 'image' | 'rootfs-tar' | 'rootfs-dir' | 'disk';
  /** The manifest digest (images), or the archive's SHA-256 (rootfs tarballs). */
  digest?: string;
  layers: number;
  /** Entries read from this side's layers (0 when no layer had to be read). */
  entriesRead: number;
  /** Disk images: the number of partitions. */
  partitions?: number;
}

export interface DiffResult {
  schemaVersion: typeof DIFF_SCHEMA_VERSION;
  identical: boolean;
  a: SideSummary;
  b: SideSummary;
  options: {
    semantic: boolean;
    ignore: string[];
    ignorePaths: string[];
    platform?: string;
    maxContentDiff: number;
    sourceDateEpoch?: number;
  };
  findings: Finding[];
  differences: Difference[];
  /** Differences beyond maxDifferences: counted in their findings, not listed. */
  omittedDifferences: number;
}
