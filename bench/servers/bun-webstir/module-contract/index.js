// Bench-only stand-in for @webstir-io/module-contract (a 404 on the npm registry). webstir-backend's
// build calls moduleManifestSchema.safeParse and routeDefinitionSchema.parse and reads CONTRACT_VERSION;
// the request path never uses this package. The checks are the minimal shape checks, not the Zod schemas.
export const CONTRACT_VERSION = '1.0.0';

function issue(path, message) {
  return { path, message };
}

function checkManifest(value) {
  const issues = [];
  if (!value || typeof value !== 'object') return [issue([], 'expected an object')];
  if (typeof value.name !== 'string' || value.name.length === 0) issues.push(issue(['name'], 'required string'));
  if (typeof value.version !== 'string') issues.push(issue(['version'], 'required string'));
  if (value.kind !== 'backend' && value.kind !== 'frontend') issues.push(issue(['kind'], "expected 'backend' or 'frontend'"));
  for (const key of ['capabilities', 'routes', 'views', 'jobs', 'events', 'services']) {
    if (value[key] !== undefined && !Array.isArray(value[key])) issues.push(issue([key], 'expected an array'));
  }
  (value.routes ?? []).forEach((route, i) => {
    for (const problem of checkRoute(route)) issues.push(issue(['routes', i, ...problem.path], problem.message));
  });
  return issues;
}

function checkRoute(route) {
  const issues = [];
  if (!route || typeof route !== 'object') return [issue([], 'expected an object')];
  if (typeof route.name !== 'string') issues.push(issue(['name'], 'required string'));
  if (typeof route.method !== 'string') issues.push(issue(['method'], 'required string'));
  if (typeof route.path !== 'string' || !route.path.startsWith('/')) issues.push(issue(['path'], "required string starting with '/'"));
  return issues;
}

function schema(check) {
  return {
    safeParse(value) {
      const issues = check(value);
      return issues.length === 0 ? { success: true, data: value } : { success: false, error: { issues } };
    },
    parse(value) {
      const issues = check(value);
      if (issues.length > 0) {
        throw new Error(issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; '));
      }
      return value;
    },
  };
}

export const moduleManifestSchema = schema(checkManifest);
export const routeDefinitionSchema = schema(checkRoute);
