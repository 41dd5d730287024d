// The bench routes on Fastify 5 (Node 20), written as the Fastify docs suggest: JSON-schema validation
// (Ajv) and response serialisation (fast-json-stringify) from route schemas, logger off (its default).
// Env: PORT, DATABASE_URL (a SQLite file path; better-sqlite3, synchronous, prepared once).
import Fastify from 'fastify';

const started = process.hrtime.bigint();
const app = Fastify({ logger: false });

let stmt;
const dbUrl = process.env.DATABASE_URL;
if (dbUrl && !dbUrl.startsWith('postgres')) {
  const { default: Database } = await import('better-sqlite3');
  const db = new Database(dbUrl.replace(/^(sqlite|file):(\/\/)?/, ''), { readonly: true });
  stmt = db.prepare('SELECT id, randomnumber FROM world WHERE id = ?');
}

app.get('/healthz', async () => ({
  ok: true,
  uptime: Number(process.hrtime.bigint() - started) / 1e9,
}));

app.get('/api/hello', {
  schema: {
    response: { 200: { type: 'object', properties: { message: { type: 'string' } } } },
  },
}, async () => ({ message: 'Hello, World!' }));

app.get('/api/items/:id', {
  schema: {
    params: { type: 'object', properties: { id: { type: 'integer', minimum: 0 } }, required: ['id'] },
    response: {
      200: { type: 'object', properties: { id: { type: 'integer' }, name: { type: 'string' } } },
    },
  },
}, async (req) => ({ id: req.params.id, name: `item ${req.params.id}` }));

const echoSchema = {
  type: 'object',
  required: ['name', 'email', 'age'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 100 },
    email: { type: 'string', maxLength: 254, pattern: '@' },
    age: { type: 'integer', minimum: 0, maximum: 150 },
  },
};

app.post('/api/echo', {
  schema: { body: echoSchema, response: { 200: echoSchema } },
}, async (req) => req.body);

app.get('/api/db/:id', {
  schema: {
    params: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] },
    response: {
      200: { type: 'object', properties: { id: { type: 'integer' }, randomNumber: { type: 'integer' } } },
    },
  },
}, async (req, reply) => {
  if (!stmt) return reply.code(500).send({ error: 'no DATABASE_URL' });
  const row = stmt.get(req.params.id);
  if (!row) return reply.code(404).send({ error: 'not_found' });
  return { id: row.id, randomNumber: row.randomnumber };
});

const port = Number(process.env.PORT ?? 4000);
await app.listen({ port, host: '127.0.0.1' });
console.log(`API server running {"port":${port}}`);
