// Whether Debian's PyTorch (python3-torch, for /usr/bin/python3) is installed: the tests that run a
// PyTorch script skip without it, saying so.
import { execFileSync } from 'node:child_process';

export const hasTorch = (() => {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
})();
