/**
 * The library's public names are a decision, not a side effect: src/index.ts lists them (no
 * `export *`), and the list is snapshotted in test/api-exports.txt. A change to the API changes
 * that file in the same commit, where a reviewer sees it.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { ROOT } from './helpers/shared.js';

const SNAPSHOT = join(ROOT, 'test', 'api-exports.txt');
const MAX_NAMES = 100;

/** `name` for a value, `type name` for a type, read from src/index.ts's export declarations. */
function declaredExports(): string[] {
  const file = join(ROOT, 'src', 'index.ts');
  const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022);
  const names: string[] = [];
  for (const statement of source.statements) {
    if (!ts.isExportDeclaration(statement)) continue;
    const clause = statement.exportClause;
    assert.ok(clause && ts.isNamedExports(clause), 'src/index.ts: `export *` exports names unseen');
    for (const e of clause.elements) {
      const type = statement.isTypeOnly || e.isTypeOnly;
      names.push(`${type ? 'type ' : ''}${e.name.text}`);
    }
  }
  return names.sort(byName);
}

const bare = (name: string): string => name.replace(/^type /, '');
/** Case-insensitive, locale-independent order (the snapshot reads the same everywhere). */
const byName = (a: string, b: string): number =>
  bare(a).toLowerCase() < bare(b).toLowerCase() ? -1 : bare(a).toLowerCase() > bare(b).toLowerCase() ? 1 : 0;

test('the public API is the snapshotted list of names, at most 100', () => {
  const names = declaredExports();
  const snapshot = readFileSync(SNAPSHOT, 'utf8').trim().split('\n');
  assert.deepEqual(
    names,
    snapshot,
    'src/index.ts exports changed: if on purpose, update test/api-exports.txt to the list above',
  );
  assert.ok(names.length <= MAX_NAMES, `${names.length} public names (at most ${MAX_NAMES})`);
  assert.equal(new Set(names.map(bare)).size, names.length, 'a name is exported twice');
});

test('the values the API lists are the values the module has', async () => {
  const mod = (await import('../src/index.js')) as Record<string, unknown>;
  const values = declaredExports().filter((n) => !n.startsWith('type '));
  assert.deepEqual(Object.keys(mod).sort(), values.slice().sort());
  for (const n of values) assert.notEqual(mod[n], undefined, `${n} is undefined at run time`);
});

test("README's and docs' library examples import only public names", () => {
  const api = new Set(declaredExports().map(bare));
  const docs = ['README.md', 'docs/architecture.md', 'docs/cli.md', 'docs/scaling.md'];
  let imports = 0;
  for (const doc of docs) {
    let text: string;
    try {
      text = readFileSync(join(ROOT, doc), 'utf8');
    } catch {
      continue;
    }
    for (const m of text.matchAll(/import\s*\{([^}]*)\}\s*from\s*'mmgenre'/g)) {
      for (const spec of m[1].split(',')) {
        const name = bare(spec.trim()).split(/\s+as\s+/)[0];
        if (!name) continue;
        imports++;
        assert.ok(api.has(name), `${doc} imports '${name}' from 'mmgenre', which the API does not export`);
      }
    }
  }
  assert.ok(imports >= 4, 'the README shows the library');
});
