import { LimitNode, OperationNodeTransformer, RawNode, type KyselyPlugin, type PluginTransformQueryArgs, type PluginTransformResultArgs, type QueryResult, type RootOperationNode, type UnknownRow } from 'kysely';

/**
 * Writes every `LIMIT ?` as `LIMIT +?` on SQLite.
 *
 * SQLite (3.53, built with STAT4 as better-sqlite3 ships it) reads a bound LIMIT's value while
 * planning, so rebinding it expires the statement and every execution prepares it anew: a key
 * lookup ordered and limited for its five newest rows measured 25 us instead of 10.6 us, and every
 * list route binds its `limit`. A unary plus leaves the value bound (one cached statement for every
 * limit) but is no longer a bare parameter the planner reads, so the prepared plan is kept.
 */
export class BoundLimitPlugin implements KyselyPlugin {
  readonly #transformer = new (class extends OperationNodeTransformer {
    protected override transformLimit(node: LimitNode): LimitNode {
      return LimitNode.create(RawNode.create(['+', ''], [this.transformNode(node.limit)]));
    }
  })();

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    return this.#transformer.transformNode(args.node);
  }

  transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    return Promise.resolve(args.result);
  }
}
