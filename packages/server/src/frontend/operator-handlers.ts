// OperatorService search attribute RPCs: Add / Remove / List custom search attributes of a namespace
// (SQL visibility semantics: attributes belong to a namespace, and adding one that exists with the same
// type is a no-op).
import type { temporal } from '@temporalio/proto';
import type { Loose } from '@kairos/common';
import { InvalidArgumentError } from '../errors.js';
import type { NamespaceRegistry } from '../namespace/registry.js';
import type { SearchAttributeRegistry } from '../visibility/search-attribute-registry.js';
import { PREDEFINED_SEARCH_ATTRIBUTES, SYSTEM_SEARCH_ATTRIBUTES, typeName, typeValue, type SearchAttributeTypeName } from '../visibility/search-attributes.js';
import type { ServiceHandlers } from './grpc-server.js';
import { requireString } from './validation.js';


export function operatorHandlers(namespaces: NamespaceRegistry, searchAttributes: SearchAttributeRegistry): ServiceHandlers {
  const namespaceId = (name: string | null | undefined): string => namespaces.get(requireString(name, 'Namespace')).id;
  return {
    async AddSearchAttributes(request) {
      const req = request as temporal.api.operatorservice.v1.IAddSearchAttributesRequest;
      const requested = Object.entries(req.searchAttributes ?? {});
      if (requested.length === 0) throw new InvalidArgumentError('SearchAttributes are not set on request.');
      const attributes = new Map<string, SearchAttributeTypeName>();
      for (const [name, value] of requested) {
        const type = typeName(Number(value));
        if (type === undefined) throw new InvalidArgumentError(`Unknown search attribute type: ${value}.`);
        attributes.set(name, type);
      }
      await searchAttributes.add(namespaceId(req.namespace), attributes);
      return {};
    },

    async RemoveSearchAttributes(request) {
      const req = request as temporal.api.operatorservice.v1.IRemoveSearchAttributesRequest;
      const names = req.searchAttributes ?? [];
      if (names.length === 0) throw new InvalidArgumentError('SearchAttributes are not set on request.');
      await searchAttributes.remove(namespaceId(req.namespace), names);
      return {};
    },

    async ListSearchAttributes(request) {
      const req = request as temporal.api.operatorservice.v1.IListSearchAttributesRequest;
      const custom = searchAttributes.custom(namespaceId(req.namespace));
      const systemAttributes: Record<string, number> = {};
      for (const [name, { type }] of SYSTEM_SEARCH_ATTRIBUTES) systemAttributes[name] = typeValue(type);
      for (const [name, type] of PREDEFINED_SEARCH_ATTRIBUTES) systemAttributes[name] = typeValue(type);
      return {
        customAttributes: Object.fromEntries([...custom].map(([name, type]) => [name, typeValue(type)])),
        systemAttributes,
        storageSchema: {},
      } satisfies Loose<temporal.api.operatorservice.v1.IListSearchAttributesResponse>;
    },
  };
}
