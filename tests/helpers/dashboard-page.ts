/** The dashboard as a person opens it in the test browser (tests/browser/*.test.ts): sign-in form, language switch. */
import type { BrowserContext, Page } from 'playwright-core';
import { newPage, type WatchedPage } from '../browser/chromium.js';

/**
 * Opens the dashboard and signs in through its form, as a person would; resolves when the live
 * stream is up. The page is pushed onto `pages` so the caller's afterEach can close it (each open
 * page holds a live stream, and Chromium allows six HTTP/1.1 connections per host).
 */
export async function openSignedIn(
  context: BrowserContext,
  baseUrl: string,
  account: { email: string; password: string },
  pages: WatchedPage[],
): Promise<WatchedPage> {
  const watched = await newPage(context);
  pages.push(watched);
  const { page } = watched;
  await page.goto(`${baseUrl}/dashboard/`);
  await page.fill('#email', account.email);
  await page.fill('#password', account.password);
  await page.press('#password', 'Enter');
  await page.waitForSelector('#live-state[data-state="live"]');
  return watched;
}

/** Switches the page to `lang` if it is not already in it, and waits for the switch. */
export async function useLanguage(page: Page, lang: 'ko' | 'en'): Promise<void> {
  if ((await page.getAttribute('html', 'lang')) !== lang) await page.click('#lang-switch');
  await page.waitForSelector(`html[lang="${lang}"]`);
}
