/**
 * FromSchema<typeof schema>: the TypeScript type of what a JSON Schema
 * (declared `as const`) accepts, so that a route's request types come from
 * the schema that validates the request (and is published in /openapi.json)
 * instead of being written a second time. It covers the keywords the route
 * schemas use: `type` (one or a list), `enum`, `properties` with `required`,
 * `items`, and `additionalProperties` as a schema; anything else is `unknown`.
 */
type Primitive<T> = T extends 'string'
  ? string
  : T extends 'number' | 'integer'
    ? number
    : T extends 'boolean'
      ? boolean
      : T extends 'null'
        ? null
        : never;

type RequiredKeys<S> = S extends { readonly required: readonly (infer K)[] } ? K : never;

type Simplify<T> = { [K in keyof T]: T[K] } & {};

type FromProperties<S, P> = Simplify<
  { -readonly [K in keyof P as K extends RequiredKeys<S> ? K : never]: FromSchema<P[K]> } & {
    -readonly [K in keyof P as K extends RequiredKeys<S> ? never : K]?: FromSchema<P[K]>;
  }
>;

type FromObject<S> = S extends { readonly properties: infer P }
  ? FromProperties<S, P>
  : S extends { readonly additionalProperties: infer A }
    ? A extends false
      ? Record<string, never>
      : Record<string, FromSchema<A>>
    : Record<string, unknown>;

type FromArray<S> = S extends { readonly items: infer I } ? readonly FromSchema<I>[] : readonly unknown[];

/** One JSON type name (T distributes over a union of them). */
type FromType<S, T> = T extends 'object' ? FromObject<S> : T extends 'array' ? FromArray<S> : Primitive<T>;

export type FromSchema<S> = S extends { readonly enum: readonly (infer E)[] }
  ? E
  : S extends { readonly type: infer T }
    ? FromType<S, T extends readonly (infer U)[] ? U : T>
    : unknown;
