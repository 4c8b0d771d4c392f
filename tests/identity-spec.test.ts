/**
 * Bad identity and golden-record specs fail before anything runs, naming file, line and key.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { compileProject } from '../src/compiler/compile.js';
import { CdpError, CdpErrors } from '../src/errors.js';
import { runCommand } from '../src/runner/run.js';
import { makeProject, removeProject } from './helpers/project.js';

const BASE = {
  'cdp.config.yaml': 'name: t\n',
  'seeds/contacts.csv': 'id,email,cid,updated_at\n1,a@acme.io,A,2026-01-01 00:00:00\n',
};
const SPEC = `entity: person
id_types:
  email: { normalize: email, limit: 2, priority: 2 }
  customer_id: { limit: 1, priority: 1 }
sources:
  - from: contacts
    key: id
    ids: { email: email, customer_id: cid }
    updated_at: updated_at
`;

let dirs: string[] = [];
afterEach(() => {
  dirs.forEach(removeProject);
  dirs = [];
});

async function errorsFor(spec: string, extra: Record<string, string> = {}): Promise<CdpError[]> {
  const dir = makeProject({ ...BASE, 'models/identity/person.identity.yml': spec, ...extra });
  dirs.push(dir);
  const err = await compileProject({ projectDir: dir }).then(() => undefined, (e: unknown) => e);
  expect(err).toBeInstanceOf(CdpError);
  return err instanceof CdpErrors ? err.errors : [err as CdpError];
}

describe('identity spec validation', () => {
  it('accepts a valid spec and publishes its outputs to ref', async () => {
    const dir = makeProject({ ...BASE, 'models/identity/person.identity.yml': SPEC, 'models/n.sql': 'select count(*) as n from {{ref "person_profiles"}}' });
    dirs.push(dir);
    const c = await compileProject({ projectDir: dir });
    expect(c.graph.get('model.person_identity').dependsOn).toEqual(['seed.contacts']);
    expect(c.graph.get('model.n').dependsOn).toEqual(['model.person_identity']);
    expect(c.graph.get('model.n').compiledSql).toBe('select count(*) as n from "analytics"."person_profiles"');
  });

  it('names an unknown source with the nearest model', async () => {
    const [err] = await errorsFor(SPEC.replace('from: contacts', 'from: contact'));
    expect(err.message).toContain('unknown model or seed "contact"');
    expect(err.location).toMatchObject({ file: 'models/identity/person.identity.yml', line: 6 });
    expect(err.hint).toContain('did you mean "contacts"?');
  });

  it('rejects an unknown normaliser with a suggestion', async () => {
    const [err] = await errorsFor(SPEC.replace('normalize: email', 'normalize: emial'));
    expect(err.message).toBe('unknown normaliser "emial"');
    expect(err.location).toMatchObject({ line: 3, key: 'id_types.email.normalize' });
    expect(err.hint).toContain('did you mean "email"?');
  });

  it('rejects contradictory limits and duplicate priorities', async () => {
    const errors = await errorsFor(SPEC.replace('limit: 2, priority: 2', 'limit: 5, max_degree: 2, priority: 1'));
    expect(errors.map((e) => e.message)).toEqual(['max_degree (2) is below limit (5)', 'priority 1 is also given to "email"']);
  });

  it('rejects identifier columns of undeclared types and unportable regexes', async () => {
    const errors = await errorsFor(`${SPEC.replace('customer_id: cid }', 'customer_id: cid, phone: phone }')}blocklist:\n  email: ["/^(a)\\\\1$/"]\n`);
    expect(errors.map((e) => e.message)).toEqual([
      expect.stringContaining('backreference'),
      'unknown identifier type "phone"',
    ]);
    expect(errors[1].location).toMatchObject({ line: 8, key: 'sources.0.ids.phone' });
  });

  it('reports unknown keys with the line', async () => {
    const [err] = await errorsFor(SPEC.replace('entity: person', 'entity: person\nengin: local'));
    expect(err.message).toBe('unknown key "engin"');
    expect(err.location).toMatchObject({ line: 2 });
    expect(err.hint).toBe('did you mean "engine"?');
  });

  it('fails a run whose source lacks a named column, before building anything', async () => {
    const dir = makeProject({ ...BASE, 'models/identity/person.identity.yml': SPEC.replace('updated_at: updated_at', 'updated_at: updatedat') });
    dirs.push(dir);
    const outcome = await runCommand({ command: 'build', projectDir: dir, out: { write: () => true } as unknown as NodeJS.WritableStream });
    expect(outcome.exitCode).toBe(1);
    const failed = outcome.summary.results.find((r) => r.name === 'person_identity')!;
    expect(failed.status).toBe('error');
    expect(failed.message).toContain('identity source "contacts" has no column "updatedat" (updated_at)');
    expect(failed.message).toContain('did you mean "updated_at"?');
  });

  it('checks golden-record specs against the entity', async () => {
    const errors = await errorsFor(SPEC, {
      'models/identity/person.golden.yml': 'name: person_golden\nentity: person\nattributes:\n  email: { rule: most_recnt, from: { contacts: email } }\n  cid: { rule: most_recent, from: { orders: cid } }\n',
    });
    expect(errors.map((e) => e.message)).toEqual([expect.stringContaining('most_recnt'), expect.stringContaining('orders')]);
    expect(errors[0].location?.file).toBe('models/identity/person.golden.yml');
    expect(errors[0].location?.line).toBe(4);
  });
});
