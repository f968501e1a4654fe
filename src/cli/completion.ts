/**
 * `repro-image completion bash|zsh`: a completion script made from the command table and each
 * command's flags and help text (commands, their flags with the help's descriptions, the fixed
 * choices of a few flags, files elsewhere). Deterministic: the same version prints the same script.
 */
import { ReproError } from '../model/errors.js';
import { COMMANDS, GLOBAL_SPELLINGS, type CommandModule } from './commands.js';
import { parse, type Io } from './common.js';
import { parseHelp } from './help-text.js';

export const COMPLETION_HELP = `Usage: repro-image completion bash|zsh

Prints a completion script for the shell: commands, each command's flags (with their help in
zsh), the choices of --compression, --format and the like, and file names for the rest.
  bash: source <(repro-image completion bash)      (e.g. in ~/.bashrc), or save it as
        ~/.local/share/bash-completion/completions/repro-image
  zsh:  repro-image completion zsh > "\${fpath[1]}/_repro-image"   (then restart zsh), or
        source <(repro-image completion zsh) after compinit

Exit codes: 0, 2 an unknown shell.`;

export const COMPLETION_FLAGS = {} as const;

/** Values some flags take from a fixed list. */
const CHOICES: Record<string, string[]> = {
  '--compression': ['gzip', 'zstd', 'none'],
  '--format': ['text', 'json'],
  '--normalize': ['all', 'none'],
  '--platform': ['linux/amd64', 'linux/arm64', 'linux/arm/v7', 'linux/386', 'linux/ppc64le', 'linux/s390x', 'linux/riscv64'],
};

/** What positional arguments of a command are completed with, besides files. */
const POSITIONALS: Record<string, string[]> = {
  completion: ['bash', 'zsh'],
};

interface Flag {
  spellings: string[];
  takesValue: boolean;
  description: string;
}

interface CommandFlags {
  name: string;
  summary: string;
  flags: Flag[];
}

function flagsOf(mod: CommandModule): Flag[] {
  const described = new Map<string, string>();
  for (const b of parseHelp(mod.help).blocks) {
    if (b.kind !== 'items') continue;
    for (const it of b.items) for (const f of it.flags) if (!described.has(f)) described.set(f, it.description);
  }
  const out: Flag[] = [];
  for (const [name, o] of Object.entries(mod.options ?? {})) {
    if (mod.hidden?.includes(name) || name === 'help') continue;
    const long = `--${name}`;
    if (name.endsWith('insecure')) {
      const tls = `--${name.slice(0, -'insecure'.length)}tls-verify`;
      out.push({ spellings: [`${tls}=false`], takesValue: false, description: described.get(tls) ?? described.get(long) ?? '' });
    }
    const spellings = o.short ? [`-${o.short}`, long] : [long];
    out.push({ spellings, takesValue: o.type === 'string', description: described.get(long) ?? '' });
  }
  out.push({ spellings: ['-h', '--help'], takesValue: false, description: 'this help' });
  return out;
}

async function table(): Promise<CommandFlags[]> {
  return Promise.all(COMMANDS.map(async (c) => ({ name: c.name, summary: c.summary, flags: flagsOf(await c.load()) })));
}

const shellWord = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

export function bashScript(cmds: CommandFlags[]): string {
  const names = [...cmds.map((c) => c.name), 'help'];
  const cases = cmds.map((c) => {
    const all = c.flags.flatMap((f) => f.spellings);
    const valued = c.flags.filter((f) => f.takesValue).flatMap((f) => f.spellings);
    return `    ${c.name}) flags=${shellWord(all.join(' '))}; valued=${shellWord(valued.join(' '))}; words=${shellWord((POSITIONALS[c.name] ?? []).join(' '))} ;;`;
  });
  const choices = Object.entries(CHOICES).map(([f, v]) => `      ${f}) COMPREPLY=($(compgen -W ${shellWord(v.join(' '))} -- "$cur")); return ;;`);
  return `# bash completion for repro-image (made by: repro-image completion bash)
_repro_image() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}"
  local cmd="" i flags="" valued="" words=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    case "\${COMP_WORDS[i]}" in
      -*) ;;
      *) cmd="\${COMP_WORDS[i]}"; break ;;
    esac
  done
  if [[ -z $cmd ]]; then
    COMPREPLY=($(compgen -W ${shellWord([...names, ...GLOBAL_SPELLINGS].join(' '))} -- "$cur"))
    return
  fi
  case "$cmd" in
${cases.join('\n')}
    help) COMPREPLY=($(compgen -W ${shellWord(names.join(' '))} -- "$cur")); return ;;
    *) COMPREPLY=(); return ;;
  esac
  if [[ " $valued " == *" $prev "* ]]; then
    case "$prev" in
${choices.join('\n')}
    esac
    COMPREPLY=($(compgen -f -- "$cur"))
    return
  fi
  if [[ $cur == -* ]]; then
    COMPREPLY=($(compgen -W "$flags ${GLOBAL_SPELLINGS.filter((g) => g !== '-h' && g !== '--help' && g !== '--version').join(' ')}" -- "$cur"))
    return
  fi
  COMPREPLY=($(compgen -W "$words" -- "$cur") $(compgen -f -- "$cur"))
}
complete -o filenames -o bashdefault -F _repro_image repro-image
`;
}

