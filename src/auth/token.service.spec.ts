import jwt from 'jsonwebtoken';
import { AppConfig } from '../config/config';
import { TokenService, VERIFIED_TOKENS_KEPT, signToken } from './token.service';

const SECRET = 's'.repeat(32);

function tokenService(): TokenService {
  return new TokenService({ jwt: { secret: SECRET } } as AppConfig);
}

const parentToken = (sub = 'parent-1', expiresInSeconds = 600) =>
  signToken({ sub, role: 'parent' }, SECRET, { expiresInSeconds });

describe('TokenService', () => {
  afterEach(() => {
    jest.useRealTimers();
    jest.restoreAllMocks();
  });

  it('checks a token in full once, then answers its later uses until it expires', () => {
    const tokens = tokenService();
    const check = jest.spyOn(jwt, 'verify');
    const token = parentToken();

    expect(tokens.verify(token)).toEqual({ sub: 'parent-1', role: 'parent' });
    expect(tokens.verify(token)).toEqual({ sub: 'parent-1', role: 'parent' });
    expect(check).toHaveBeenCalledTimes(1);
  });

  it('refuses a token it verified once it has expired, beyond the clock tolerance', () => {
    jest.useFakeTimers({ now: new Date('2026-11-23T08:00:00Z') });
    const tokens = tokenService();
    const token = parentToken('parent-1', 60);
    expect(tokens.verify(token).sub).toBe('parent-1');

    jest.setSystemTime(new Date('2026-11-23T08:01:04Z'));
    expect(tokens.verify(token).sub).toBe('parent-1');
    jest.setSystemTime(new Date('2026-11-23T08:01:05Z'));
    expect(() => tokens.verify(token)).toThrow(/token expired/);
    expect(() => tokens.verify(token)).toThrow(/token expired/);
  });

  it('checks another signature over the same claims in full, and refuses a wrong one', () => {
    jest.useFakeTimers({ now: new Date('2026-11-23T08:00:00Z') });
    const tokens = tokenService();
    const token = parentToken();
    tokens.verify(token);
    const forged = jwt.sign({ sub: 'parent-1', role: 'parent' }, 'x'.repeat(32), {
      expiresIn: 600,
    });
    expect(forged.split('.')[1]).toBe(token.split('.')[1]);

    expect(() => tokens.verify(forged)).toThrow(/token is not valid/);
  });

  it('keeps a bounded number of tokens, dropping the oldest', () => {
    const tokens = tokenService();
    const first = parentToken('parent-0');
    tokens.verify(first);
    for (let n = 1; n <= VERIFIED_TOKENS_KEPT; n += 1) tokens.verify(parentToken(`parent-${n}`));
    const check = jest.spyOn(jwt, 'verify');

    tokens.verify(parentToken(`parent-${VERIFIED_TOKENS_KEPT}`));
    expect(check).not.toHaveBeenCalled();
    expect(tokens.verify(first).sub).toBe('parent-0');
    expect(check).toHaveBeenCalledTimes(1);
  });

  it('hands out a principal nobody can change for the next request', () => {
    const tokens = tokenService();
    const token = parentToken();
    const principal = tokens.verify(token);

    expect(() => Object.assign(principal, { role: 'operator' })).toThrow(TypeError);
    expect(tokens.verify(token).role).toBe('parent');
  });
});
