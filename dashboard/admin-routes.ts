/**
 * /admin: browser sign-in and Bull Board. Admins may act on jobs; dispatchers may
 * look; everyone else is refused. State-changing requests need the CSRF token.
 */
import cookieParser from 'cookie-parser';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import type { Principal } from '../db/sessions.js';
import { projectPath } from '../lib/paths.js';
import { AppError } from '../lib/errors/index.js';
import type { AppDeps } from '../api/deps.js';
import { signIn, signOut } from '../use-cases/sessions.js';
import { thirdPartyPageCsp } from '../api/middleware/security-headers.js';
import { ADMIN_PATH, SESSION_COOKIE, csrfProtection, readBrowserSession, sessionCookieOptions } from './browser-session.js';
import { BOARD_PATH, createBoards } from './bull-board.js';
import { loginPage, signOutPage } from './login-page.js';
import { ROUTER_OPTIONS } from '../api/route.js';

/** Only local paths under our pages: never an open redirect. */
function safeNext(value: unknown): string {
  return typeof value === 'string' && /^\/(admin|dashboard)(\/[\w\-./]*)?$/.test(value) ? value : BOARD_PATH;
}

const STAFF_ROLES = new Set(['admin', 'dispatcher']);

/** Korean first for the refusals a sign-in form can meet before its handler runs. */
const FORM_REFUSALS: Record<string, string> = {
  csrf_invalid: '페이지가 만료되었습니다. 다시 로그인해 주세요 · this page had expired; please sign in again',
  account_locked: '로그인 실패가 반복되어 계정이 잠시 잠겼습니다 · ',
  rate_limited: '로그인 시도가 너무 많습니다 · ',
  service_unavailable: '잠시 후 다시 시도해 주세요 · ',
};

export function mountAdmin(app: Express, deps: AppDeps, loginLimits: RequestHandler[]): void {
  const { config } = deps;
  const { generateCsrfToken, doubleCsrfProtection } = csrfProtection(config.jwtSecret);
  const boards = createBoards(deps.queues);
  const router = express.Router(ROUTER_OPTIONS);
  router.use(cookieParser(), express.urlencoded({ extended: false, limit: '4kb' }), readBrowserSession(deps));
  router.use('/assets', express.static(projectPath('dashboard', 'static'), { maxAge: '1h', index: false }));

  router.get('/login', (req, res) => {
    res.type('html').send(loginPage({ csrfToken: generateCsrfToken(req, res), next: safeNext(req.query.next) }));
  });

  router.post('/login', doubleCsrfProtection, ...loginLimits, async (req, res, next) => {
    const target = safeNext(req.body?.next);
    try {
      const session = await signIn(deps, {
        email: String(req.body?.username ?? ''),
        password: String(req.body?.password ?? ''),
        userAgent: req.get('user-agent'),
        ip: req.ip,
        ttlSeconds: config.browserSessionTtlSeconds,
      });
      if (!STAFF_ROLES.has(session.user.role)) {
        await signOut(deps, session.sessionId);
        throw new AppError(403, 'forbidden', '운영 화면은 관리자와 배차 담당자만 쓸 수 있습니다 · operator pages are for admins and dispatchers');
      }
      const token = await deps.tokens.sign({ userId: session.user.id, sessionId: session.sessionId }, 'browser', config.browserSessionTtlSeconds);
      res.cookie(SESSION_COOKIE, token, sessionCookieOptions(config.browserSessionTtlSeconds));
      res.redirect(303, target);
    } catch (err) {
      if (!(err instanceof AppError) || err.status >= 500) return next(err);
      const message = err.status === 401 ? '이메일 또는 비밀번호가 틀렸습니다 · wrong email or password' : err.message;
      res
        .status(err.status)
        .type('html')
        .send(loginPage({ csrfToken: generateCsrfToken(req, res), next: target, error: message }));
    }
  });

  // Refusals raised before the handler (a form from a tab whose token is stale, the
  // sign-in limits, Redis away) answer with the sign-in page and a fresh token, not JSON.
  const loginFormError: ErrorRequestHandler = (err, req, res, next) => {
    const status: number = err instanceof AppError ? err.status : typeof err?.status === 'number' ? err.status : 500;
    if (req.method !== 'POST' || res.headersSent || (status >= 500 && status !== 503)) return next(err);
    const code = String(err?.code ?? '');
    const known = FORM_REFUSALS[code] ?? (status === 503 ? FORM_REFUSALS.service_unavailable : undefined);
    const message = code === 'csrf_invalid' ? known! : `${known ?? ''}${err.message}`;
    if (err instanceof AppError && err.headers) res.set(err.headers);
    res
      .status(status)
      .type('html')
      .send(loginPage({ csrfToken: generateCsrfToken(req, res), next: safeNext(req.body?.next), error: message }));
  };
  router.use('/login', loginFormError);

  router.get('/logout', (req, res) => {
    res.type('html').send(signOutPage(generateCsrfToken(req, res)));
  });

  router.post('/logout', doubleCsrfProtection, async (req, res) => {
    const principal = res.locals.principal as Principal | undefined;
    if (principal) {
      await signOut(deps, principal.sessionId);
    }
    res.clearCookie(SESSION_COOKIE, { path: ADMIN_PATH });
    res.redirect(303, `${ADMIN_PATH}/login`);
  });

  const requireStaff: RequestHandler = (req, res, next) => {
    const principal = res.locals.principal as Principal | undefined;
    if (!principal) {
      if (req.method === 'GET' && !req.path.startsWith('/api/')) {
        return res.redirect(303, `${ADMIN_PATH}/login?next=${encodeURIComponent(BOARD_PATH)}`);
      }
      return next(new AppError(401, 'unauthorized', 'sign in at /admin/login'));
    }
    if (!STAFF_ROLES.has(principal.role)) return next(new AppError(403, 'forbidden', 'operator pages are for admins and dispatchers'));
    // Dispatchers look; only admins act (the viewer board refuses actions too).
    if (!['GET', 'HEAD'].includes(req.method) && principal.role !== 'admin') {
      return next(new AppError(403, 'forbidden', 'only admins may change jobs and queues'));
    }
    next();
  };

  // Bull Board's page uses inline styles; scripts stay same-origin only.
  const boardCsp = thirdPartyPageCsp();

  router.use(
    '/queues',
    boardCsp,
    requireStaff,
    (req, res, next) => {
      // Hand the page a CSRF cookie for its API calls (kept if it is still valid for this session).
      if (req.method === 'GET') generateCsrfToken(req, res);
      next();
    },
    doubleCsrfProtection,
    (req, res, next) => ((res.locals.principal as Principal).role === 'admin' ? boards.admin : boards.viewer)(req, res, next),
  );

  app.use(ADMIN_PATH, router);
}
