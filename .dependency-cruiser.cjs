// The layer order of src/ (docs/architecture.md), checked by `npm run lint`: each folder imports only the folders
// below it, and no two modules import each other, directly or around a circle. bench/, test/ and scripts/ may
// import anything, so they are not cruised.

/** Bottom to top; a folder may import its own tier's folders only where `within` allows it. */
const TIERS = [
  ['util', 'env'],
  ['data', 'engine'],
  ['text', 'vision', 'eval'],
  ['features'],
  ['models'],
  ['runs'],
  ['train'],
  ['predict', 'report'],
  ['experiments', 'queue'],
  ['serve'],
  ['cli'],
  ['index'],
];
/** Imports allowed inside a tier (src/env.ts imports nothing, so util reading settings closes no circle). */
const WITHIN = { util: ['env'] };

/** `src/<name>/…` for a folder, `src/<name>.ts` for the two top-level files. */
const modulePath = (names) => `^src/(${names.join('|')})(/|\\.ts$)`;

const layerRules = TIERS.flatMap((tier, rank) =>
  tier.map((name) => {
    const allowed = [name, ...TIERS.slice(0, rank).flat(), ...(WITHIN[name] ?? [])];
    const above = TIERS.flat().filter((other) => !allowed.includes(other));
    return {
      name: `layer-${name}`,
      severity: 'error',
      comment: `src/${name} may import only ${allowed.join(', ')}: the layers point one way (docs/architecture.md)`,
      from: { path: modulePath([name]) },
      to: { path: modulePath(above) },
    };
  }),
).filter((rule) => !rule.to.path.includes('()'));

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'no-circular-folders',
      severity: 'error',
      comment: 'folders that import each other (src/models ↔ src/train) are one layer in two places',
      scope: 'folder',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-circular',
      severity: 'error',
      comment:
        'modules that import each other, directly or through others, cannot be read or tested one at a time',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'no-unknown-folder',
      severity: 'error',
      comment:
        'a new folder under src/ gets its place in the layer order (TIERS above and docs/architecture.md)',
      from: { path: '^src/', pathNot: modulePath(TIERS.flat()) },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      mainFields: ['module', 'main', 'types', 'typings'],
    },
    cache: { folder: 'node_modules/.cache/dependency-cruiser', strategy: 'content' },
  },
};
