/**
 * Verifies bearer tokens (HS256 with the configured secret, or RS256 with the configured public
 * key) and turns their claims into a Principal. Tokens without a signature, with another
 * algorithm, expired, or missing a claim the role needs are refused.
 */
import { KeyObject, createPublicKey, createSecretKey } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import jwt, { Algorithm, JwtPayload } from 'jsonwebtoken';
import { APP_CONFIG, AppConfig } from '../config/config';
import { AuthErrorCode, authError } from './auth.errors';
import { Principal, ROLES, Role } from './principal';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DISTRICT = /^[A-Za-z0-9_-]{1,64}$/;

export interface TokenClaims {
  sub: string;
  role: Role;
  institutionId?: string;
  districtId?: string;
}

function refuse(reason: string): never {
  throw authError(AuthErrorCode.UNAUTHENTICATED, reason);
}

/** Checks the claims a principal needs; throws UNAUTHENTICATED naming what is wrong. */
export function principalFromClaims(claims: JwtPayload): Principal {
  const { sub, role, institutionId, districtId } = claims as Record<string, unknown>;
  if (typeof sub !== 'string' || sub.length < 1 || sub.length > 128)
    refuse('token has no valid sub');
  if (typeof role !== 'string' || !ROLES.includes(role as Role)) refuse('token has no valid role');
  if (role !== 'parent' && (typeof districtId !== 'string' || !DISTRICT.test(districtId))) {
    refuse(`a ${role} token needs districtId`);
  }
  if (role === 'institution' && (typeof institutionId !== 'string' || !UUID.test(institutionId))) {
    refuse('an institution token needs institutionId (a UUID)');
  }
  return {
    sub,
    role: role as Role,
    ...(role === 'institution' ? { institutionId: institutionId as string } : {}),
    ...(role !== 'parent' ? { districtId: districtId as string } : {}),
  };
}

/** Seconds of clock difference allowed with the token's issuer, on its expiry. */
const CLOCK_TOLERANCE_S = 5;

/**
 * Tokens verified lately, kept so that a client's next request with the same token costs a map
 * lookup instead of a signature check (a parent's app sends one token for an hour of requests).
 * At most this many; the oldest go first.
 */
export const VERIFIED_TOKENS_KEPT = 10_000;

interface VerifiedToken {
  principal: Principal;
  /** The token's `exp`, in seconds since the epoch. */
  expiresAt: number;
}

@Injectable()
export class TokenService {
  /** Built once: jsonwebtoken would otherwise parse the key again for every request. */
  private readonly key: KeyObject;
  private readonly algorithm: Algorithm;
  /**
   * By the whole token, signature included, so another signature over the same claims is a
   * different entry and is checked in full. A token is kept only once it passed every check, and
   * is used from here only until its expiry: nothing else about it can change, as the key is
   * fixed for the process's life.
   */
  private readonly verified = new Map<string, VerifiedToken>();

  constructor(@Inject(APP_CONFIG) config: AppConfig) {
    const { publicKey, secret } = config.jwt;
    this.algorithm = publicKey ? 'RS256' : 'HS256';
    this.key = publicKey
      ? createPublicKey(publicKey)
      : createSecretKey(Buffer.from(secret, 'utf8'));
  }

  verify(token: string): Principal {
    const known = this.verified.get(token);
    // jsonwebtoken's own rule: expired from `exp + clockTolerance` on.
    if (known && Date.now() / 1000 < known.expiresAt + CLOCK_TOLERANCE_S) return known.principal;
    if (known) this.verified.delete(token);
    const verified = this.verifyInFull(token);
    if (this.verified.size >= VERIFIED_TOKENS_KEPT) {
      this.verified.delete(this.verified.keys().next().value as string);
    }
    this.verified.set(token, verified);
    return verified.principal;
  }

  private verifyInFull(token: string): VerifiedToken {
    let claims: string | JwtPayload;
    try {
      claims = jwt.verify(token, this.key, {
        algorithms: [this.algorithm],
        clockTolerance: CLOCK_TOLERANCE_S,
      });
    } catch (error) {
      const reason =
        error instanceof jwt.TokenExpiredError ? 'token expired' : 'token is not valid';
      refuse(reason);
    }
    if (typeof claims === 'string') refuse('token payload is not an object');
    if (claims.exp === undefined) refuse('token has no expiry');
    return { principal: Object.freeze(principalFromClaims(claims)), expiresAt: claims.exp };
  }
}

/** Signs a development token; used by `npm run token` and the tests. */
export function signToken(
  claims: TokenClaims,
  key: string,
  options: { algorithm?: Algorithm; expiresInSeconds?: number } = {},
): string {
  return jwt.sign({ ...claims }, key, {
    algorithm: options.algorithm ?? 'HS256',
    expiresIn: options.expiresInSeconds ?? 3600,
  });
}
