// scripts/setup.mjs --browser: Chromium for the browser tests is found, or installed from Debian's
// package (shown here as a dry run, so the machine is not changed).
import { describe, expect, it } from 'vitest';
import { runAsync } from '../helpers/cli.js';

async function setup(env: Record<string, string>): Promise<string> {
  const r = await runAsync(process.execPath, ['scripts/setup.mjs', '--browser', '--no-dataset'], { env: { ...process.env, NORMLAB_SETUP_DRY_RUN: '1', ...env } });
  if (r.status !== 0) throw new Error(`setup.mjs exited ${r.status}: ${r.stderr}`);
  return r.stdout;
}

describe('setup --browser', () => {
  it('finds the Chromium the browser tests launch', async () => {
    expect(await setup({ NORMLAB_CHROMIUM: process.execPath })).toContain(`setup: Chromium for the browser tests: ${process.execPath}`);
  });

  it('installs Debian chromium when it is missing', async () => {
    const text = await setup({ NORMLAB_CHROMIUM: '/nonexistent/chromium' });
    expect(text).toContain('Chromium not found at /nonexistent/chromium; needs Debian package chromium');
    expect(text).toContain('would run: DEBIAN_FRONTEND=noninteractive apt-get install -y chromium');
  });
});
