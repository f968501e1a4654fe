/**
 * Runs imagebuilder's evaluator over the stages a target needs, without building anything: each
 * instruction's arguments substituted as buildah substitutes them and checked by its dispatcher.
 *
 * Per instruction (imagebuilder's `Step.Resolve` and dispatchers):
 * - Substituted (quotes removed, `$VAR` expanded): ENV, LABEL, ARG, COPY, ADD, WORKDIR, USER,
 *   VOLUME, STOPSIGNAL, and EXPOSE (which is also split into words after expansion). NOT
 *   substituted: RUN, CMD, ENTRYPOINT (the shell does it, or nothing does, in exec form).
 * - The variables: the stage's declared ARGs, overridden by the base image's environment and ENV.
 *   A stage starts with its base image's environment; `PATH=/usr/local/sbin:…:/bin` is added when
 *   the base has no PATH (always for `scratch`).
 * - COPY/ADD/RUN flags are substituted with the declared ARGs and the environment, without the
 *   added default PATH; COPY `--from` is then substituted once more with the ARGs alone (buildah
 *   does both) and names an earlier stage (by name, or index) or else an image.
 * - WORKDIR: a relative path is joined to the current one (and cleaned), an absolute one is kept as
 *   written; one trailing `/` is removed. COPY/ADD destinations are made absolute the same way,
 *   keeping a trailing `/`.
 * - CMD/ENTRYPOINT in shell form become `["/bin/sh", "-c", text]`; ENTRYPOINT clears the inherited
 *   CMD unless this stage set one.
 *
 * Refused: RUN `--mount` and the COPY/ADD flags `--link`, `--parents`, `--exclude`, `--checksum`,
 * `--keep-git-dir` (E_UNSUPPORTED), ADD from a URL (E_UNSUPPORTED), COPY from a URL, unknown
 * flags, wrong argument counts, empty ENV/LABEL keys (E_BAD_INPUT).
 */
import { ReproError } from '../../model/errors.js';
import { ArgScope } from './args.js';
import { hasEnvName, mergeEnv } from './env.js';
import { goAtoi, goJoinPath, trimGoSpace } from './go-text.js';
import { isValidStopSignal } from './signal.js';
import { oneLine } from './one-line.js';
import { planWithScope, type GlobalScope, type PlanOptions } from './stages.js';
import { processWord, processWords } from './substitute.js';
import type {
  BaseImageConfig, CopySource, Instruction, ParsedContainerfile, ResolvedContainerfile, ResolvedInstruction, ResolvedStage, Stage,
} from './types.js';

/** The PATH imagebuilder gives a stage whose base has none. */
export const DEFAULT_PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

export interface ResolveOptions extends PlanOptions {
  /**
   * The configuration of an image a stage starts from, by the reference as the FROM line names it
   * after substitution. Asked only for stages the target needs.
   */
  readonly baseImage?: (reference: string) => BaseImageConfig | undefined;
}

const SUBSTITUTED = new Set(['env', 'label', 'add', 'copy', 'workdir', 'expose', 'volume', 'user', 'stopsignal', 'arg']);

/** imagebuilder's `makeAbsolute` (COPY/ADD destinations). */
export function makeAbsolute(dest: string, workingDir: string): string {
  const hasSlash = (s: string): boolean => s.endsWith('/') || s.endsWith('/.');
  let d = dest;
  let wd = workingDir;
  if (d === '.') {
    if (!hasSlash(wd)) wd += '/';
    d = wd;
  }
  if (!d.startsWith('/')) {
    const slash = hasSlash(d);
    d = goJoinPath('/', wd, d);
    if (slash) d += '/';
  }
  return d;
}

/** imagebuilder's `workdir` dispatcher. */
export function nextWorkingDir(arg: string, current: string): string {
  let wd = arg;
  if (!wd.startsWith('/')) wd = goJoinPath('/', current, wd);
  if (wd !== '/' && wd.endsWith('/')) wd = wd.slice(0, -1);
  return wd;
}

