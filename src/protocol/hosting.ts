/**
 * The set of protocols one server hosts, fixed at construction: each
 * binding pairs a service definition with its handlers, its protocol hash
 * and its version gate. Reflection is hosted beside the applications.
 */
import { randomBytes } from 'node:crypto';
import type { AnyService, ServiceImpl } from '../service/service.js';
import type { MethodDef } from '../service/method.js';
import { type MethodSurface, surfaceOf } from './method-surface.js';
import { protocolHash } from './protocol-hash.js';
import { REFLECTION_PROTOCOL, type DescribedProtocol, reflectionImpl } from './reflection.js';

/** One hosted protocol. */
export interface Binding {
  readonly name: string;
  readonly version: string | undefined;
  /** Framework protocols are never version-gated. */
  readonly versionExempt: boolean;
  readonly service: AnyService;
  readonly methods: ReadonlyMap<string, MethodDef>;
  readonly handlers: Readonly<Record<string, (params: never) => unknown>>;
  readonly surfaces: readonly MethodSurface[];
  readonly hash: string;
}

/** A fresh 12-hex server id, as the reference generates once per process. */
export const newServerId = (): string => randomBytes(6).toString('hex');

/** The hosted protocols of one server. */
export class Hosting {
  /** Bindings in listing order: applications in registration order, then framework protocols. */
  readonly bindings: ReadonlyMap<string, Binding>;

  /** Host the given implementations (and Reflection, unless disabled). */
  constructor(impls: readonly ServiceImpl[], readonly serverId: string = newServerId(), options: { reflection?: boolean } = {}) {
    const map = new Map<string, Binding>();
    const add = (impl: ServiceImpl, exempt: boolean): void => {
      const svc = impl.service;
      if (map.has(svc.name)) throw new TypeError(`protocol '${svc.name}' is hosted twice`);
      const surfaces = Object.entries(svc.methods).map(([n, m]) => surfaceOf(n, m));
      map.set(svc.name, {
        name: svc.name,
        version: svc.version,
        versionExempt: exempt,
        service: svc,
        methods: new Map(Object.entries(svc.methods)),
        handlers: impl.handlers as unknown as Binding['handlers'],
        surfaces,
        hash: protocolHash(svc.name, surfaces),
      });
    };
    for (const impl of impls) add(impl, false);
    if (options.reflection !== false) add(reflectionImpl(serverId, () => this.described()), true);
    this.bindings = map;
  }

  private describedCache: DescribedProtocol[] | undefined;

  /** Every hosted protocol as Reflection describes it. */
  described(): readonly DescribedProtocol[] {
    this.describedCache ??= [...this.bindings.values()].map((b) => ({ name: b.name, version: b.version, hash: b.hash, methods: b.surfaces }));
    return this.describedCache;
  }

  /** Hosted protocol names, in listing order. */
  names(): string[] {
    return [...this.bindings.keys()];
  }

  /** True when Reflection is hosted. */
  get hasReflection(): boolean {
    return this.bindings.has(REFLECTION_PROTOCOL);
  }
}
