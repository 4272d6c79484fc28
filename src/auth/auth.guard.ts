import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyRequest } from 'fastify';
import { AuthErrorCode, authError } from './auth.errors';
import { PUBLIC_KEY, ROLES_KEY } from './auth.decorators';
import { attachPrincipal, type Role } from './principal';
import { TokenService } from './token.service';

/**
 * Authenticates every request with its bearer token, then checks the route's roles. Routes
 * declare their roles; a route that declares neither roles nor @Public() is closed.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const targets = [context.getHandler(), context.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;

    const request = context.switchToHttp().getRequest<FastifyRequest>();
    const header = request.headers.authorization;
    const match = header?.match(/^Bearer ([A-Za-z0-9_.+/=-]+)$/);
    if (!match) {
      throw authError(AuthErrorCode.UNAUTHENTICATED, 'send Authorization: Bearer <token>');
    }
    const principal = this.tokens.verify(match[1]);
    attachPrincipal(request, principal);

    const roles = this.reflector.getAllAndOverride<Role[] | undefined>(ROLES_KEY, targets) ?? [];
    if (!roles.includes(principal.role)) {
      throw authError(AuthErrorCode.FORBIDDEN_ROLE, `the ${principal.role} role may not do this`);
    }
    return true;
  }
}