/** docker.Port's Port() and Proto(): `80` → `80/tcp`, `53/udp/x` → `53/udp`. */
function normalisePort(p: string): string {
  const parts = p.split('/');
  return `${parts[0]}/${parts.length === 1 ? 'tcp' : parts[1]}`;
}

function isUrl(s: string): boolean {
  return s.startsWith('http://') || s.startsWith('https://');
}

class StageRun {
  readonly scope: ArgScope;
  /** imagebuilder's `b.Env` (the image's environment plus ENV) and `RunConfig.Env`. */
  builderEnv: string[];
  runEnv: string[];
  readonly imageEnv: readonly string[];
  workingDir: string;
  cmdSet = false;
  readonly out: ResolvedInstruction[] = [];

  constructor(readonly file: string, readonly stage: Stage, global: GlobalScope, base: BaseImageConfig, readonly stageNames: readonly Stage[]) {
    this.scope = new ArgScope(global.userArgs, global.headingArgs, global.builtinDefaults, global.globalBuiltins);
    if (stage.inheritedArgs.length > 0) this.scope.declare(stage.inheritedArgs, `${file}:${stage.from.line}`);
    this.imageEnv = [...base.env];
    this.builderEnv = mergeEnv([], base.env);
    this.runEnv = hasEnvName(this.builderEnv, 'PATH') ? [] : [DEFAULT_PATH_ENV];
    this.workingDir = base.workingDir ?? '';
  }

  /** The image environment after commit, in buildah's order (`SetEnv` moves a name to the end). */
  committedEnv(): string[] {
    let env = [...this.imageEnv];
    for (const spec of this.runEnv) {
      const eq = spec.indexOf('=');
      const key = eq < 0 ? spec : spec.slice(0, eq);
      env = env.filter((e) => !e.startsWith(`${key}=`));
      env.push(spec);
    }
    return env;
  }

  private flagEnv(): string[] {
    return mergeEnv(this.scope.arguments(), this.builderEnv);
  }

  private copySource(raw: string, processed: string, where: string): CopySource {
    if (raw.split('=').length !== 2) throw new ReproError('E_BAD_INPUT', `${where}: invalid --from flag ${JSON.stringify(raw)}, should be --from=<name|stage>`);
    let from = processWord(processed, this.scope.arguments(), where);
    const index = goAtoi(from);
    if (index !== undefined && index >= 0 && index < this.stage.index) from = this.stageNames[index]!.name;
    const stage = this.stageNames.slice(0, this.stage.index).find((s) => s.name === from);
    if (stage !== undefined) return { kind: 'stage', index: stage.index };
    return { kind: 'image', reference: from };
  }

