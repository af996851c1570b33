/**
 * A minimal `Reflect` metadata polyfill (the subset tsyringe uses), installed only when no
 * polyfill is present. `@peculiar/x509` depends on tsyringe, which refuses to load without one,
 * and the project ships no `reflect-metadata` package. Imported (for its side effect) by
 * `devNitroCa.ts` only, before `@peculiar/x509`; the verification path never loads it.
 */
type MetadataKey = unknown;
type Target = object;

const store = new WeakMap<Target, Map<PropertyKey | undefined, Map<MetadataKey, unknown>>>();

function table(
  target: Target,
  property: PropertyKey | undefined,
  create: boolean,
): Map<MetadataKey, unknown> | undefined {
  let byProperty = store.get(target);
  if (byProperty === undefined) {
    if (!create) return undefined;
    byProperty = new Map();
    store.set(target, byProperty);
  }
  let entries = byProperty.get(property);
  if (entries === undefined && create) {
    entries = new Map();
    byProperty.set(property, entries);
  }
  return entries;
}

function getOwnMetadata(key: MetadataKey, target: Target, property?: PropertyKey): unknown {
  return table(target, property, false)?.get(key);
}

function hasOwnMetadata(key: MetadataKey, target: Target, property?: PropertyKey): boolean {
  return table(target, property, false)?.has(key) ?? false;
}

function hasMetadata(key: MetadataKey, target: Target, property?: PropertyKey): boolean {
  for (let t: Target | null = target; t !== null; t = Object.getPrototypeOf(t) as Target | null) {
    if (hasOwnMetadata(key, t, property)) return true;
  }
  return false;
}

function getMetadata(key: MetadataKey, target: Target, property?: PropertyKey): unknown {
  for (let t: Target | null = target; t !== null; t = Object.getPrototypeOf(t) as Target | null) {
    if (hasOwnMetadata(key, t, property)) return getOwnMetadata(key, t, property);
  }
  return undefined;
}

function defineMetadata(key: MetadataKey, value: unknown, target: Target, property?: PropertyKey): void {
  table(target, property, true)!.set(key, value);
}

function metadata(key: MetadataKey, value: unknown) {
  return (target: Target, property?: PropertyKey): void => defineMetadata(key, value, target, property);
}

const reflect = Reflect as unknown as Record<string, unknown>;
if (typeof reflect.getMetadata !== "function") {
  Object.assign(reflect, { defineMetadata, getMetadata, getOwnMetadata, hasMetadata, hasOwnMetadata, metadata });
}

export {};
