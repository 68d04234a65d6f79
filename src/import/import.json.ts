/** Reads NDJSON and JSON-array import files as checked rows, each with the line it starts on and its exact text. */
import { createInterface } from 'node:readline';
import { StringDecoder } from 'node:string_decoder';
import { describeJsonError } from '../shared/json-error.js';
import { ImportFileError } from './import.errors.js';
import { checkJsonUser, type CheckedRow } from './import.rows.js';

/** One user object per line; a line that is not JSON is a rejected row. */
export async function* ndjsonRows(input: NodeJS.ReadableStream): AsyncGenerator<CheckedRow> {
  const lines = createInterface({ input, crlfDelay: Infinity });
  let line = 0;
  for await (let text of lines) {
    line++;
    if (line === 1) text = text.replace(/^\uFEFF/, '');
    if (text.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      yield {
        line,
        raw: text,
        source: 'json',
        input: {},
        problems: [
          {
            field: '(line)',
            reason: `is not valid JSON (${describeJsonError(error, text, 'the line')}); each line must be one user object`,
          },
        ],
      };
      continue;
    }
    yield { line, raw: text, source: 'json', ...checkJsonUser(value) };
  }
}

/** Splits a top-level JSON array into its elements' texts as they stream in (string- and nesting-aware), with their line numbers. */
export async function* jsonArrayRows(input: NodeJS.ReadableStream, path: string): AsyncGenerator<CheckedRow> {
  const decoder = new StringDecoder('utf8');
  let line = 1;
  let state: 'before' | 'between' | 'after' | 'element' = 'before';
  let expectComma = false;
  let depth = 0;
  let inString = false;
  let escaped = false;
  let text = '';
  let startLine = 0;
  // An element cut by the problem is not reached either: the break is where it starts.
  const fail = (what: string): never => {
    const at = state === 'element' ? startLine : line;
    throw new ImportFileError(`${path}, line ${at}: not a JSON array of user objects (${what})`, at);
  };
  const finish = (): CheckedRow => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return {
        line: startLine,
        raw: text,
        source: 'json',
        input: {},
        problems: [
          { field: '(element)', reason: `is not valid JSON (${describeJsonError(error, text, 'the element')})` },
        ],
      };
    }
    return { line: startLine, raw: text, source: 'json', ...checkJsonUser(value) };
  };
  let firstChunk = true;
  for await (const chunk of input) {
    let s = decoder.write(chunk);
    if (firstChunk) {
      s = s.replace(/^\uFEFF/, '');
      firstChunk = false;
    }
    for (let i = 0; i < s.length; i++) {
      const c = s[i]!;
      if (state === 'element') {
        text += c;
        if (c === '\n') line++;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === '\\') escaped = true;
          else if (c === '"') inString = false;
        } else if (c === '"') inString = true;
        else if (c === '{' || c === '[') depth++;
        else if (c === '}' || c === ']') depth--;
        if (!inString && depth === 0 && (c === '}' || c === ']' || c === '"')) {
          state = 'between';
          expectComma = true;
          yield finish();
        } else if (depth < 0) fail('unbalanced brackets');
        continue;
      }
      if (c === '\n') line++;
      if (c === ' ' || c === '\t' || c === '\r' || c === '\n') continue;
      if (state === 'before') {
        if (c !== '[') fail(`expected "[" but found ${JSON.stringify(c)}`);
        state = 'between';
      } else if (state === 'after') fail(`unexpected ${JSON.stringify(c)} after the closing "]"`);
      else if (c === ']') state = 'after';
      else if (c === ',') {
        if (!expectComma) fail('a "," where a user object was expected');
        expectComma = false;
      } else if (expectComma) fail(`expected "," or "]" but found ${JSON.stringify(c)}`);
      else if (c === '{' || c === '[' || c === '"') {
        state = 'element';
        text = c;
        startLine = line;
        depth = c === '"' ? 0 : 1;
        inString = c === '"';
      } else fail(`expected a user object but found ${JSON.stringify(c)}`);
    }
  }
  if (state === 'before') return;
  if (state !== 'after') fail('the array is never closed with "]"');
}
