// The HTTP API's routes, read from the `google.api.http` annotations that @temporalio/proto keeps on
// every method of its services: the same paths Temporal's own HTTP API serves (`/api/v1/...`), kept
// in step with the proto version we pin instead of a hand-written table that would drift.
import { lookupService } from '../frontend/proto-codec.js';
import type { JsonType } from './proto-json.js';

export type HttpVerb = 'GET' | 'POST' | 'PUT' | 'DELETE' | 'PATCH';

export interface Route {
  readonly verb: HttpVerb;
  /** Path segments; a variable is `{name}` with the field path, e.g. `execution.workflow_id`. */
  readonly segments: readonly Segment[];
  readonly service: string;
  readonly method: string;
  /** `*` when the whole request message is the body; undefined for GET/DELETE. */
  readonly body: string | undefined;
  readonly requestType: JsonType;
  readonly responseType: JsonType;
}

type Segment = { readonly literal: string } | { readonly field: readonly string[] };

export interface RouteMatch {
  readonly route: Route;
  /** Path variables by camelCase field path. */
  readonly params: ReadonlyArray<readonly [path: readonly string[], value: string]>;
}

interface HttpRule {
  readonly [verb: string]: unknown;
}

interface MethodWithOptions {
  readonly name: string;
  readonly parsedOptions?: readonly Record<string, unknown>[];
  readonly resolvedRequestType: JsonType | null;
  readonly resolvedResponseType: JsonType | null;
  resolve(): unknown;
}

const VERBS: readonly HttpVerb[] = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'];
const API_PREFIX = '/api/v1/';

const snakeToCamel = (name: string): string => name.replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function parseTemplate(template: string): Segment[] {
  return template
    .split('/')
    .filter((s) => s !== '')
    .map((s) => {
      const variable = /^\{([a-z0-9_.]+)\}$/.exec(s);
      return variable?.[1] !== undefined ? { field: variable[1].split('.').map(snakeToCamel) } : { literal: s };
    });
}

function bindingsOf(rule: HttpRule): HttpRule[] {
  const extra = rule['additional_bindings'];
  const more = Array.isArray(extra) ? (extra as HttpRule[]) : extra !== undefined ? [extra as HttpRule] : [];
  return [rule, ...more];
}

/** Every `/api/v1/` binding of the methods of `serviceNames` (with a handler or not: a method Kairos
 * does not implement yet answers 501, as its gRPC twin answers UNIMPLEMENTED). */
export function buildRoutes(serviceNames: readonly string[]): Route[] {
  const routes: Route[] = [];
  for (const service of serviceNames) {
    const methods = lookupService(service).methodsArray as unknown as readonly MethodWithOptions[];
    for (const method of methods) {
      const rule = method.parsedOptions?.find((o) => '(google.api.http)' in o)?.['(google.api.http)'];
      if (rule === undefined || rule === null || typeof rule !== 'object') continue;
      method.resolve();
      const { resolvedRequestType: requestType, resolvedResponseType: responseType } = method;
      if (requestType === null || responseType === null) continue;
      for (const binding of bindingsOf(rule as HttpRule)) {
        for (const verb of VERBS) {
          const template = binding[verb.toLowerCase()];
          if (typeof template !== 'string' || !template.startsWith(API_PREFIX)) continue;
          const body = typeof binding['body'] === 'string' ? binding['body'] : undefined;
          routes.push({ verb, segments: parseTemplate(template), service, method: method.name, body, requestType, responseType });
        }
      }
    }
  }
  // Literal segments win over variables, so `/workflows/{id}/history` is never taken for a longer id.
  return routes.sort((a, b) => literalCount(b) - literalCount(a));
}

function literalCount(route: Route): number {
  return route.segments.filter((s) => 'literal' in s).length;
}

/** Finds the route for `verb` and `pathname` (already split off its query string). */
export function matchRoute(routes: readonly Route[], verb: string, pathname: string): RouteMatch | undefined {
  const parts = pathname.split('/').filter((s) => s !== '');
  for (const route of routes) {
    if (route.verb !== verb || route.segments.length !== parts.length) continue;
    const params: Array<readonly [readonly string[], string]> = [];
    let ok = true;
    for (let i = 0; i < parts.length && ok; i++) {
      const segment = route.segments[i];
      const part = parts[i] ?? '';
      if (segment === undefined) ok = false;
      else if ('literal' in segment) ok = segment.literal === part;
      else {
        let value: string;
        try {
          value = decodeURIComponent(part);
        } catch {
          return undefined;
        }
        params.push([segment.field, value]);
      }
    }
    if (ok) return { route, params };
  }
  return undefined;
}

/** True when some route has `pathname` with another verb (to answer 405 rather than 404). */
export function pathKnown(routes: readonly Route[], pathname: string): boolean {
  return VERBS.some((verb) => matchRoute(routes, verb, pathname) !== undefined);
}
