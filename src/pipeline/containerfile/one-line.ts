/**
 * Every Containerfile error is one line: control characters and line separators from the file
 * (a `\r` inside a line, say) are shown escaped in messages.
 */
import { ReproError } from '../../model/errors.js';

const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/g;

export function oneLine<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof ReproError) {
      const message = e.message.replace(CONTROL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
      if (message !== e.message) throw new ReproError(e.code, message, { cause: e });
    }
    throw e;
  }
}
