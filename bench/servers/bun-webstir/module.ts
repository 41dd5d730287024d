// The bench routes on the original webstir backend (Bun): replaces the scaffold's src/backend/module.ts.
// /healthz is built into the runtime. The DB route uses the scaffold's own helper (src/backend/db/
// connection.ts: Bun's SQL client), opened once; DATABASE_URL names the SQLite file.
import { createDatabaseClient, type DatabaseClient } from './db/connection.js';

interface RouteContext {
  params: Record<string, string>;
  body: unknown;
}

interface Result {
  status?: number;
  body?: unknown;
  errors?: { code: string; message: string }[];
}

function invalid(message: string): Result {
  return { status: 400, errors: [{ code: 'validation', message }] };
}

function parseId(raw: string | undefined): number | undefined {
  if (!raw || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

let db: Promise<DatabaseClient> | undefined;

const routes = [
  {
    definition: { name: 'hello', method: 'GET', path: '/api/hello' },
    handler: async (): Promise<Result> => ({ status: 200, body: { message: 'Hello, World!' } }),
  },
  {
    definition: { name: 'item', method: 'GET', path: '/api/items/:id' },
    handler: async (ctx: RouteContext): Promise<Result> => {
      const id = parseId(ctx.params.id);
      if (id === undefined) return invalid('id must be an integer');
      return { status: 200, body: { id, name: `item ${id}` } };
    },
  },
  {
    definition: { name: 'echo', method: 'POST', path: '/api/echo' },
    handler: async (ctx: RouteContext): Promise<Result> => {
      const body = ctx.body as { name?: unknown; email?: unknown; age?: unknown } | undefined;
      if (!body || typeof body !== 'object') return invalid('expected a JSON object');
      const { name, email, age } = body;
      if (typeof name !== 'string' || name.length < 1 || name.length > 100) {
        return invalid('name must be 1-100 characters');
      }
      if (typeof email !== 'string' || email.length > 254 || !email.includes('@')) {
        return invalid('email must be an email address');
      }
      if (typeof age !== 'number' || !Number.isInteger(age) || age < 0 || age > 150) {
        return invalid('age must be 0-150');
      }
      return { status: 200, body: { name, email, age } };
    },
  },
  {
    definition: { name: 'dbRow', method: 'GET', path: '/api/db/:id' },
    handler: async (ctx: RouteContext): Promise<Result> => {
      const id = parseId(ctx.params.id);
      if (id === undefined) return invalid('id must be an integer');
      db ??= createDatabaseClient();
      const rows = await (await db).query<{ id: number; randomnumber: number }>(
        'SELECT id, randomnumber FROM world WHERE id = ?',
        [id],
      );
      const row = rows[0];
      if (!row) return { status: 404, errors: [{ code: 'not_found', message: `row ${id}` }] };
      return { status: 200, body: { id: row.id, randomNumber: row.randomnumber } };
    },
  },
];

export const module = {
  manifest: {
    contractVersion: '1.0.0',
    name: '@bench/bun-webstir',
    version: '0.0.0',
    kind: 'backend',
    capabilities: ['http', 'db'],
    routes: routes.map((route) => route.definition),
  },
  routes,
};
