import { GENESIS_HASH, digestHex, isHashAlgorithm, newHash } from './hashing';

describe('seal hashing', () => {
  // GB/T 32905-2016, appendix A: the two example messages.
  it.each([
    ['abc', '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0'],
    ['abcd'.repeat(16), 'debe9ff92275b8a138604889c18e5a4d6fdb70e5387e5765293dcba39c0c5732'],
  ])('computes SM3 of %j as the standard gives it', (message, digest) => {
    expect(digestHex('sm3', message)).toBe(digest);
  });

  it('computes SHA-256 as the alternative', () => {
    expect(digestHex('sha256', 'abc')).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('hashes incrementally to the same digest', () => {
    const hash = newHash('sm3');
    hash.update('ab');
    hash.update('c');
    expect(hash.digest('hex')).toBe(digestHex('sm3', 'abc'));
  });

  it('knows its algorithms and the genesis hash', () => {
    expect(isHashAlgorithm('sm3')).toBe(true);
    expect(isHashAlgorithm('sha256')).toBe(true);
    expect(isHashAlgorithm('md5')).toBe(false);
    expect(GENESIS_HASH).toMatch(/^0{64}$/);
  });
});
