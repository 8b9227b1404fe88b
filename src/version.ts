// normlab's version, as package.json states it (test/cli/cli.test.ts checks they agree). Comparison
// directories record it, and `normlab report` merges only directories of one version.
export const NORMLAB_VERSION = '0.1.0';
