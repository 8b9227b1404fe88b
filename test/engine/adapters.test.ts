// NORMLAB_ADAPTER / --adapter: the names map to the Vulkan loader's and lavapipe's variables, and a
// missing driver or an unknown name is one clear error.
import { describe, it, expect } from 'vitest';
import { ADAPTERS, adapterChoice } from '../../src/engine/adapters.js';

const only = (...paths: string[]) => (p: string) => paths.includes(p);

describe('adapter choice', () => {
  it('points the loader at the driver and sets lavapipe\'s width', () => {
    const lvp = '/usr/share/vulkan/icd.d/lvp_icd.json';
    expect(adapterChoice('lavapipe4', only(lvp)).env).toEqual({ VK_ICD_FILENAMES: lvp, LP_NATIVE_VECTOR_WIDTH: '128' });
    expect(adapterChoice('lavapipe16', only(lvp)).env.LP_NATIVE_VECTOR_WIDTH).toBe('512');
    expect(adapterChoice('lavapipe', only(lvp)).env).toEqual({ VK_ICD_FILENAMES: lvp });
    // Other distributions name the manifest by architecture.
    expect(adapterChoice('lavapipe8', only('/usr/share/vulkan/icd.d/lvp_icd.x86_64.json')).env.VK_ICD_FILENAMES).toBe('/usr/share/vulkan/icd.d/lvp_icd.x86_64.json');
    expect(adapterChoice('swiftshader', only('/usr/lib/chromium/vk_swiftshader_icd.json')).env).toEqual({ VK_ICD_FILENAMES: '/usr/lib/chromium/vk_swiftshader_icd.json' });
    expect(Object.keys(ADAPTERS)).toEqual(['lavapipe', 'lavapipe4', 'lavapipe8', 'lavapipe16', 'swiftshader']);
  });

  it('names the known adapters, and the package a missing driver comes with', () => {
    expect(() => adapterChoice('radv', only())).toThrow(/unknown adapter 'radv' \(expected one of lavapipe, lavapipe4, lavapipe8, lavapipe16, swiftshader\)/);
    expect(() => adapterChoice('swiftshader', only())).toThrow(/no swiftshader Vulkan driver here \(looked for \/usr\/lib\/chromium\/vk_swiftshader_icd.json; it comes with Debian's chromium/);
    expect(() => adapterChoice('lavapipe4', only())).toThrow(/mesa-vulkan-drivers/);
  });
});
