import { expect } from 'chai';
import { InputError } from '../lib/errors.js';

describe('InputError', () => {
  it('names the file, the key and the byte offset', () => {
    const e = new InputError('expected a positive integer', { file: 'a.json', pointer: '/peArray/rows' });
    expect(e.message).to.equal('a.json, at /peArray/rows: expected a positive integer');
    expect(new InputError('truncated', { file: 'x.npy', offset: 128 }).message).to.equal('x.npy, byte offset 128: truncated');
  });
});
