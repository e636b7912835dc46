// Headless Chromium from Debian's package (apt-get install chromium), driven by playwright-core.
// A missing browser is an error that says how to install it: browser tests fail, never skip.
import { accessSync, constants, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';
// test/artifacts/, or the directory scripts/test.sh gives each Node line (lines may run side by side).
export const ARTIFACTS = process.env.OTELKIT_TEST_ARTIFACTS
  ? path.resolve(process.env.OTELKIT_TEST_ARTIFACTS)
  : path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

const ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

/** Launches Chromium with a fresh profile; returns { context, page, screenshot(name), close() }. */
export async function launchBrowser({ viewport = { width: 1400, height: 1000 } } = {}) {
  try {
    accessSync(CHROMIUM, constants.X_OK);
  } catch {
    throw new Error(`Chromium not found at ${CHROMIUM}: install Debian's package "chromium" ` +
      '(apt-get install -y chromium) to run the browser tests');
  }
  const profile = mkdtempSync(path.join(os.tmpdir(), 'otelkit-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: ARGS,
      viewport,
      timeout: 60000,
    });
  } catch (err) {
    rmSync(profile, { recursive: true, force: true });
    throw new Error(`could not start ${CHROMIUM}: ${err.message}`);
  }
  const page = context.pages()[0] ?? (await context.newPage());
  mkdirSync(ARTIFACTS, { recursive: true });
  return {
    context,
    page,
    /** Saves a full-page screenshot under test/artifacts/ and returns its path. */
    async screenshot(name) {
      const file = path.join(ARTIFACTS, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    async close() {
      await context.close().catch(() => {});
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
