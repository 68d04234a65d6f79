// The direction Roster's dependencies point, checked by `npm run deps` (part of `npm run check`).
//
// Layers, top to bottom: src/main.ts and src/commands/ → src/server.ts → src/app.ts → src/http/ and
// the feature folders → src/shared/ → src/db/. src/config.ts and src/errors.ts may be imported by
// anything and import nothing of ours but each other. A request then travels one straight way, and a
// reader can find where it goes from the folder tree alone.

/** The feature folders under src/: each owns one part of the directory, end to end. */
const FEATURES = [
  'users',
  'billing-groups',
  'groups',
  'audit',
  'orgs',
  'auth',
  'import',
  'ops',
  'ratelimit',
  'demo',
  'scim',
  'console',
  'web',
].join('|');
const FEATURE = `^src/(${FEATURES})/`;
/** What sits above the features: the entry point, the commands, the server and the app. */
const ABOVE_FEATURES = '^src/(main|server|app)\\.ts$|^src/commands/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    // 1. No cycles.
    {
      name: 'no-circular-files',
      comment:
        'A file cycle means neither file can be read, tested or moved without the other, and module ' +
        'initialisation order starts to matter. Split out what both need, or invert one dependency.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-circular-folders',
      comment:
        'Folders that import each other are one tangled unit under two names (billing-groups <-> ' +
        'groups, shared -> orgs -> auth -> shared). Move what both use down a layer.',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },

    // 2. The lower layers know nothing of the upper ones.
    {
      name: 'shared-imports-no-feature-or-above',
      comment:
        'src/shared/ holds what every feature uses; if it imported a feature, src/http/ or the app, ' +
        'every feature would depend on every other through it.',
      severity: 'error',
      from: { path: '^src/shared/' },
      to: { path: [FEATURE, '^src/http/', ABOVE_FEATURES] },
    },
    {
      name: 'db-imports-nothing-above-it',
      comment:
        'src/db/ (connection, table types, migrations) is the floor: migrations must run with no ' +
        'feature, HTTP or app code loaded, and must not change when a feature does.',
      severity: 'error',
      from: { path: '^src/db/' },
      to: { path: [FEATURE, '^src/shared/', '^src/http/', ABOVE_FEATURES] },
    },
    {
      name: 'config-and-errors-import-only-each-other',
      comment:
        'Anything may import src/config.ts and src/errors.ts, so they must import nothing of ours but ' +
        'each other, or they would pull a layer into every file and close cycles.',
      severity: 'error',
      from: { path: '^src/(config|errors)\\.ts$' },
      to: { path: '^src/', pathNot: '^src/(config|errors)\\.ts$' },
    },

    // 3. Features meet through services, never through another feature's SQL.
    {
      name: 'no-other-features-repository',
      comment:
        "A feature's repository is its SQL, and its service holds the rules, transactions and audit " +
        'around that SQL. Another feature going straight to the repository skips them; use the ' +
        "feature's service, or its schemas/mapper for shapes and pure functions.",
      severity: 'error',
      from: { path: FEATURE },
      to: { path: '^src/[^/]+/[^/]+\\.repository\\.ts$', pathNot: '^src/$1/' },
    },

    // 4. The top of the house is imported from one place each.
    {
      name: 'commands-only-from-main',
      comment:
        'src/commands/ is what the CLI runs; only src/main.ts dispatches to it. Code a command shares ' +
        'with anything else belongs in the feature it is about (commands may share helpers).',
      severity: 'error',
      from: { pathNot: ['^src/main\\.ts$', '^src/commands/', '^test/'] },
      to: { path: '^src/commands/' },
    },
    {
      name: 'app-only-from-server-commands-and-tests',
      comment:
        'buildApp is wired once: the server starts it, a command may build it, tests inject into it, ' +
        'scripts/api.ts builds it to read its OpenAPI document. Anything else importing it would tie a ' +
        'feature to the whole app.',
      severity: 'error',
      from: { pathNot: ['^src/server\\.ts$', '^src/commands/', '^test/', '^scripts/api\\.ts$'] },
      to: { path: '^src/app\\.ts$' },
    },

    // 5. HTTP plumbing is feature-blind.
    {
      name: 'http-imports-no-feature',
      comment:
        'src/http/ holds the HTTP concerns every route shares (errors, headers, preconditions, ...). ' +
        'Features import these helpers and app.ts wires both; http/ importing a feature would invert that.',
      severity: 'error',
      from: { path: '^src/http/' },
      to: { path: FEATURE },
    },

    // 6. Inside a feature, one straight corridor: routes -> service -> rules / repository.
    {
      name: 'service-only-from-own-routes',
      comment:
        'Inside a feature only the routes (and a request hook) call its service; the service calls rules and repository. ' +
        'Anything else in the folder calling back up into the service makes a loop in the corridor.',
      severity: 'error',
      from: { path: FEATURE, pathNot: '\\.(routes|hook)\\.ts$' },
      to: { path: '^src/$1/[^/]+\\.service\\.ts$' },
    },
    {
      name: 'repository-imports-no-service-rules-or-routes',
      comment: 'A repository is SQL only: it is called by the layers above it and never calls them.',
      severity: 'error',
      from: { path: '^src/.+\\.repository\\.ts$' },
      to: { path: '\\.(service|rules|routes)\\.ts$' },
    },
    {
      name: 'rules-import-no-own-service',
      comment:
        'Rules are checks the service runs; a rule that calls the service runs operations from inside ' +
        'a check and closes a loop. Give the rule what it needs as arguments.',
      severity: 'error',
      from: { path: FEATURE + '.+\\.rules\\.ts$' },
      to: { path: '^src/$1/[^/]+\\.service\\.ts$' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['^dist/', '^bench/node_modules/'] },
    // Type-only imports count: a type is still a dependency a reader has to follow.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.mjs', '.js', '.cjs', '.json'],
    },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
