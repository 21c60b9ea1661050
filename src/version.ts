// Replaced at build time by esbuild's `define`; read from package.json when run from source.
declare const __REDISFORK_VERSION__: string | undefined;

export const VERSION: string =
  typeof __REDISFORK_VERSION__ === 'string' ? __REDISFORK_VERSION__ : (process.env.npm_package_version ?? '0.0.0-dev');
