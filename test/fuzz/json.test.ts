/** lib/json.ts: its syntax scanner agrees with JSON.parse on mutated JSON, and its messages say where. */
import { join } from 'node:path';
import { expect } from 'chai';
import { InputError, quote, quoteJson } from '../../lib/errors.js';
import { findJsonError, parseJsonText } from '../../lib/json.js';
import { packagePath } from '../../lib/package-dir.js';
import { HW_MODELS_DIR } from '../../sim/paths.js';
import { mutant } from './mutate.js';
import { filesIn, text } from './helpers.js';
import { throwsInput } from '../support/input-error.js';

describe('lib/json', () => {
  it('findJsonError finds an error exactly when JSON.parse throws (2000 mutants of the shipped JSON files)', function () {
    this.timeout(60_000);
    const bases = [
      ...filesIn(HW_MODELS_DIR, /\.json$/),
      ...filesIn(join(HW_MODELS_DIR, 'grids'), /\.json$/),
      ...filesIn(join(HW_MODELS_DIR, 'energy'), /\.json$/),
      ...filesIn(packagePath('traces', 'samples', 'tiny'), /\.json$/),
    ];
    const o = { seed: 0x6a736e, count: 2000, bases, jsonShare: 0.2 };
    const disagree: string[] = [];
    for (let i = 0; i < o.count; i++) {
      const t = text(mutant(o, i).bytes);
      let parses = true;
      try {
        JSON.parse(t);
      } catch {
        parses = false;
      }
      const at = findJsonError(t);
      if ((at === undefined) !== parses)
        disagree.push(`#${i}: JSON.parse ${parses ? 'accepts' : 'refuses'}, findJsonError says ${JSON.stringify(at)}`);
    }
    expect(disagree).to.deep.equal([]);
  });

  it('names the line and column, what was expected and a short excerpt of what was found', () => {
    throwsInput(
      () => parseJsonText('{\n  "a": 1,\n  "b" 2\n}', 'f.json'),
      /^f\.json, line 3: malformed JSON at column 7: expected ':', found "2\\n}"$/,
    );
    throwsInput(() => parseJsonText('[1, 2', 'f.json'), /line 1: .*expected ',' or '\]', found the end of the file$/);
    throwsInput(
      () => parseJsonText('{"a": "x\ny"}', 'f.json'),
      /line 1: .*column 9: expected an escape .* for a control character in a string, found "\\ny\\"}"$/,
    );
    throwsInput(() => parseJsonText(`{"a": ${'9'.repeat(500)}x}`, 'f.json'), /column 507: expected ',' or '}', found "x}"$/);
    throwsInput(() => parseJsonText('\ufeff{}', 'f.json'), /column 1: expected a value, found "\\ufeff{}"$/);
    throwsInput(() => parseJsonText('{} {}', 'f.json'), /column 4: expected the end of the file, found "{}"$/);
    throwsInput(() => parseJsonText('', 'f.json'), /expected a value, found the end of the file$/);
    expect(parseJsonText('{"a": [1, -2.5e3, true, null, "\\u00e9"]}', 'f.json')).to.deep.equal({ a: [1, -2500, true, null, 'é'] });
  });

  it('quote / quoteJson / InputError keep raw input to one short line', () => {
    expect(quote('a\nb"\u0000\u2028')).to.equal('"a\\nb\\"\\u0000\\u2028"');
    expect(quote('x'.repeat(100))).to.equal(`"${'x'.repeat(60)}…"`);
    expect(quote(`${'x'.repeat(59)}😀`)).to.equal(`"${'x'.repeat(59)}…"`); // no half surrogate pair
    expect(quoteJson([1, 'a'.repeat(100)])).to.equal(`[1,"${'a'.repeat(56)}…`);
    let deep: unknown = 0;
    for (let i = 0; i < 100_000; i++) deep = [deep];
    expect(quoteJson(deep)).to.equal('[…]');
    const e = new InputError('m', { file: 'a\nb.json', pointer: `/k/${'z'.repeat(50)}\r` });
    expect(e.message).to.equal(`a\\nb.json, at /k/${'z'.repeat(40)}…: m`);
    expect(e.where.pointer).to.equal(`/k/${'z'.repeat(50)}\r`);
  });
});
