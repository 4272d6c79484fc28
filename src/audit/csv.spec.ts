import { csvField, csvLine } from './csv';

describe('csv (RFC 4180)', () => {
  it('leaves plain fields bare and empties null', () => {
    expect(csvLine(['a', 1, -250, true, null, undefined])).toBe('a,1,-250,true,,\r\n');
  });

  it.each([
    ['a,b', '"a,b"'],
    ['say "hi"', '"say ""hi"""'],
    ['line\nbreak', '"line\nbreak"'],
    ['cr\rhere', '"cr\rhere"'],
    ['', ''],
    ['王小明', '王小明'],
  ])('quotes %j as %j', (value, expected) => {
    expect(csvField(value)).toBe(expected);
  });
});
