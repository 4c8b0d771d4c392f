import { describe, expect, it } from 'vitest';
import { CdpError } from '../src/errors.js';
import {
  parseSelector,
  selectNodes,
  withAttachedTests,
  type SelectableGraph,
  type SelectableNode,
} from '../src/compiler/selector.js';

function node(partial: Partial<SelectableNode> & Pick<SelectableNode, 'id' | 'name' | 'resourceType' | 'path'>): SelectableNode {
  return { tags: [], config: {}, dependsOn: [], ...partial };
}

/*
 * raw_orders ─> stg_orders ─────────────┐
 * raw_customers ─> stg_customers ─┬─> int_orders ─> dim_customers ─> fct_events
 * raw.contacts ──┘                └──────────────────^                ^
 * raw.events ─> stg_events ─────────────────────────────────────────┘
 * crm.accounts (isolated)
 */
const nodes: SelectableNode[] = [
  node({ id: 'seed.raw_orders', name: 'raw_orders', resourceType: 'seed', path: 'seeds/raw_orders.csv' }),
  node({ id: 'seed.raw_customers', name: 'raw_customers', resourceType: 'seed', path: 'seeds/raw_customers.csv', tags: ['pii'] }),
  node({ id: 'source.raw.contacts', name: 'contacts', resourceType: 'source', path: 'models/staging/sources.yml', sourceName: 'raw', tags: ['pii'] }),
  node({ id: 'source.raw.events', name: 'events', resourceType: 'source', path: 'models/staging/sources.yml', sourceName: 'raw' }),
  node({ id: 'source.crm.accounts', name: 'accounts', resourceType: 'source', path: 'models/crm/sources.yml', sourceName: 'crm' }),
  node({
    id: 'model.stg_orders', name: 'stg_orders', resourceType: 'model', path: 'models/staging/stg_orders.sql',
    tags: ['staging', 'nightly'], config: { materialized: 'view' }, dependsOn: ['seed.raw_orders'],
  }),
  node({
    id: 'model.stg_customers', name: 'stg_customers', resourceType: 'model', path: 'models/staging/stg_customers.sql',
    tags: ['staging'], config: { materialized: 'view', enabled: true }, dependsOn: ['seed.raw_customers', 'source.raw.contacts'],
  }),
  node({
    id: 'model.stg_events', name: 'stg_events', resourceType: 'model', path: 'models/staging/stg_events.sql',
    tags: ['staging', 'hourly'], config: { materialized: 'incremental', unique_key: ['event_id', 'ts'], meta: { owner: 'growth' } },
    dependsOn: ['source.raw.events', 'model.disabled_thing'],
  }),
  node({
    id: 'model.int_orders', name: 'int_orders', resourceType: 'model', path: 'models/intermediate/int_orders.sql',
    tags: ['nightly'], config: { materialized: 'table' }, dependsOn: ['model.stg_orders', 'model.stg_customers'],
  }),
  node({
    id: 'model.dim_customers', name: 'dim_customers', resourceType: 'model', path: 'models/marts/dim_customers.sql',
    tags: ['nightly', 'pii'], config: { materialized: 'table', persist_docs: true, threads: 4 },
    dependsOn: ['model.int_orders', 'model.stg_customers'],
  }),
  node({
    id: 'model.fct_events', name: 'fct_events', resourceType: 'model', path: 'models/marts/fct_events.sql',
    config: { materialized: 'incremental', unique_key: 'event_id' }, dependsOn: ['model.stg_events', 'model.dim_customers'],
  }),
  node({ id: 'test.not_null_stg_orders_id', name: 'not_null_stg_orders_id', resourceType: 'test', path: 'models/staging/schema.yml', dependsOn: ['model.stg_orders'] }),
  node({ id: 'test.unique_dim_customers_id', name: 'unique_dim_customers_id', resourceType: 'test', path: 'models/marts/schema.yml', dependsOn: ['model.dim_customers'] }),
  node({
    id: 'test.relationships_int_orders_dim_customers', name: 'relationships_int_orders_dim_customers', resourceType: 'test',
    path: 'models/marts/schema.yml', dependsOn: ['model.int_orders', 'model.dim_customers'],
  }),
];
const graph: SelectableGraph = { nodes: new Map(nodes.map((n) => [n.id, n])) };
const ALL = nodes.map((n) => n.id).sort();

