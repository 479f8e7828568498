/**
 * Splitting a `--cmd` string into a program and its arguments the way a
 * POSIX shell splits words: whitespace separates, single quotes keep
 * everything, double quotes keep everything but `\"` `\\` `\$` `` \` ``, and
 * a backslash outside quotes escapes the next character. No variables,
 * globs, pipes or redirections: the program is started directly, so
 * signals and its exit code reach us unchanged.
 */

/** The words of `command`; throws on an unterminated quote. */
export const shellWords = (command: string): string[] => {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < command.length; i++) {
    const c = command[i]!;
    if (c === "'") {
      const end = command.indexOf("'", i + 1);
      if (end < 0) throw new Error('unterminated single quote');
      word += command.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      for (i++; ; i++) {
        if (i >= command.length) throw new Error('unterminated double quote');
        const d = command[i]!;
        if (d === '"') break;
        if (d === '\\' && i + 1 < command.length && '"\\$`'.includes(command[i + 1]!)) word += command[++i];
        else word += d;
      }
    } else if (c === '\\') {
      if (i + 1 < command.length) word += command[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
};
