/** Sign-in, token refresh (rotating, with reuse detection) and sign-out. */
import { refreshSession, signIn, signOut } from '../../use-cases/sessions.js';
import type { AppDeps } from '../deps.js';
import { defineRoute, reply, type RouteSpec } from '../route.js';
import { ErrorResponse } from '../schemas/common.js';
import { LoginBody, LogoutBody, RefreshBody, TokenResponse } from '../schemas/auth.js';

const NO_STORE = { 'Cache-Control': 'no-store' };

export function authRoutes(deps: AppDeps, loginLimits: RouteSpec['before']): RouteSpec[] {
  const { tokens, config } = deps;

  async function issueTokens(userId: number, sessionId: string, refreshToken: string) {
    return {
      access_token: await tokens.sign({ userId, sessionId }),
      token_type: 'bearer' as const,
      expires_in: tokens.expiresIn,
      refresh_token: refreshToken,
    };
  }

  return [
    defineRoute({
      method: 'post',
      path: '/auth/login',
      summary: 'Sign in; returns an access token and a refresh token',
      description: 'Accepts application/x-www-form-urlencoded (as OAuth2 password clients send) or JSON.',
      tags: ['auth'],
      auth: 'public',
      form: true,
      body: LoginBody,
      before: loginLimits,
      responses: {
        200: { description: 'Signed in', schema: TokenResponse },
        401: { description: 'Wrong email or password', schema: ErrorResponse },
        403: { description: 'Account deactivated', schema: ErrorResponse },
        429: { description: 'Too many failed attempts from this address, or the account is locked for a while', schema: ErrorResponse },
      },
      handler: async ({ body, req }) => {
        const { user, sessionId, refreshToken } = await signIn(deps, {
          email: (body.username ?? body.email)!,
          password: body.password,
          userAgent: req.get('user-agent'),
          ip: req.ip,
          ttlSeconds: config.refreshTokenTtlSeconds,
        });
        return reply(200, await issueTokens(user.id, sessionId, refreshToken), NO_STORE);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/refresh',
      summary: 'Exchange a refresh token for new tokens (the old refresh token stops working)',
      description: 'Presenting an already used refresh token revokes its whole session (token theft is assumed).',
      tags: ['auth'],
      auth: 'public',
      body: RefreshBody,
      responses: {
        200: { description: 'New tokens', schema: TokenResponse },
        401: { description: 'Unknown, expired, revoked or reused refresh token', schema: ErrorResponse },
      },
      handler: async ({ body }) => {
        const next = await refreshSession(deps, body.refresh_token, config.refreshTokenTtlSeconds);
        return reply(200, await issueTokens(next.userId, next.sessionId, next.refreshToken), NO_STORE);
      },
    }),
    defineRoute({
      method: 'post',
      path: '/auth/logout',
      summary: 'Sign out: revokes the session, its refresh tokens and its access tokens',
      tags: ['auth'],
      auth: 'authenticated',
      body: LogoutBody,
      responses: { 204: { description: 'Signed out' }, 401: { description: 'Not signed in', schema: ErrorResponse } },
      handler: async ({ principal }) => {
        await signOut(deps, principal.sessionId);
        return reply(204);
      },
    }),
  ];
}