function sel(select?: string[], exclude?: string[]): string[] {
  return [...selectNodes(graph, select, exclude)].sort();
}
/** Selection without the tests that get attached automatically, to keep expectations about the method itself. */
function selNoTests(select: string[], exclude: string[] = []): string[] {
  return sel(select, [...exclude, 'resource_type:test']);
}
function ids(...list: string[]): string[] {
  return [...list].sort();
}
function selectorError(fn: () => unknown): CdpError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(CdpError);
    return e as CdpError;
  }
  throw new Error('expected a CdpError');
}

describe('selectNodes: defaults', () => {
  it('selects every node when select is empty or missing', () => {
    expect(sel()).toEqual(ALL);
    expect(sel([])).toEqual(ALL);
    expect(sel(['  '])).toEqual(ALL);
  });

  it('returns an empty set (not an error) when nothing matches', () => {
    expect(sel(['no_such_model'])).toEqual([]);
    expect(sel(['tag:nothing_has_this'])).toEqual([]);
  });
});

describe('selectNodes: methods', () => {
  it('selects by name, with * and ? wildcards', () => {
    expect(selNoTests(['stg_orders'])).toEqual(['model.stg_orders']);
    expect(selNoTests(['stg_*'])).toEqual(ids('model.stg_orders', 'model.stg_customers', 'model.stg_events'));
    expect(selNoTests(['???_events'])).toEqual(ids('model.stg_events', 'model.fct_events'));
    expect(sel(['unique_dim_customers_id'])).toEqual(['test.unique_dim_customers_id']);
  });

  it('selects by tag, including wildcards', () => {
    expect(selNoTests(['tag:nightly'])).toEqual(ids('model.stg_orders', 'model.int_orders', 'model.dim_customers'));
    expect(selNoTests(['tag:pii'])).toEqual(ids('seed.raw_customers', 'source.raw.contacts', 'model.dim_customers'));
    expect(selNoTests(['tag:hour*'])).toEqual(['model.stg_events']);
  });

  it('selects by path: directory prefix with or without slash, exact file, globs, bare paths', () => {
    const staging = ids('model.stg_orders', 'model.stg_customers', 'model.stg_events', 'source.raw.contacts', 'source.raw.events');
    expect(selNoTests(['path:models/staging'])).toEqual(staging);
    expect(selNoTests(['path:models/staging/'])).toEqual(staging);
    expect(selNoTests(['path:./models/staging'])).toEqual(staging);
    // A prefix must end at a directory boundary.
    expect(selNoTests(['path:models/stag'])).toEqual([]);
    expect(selNoTests(['path:models/marts/fct_events.sql'])).toEqual(['model.fct_events']);
    expect(selNoTests(['path:models/*/stg_*.sql'])).toEqual(ids('model.stg_orders', 'model.stg_customers', 'model.stg_events'));
    expect(selNoTests(['path:models/**/sources.yml'])).toEqual(ids('source.raw.contacts', 'source.raw.events', 'source.crm.accounts'));
    expect(selNoTests(['path:seeds/raw_?rders.csv'])).toEqual(['seed.raw_orders']);
    // Bare values with a slash or a file extension are paths.
    expect(selNoTests(['models/marts'])).toEqual(ids('model.dim_customers', 'model.fct_events'));
    expect(selNoTests(['models/marts/dim_customers.sql'])).toEqual(['model.dim_customers']);
    expect(sel(['models/marts/schema.yml'])).toEqual(ids('test.unique_dim_customers_id', 'test.relationships_int_orders_dim_customers'));
  });

  it('selects by config value: strings, booleans, numbers, array membership, nested keys', () => {
    expect(selNoTests(['config.materialized:table'])).toEqual(ids('model.int_orders', 'model.dim_customers'));
    expect(selNoTests(['config.materialized:incremental'])).toEqual(ids('model.stg_events', 'model.fct_events'));
    expect(selNoTests(['config.persist_docs:true'])).toEqual(['model.dim_customers']);
    expect(selNoTests(['config.enabled:true'])).toEqual(['model.stg_customers']);
    expect(selNoTests(['config.threads:4'])).toEqual(['model.dim_customers']);
    expect(selNoTests(['config.unique_key:ts'])).toEqual(['model.stg_events']);
    expect(selNoTests(['config.unique_key:event_id'])).toEqual(ids('model.stg_events', 'model.fct_events'));
    expect(selNoTests(['config.meta.owner:growth'])).toEqual(['model.stg_events']);
    expect(selNoTests(['config.materialized:TABLE'])).toEqual([]);
    expect(selNoTests(['config.no_such_key:x'])).toEqual([]);
  });

  it('selects by resource_type', () => {
    expect(sel(['resource_type:seed'])).toEqual(ids('seed.raw_orders', 'seed.raw_customers'));
    expect(sel(['resource_type:source'])).toEqual(ids('source.raw.contacts', 'source.raw.events', 'source.crm.accounts'));
    expect(sel(['resource_type:test'])).toEqual(
      ids('test.not_null_stg_orders_id', 'test.unique_dim_customers_id', 'test.relationships_int_orders_dim_customers'),
    );
    expect(selNoTests(['resource_type:model'])).toEqual(ALL.filter((id) => id.startsWith('model.')));
  });

  it('selects sources by source name or source.table', () => {
    expect(sel(['source:raw'])).toEqual(ids('source.raw.contacts', 'source.raw.events'));
    expect(sel(['source:raw.events'])).toEqual(['source.raw.events']);
    expect(sel(['source:*.accounts'])).toEqual(['source.crm.accounts']);
    expect(sel(['source:raw.nope'])).toEqual([]);
    // A model named like a source table is not a source.
    expect(sel(['source:stg_orders'])).toEqual([]);
  });
});

