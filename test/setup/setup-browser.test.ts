// scripts/setup.mjs --browser: Chromium for the browser tests is found, or installed from Debian's
// package (shown here as a dry run, so the machine is not changed).
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

function setup(env: Record<string, string>): string {
  return execFileSync(process.execPath, ['scripts/setup.mjs', '--browser', '--no-dataset'], {
    env: { ...process.env, NORMLAB_SETUP_DRY_RUN: '1', ...env },
    encoding: 'utf8',
  });
}

describe('setup --browser', () => {
  it('finds the Chromium the browser tests launch', () => {
    expect(setup({ NORMLAB_CHROMIUM: process.execPath })).toContain(`setup: Chromium for the browser tests: ${process.execPath}`);
  });

  it('installs Debian chromium when it is missing', () => {
    const text = setup({ NORMLAB_CHROMIUM: '/nonexistent/chromium' });
    expect(text).toContain('Chromium not found at /nonexistent/chromium; needs Debian package chromium');
    expect(text).toContain('would run: DEBIAN_FRONTEND=noninteractive apt-get install -y chromium');
  });
});
