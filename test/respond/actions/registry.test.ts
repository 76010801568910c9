import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ACTION_IMPACTS } from '../../../src/respond/types.js';
import { ACTIONS } from '../../../src/respond/actions/registry.js';

const DIR = fileURLToPath(new URL('../../../src/respond/actions/', import.meta.url));

describe('action registry', () => {
  it('lists exactly the folders under src/respond/actions (folder = id)', () => {
    const folders = readdirSync(DIR, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort();
    expect(ACTIONS.map((a) => a.id).sort()).toEqual(folders);
  });

  it.each(ACTIONS.map((a) => [a.id, a] as const))('%s declares an impact, a strict schema with type: its id, and a channel', async (id, action) => {
    expect(ACTION_IMPACTS).toContain(action.impact);
    expect(action.config.safeParse({ type: id, surprise: 1 }).success).toBe(false);
    expect(action.config.safeParse({ type: 'other' }).success).toBe(false);
    const mod = (await import(pathToFileURL(join(DIR, id, 'index.ts')).href)) as { default: unknown };
    expect(mod.default).toBe(action);
    expect(typeof action.channel).toBe('function');
  });
});