describe('selectNodes: graph operators', () => {
  it('+x selects all ancestors, ignoring parents missing from the graph', () => {
    expect(selNoTests(['+int_orders'])).toEqual(
      ids('model.int_orders', 'model.stg_orders', 'model.stg_customers', 'seed.raw_orders', 'seed.raw_customers', 'source.raw.contacts'),
    );
    expect(selNoTests(['+stg_events'])).toEqual(ids('model.stg_events', 'source.raw.events'));
  });

  it('x+ selects all descendants', () => {
    expect(sel(['stg_orders+'])).toEqual(
      ids(
        'model.stg_orders', 'model.int_orders', 'model.dim_customers', 'model.fct_events',
        'test.not_null_stg_orders_id', 'test.unique_dim_customers_id', 'test.relationships_int_orders_dim_customers',
      ),
    );
  });

  it('N+x and x+N limit the depth', () => {
    expect(selNoTests(['1+int_orders'])).toEqual(ids('model.int_orders', 'model.stg_orders', 'model.stg_customers'));
    expect(selNoTests(['2+int_orders'])).toEqual(selNoTests(['+int_orders']));
    expect(selNoTests(['0+int_orders'])).toEqual(['model.int_orders']);
    expect(selNoTests(['raw_orders+1'])).toEqual(ids('seed.raw_orders', 'model.stg_orders'));
    expect(selNoTests(['raw_orders+2'])).toEqual(ids('seed.raw_orders', 'model.stg_orders', 'model.int_orders'));
    // fct_events is 3 hops from raw_customers through dim_customers (the shortest path counts).
    expect(selNoTests(['raw_customers+3'])).toEqual(
      ids('seed.raw_customers', 'model.stg_customers', 'model.int_orders', 'model.dim_customers', 'model.fct_events'),
    );
  });

  it('+x+ selects both directions, and depths combine', () => {
    expect(selNoTests(['+int_orders+'])).toEqual(
      ids(
        'model.int_orders', 'model.stg_orders', 'model.stg_customers', 'seed.raw_orders', 'seed.raw_customers',
        'source.raw.contacts', 'model.dim_customers', 'model.fct_events',
      ),
    );
    expect(selNoTests(['1+int_orders+1'])).toEqual(ids('model.int_orders', 'model.stg_orders', 'model.stg_customers', 'model.dim_customers'));
  });

  it('@x selects x, its descendants and all their ancestors', () => {
    expect(selNoTests(['@stg_events'])).toEqual(ALL.filter((id) => !id.startsWith('test.') && id !== 'source.crm.accounts'));
    expect(selNoTests(['@dim_customers'])).toEqual(
      ids(
        'model.dim_customers', 'model.fct_events', 'model.stg_events', 'source.raw.events', 'model.int_orders',
        'model.stg_orders', 'model.stg_customers', 'seed.raw_orders', 'seed.raw_customers', 'source.raw.contacts',
      ),
    );
  });

  it('operators apply to any method', () => {
    expect(selNoTests(['+tag:hourly'])).toEqual(ids('model.stg_events', 'source.raw.events'));
    expect(selNoTests(['source:raw.events+1'])).toEqual(ids('source.raw.events', 'model.stg_events'));
    expect(selNoTests(['+path:models/marts/fct_events.sql'])).toEqual(ALL.filter((id) => !id.startsWith('test.') && id !== 'source.crm.accounts'));
  });
});

