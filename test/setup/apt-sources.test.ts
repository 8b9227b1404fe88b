import { describe, it, expect } from 'vitest';
// scripts/ is plain ESM without type declarations (it must run before node_modules exists).
// @ts-ignore -- untyped .mjs module; typed through AptSources below
import * as aptRaw from '../../scripts/apt-sources.mjs';

interface SourceFile {
  path: string;
  text: string;
}
interface BookwormSource {
  uri: string;
  signedBy: string | null;
  components: string[];
}
interface AptSources {
  findBookwormSource(files: SourceFile[]): BookwormSource | null;
  hasBackports(files: SourceFile[]): boolean;
  backportsFiles(files: SourceFile[]): string[];
  backportsStanza(source: { uri: string; signedBy: string | null }): string;
}
const apt = aptRaw as unknown as AptSources;

// The stock Debian 12 container file: main + updates in one stanza, security in another.
const DEBIAN_SOURCES = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
# http://snapshot.debian.org/archive/debian-security/20250520T000000Z
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

const BACKPORTS_SOURCES = `Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

const f = (path: string, text: string): SourceFile => ({ path, text });

describe('findBookwormSource (deb822)', () => {
  it('picks the bookworm stanza, not bookworm-security', () => {
    const src = apt.findBookwormSource([f('/etc/apt/sources.list.d/debian.sources', DEBIAN_SOURCES)]);
    expect(src).toEqual({
      uri: 'http://deb.debian.org/debian',
      signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg',
      components: ['main'],
    });
  });

  it('skips a security stanza listed first and finds bookworm on a local mirror', () => {
    const text = `# security first, on purpose
Types: deb deb-src
URIs: http://mirror.example.lan/debian-security/
Suites: bookworm-security
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb deb-src
URIs: http://mirror.example.lan/debian/
Suites: bookworm
# comment inside a stanza
Components: main contrib non-free-firmware
Signed-By: /etc/apt/keyrings/local.gpg
`;
    const src = apt.findBookwormSource([f('/etc/apt/sources.list.d/local.sources', text)]);
    expect(src).not.toBeNull();
    expect(src!.uri).toBe('http://mirror.example.lan/debian/');
    expect(src!.signedBy).toBe('/etc/apt/keyrings/local.gpg');
    expect(src!.components).toEqual(['main', 'contrib', 'non-free-firmware']);
  });

  it('ignores deb-src-only and disabled stanzas', () => {
    const text = `Types: deb-src
URIs: http://src.example.org/debian
Suites: bookworm
Components: main

Enabled: no
Types: deb
URIs: http://disabled.example.org/debian
Suites: bookworm
Components: main

Types: deb
URIs: http://good.example.org/debian
Suites: bookworm
Components: main
`;
    expect(apt.findBookwormSource([f('/etc/apt/sources.list.d/x.sources', text)])?.uri).toBe(
      'http://good.example.org/debian',
    );
  });

  it('reads field names case-insensitively and without Signed-By gives null', () => {
    const text = 'types: deb\nuris: http://a.example/debian\nsuites: bookworm\ncomponents: main\n';
    expect(apt.findBookwormSource([f('/etc/apt/sources.list.d/a.sources', text)])).toEqual({
      uri: 'http://a.example/debian',
      signedBy: null,
      components: ['main'],
    });
  });

  it('keeps an inline multi-line Signed-By key and writes it back as continuation lines', () => {
    const text = `Types: deb
URIs: http://k.example/debian
Suites: bookworm
Components: main
Signed-By:
 -----BEGIN PGP PUBLIC KEY BLOCK-----
 .
 mQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPR8lsD3K87ZM18gzyQZJD+w
 -----END PGP PUBLIC KEY BLOCK-----
`;
    const src = apt.findBookwormSource([f('/etc/apt/sources.list.d/k.sources', text)]);
    expect(src!.signedBy).toBe(
      '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBGPL0BUBEADmW5NdOOHwPIJlgPu6JDcKw/NZJPR8lsD3K87ZM18gzyQZJD+w\n-----END PGP PUBLIC KEY BLOCK-----',
    );
    const stanza = apt.backportsStanza(src!);
    expect(stanza).toContain('\nSigned-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mQINB');
    // and the written stanza parses back to the same key
    const written = f('/etc/apt/sources.list.d/normlab-backports.sources', stanza);
    expect(apt.hasBackports([written])).toBe(true);
    const reread = apt.findBookwormSource([{ ...written, text: stanza.replace('bookworm-backports', 'bookworm') }]);
    expect(reread).toEqual(src);
  });

  it('returns null when no source serves bookworm', () => {
    const text = BACKPORTS_SOURCES.replace('bookworm-backports', 'trixie');
    expect(apt.findBookwormSource([f('/etc/apt/sources.list.d/t.sources', text)])).toBeNull();
    expect(apt.findBookwormSource([])).toBeNull();
  });
});

describe('findBookwormSource (one-line)', () => {
  it('parses [signed-by=...] options, skips comments, security and deb-src lines', () => {
    const text = `# See sources.list(5)
