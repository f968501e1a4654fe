/**
 * The Containerfile syntax tree (what the parser reads) and the resolved form (what a build does),
 * both shaped after what buildah's parser (openshift/imagebuilder) keeps, so that a podman-compatible
 * build can reproduce buildah's history text (`created_by` is made from `original`) as well as its
 * configuration.
 */

/** Instructions we can build. Anything else is refused by the parser with its line. */
export type InstructionName =
  | 'from' | 'arg' | 'env' | 'label' | 'run' | 'cmd' | 'entrypoint' | 'copy' | 'add'
  | 'workdir' | 'user' | 'expose' | 'volume' | 'stopsignal';

/** One instruction as parsed, before any variable substitution. */
export interface Instruction {
  /** imagebuilder's node value: the keyword lower-cased. */
  readonly command: InstructionName;
  /** First and last physical line (1-based) the instruction spans. */
  readonly line: number;
  readonly endLine: number;
  /**
   * The logical line exactly as imagebuilder keeps it in `Node.Original`: the first physical line
   * without its leading white space, continuation characters (and the blanks after them) removed,
   * continuation lines appended as they are (comment and empty lines inside dropped), trailing white
   * space kept. buildah's history uses it: `/bin/sh -c #(nop) ` + original for metadata
   * instructions, `original.slice(4)` after `/bin/sh -c ` for RUN.
   */
  readonly original: string;
  /** Builder flags (`--from=x`), quotes and backslashes already removed as imagebuilder removes them. */
  readonly flags: readonly string[];
  /** True when the arguments were a JSON array (exec form). */
  readonly json: boolean;
  /**
   * The argument nodes as imagebuilder's line parsers make them, unsubstituted: ENV/LABEL give
   * key, value, key, value…; ARG gives its words (`NAME` or `NAME=default`, quotes kept); RUN/CMD/
   * ENTRYPOINT in shell form give one string; FROM/EXPOSE give the whitespace-separated words;
   * COPY/ADD/VOLUME the JSON strings or the words.
   */
  readonly args: readonly string[];
}

export interface ParsedContainerfile {
  /** The file name used in messages. */
  readonly file: string;
  /** The escape character (`\` or, after `# escape=\``, a backtick). */
  readonly escapeToken: '\\' | '`';
  readonly instructions: readonly Instruction[];
  /** imagebuilder's warnings (empty continuation lines), one line each with its line number. */
  readonly warnings: readonly string[];
}

/** The OS/architecture the built-in ARGs (TARGETARCH, BUILDPLATFORM, …) describe. */
export interface BuildPlatform {
  readonly os: string;
  readonly architecture: string;
  readonly variant?: string;
}

export type StageBase =
  | { readonly kind: 'scratch' }
  | { readonly kind: 'image'; readonly reference: string }
  | { readonly kind: 'stage'; readonly index: number };

/** Where COPY --from reads: an earlier stage or an image reference. */
export type CopySource =
  | { readonly kind: 'stage'; readonly index: number }
  | { readonly kind: 'image'; readonly reference: string };

/** A stage as planned from the FROM lines alone (no base image needed yet). */
export interface Stage {
  readonly index: number;
  /** imagebuilder's stage name: the `AS` name, or the index as a string. */
  readonly name: string;
  /** True when the stage was named with `AS`. */
  readonly named: boolean;
  readonly from: Instruction;
  /** The FROM operand after substitution with the global ARGs. */
  readonly baseName: string;
  readonly base: StageBase;
  /** `FROM --platform=` after substitution, if given. */
  readonly platform?: string;
  /** The instructions after FROM, in order. */
  readonly instructions: readonly Instruction[];
  /**
   * ARG words (`NAME` or `NAME=value`, expanded) imagebuilder re-declares at the start of this
   * stage because its FROM names, literally, a stage that declared them (or one that inherited them).
   */
  readonly inheritedArgs: readonly string[];
}

export interface ContainerfilePlan {
  readonly file: string;
  /** ARGs before the first FROM, as imagebuilder's HeadingArgs (built-ins included). */
  readonly headingArgs: ReadonlyMap<string, string>;
  readonly stages: readonly Stage[];
  /** Index of the stage the build produces (the last one, or `--target`). */
  readonly target: number;
}

/** What a base image contributes to variable substitution and relative paths. */
export interface BaseImageConfig {
  readonly env: readonly string[];
  readonly workingDir?: string;
}

interface ResolvedCommon {
  readonly source: Instruction;
  /**
   * The variables the instruction was substituted with, in imagebuilder's order (declared ARGs,
   * then the image's and ENV's variables, which win on a clash); also the environment buildah
   * gives a RUN.
   */
  readonly env: readonly string[];
  /** Declared ARGs with a value at this point (`Args` ∩ `AllowedArgs`), sorted by name. */
  readonly buildArgs: readonly (readonly [string, string])[];
  /** The argument nodes after substitution (for RUN/CMD/ENTRYPOINT: as written). */
  readonly args: readonly string[];
}

/** What COPY and ADD resolve to (ADD never has `from`). */
export interface CopyFields {
  readonly from?: CopySource;
  readonly chown?: string;
  readonly chmod?: string;
  readonly sources: readonly string[];
  /** The destination made absolute against the working directory, as imagebuilder does. */
  readonly dest: string;
  /** The last argument as written (buildah's history names it: `… in <rawDest>`). */
  readonly rawDest: string;
}

export type ResolvedInstruction = ResolvedCommon & (
  | { readonly kind: 'arg'; readonly declarations: readonly { readonly name: string; readonly value?: string }[] }
  | { readonly kind: 'env'; readonly pairs: readonly (readonly [string, string])[] }
  | { readonly kind: 'label'; readonly pairs: readonly (readonly [string, string])[] }
  | {
    readonly kind: 'run';
    /** Shell form: `command` is the text given to `/bin/sh -c`; exec form: `argv`. */
    readonly shell: boolean;
    readonly argv: readonly string[];
    readonly network?: string;
  }
  | { readonly kind: 'cmd'; readonly cmd: readonly string[] }
  | {
    readonly kind: 'entrypoint';
    /** `null` when `ENTRYPOINT` was given in shell form with no argument (imagebuilder sets nil). */
    readonly entrypoint: readonly string[] | null;
    /** True when no CMD was set in this stage yet: imagebuilder then clears the inherited Cmd. */
    readonly clearsCmd: boolean;
  }
  | ({ readonly kind: 'copy' } & CopyFields)
  | ({ readonly kind: 'add' } & CopyFields)
  | { readonly kind: 'workdir'; readonly path: string }
  | { readonly kind: 'user'; readonly user: string }
  | { readonly kind: 'expose'; readonly ports: readonly string[] }
  | { readonly kind: 'volume'; readonly paths: readonly string[] }
  | { readonly kind: 'stopsignal'; readonly signal: string }
);

export interface ResolvedStage {
  readonly stage: Stage;
  readonly instructions: readonly ResolvedInstruction[];
  /** The environment the stage's image ends with (what a stage built on it starts from). */
  readonly env: readonly string[];
  readonly workingDir: string;
}

export interface ResolvedContainerfile {
  readonly plan: ContainerfilePlan;
  /** The stages the target needs (itself, its base stages and COPY --from stages), in order. */
  readonly stages: readonly ResolvedStage[];
}