describe('selectNodes: set operations', () => {
  it('space-separated terms and separate arguments are unions', () => {
    expect(selNoTests(['stg_orders stg_events'])).toEqual(ids('model.stg_orders', 'model.stg_events'));
    expect(selNoTests(['stg_orders', 'tag:hourly'])).toEqual(ids('model.stg_orders', 'model.stg_events'));
  });

  it('comma-separated atoms are intersections, each with its own operators', () => {
    expect(selNoTests(['tag:nightly,config.materialized:table'])).toEqual(ids('model.int_orders', 'model.dim_customers'));
    expect(selNoTests(['tag:staging,config.materialized:view'])).toEqual(ids('model.stg_orders', 'model.stg_customers'));
    expect(selNoTests(['+dim_customers,resource_type:seed'])).toEqual(ids('seed.raw_orders', 'seed.raw_customers'));
    expect(selNoTests(['tag:staging,tag:nightly tag:pii,resource_type:source'])).toEqual(ids('model.stg_orders', 'source.raw.contacts'));
  });

  it('exclude is subtracted after the union', () => {
    expect(selNoTests(['stg_*'], ['stg_events'])).toEqual(ids('model.stg_orders', 'model.stg_customers'));
    expect(selNoTests(['+fct_events'], ['resource_type:seed resource_type:source'])).toEqual(
      ids('model.stg_orders', 'model.stg_customers', 'model.stg_events', 'model.int_orders', 'model.dim_customers', 'model.fct_events'),
    );
    expect(selNoTests(['+fct_events'], ['+int_orders'])).toEqual(ids('model.stg_events', 'source.raw.events', 'model.dim_customers', 'model.fct_events'));
    // Exclude alone removes from everything.
    expect(sel(undefined, ['resource_type:test', 'resource_type:model', 'resource_type:source'])).toEqual(ids('seed.raw_orders', 'seed.raw_customers'));
  });
});