# deb http://commented.example/debian bookworm main
deb-src http://deb.example.net/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://security.example.net/debian-security bookworm-security main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.example.net/debian bookworm main contrib # trailing comment
deb http://deb.example.net/debian bookworm-updates main
`;
    expect(apt.findBookwormSource([f('/etc/apt/sources.list', text)])).toEqual({
      uri: 'http://deb.example.net/debian',
      signedBy: '/usr/share/keyrings/debian-archive-keyring.gpg',
      components: ['main', 'contrib'],
    });
  });

  it('handles lines without options and options with spaces inside the brackets', () => {
    expect(
      apt.findBookwormSource([f('/etc/apt/sources.list', 'deb http://plain.example/debian bookworm main\n')]),
    ).toEqual({ uri: 'http://plain.example/debian', signedBy: null, components: ['main'] });
    expect(
      apt.findBookwormSource([
        f('/etc/apt/sources.list.d/b.list', 'deb [ signed-by=/k.gpg arch=arm64 ] https://b.example/debian bookworm main\n'),
      ]),
    ).toEqual({ uri: 'https://b.example/debian', signedBy: '/k.gpg', components: ['main'] });
  });

  it('prefers a source carrying main', () => {
    const text = 'deb http://x.example/nonfree bookworm non-free\ndeb http://x.example/debian bookworm main\n';
    expect(apt.findBookwormSource([f('/etc/apt/sources.list', text)])?.uri).toBe('http://x.example/debian');
  });

  it('ignores files apt ignores (other extensions)', () => {
    const files = [
      f('/etc/apt/sources.list.d/nodesource.sources.disabled-by-farm', BACKPORTS_SOURCES.replace('-backports', '')),
      f('/etc/apt/sources.list.d/old.list.save', 'deb http://save.example/debian bookworm main\n'),
    ];
    expect(apt.findBookwormSource(files)).toBeNull();
    expect(apt.hasBackports([f('/etc/apt/sources.list.d/bp.sources.disabled', BACKPORTS_SOURCES)])).toBe(false);
  });
});

describe('hasBackports', () => {
  it('is false for the stock Debian sources', () => {
    expect(apt.hasBackports([f('/etc/apt/sources.list.d/debian.sources', DEBIAN_SOURCES)])).toBe(false);
  });

  it('recognises an existing deb822 backports file (as on this project’s machines)', () => {
    const files = [
      f('/etc/apt/sources.list.d/debian.sources', DEBIAN_SOURCES),
      f('/etc/apt/sources.list.d/normlab-backports.sources', BACKPORTS_SOURCES),
    ];
    expect(apt.hasBackports(files)).toBe(true);
    expect(apt.backportsFiles(files)).toEqual(['/etc/apt/sources.list.d/normlab-backports.sources']);
    // the backports stanza is never mistaken for the bookworm one
    expect(apt.findBookwormSource([files[1]!])).toBeNull();
  });

  it('recognises an existing one-line backports entry, but not a commented or deb-src one', () => {
    expect(
      apt.hasBackports([
        f('/etc/apt/sources.list', 'deb http://deb.debian.org/debian bookworm main\ndeb http://deb.debian.org/debian bookworm-backports main\n'),
      ]),
    ).toBe(true);
    expect(
      apt.hasBackports([
        f(
          '/etc/apt/sources.list',
          '# deb http://deb.debian.org/debian bookworm-backports main\ndeb-src http://deb.debian.org/debian bookworm-backports main\n',
        ),
      ]),
    ).toBe(false);
  });

  it('ignores a disabled deb822 backports stanza', () => {
    expect(
      apt.hasBackports([f('/etc/apt/sources.list.d/bp.sources', `Enabled: no\n${BACKPORTS_SOURCES}`)]),
    ).toBe(false);
  });
});

describe('backportsStanza', () => {
  it('writes a deb822 backports stanza on the same mirror and key', () => {
    const src = apt.findBookwormSource([f('/etc/apt/sources.list.d/debian.sources', DEBIAN_SOURCES)])!;
    const text = apt.backportsStanza(src);
    const fields = text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => l.split(': '));
    expect(Object.fromEntries(fields)).toEqual({
      Types: 'deb',
      URIs: 'http://deb.debian.org/debian',
      Suites: 'bookworm-backports',
      Components: 'main',
      'Signed-By': '/usr/share/keyrings/debian-archive-keyring.gpg',
    });
    expect(text.endsWith('\n')).toBe(true);
  });

  it('omits Signed-By when the bookworm source has none', () => {
    const text = apt.backportsStanza({ uri: 'http://m.example/debian', signedBy: null });
    expect(text).not.toContain('Signed-By');
    expect(apt.hasBackports([f('/x/normlab-backports.sources', text)])).toBe(true);
  });
});
