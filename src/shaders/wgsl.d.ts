// WGSL files are imported as strings: esbuild's text loader in the bundle, a small plugin in vitest.
declare module '*.wgsl' {
  const source: string;
  export default source;
}