describe('attached tests', () => {
  it('adds tests with any selected parent', () => {
    expect(sel(['stg_orders'])).toEqual(ids('model.stg_orders', 'test.not_null_stg_orders_id'));
    expect(sel(['int_orders'])).toEqual(ids('model.int_orders', 'test.relationships_int_orders_dim_customers'));
    expect(sel(['dim_customers'])).toEqual(
      ids('model.dim_customers', 'test.unique_dim_customers_id', 'test.relationships_int_orders_dim_customers'),
    );
    expect(sel(['resource_type:seed'])).toEqual(ids('seed.raw_orders', 'seed.raw_customers'));
  });

  it('keeps explicitly excluded tests out', () => {
    expect(sel(['dim_customers'], ['unique_dim_customers_id'])).toEqual(ids('model.dim_customers', 'test.relationships_int_orders_dim_customers'));
    expect(sel(['dim_customers'], ['resource_type:test'])).toEqual(['model.dim_customers']);
  });

  it('does not attach tests whose parents were all excluded', () => {
    expect(sel(['stg_orders+1'], ['int_orders'])).toEqual(ids('model.stg_orders', 'test.not_null_stg_orders_id'));
  });

  it('withAttachedTests works on its own and does not mutate its input', () => {
    const selected = new Set(['model.int_orders']);
    const result = withAttachedTests(graph, selected, new Set(['test.unique_dim_customers_id']));
    expect([...result].sort()).toEqual(ids('model.int_orders', 'test.relationships_int_orders_dim_customers'));
    expect([...selected]).toEqual(['model.int_orders']);
    expect([...withAttachedTests(graph, new Set(['model.dim_customers']), new Set(['test.unique_dim_customers_id']))].sort()).toEqual(
      ids('model.dim_customers', 'test.relationships_int_orders_dim_customers'),
    );
  });
});

describe('parseSelector', () => {
  it('parses methods, operators and depths', () => {
    const [term] = parseSelector('2+tag:nightly+3,config.materialized:table');
    expect(term.raw).toBe('2+tag:nightly+3,config.materialized:table');
    expect(term.atoms[0]).toMatchObject({
      method: 'tag', value: 'nightly', parents: true, parentsDepth: 2, children: true, childrenDepth: 3, childrensParents: false,
    });
    expect(term.atoms[1]).toMatchObject({ method: 'config', configKey: 'materialized', value: 'table', parents: false, children: false });
    expect(parseSelector('@stg_orders')[0].atoms[0]).toMatchObject({ method: 'name', value: 'stg_orders', childrensParents: true });
    expect(parseSelector('+x+')[0].atoms[0]).toMatchObject({ parents: true, parentsDepth: undefined, children: true, childrenDepth: undefined });
    expect(parseSelector('models/staging/')[0].atoms[0]).toMatchObject({ method: 'path', value: 'models/staging' });
    expect(parseSelector('stg_orders.sql')[0].atoms[0]).toMatchObject({ method: 'path', value: 'stg_orders.sql' });
    expect(parseSelector('config.meta.owner:a:b')[0].atoms[0]).toMatchObject({ method: 'config', configKey: 'meta.owner', value: 'a:b' });
    expect(parseSelector('a b  c').map((t) => t.raw)).toEqual(['a', 'b', 'c']);
    expect(parseSelector('   ')).toEqual([]);
  });

  it('rejects an unknown method, suggesting the closest one', () => {
    const err = selectorError(() => parseSelector('tga:nightly'));
    expect(err.message).toContain('"tga:nightly"');
    expect(err.message).toContain('unknown selector method "tga"');
    expect(err.hint).toContain('did you mean "tag:nightly"?');
    expect(err.hint).toContain('config.KEY:VALUE');
    expect(selectorError(() => parseSelector('resorce_type:model')).hint).toContain('did you mean "resource_type:model"?');
    expect(selectorError(() => parseSelector('confg.materialized:table')).hint).toContain('did you mean "config.materialized:table"?');
    // Too far from anything: no guess, but the list of methods is still there.
    const far = selectorError(() => parseSelector('materialized:table'));
    expect(far.hint).not.toContain('did you mean');
    expect(far.hint).toContain('resource_type:');
  });

  it('rejects malformed expressions, naming them', () => {
    const cases: Array<[string, string]> = [
      ['++x', 'misplaced "+"'],
      ['x++', 'misplaced "+"'],
      ['a,,b', 'empty term'],
      ['a,', 'empty term'],
      ['+', 'nothing to select'],
      ['@', 'nothing to select'],
      ['config.:x', 'need a key'],
      ['config:table', 'need a key'],
      ['config.a..b:x', 'need a key'],
      ['tag:', 'needs a value'],
      ['@+x', 'combines @ with +'],
      ['@x+', 'combines @ with +'],
      ['x@y', 'misplaced "@"'],
      ['a-b:c', 'cannot parse'],
    ];
    for (const [expr, problem] of cases) {
      const err = selectorError(() => parseSelector(expr));
      expect(err.message, expr).toContain(`"${expr}"`);
      expect(err.message, expr).toContain(problem);
    }
  });

  it('rejects an unknown resource type with a suggestion', () => {
    const err = selectorError(() => parseSelector('resource_type:modle'));
    expect(err.message).toContain('unknown resource type "modle"');
    expect(err.hint).toContain('did you mean "resource_type:model"?');
  });

  it('selectNodes reports errors in --exclude even when --select is fine', () => {
    const err = selectorError(() => selectNodes(graph, ['stg_orders'], ['tga:x']));
    expect(err.message).toContain('"tga:x"');
  });
});

