// Read once from our own package.json so the version, and the versions of the optional peer
// packages we tell users to install, have a single source.
import * as fs from 'node:fs';
import * as path from 'node:path';

interface OwnPackage {
  version?: string;
  peerDependencies?: Record<string, string>;
}

function readPackage(): OwnPackage {
  try {
    return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'package.json'), 'utf8')) as OwnPackage;
  } catch {
    return {};
  }
}

const pkg = readPackage();

export const VERSION = pkg.version ?? '0.0.0';

/** Optional peer dependencies by name, with the exact version otelkit is tested with. */
export const OPTIONAL_PEERS: Readonly<Record<string, string>> = pkg.peerDependencies ?? {};