/** A description for zsh's `_arguments` (inside `[...]`): one line, no brackets or colons unescaped. */
function zshDesc(s: string): string {
  const first = s.split(/(?<=[.;])\s/)[0] ?? s;
  const short = first.length > 70 ? `${first.slice(0, 67)}...` : first;
  return short.replace(/\\/g, '\\\\').replace(/([[\]:])/g, '\\$1').replace(/'/g, `'\\''`);
}

export function zshScript(cmds: CommandFlags[]): string {
  const list = [...cmds.map((c) => `    ${shellWord(`${c.name}:${c.summary.replace(/:/g, '\\:')}`)}`), `    'help:help for a command'`];
  const funcs = cmds.map((c) => {
    const specs = c.flags.map((f) => {
      const value = f.takesValue ? `:${f.spellings.at(-1)!.slice(2)}:${CHOICES[f.spellings.at(-1)!] ? `(${CHOICES[f.spellings.at(-1)!]!.join(' ')})` : '_files'}` : '';
      const desc = zshDesc(f.description);
      if (f.spellings[0]!.endsWith('=false')) return `    '${f.spellings[0]!.slice(0, -'false'.length)}[${desc}]:verify:(false true)'`;
      if (f.spellings.length === 1) return `    '${f.spellings[0]}[${desc}]${value}'`;
      return `    '(${f.spellings.join(' ')})'{${f.spellings.join(',')}}'[${desc}]${value}'`;
    });
    const rest = POSITIONALS[c.name] ? `'*:argument:(${POSITIONALS[c.name]!.join(' ')})'` : `'*:file:_files'`;
    return `_repro_image_${c.name.replace(/-/g, '_')}() {\n  _arguments -s \\\n${specs.join(' \\\n')} \\\n    ${rest}\n}`;
  });
  return `#compdef repro-image
# zsh completion for repro-image (made by: repro-image completion zsh)
${funcs.join('\n\n')}

_repro_image() {
  local -a commands
  commands=(
${list.join('\n')}
  )
  local i cmd=""
  for ((i = 2; i < CURRENT; i++)); do
    case "\${words[i]}" in
      -*) ;;
      *) cmd="\${words[i]}"; break ;;
    esac
  done
  if [[ -z $cmd ]]; then
    if [[ \${words[CURRENT]} == -* ]]; then
      compadd -- ${GLOBAL_SPELLINGS.join(' ')}
    else
      _describe -t commands 'repro-image command' commands
    fi
    return
  fi
  if [[ $cmd == help ]]; then
    _describe -t commands 'repro-image command' commands
    return
  fi
  (( $+functions[_repro_image_$cmd] )) || return 1
  shift $(( i - 1 )) words
  (( CURRENT -= i - 1 ))
  _repro_image_$cmd
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
  _repro_image "$@"
else
  compdef _repro_image repro-image
fi
`;
}

export async function completionCommand(args: string[], io: Io): Promise<number> {
  const { positionals } = parse(args, COMPLETION_FLAGS, 'completion');
  if (positionals.length !== 1 || (positionals[0] !== 'bash' && positionals[0] !== 'zsh')) {
    throw new ReproError('E_USAGE', `completion: expected bash or zsh${positionals[0] !== undefined ? `, got ${JSON.stringify(positionals[0])}` : ''} (see repro-image completion --help)`);
  }
  const cmds = await table();
  io.stdout(positionals[0] === 'bash' ? bashScript(cmds) : zshScript(cmds));
  return 0;
}