describe('performance', () => {
  it('handles a 10,000-node graph quickly', () => {
    // Deterministic pseudo-random DAG: each node depends on up to 3 earlier nodes, mostly nearby.
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    const big = new Map<string, SelectableNode>();
    for (let i = 0; i < 10_000; i++) {
      const dependsOn = new Set<string>();
      for (let k = 0; k < 3 && i > 0; k++) dependsOn.add(`model.m${Math.max(0, i - 1 - Math.floor(rand() * 50))}`);
      const id = `model.m${i}`;
      big.set(id, node({ id, name: `m${i}`, resourceType: 'model', path: `models/g${i % 10}/m${i}.sql`, tags: [`t${i % 7}`], dependsOn: [...dependsOn] }));
    }
    for (let i = 0; i < 2_000; i++) {
      const id = `test.t${i}`;
      big.set(id, node({ id, name: `t${i}`, resourceType: 'test', path: 'models/schema.yml', dependsOn: [`model.m${i * 5}`] }));
    }
    const bigGraph: SelectableGraph = { nodes: big };

    const started = performance.now();
    const upstream = selectNodes(bigGraph, ['+m9999'], ['resource_type:test']);
    const downstream = selectNodes(bigGraph, ['m5000+'], undefined);
    const limited = selectNodes(bigGraph, ['m5000+2'], ['resource_type:test']);
    const family = selectNodes(bigGraph, ['@m9000'], undefined);
    const tagged = selectNodes(bigGraph, ['tag:t3,path:models/g1', 'm1*'], ['m10*']);
    const elapsed = performance.now() - started;

    expect(upstream.has('model.m0')).toBe(true);
    expect(upstream.has('model.m9999')).toBe(true);
    expect(downstream.has('model.m4999')).toBe(false);
    expect(downstream.has('test.t1000')).toBe(true);
    expect(limited.size).toBeGreaterThan(1);
    // Parents are at most 50 positions back, so two hops reach at most 100 positions forward.
    expect([...limited].every((id) => Number(id.slice('model.m'.length)) - 5000 <= 100)).toBe(true);
    expect(family.has('model.m0')).toBe(true);
    expect([...tagged].every((id) => !id.startsWith('model.m10'))).toBe(true);
    expect(tagged.has('model.m31')).toBe(true);
    expect(elapsed).toBeLessThan(1000);
  });
});
