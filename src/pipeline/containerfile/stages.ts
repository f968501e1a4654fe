/**
 * Stages from FROM lines, as imagebuilder's `NewStages` and buildah's executor make them:
 *
 * - ARGs before the first FROM are evaluated once (`--build-arg` values win over their defaults;
 *   the built-in TARGETxxx and BUILDxxx arguments of the building machine are in scope, as imagebuilder
 *   >= 1.2.18, buildah >= 1.42, has them) and become the global arguments.
 * - A FROM operand is substituted with: `--build-arg` values of global arguments, then the
 *   `--platform` built-ins, the machine's built-ins, the global ARG values (in that priority).
 * - `FROM x AS name` names the stage; an unnamed stage is named by its index (`"0"`, `"1"`, …).
 *   A base equal to the name of an EARLIER stage is that stage; `scratch` is no base; anything else
 *   is an image reference.
 * - `--target` keeps the stages up to the last one with that name (or that index).
 * - ARGs declared in a stage are re-declared in a stage whose FROM names it literally (imagebuilder
 *   >= 1.2.16); whether their values are expanded first changed in imagebuilder 1.2.20, so a
 *   Containerfile where that makes a difference is refused.
 *
 * Refused (E_UNSUPPORTED): stage names other than `[A-Za-z][A-Za-z0-9_.-]*` (imagebuilder would
 * substitute and compare them in ways that differ by version), duplicate stage names (the first
 * won before imagebuilder 1.2.21, the last since), `FROM --after`.
 */
import { ReproError } from '../../model/errors.js';
import { ArgScope, builtinArgDefaults, targetArgDefaults } from './args.js';
import { mapAsEnv, mergeEnv } from './env.js';
import { goAtoi } from './go-text.js';
import { oneLine } from './one-line.js';
import { processWord } from './substitute.js';
import type { BuildPlatform, ContainerfilePlan, Instruction, ParsedContainerfile, Stage, StageBase } from './types.js';

export interface PlanOptions {
  /** `--build-arg NAME=VALUE` values. */
  readonly buildArgs?: ReadonlyMap<string, string> | Readonly<Record<string, string>>;
  /** `--target STAGE` (a name or an index). */
  readonly target?: string;
  /** The machine that builds (imagebuilder's built-in ARG values); default linux/amd64. */
  readonly hostPlatform?: BuildPlatform;
  /** `--platform`: what TARGETOS/TARGETARCH/TARGETVARIANT/TARGETPLATFORM say instead. */
  readonly platform?: BuildPlatform;
}

const STAGE_NAME = /^[A-Za-z][A-Za-z0-9_.-]*$/;

/** Go's `strings.EqualFold(s, "as")`: Unicode folding makes U+017F (long s) equal to `s`. */
function isAs(s: string): boolean {
  return s.length === 2 && (s[0] === 'a' || s[0] === 'A') && (s[1] === 's' || s[1] === 'S' || s[1] === '\u017f');
}

export const DEFAULT_HOST: BuildPlatform = { os: 'linux', architecture: 'amd64' };

export function userArgsOf(options: PlanOptions): Map<string, string> {
  const b = options.buildArgs;
  if (b === undefined) return new Map();
  return b instanceof Map ? new Map(b) : new Map(Object.entries(b));
}

/** The context every stage starts from: what `NewStages` computes before splitting. */
export interface GlobalScope {
  readonly userArgs: ReadonlyMap<string, string>;
  readonly headingArgs: ReadonlyMap<string, string>;
  readonly builtinDefaults: ReadonlyMap<string, string>;
  readonly globalBuiltins: ReadonlyMap<string, string>;
}

/** Evaluates the ARGs before the first FROM (imagebuilder's `extractHeadingArgsFromNode`). */
export function headingScope(parsed: ParsedContainerfile, options: PlanOptions): GlobalScope {
  const userArgs = userArgsOf(options);
  const globalBuiltins = builtinArgDefaults(options.hostPlatform ?? DEFAULT_HOST);
  const builtinDefaults = new Map([...globalBuiltins, ...targetArgDefaults(options.platform)]);
  // A separate builder with the machine's built-ins only, all of them declared.
  const temp = new ArgScope(userArgs, new Map(), globalBuiltins, globalBuiltins);
  for (const [k, v] of globalBuiltins) {
    temp.allowed.add(k);
    if (!temp.args.has(k)) temp.args.set(k, v);
  }
  for (const ins of parsed.instructions) {
    if (ins.command === 'from') break;
    const where = `${parsed.file}:${ins.line}`;
    if (ins.args.length === 0) throw new ReproError('E_BAD_INPUT', `${where}: ARG requires an argument`);
    const env = temp.arguments();
    temp.declare(ins.args.map((a) => processWord(a, env, where)), where);
  }
  const headingArgs = new Map<string, string>();
  for (const [k, v] of temp.args) if (temp.allowed.has(k)) headingArgs.set(k, v);
  return { userArgs, headingArgs, builtinDefaults, globalBuiltins };
}

/** The variables a FROM operand or flag is substituted with (imagebuilder's `from` dispatcher). */
export function fromEnv(scope: GlobalScope, stageEnv: readonly string[] = []): string[] {
  const filtered = new Map<string, string>();
  for (const [k, v] of scope.userArgs) if (scope.headingArgs.has(k)) filtered.set(k, v);
  let env = mergeEnv(mapAsEnv(filtered), stageEnv);
  env = mergeEnv(mapAsEnv(scope.builtinDefaults), env);
  env = mergeEnv(mapAsEnv(scope.globalBuiltins), env);
  env = mergeEnv(mapAsEnv(scope.headingArgs), env);
  return env;
}