  step(ins: Instruction): void {
    const where = `${this.file}:${ins.line}`;
    const env = mergeEnv(this.scope.arguments(), mergeEnv(this.builderEnv, this.runEnv));
    let args: string[];
    if (!SUBSTITUTED.has(ins.command)) args = [...ins.args];
    else if (ins.command === 'expose') args = ins.args.flatMap((a) => processWords(a, env, where));
    else args = ins.args.map((a) => processWord(a, env, where));
    const common = { source: ins, env, args };
    const done = (r: Record<string, unknown>): void => {
      this.out.push({ ...common, buildArgs: this.scope.declared(), ...r } as unknown as ResolvedInstruction);
    };
    const exactlyOne = (name: string): string => {
      if (args.length !== 1) throw new ReproError('E_BAD_INPUT', `${where}: ${name} requires exactly one argument`);
      return args[0]!;
    };
    switch (ins.command) {
      case 'arg': {
        if (args.length === 0) throw new ReproError('E_BAD_INPUT', `${where}: ARG requires an argument`);
        const declarations = this.scope.declare(args, where);
        done({ kind: 'arg', declarations });
        return;
      }
      case 'env':
      case 'label': {
        const name = ins.command.toUpperCase();
        if (args.length === 0) throw new ReproError('E_BAD_INPUT', `${where}: ${name} requires at least one argument`);
        const pairs: [string, string][] = [];
        for (let i = 0; i + 1 < args.length; i += 2) {
          if (args[i] === '') throw new ReproError('E_BAD_INPUT', `${where}: ${name} with an empty name`);
          pairs.push([args[i]!, args[i + 1]!]);
          if (ins.command === 'env') {
            const spec = `${args[i]}=${args[i + 1]}`;
            this.runEnv = mergeEnv(this.runEnv, [spec]);
            this.builderEnv = mergeEnv(this.builderEnv, [spec]);
          }
        }
        done({ kind: ins.command, pairs });
        return;
      }
      case 'run': {
        let network: string | undefined;
        for (const flag of ins.flags) {
          const f = processWord(flag, this.flagEnv(), where);
          if (f.startsWith('--mount=')) throw new ReproError('E_UNSUPPORTED', `${where}: RUN --mount is not supported`);
          if (f.startsWith('--network=')) {
            network = f.slice('--network='.length);
            if (network === '') throw new ReproError('E_BAD_INPUT', `${where}: no value specified for --network=`);
            continue;
          }
          throw new ReproError('E_BAD_INPUT', `${where}: RUN only supports the --mount and --network flag (got ${JSON.stringify(f)})`);
        }
        if (args.length === 0) throw new ReproError('E_BAD_INPUT', `${where}: RUN requires a command`);
        const argv = ins.json ? args : [args.join(' ')];
        done({ kind: 'run', shell: !ins.json, argv, ...(network !== undefined ? { network } : {}) });
        return;
      }
      case 'cmd': {
        const slice = ins.json ? args : args.length === 0 ? [] : [args.join(' ')];
        const cmd = ins.json ? slice : ['/bin/sh', '-c', ...slice];
        if (args.length !== 0) this.cmdSet = true;
        done({ kind: 'cmd', cmd });
        return;
      }
      case 'entrypoint': {
        const parsed = ins.json ? args : args.length === 0 ? [] : [args.join(' ')];
        const entrypoint = ins.json ? parsed : parsed.length === 0 ? null : ['/bin/sh', '-c', parsed[0]!];
        done({ kind: 'entrypoint', entrypoint, clearsCmd: !this.cmdSet });
        return;
      }
      case 'copy':
      case 'add': {
        const name = ins.command.toUpperCase();
        if (args.length < 2) throw new ReproError('E_BAD_INPUT', `${where}: ${name} requires at least two arguments`);
        let chown: string | undefined;
        let chmod: string | undefined;
        let from: CopySource | undefined;
        for (const flag of ins.flags) {
          const f = processWord(flag, this.flagEnv(), where);
          if (f.startsWith('--chown=')) {
            chown = f.slice('--chown='.length);
            if (chown === '') throw new ReproError('E_BAD_INPUT', `${where}: no value specified for --chown=`);
          } else if (f.startsWith('--chmod=')) {
            chmod = f.slice('--chmod='.length);
            if (!/^[0-7]+$/.test(chmod) || BigInt(`0o${chmod}`) > 0xffffffffn) throw new ReproError('E_BAD_INPUT', `${where}: error parsing chmod ${chmod}`);
          } else if (f.startsWith('--from=') && ins.command === 'copy') {
            const value = f.slice('--from='.length);
            if (value === '') throw new ReproError('E_BAD_INPUT', `${where}: no value specified for --from=`);
            from = this.copySource(flag, value, where);
          } else if (/^--(link|parents|exclude|checksum|keep-git-dir)(=|$)/.test(f)) {
            throw new ReproError('E_UNSUPPORTED', `${where}: ${name} ${f.split('=')[0]} is not supported`);
          } else {
            throw new ReproError('E_BAD_INPUT', `${where}: ${name} only supports the --chmod=<permissions>, --chown=<uid:gid>${ins.command === 'copy' ? ' and --from=<image|stage>' : ''} flags (got ${JSON.stringify(f)})`);
          }
        }
        const sources = args.slice(0, -1);
        for (const src of sources) {
          if (isUrl(src)) {
            if (ins.command === 'copy') throw new ReproError('E_BAD_INPUT', `${where}: source can't be a URL for COPY`);
            throw new ReproError('E_UNSUPPORTED', `${where}: ADD from a URL is not supported`);
          }
        }
        const rawDest = ins.args[ins.args.length - 1]!;
        const dest = makeAbsolute(args[args.length - 1]!, this.workingDir);
        done({
          kind: ins.command,
          ...(from !== undefined ? { from } : {}),
          ...(chown !== undefined ? { chown } : {}),
          ...(chmod !== undefined ? { chmod } : {}),
          sources,
          dest,
          rawDest,
        });
        return;
      }
      case 'workdir': {
        this.workingDir = nextWorkingDir(exactlyOne('WORKDIR'), this.workingDir);
        done({ kind: 'workdir', path: this.workingDir });
        return;
      }
      case 'user':
        done({ kind: 'user', user: exactlyOne('USER') });
        return;
      case 'expose': {
        if (args.length === 0) throw new ReproError('E_BAD_INPUT', `${where}: EXPOSE requires at least one argument`);
        done({ kind: 'expose', ports: args.map(normalisePort) });
        return;
      }
      case 'volume': {
        if (args.length === 0) throw new ReproError('E_BAD_INPUT', `${where}: VOLUME requires at least one argument`);
        const paths = args.map((v) => trimGoSpace(v));
        if (paths.some((p) => p === '')) throw new ReproError('E_BAD_INPUT', `${where}: Volume specified can not be an empty string`);
        done({ kind: 'volume', paths });
        return;
      }
      case 'stopsignal': {
        const signal = exactlyOne('STOPSIGNAL');
        if (!isValidStopSignal(signal)) throw new ReproError('E_BAD_INPUT', `${where}: invalid signal: ${signal}`);
        done({ kind: 'stopsignal', signal });
        return;
      }
      case 'from':
        throw new Error('FROM inside a stage');
    }
  }
}

