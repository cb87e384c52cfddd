import { existsSync } from 'node:fs';
import type { Browser } from 'playwright-core';

/** Debian's Chromium (CI installs it with apt; playwright cannot download its own browser here). */
export const CHROMIUM = '/usr/bin/chromium';

/** For node:test's `skip`: a message when Chromium is absent, false when present. */
export function skipWithoutChromium(): string | false {
  return existsSync(CHROMIUM)
    ? false
    : `${CHROMIUM} not found: install Debian's chromium (apt-get install chromium)`;
}

/**
 * Headless Chromium as root on a machine without a network: the background-networking flags stop
 * it from calling out (the connections would be refused, many at a time).
 */
export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
  });
}
