/**
 * Every Containerfile error is one line: control characters and line separators from the file
 * (a `\r` inside a line, say) are shown escaped in messages.
 */
import { ReproError, escapeControl } from '../../model/errors.js';

export function oneLine<T>(run: () => T): T {
  try {
    return run();
  } catch (e) {
    if (e instanceof ReproError) {
      const message = escapeControl(e.message);
      if (message !== e.message) throw new ReproError(e.code, message, { cause: e });
    }
    throw e;
  }
}
