import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { TuskguardError } from '../../src/core/errors.js';
import { readSecrets } from '../../src/keys/cli/secret-input.js';
import { fakeToken } from './helpers.js';

/** A stand-in terminal: a stream with isTTY and setRawMode that records raw-mode switches. */
function fakeTty() {
  const input = new PassThrough() as PassThrough & { isTTY: boolean; setRawMode(on: boolean): void; raw: boolean[] };
  input.isTTY = true;
  input.raw = [];
  input.setRawMode = (on) => void input.raw.push(on);
  const output = new PassThrough();
  let shown = '';
  output.on('data', (d: Buffer) => (shown += d.toString()));
  return { input, output, shown: () => shown };
}

describe('readSecrets', () => {
  it('reads two lines from a pipe', async () => {
    const [t, s] = [fakeToken(), fakeToken()];
    const input = new PassThrough();
    input.end(`${t}\r\n\n${s}\n`);
    expect(await readSecrets(input as unknown as NodeJS.ReadStream)).toEqual({ token: t, client_secret: s });
  });

  it('rejects anything but two lines, without echoing them', async () => {
    const t = fakeToken();
    const input = new PassThrough();
    input.end(`${t}\n`);
    const e = (await readSecrets(input as unknown as NodeJS.ReadStream).catch((x: unknown) => x)) as TuskguardError;
    expect(e.code).toBe('USAGE');
    expect(`${e.message} ${e.hint}`).not.toContain(t);
  });

  it('prompts on a terminal in raw mode without echoing, honouring backspace', async () => {
    const tty = fakeTty();
    const [t, s] = [fakeToken(), fakeToken()];
    const done = readSecrets(tty.input as unknown as NodeJS.ReadStream, tty.output);
    tty.input.write(`${t}x\u007f\r`);
    await new Promise((r) => setTimeout(r, 10));
    tty.input.write(`${s}\r`);
    expect(await done).toEqual({ token: t, client_secret: s });
    expect(tty.shown()).toMatch(/access token \(hidden\): \nclient secret \(hidden\): \n/);
    expect(tty.shown()).not.toContain(t.slice(0, 8));
    expect(tty.input.raw).toEqual([true, false, true, false]);
  });

  it('Ctrl-C cancels and leaves raw mode', async () => {
    const tty = fakeTty();
    const done = readSecrets(tty.input as unknown as NodeJS.ReadStream, tty.output);
    tty.input.write('abc\u0003');
    expect(((await done.catch((x: unknown) => x)) as TuskguardError).message).toMatch(/cancelled/);
    expect(tty.input.raw).toEqual([true, false]);
  });
});