/**
 * Plans the stages and resolves every instruction of the stages the target needs. Base image
 * configurations come from `options.baseImage`; a missing one is a usage error.
 */
export function resolveContainerfile(parsed: ParsedContainerfile, options: ResolveOptions = {}): ResolvedContainerfile {
  return oneLine(() => resolveAll(parsed, options));
}

function resolveAll(parsed: ParsedContainerfile, options: ResolveOptions): ResolvedContainerfile {
  const { plan, scope } = planWithScope(parsed, options);
  const done = new Map<number, ResolvedStage>();
  const resolving = new Set<number>();

  const resolveStage = (index: number): ResolvedStage => {
    const cached = done.get(index);
    if (cached !== undefined) return cached;
    if (resolving.has(index)) throw new Error(`stage ${index} depends on itself`);
    resolving.add(index);
    const stage = plan.stages[index]!;
    let base: BaseImageConfig;
    if (stage.base.kind === 'scratch') base = { env: [] };
    else if (stage.base.kind === 'stage') {
      const parent = resolveStage(stage.base.index);
      base = { env: parent.env, workingDir: parent.workingDir };
    } else {
      const cfg = options.baseImage?.(stage.base.reference);
      if (cfg === undefined) throw new ReproError('E_USAGE', `${parsed.file}:${stage.from.line}: no configuration given for base image ${stage.base.reference}`);
      base = cfg;
    }
    const run = new StageRun(parsed.file, stage, scope, base, plan.stages);
    for (const ins of stage.instructions) {
      run.step(ins);
      const last = run.out[run.out.length - 1]!;
      if ((last.kind === 'copy') && last.from?.kind === 'stage') resolveStage(last.from.index);
    }
    const resolved: ResolvedStage = { stage, instructions: run.out, env: run.committedEnv(), workingDir: run.workingDir };
    resolving.delete(index);
    done.set(index, resolved);
    return resolved;
  };

  resolveStage(plan.target);
  const stages = Array.from(done.values()).sort((a, b) => a.stage.index - b.stage.index);
  return { plan, stages };
}
