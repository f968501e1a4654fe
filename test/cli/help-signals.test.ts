/**
 * The exit codes of an interrupted run are the same for every command (cli/main.ts handles SIGHUP,
 * SIGINT and SIGTERM alike, and a closed stdout/stderr pipe as 141): a command's help that names
 * them names all, as the global help.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { COMMANDS, mainHelp } from '../../src/cli/commands.js';

test('help texts: a command that documents interrupted exit codes documents 129, 130 and 143, as the global help', async () => {
  const global = mainHelp();
  for (const code of ['129', '130', '143', '141']) assert.match(global, new RegExp(`\\b${code}\\b`));
  for (const c of COMMANDS) {
    const exits = (await c.load()).help.split('\nExit codes: ')[1] ?? '';
    if (!/interrupted/.test(exits)) continue;
    for (const [code, sig] of [['129', 'SIGHUP'], ['130', 'SIGINT'], ['143', 'SIGTERM']]) {
      assert.match(exits, new RegExp(`\\b${code}\\b`), `${c.name} --help: ${code}`);
      assert.match(exits, new RegExp(`\\b${sig}\\b`), `${c.name} --help: ${sig}`);
    }
    // A closed stdout or stderr pipe ends every command alike (cli/broken-pipe.ts).
    assert.match(exits, /\b141\b/, `${c.name} --help: 141`);
  }
});