function splitStages(parsed: ParsedContainerfile): Instruction[][] {
  const out: Instruction[][] = [];
  for (const ins of parsed.instructions) {
    if (ins.command === 'from') out.push([ins]);
    else if (out.length > 0) out[out.length - 1]!.push(ins);
  }
  return out;
}

/**
 * Stage ARG words as imagebuilder passes them to the stages built on this one, raw (before 1.2.20)
 * and expanded (since); a difference between the two is refused.
 */
function inheritedArgs(parsed: ParsedContainerfile, groups: Instruction[][], scope: GlobalScope): string[][] {
  const result: string[][] = [];
  const byName = new Map<string, { raw: string[]; expanded: string[] }>();
  groups.forEach((group, index) => {
    const from = group[0]!;
    const inherited = byName.get(from.args[0] ?? '') ?? { raw: [], expanded: [] };
    const raw = [...inherited.raw];
    const expanded = [...inherited.expanded];
    let env = fromEnv(scope);
    for (const ins of group) {
      if (ins.command !== 'arg') continue;
      const where = `${parsed.file}:${ins.line}`;
      if (ins.args.length === 0) throw new ReproError('E_BAD_INPUT', `${where}: ARG requires an argument`);
      for (const word of ins.args) {
        const value = processWord(word, env, where);
        raw.push(word);
        expanded.push(value);
        env = mergeEnv(env, [value]);
      }
    }
    const record = { raw, expanded };
    if (from.args.length === 3) byName.set(from.args[2]!, record);
    byName.set(String(index), record);
    if (inherited.raw.some((w, i) => w !== inherited.expanded[i])) {
      throw new ReproError('E_UNSUPPORTED', `${parsed.file}:${from.line}: this stage inherits ARG values that buildah versions expand differently (an inherited ARG default with quotes, $ or \\)`);
    }
    result.push(inherited.expanded);
  });
  return result;
}

/** Plans the stages of a parsed Containerfile (no image is needed for this). */
export function planStages(parsed: ParsedContainerfile, options: PlanOptions = {}): ContainerfilePlan {
  return oneLine(() => planWithScope(parsed, options).plan);
}

/** {@link planStages} and the global scope it evaluated (resolve.ts needs both). */
export function planWithScope(parsed: ParsedContainerfile, options: PlanOptions): { plan: ContainerfilePlan; scope: GlobalScope } {
  const scope = headingScope(parsed, options);
  const groups = splitStages(parsed);
  const stages: Stage[] = [];
  const names = new Map<string, number>();
  groups.forEach((group, index) => {
    const from = group[0]!;
    const where = `${parsed.file}:${from.line}`;
    const a = from.args;
    if (!(a.length === 1 || (a.length === 3 && a[0] !== '' && isAs(a[1]!) && a[2] !== ''))) {
      throw new ReproError('E_BAD_INPUT', `${where}: FROM requires either one argument, or three: FROM <source> [AS <name>]`);
    }
    const named = a.length === 3;
    if (named) {
      const n = a[2]!;
      if (!STAGE_NAME.test(n)) throw new ReproError('E_UNSUPPORTED', `${where}: stage name ${JSON.stringify(n)} is not supported (use letters, digits, '_', '.', '-', starting with a letter)`);
      if (names.has(n)) throw new ReproError('E_UNSUPPORTED', `${where}: stage name ${JSON.stringify(n)} is used twice (buildah versions disagree on which one counts)`);
      names.set(n, index);
    }
    const name = named ? a[2]! : String(index);
    const env = fromEnv(scope);
    const baseName = processWord(a[0]!, env, where);
    if (baseName === '') throw new ReproError('E_BAD_INPUT', `${where}: FROM names an empty image`);
    let platform: string | undefined;
    for (const flag of from.flags) {
      const f = processWord(flag, env, where);
      if (f.startsWith('--platform=')) {
        platform = f.slice('--platform='.length);
        if (platform === '') throw new ReproError('E_BAD_INPUT', `${where}: no value specified for --platform=`);
      } else if (f.startsWith('--after=')) {
        throw new ReproError('E_UNSUPPORTED', `${where}: FROM --after is not supported`);
      } else {
        throw new ReproError('E_BAD_INPUT', `${where}: FROM only supports the --platform flag (got ${JSON.stringify(f)})`);
      }
    }
    let base: StageBase;
    const earlier = stages.find((s) => s.name === baseName);
    if (baseName === 'scratch') base = { kind: 'scratch' };
    else if (earlier !== undefined) base = { kind: 'stage', index: earlier.index };
    else base = { kind: 'image', reference: baseName };
    stages.push({
      index,
      name,
      named,
      from,
      baseName,
      base,
      ...(platform !== undefined ? { platform } : {}),
      instructions: group.slice(1),
      inheritedArgs: [],
    });
  });
  const inherited = inheritedArgs(parsed, groups, scope);
  stages.forEach((s, i) => { (s as { inheritedArgs: readonly string[] }).inheritedArgs = inherited[i]!; });
  let target = stages.length - 1;
  if (options.target !== undefined && options.target !== '') {
    const byName = [...stages].reverse().find((s) => s.name === options.target);
    const pos = goAtoi(options.target);
    const found = byName ?? (pos !== undefined ? stages.find((s) => s.index === pos) : undefined);
    if (found === undefined) throw new ReproError('E_USAGE', `the target ${JSON.stringify(options.target)} was not found in ${parsed.file}`);
    target = found.index;
  }
  return { plan: { file: parsed.file, headingArgs: scope.headingArgs, stages: stages.slice(0, target + 1), target }, scope };
}
