/** The operator sign-in page: Korean first, English beside it; every interpolated value escaped. */
import escapeHtml from 'escape-html';

export interface LoginPageOptions {
  csrfToken: string;
  next: string;
  error?: string;
}

export function loginPage({ csrfToken, next, error }: LoginPageOptions): string {
  return `<!doctype html>
<html lang="ko">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>UVIS 운영자 로그인 · Operator sign-in</title>
<link rel="stylesheet" href="/admin/assets/admin.css">
</head>
<body>
<main>
<h1>UVIS 운영자 로그인<small>Operator sign-in</small></h1>
${error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form method="post" action="/admin/login">
<input type="hidden" name="_csrf" value="${escapeHtml(csrfToken)}">
<input type="hidden" name="next" value="${escapeHtml(next)}">
<label for="username">이메일 · Email</label>
<input id="username" name="username" type="email" autocomplete="username" required autofocus>
<label for="password">비밀번호 · Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required>
<button type="submit">로그인 · Sign in</button>
</form>
</main>
</body>
</html>`;
}

export function signOutPage(csrfToken: string): string {
  return `<!doctype html>
<html lang="ko">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>로그아웃 · Sign out</title><link rel="stylesheet" href="/admin/assets/admin.css"></head>
<body><main><h1>로그아웃<small>Sign out</small></h1>
<form method="post" action="/admin/logout"><input type="hidden" name="_csrf" value="${escapeHtml(csrfToken)}">
<button type="submit">로그아웃 · Sign out</button></form></main></body></html>`;
}
