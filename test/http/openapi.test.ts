import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { buildTestApp, type TestApp } from '../support/app.js';
import { DIALECTS } from '../support/databases.js';

interface Operation {
  operationId?: string;
  security?: Array<Record<string, unknown>>;
}

for (const dialect of DIALECTS) {
  describe(`OpenAPI operations (${dialect})`, () => {
    let t: TestApp;
    let operations: Array<{ where: string; op: Operation }>;

    before(async () => {
      t = await buildTestApp(dialect);
      const doc = (await t.app.inject({ url: '/openapi.json' })).json<{
        paths: Record<string, Record<string, Operation>>;
      }>();
      operations = Object.entries(doc.paths).flatMap(([path, methods]) =>
        Object.entries(methods).map(([method, op]) => ({ where: `${method.toUpperCase()} ${path}`, op })),
      );
    });
    after(async () => t.close());

    it('gives every operation a unique operationId (the typed client names calls by it)', () => {
      const ids = operations.map(({ where, op }) => {
        assert.match(op.operationId ?? '', /^[a-z][A-Za-z]+$/, where);
        return op.operationId;
      });
      assert.equal(new Set(ids).size, ids.length, 'unique');
      const byPath = Object.fromEntries(operations.map(({ where, op }) => [where, op.operationId]));
      assert.equal(byPath['GET /api/v1/users'], 'listUsers');
      assert.equal(byPath['GET /api/v1/users/{user}'], 'getUser');
      assert.equal(byPath['POST /api/v1/users'], 'createUser');
      assert.equal(byPath['PATCH /api/v1/users/{user}'], 'updateUser');
      assert.equal(byPath['GET /api/v1/me'], 'getMe');
    });

    it('says security: [] exactly on the operations that need no key', () => {
      const open = operations.filter(({ op }) => op.security?.length === 0).map(({ where }) => where);
      assert.deepEqual(open.sort(), [
        'GET /healthz',
        'GET /metrics',
        'GET /readyz',
        'GET /scim/v2/ResourceTypes',
        'GET /scim/v2/ResourceTypes/{id}',
        'GET /scim/v2/Schemas',
        'GET /scim/v2/Schemas/{id}',
        'GET /scim/v2/ServiceProviderConfig',
      ]);
      for (const { where, op } of operations)
        if (where.includes('/api/v1/')) assert.ok((op.security?.length ?? 0) > 0, `${where} needs a key`);
    });
  });
}
