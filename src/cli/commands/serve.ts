// normlab serve: the web pages (training and the norm explainer) on a local HTTP server.
import { startWebServer } from '../../web/server.js';
import { bool, num, str, type ParsedArgs } from '../args.js';
import { out, type Command } from '../command.js';

export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve the web pages: train SeedNet in the browser, see how the norms backpropagate',
  usage: 'normlab serve [--port N] [--host ADDR] [--verbose]',
  flags: [
    { name: 'port', type: 'int', min: 0, max: 65535, default: 8080, help: 'TCP port (0: any free port)' },
    { name: 'host', type: 'string', default: '127.0.0.1', metavar: 'ADDR', help: 'address to listen on (loopback unless you say otherwise)' },
    { name: 'verbose', type: 'bool', help: 'print requests that find nothing' },
  ],
  details:
    'Serves web/ (built by `npm run build`; `npm run web` builds and serves), docs/ and src/shaders/. ' +
    'The pages need a browser with WebGPU, such as Chrome or Edge 113 or newer (on Linux started with --enable-unsafe-webgpu).',
  async run(args: ParsedArgs) {
    const host = str(args, 'host')!;
    const web = await startWebServer({ host, port: num(args, 'port'), log: bool(args, 'verbose') ? out.line : undefined });
    out.line(`normlab serve: ${web.url} (training page), ${web.url}explain.html (how the norms backpropagate)`);
    if (!/^(127\.|localhost$|::1$)/.test(host)) out.line(`normlab serve: listening on ${host}, not loopback: anyone who can reach it can load the pages`);
    out.line('normlab serve: Ctrl-C to stop');
    await new Promise<void>((done) => {
      const stop = (): void => {
        process.off('SIGINT', stop);
        process.off('SIGTERM', stop);
        void web.close().then(done);
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    return 0;
  },
};
