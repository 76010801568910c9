import { TuskguardError } from '../../core/errors.js';

/**
 * Secrets for `keys add` come from stdin or a hidden prompt, never from argv (which `ps` and
 * shell history show to everyone).
 *
 * - stdin not a TTY: two lines, the token then the client secret
 *   (`printf '%s\n%s\n' "$TOKEN" "$CLIENT_SECRET" | tuskguard keys add ...`);
 * - stdin a TTY: two prompts on stderr that do not echo what is typed.
 */

const MAX_STDIN_BYTES = 64 * 1024;

export interface EnteredSecrets {
  token: string;
  client_secret: string;
}

async function readAll(input: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of input as AsyncIterable<Buffer | string>) {
    text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (text.length > MAX_STDIN_BYTES) {
      throw new TuskguardError('USAGE', 'stdin holds more than 64 KiB; expected two lines (token, client secret)', {
        hint: "printf '%s\\n%s\\n' \"$TOKEN\" \"$CLIENT_SECRET\" | tuskguard keys add ...",
      });
    }
  }
  return text;
}

/** One line typed without echo. Ctrl-C cancels, backspace edits. */
export function promptHidden(question: string, input: NodeJS.ReadStream, output: NodeJS.WritableStream): Promise<string> {
  output.write(question);
  input.setRawMode(true);
  input.setEncoding('utf8');
  input.resume();
  return new Promise((resolve, reject) => {
    let value = '';
    const finish = () => {
      input.setRawMode(false);
      input.pause();
      input.off('data', onData);
      output.write('\n');
    };
    function onData(chunk: string): void {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') {
          finish();
          resolve(value);
          return;
        }
        if (ch === '\u0003' || ch === '\u0004') {
          finish();
          reject(new TuskguardError('USAGE', 'cancelled; nothing was added'));
          return;
        }
        value = ch === '\u007f' || ch === '\b' ? value.slice(0, -1) : value + ch;
      }
    }
    input.on('data', onData);
  });
}

export async function readSecrets(
  input: NodeJS.ReadStream = process.stdin,
  output: NodeJS.WritableStream = process.stderr,
): Promise<EnteredSecrets> {
  if (input.isTTY) {
    const token = (await promptHidden('access token (hidden): ', input, output)).trim();
    const client_secret = (await promptHidden('client secret (hidden): ', input, output)).trim();
    return { token, client_secret };
  }
  const lines = (await readAll(input)).split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  if (lines.length !== 2) {
    throw new TuskguardError('USAGE', `stdin must hold exactly two lines, the token then the client secret (got ${lines.length})`, {
      hint: "printf '%s\\n%s\\n' \"$TOKEN\" \"$CLIENT_SECRET\" | tuskguard keys add ..., or run it in a terminal to be prompted",
    });
  }
  return { token: lines[0]!, client_secret: lines[1]! };
}
