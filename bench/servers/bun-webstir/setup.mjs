// Scaffold and build the original webstir backend with its own provider, in publish mode.
// Run from the install dir (bench/scratch/bun-webstir): `node setup.mjs <bench module.ts>`.
// Produces ./app/build/backend/index.js (start with `bun app/build/backend/index.js`).
import fs from 'node:fs/promises';
import path from 'node:path';
import { backendProvider } from '@webstir-io/webstir-backend';

const root = process.cwd();
const moduleSource = process.argv[2];
const app = path.join(root, 'app');
await fs.rm(app, { recursive: true, force: true });

for (const asset of await backendProvider.getScaffoldAssets()) {
  const target = path.join(app, asset.targetPath);
  await fs.mkdir(path.dirname(target), { recursive: true });
  await fs.copyFile(asset.sourcePath, target);
}
// Our routes replace the scaffold's demo module.
await fs.copyFile(moduleSource, path.join(app, 'src', 'backend', 'module.ts'));
await fs.writeFile(
  path.join(app, 'package.json'),
  JSON.stringify({ name: '@bench/bun-webstir', version: '0.0.0', private: true, type: 'module' }, null, 2),
);
await fs.symlink(path.join(root, 'node_modules'), path.join(app, 'node_modules'), 'dir');

const result = await backendProvider.build({
  workspaceRoot: app,
  env: {
    ...process.env,
    WEBSTIR_MODULE_MODE: 'publish',
    WEBSTIR_BACKEND_TYPECHECK: 'skip',
    WEBSTIR_BACKEND_LOG_LEVEL: 'warn',
  },
  incremental: false,
});
const errors = result.manifest.diagnostics.filter((d) => d.severity === 'error');
for (const d of result.manifest.diagnostics) console.error(`[${d.severity}] ${d.message}`);
const routes = (result.manifest.module?.routes ?? []).map((r) => `${r.method} ${r.path}`);
console.log(JSON.stringify({ entryPoints: result.manifest.entryPoints, routes }));
if (errors.length > 0) process.exit(1);
