// The custom search attributes of each namespace, kept in memory and written through to the store (the
// server owns its database, so the cache is the truth). Readers get immutable snapshots: a change
// replaces a namespace's map instead of editing it, so a query compiled against a snapshot stays valid.

import { AlreadyExistsError, InvalidArgumentError } from '../errors.js';
import { ConditionFailedError } from '../persistence/errors.js';
import type { Store } from '../persistence/store.js';
import type { SearchAttributeTypeName } from '../persistence/visibility.js';
import { customNameProblem, isReservedName, PREDEFINED_SEARCH_ATTRIBUTES, SYSTEM_SEARCH_ATTRIBUTES } from './search-attributes.js';
import type { NamespaceSearchAttributes } from './search-attribute-values.js';

const NONE: NamespaceSearchAttributes = new Map();

export class SearchAttributeRegistry {
  private readonly byNamespace = new Map<string, NamespaceSearchAttributes>();

  private constructor(private readonly store: Store) {}

  /** Loads the registrations of the given namespaces (every namespace that exists at start). */
  static async load(store: Store, namespaceIds: readonly string[]): Promise<SearchAttributeRegistry> {
    const registry = new SearchAttributeRegistry(store);
    await registry.reload(namespaceIds);
    return registry;
  }

  /** Re-reads the registrations of the given namespaces (a cluster node sees other nodes' changes). */
  async reload(namespaceIds: readonly string[]): Promise<void> {
    const loaded = new Map<string, NamespaceSearchAttributes>();
    for (const namespaceId of namespaceIds) {
      const rows = await this.store.listSearchAttributes(namespaceId);
      if (rows.length > 0) loaded.set(namespaceId, new Map(rows.map((row) => [row.name, row.type])));
    }
    this.byNamespace.clear();
    for (const [id, attributes] of loaded) this.byNamespace.set(id, attributes);
  }

  /** The custom attributes of a namespace (empty for a namespace without any). */
  custom(namespaceId: string): NamespaceSearchAttributes {
    return this.byNamespace.get(namespaceId) ?? NONE;
  }

  /**
   * Registers custom attributes (OperatorService AddSearchAttributes, `start-dev --search-attribute`).
   * A name registered with the same type already is left alone; with another type it is refused.
   */
  async add(namespaceId: string, attributes: ReadonlyMap<string, SearchAttributeTypeName>): Promise<void> {
    if (attributes.size === 0) throw new InvalidArgumentError('SearchAttributes are not set on request.');
    const current = this.custom(namespaceId);
    for (const [name, type] of attributes) {
      const problem = customNameProblem(name);
      if (problem !== null) throw new InvalidArgumentError(problem);
      const registered = current.get(name);
      if (registered !== undefined && registered !== type) throw alreadyExists(name, registered);
    }
    const rows = [...attributes].map(([name, type]) => ({ name, type }));
    try {
      await this.store.addSearchAttributes(namespaceId, rows);
    } catch (error) {
      // Another add of the same name raced this one past the check above.
      if (error instanceof ConditionFailedError) throw new AlreadyExistsError(`Search attribute already exists: ${error.message}.`);
      throw error;
    }
    // Re-read: another add or remove may have completed while this one was being written.
    this.byNamespace.set(namespaceId, new Map([...this.custom(namespaceId), ...attributes]));
  }

  /** Unregisters custom attributes; unknown names are ignored, system and predefined ones refused. */
  async remove(namespaceId: string, names: readonly string[]): Promise<void> {
    if (names.length === 0) throw new InvalidArgumentError('SearchAttributes are not set on request.');
    const current = this.custom(namespaceId);
    for (const name of names) {
      if (!current.has(name) && isReservedName(name)) {
        throw new InvalidArgumentError(`Unable to remove non-custom search attributes: ${name}.`);
      }
    }
    const removed = await this.store.removeSearchAttributes(namespaceId, names);
    if (removed.length === 0) return;
    const next = new Map(this.custom(namespaceId));
    for (const name of removed) next.delete(name);
    this.byNamespace.set(namespaceId, next);
  }

  /**
   * Every attribute a query may name in some namespace (GetSearchAttributes, which has no namespace):
   * system, predefined, and the custom ones of all namespaces (a name registered with different types
   * in two namespaces shows the type of the namespace whose id sorts first).
   */
  all(): Map<string, SearchAttributeTypeName> {
    const result = new Map<string, SearchAttributeTypeName>();
    for (const [name, { type }] of SYSTEM_SEARCH_ATTRIBUTES) result.set(name, type);
    for (const [name, type] of PREDEFINED_SEARCH_ATTRIBUTES) result.set(name, type);
    for (const namespaceId of [...this.byNamespace.keys()].sort()) {
      for (const [name, type] of this.custom(namespaceId)) if (!result.has(name)) result.set(name, type);
    }
    return result;
  }
}

function alreadyExists(name: string, registered: string): AlreadyExistsError {
  return new AlreadyExistsError(`Search attribute ${name} already exists (as ${registered}).`);
}
