import type { Command } from 'commander';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { buildProgram } from '../../src/cli/program.js';
import { runCli } from '../helpers/cli.js';

/** Every command that does something itself (not a group such as `keys`), with its full name. */
function leaves(cmd: Command, prefix: string[] = []): Array<{ name: string; cmd: Command }> {
  const out: Array<{ name: string; cmd: Command }> = [];
  for (const sub of cmd.commands) {
    if (sub.name() === 'help') continue;
    const path = [...prefix, sub.name()];
    if (sub.commands.length === 0) out.push({ name: path.join(' '), cmd: sub });
    else out.push(...leaves(sub, path));
  }
  return out;
}

describe('CLI registry', () => {
  it('registers exactly the command modules in src/cli/commands (files exporting register)', async () => {
    const dir = new URL('../../src/cli/commands/', import.meta.url);
    // A command module exports `register(program)`; helpers such as respond-undo.ts are
    // pulled in by their parent command and export something else.
    const modules = readdirSync(dir)
      .filter((f) => f.endsWith('.ts') && f !== 'index.ts')
      .filter((f) => /^export function register\(program: Command\)/m.test(readFileSync(new URL(f, dir), 'utf8')))
      .map((f) => f.replace(/\.ts$/, ''))
      .sort();
    const index = readFileSync(new URL('index.ts', dir), 'utf8');
    const listed = [...index.matchAll(/import\('\.\/([a-z-]+)\.js'\)/g)].map((m) => m[1]).sort();
    expect(listed).toEqual(modules);
    expect(COMMANDS).toHaveLength(listed.length);
    for (const load of COMMANDS) expect(typeof (await load()).register).toBe('function');
  });

  it('gives every command --output human|json and a description', async () => {
    const program = await buildProgram();
    const all = leaves(program);
    expect(all.length).toBeGreaterThan(10);
    const missing = all.filter(({ cmd }) => {
      const opt = cmd.options.find((o) => o.long === '--output');
      return !opt || !(opt.argChoices ?? []).includes('json') || !(opt.argChoices ?? []).includes('human');
    });
    expect(missing.map((m) => m.name)).toEqual([]);
    expect(all.filter(({ cmd }) => !cmd.description()).map((m) => m.name)).toEqual([]);
  });

  it('answers --help with exit 0 for every command', async () => {
    const program = await buildProgram();
    const names = leaves(program).map((l) => l.name.split(' '));
    for (const name of names) {
      const r = await runCli([...name, '--help']);
      expect({ name: name.join(' '), code: r.code }).toEqual({ name: name.join(' '), code: 0 });
      expect(r.stdout).toContain('Usage: tuskguard');
    }
  }, 240_000);

  it('exits 2 on an unknown command or option', async () => {
    expect((await runCli(['no-such-command'])).code).toBe(2);
    expect((await runCli(['parse', '--no-such-option'])).code).toBe(2);
  });
});
