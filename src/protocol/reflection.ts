/**
 * `vgi_rpc.Reflection.v1`: the framework protocol that lists what a server
 * hosts (`list_protocols`) and describes one protocol (`describe`), with
 * payloads carried as nested one-row IPC streams.
 */
import * as Effect from 'effect/Effect';
import type { Schema } from 'apache-arrow';
import * as T from '../types/index.js';
import * as Method from '../service/method.js';
import { type AnyService, type Handlers, type ServiceImpl, define } from '../service/service.js';
import { Errors } from '../service/errors.js';
import { StreamEncoder, concatBytes } from '../wire/batch-encoder.js';
import { REQUEST_VERSION } from '../wire/metadata-keys.js';
import type { MethodSurface } from './method-surface.js';
import { pyList, pyRepr } from './py-repr.js';

/** Wire name of the reflection protocol. */
export const REFLECTION_PROTOCOL = 'vgi_rpc.Reflection.v1';

const summaryFields = {
  protocol: T.utf8,
  protocol_version: T.utf8,
  protocol_hash: T.utf8,
  deprecated: T.bool,
  deprecation_message: T.utf8,
  features: T.list(T.utf8),
} as const;

/** A ProtocolSummary payload record. */
export const ProtocolSummary = T.record('ProtocolSummary', summaryFields);

/** A ProtocolList payload record (list_protocols result). */
export const ProtocolList = T.record('ProtocolList', {
  server_id: T.utf8,
  server_version: T.utf8,
  request_version: T.utf8,
  protocols: T.list(ProtocolSummary),
});

/** A MethodInfo payload record. */
export const MethodInfo = T.record('MethodInfo', {
  name: T.utf8,
  method_type: T.utf8,
  has_return: T.bool,
  has_header: T.bool,
  stream_kind: T.utf8,
  params_schema_ipc: T.binary,
  result_schema_ipc: T.binary,
  header_schema_ipc: T.binary,
  idempotency: T.utf8,
  deprecated: T.bool,
  deprecation_message: T.utf8,
});

/** A ServiceDescription payload record (describe result). */
export const ServiceDescription = T.record('ServiceDescription', {
  ...summaryFields,
  methods: T.list(MethodInfo),
});

/** The Reflection service definition. */
export const Reflection = define(REFLECTION_PROTOCOL, { framework: true }, {
  describe: Method.unary({ params: { protocol: T.utf8 }, result: ServiceDescription }),
  list_protocols: Method.unary({ result: ProtocolList }),
});

/** What reflection needs to know about each hosted protocol. */
export interface DescribedProtocol {
  readonly name: string;
  readonly version: string | undefined;
  readonly hash: string;
  readonly methods: readonly MethodSurface[];
}

/** Serialize a schema as a complete IPC stream (schema message + EOS), as the peer does. */
export const schemaIpc = (schema: Schema): Uint8Array => {
  const out: Uint8Array[] = [];
  const enc = new StreamEncoder(schema);
  enc.writeSchema(out);
  enc.writeEos(out);
  return concatBytes(out);
};

const summary = (p: DescribedProtocol): T.RecordOf<typeof summaryFields> => ({
  protocol: p.name,
  protocol_version: p.version ?? '',
  protocol_hash: p.hash,
  deprecated: false,
  deprecation_message: '',
  features: [],
});

const EMPTY = new Uint8Array(0);

/** The ServiceDescription of one protocol. */
export const describeProtocol = (p: DescribedProtocol): T.RecordOf<typeof ServiceDescription.fields> => ({
  ...summary(p),
  methods: [...p.methods]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .map((m) => ({
      name: m.name,
      method_type: m.type,
      has_return: m.hasReturn,
      has_header: m.hasHeader,
      stream_kind: m.streamKind,
      params_schema_ipc: schemaIpc(m.params),
      result_schema_ipc: m.hasReturn && m.result !== undefined ? schemaIpc(m.result) : EMPTY,
      header_schema_ipc: m.hasHeader && m.header !== undefined ? schemaIpc(m.header) : EMPTY,
      idempotency: 'unknown',
      deprecated: false,
      deprecation_message: '',
    })),
});

/** Message of the error for a protocol name that is not hosted. */
export const notHostedMessage = (name: string, hosted: Iterable<string>): string =>
  `This server does not host protocol ${pyRepr(name)}. Hosted: ${pyList(hosted)}.`;

/** The Reflection implementation over the hosted protocols (listed in registration order). */
export const reflectionImpl = (serverId: string, hosted: () => readonly DescribedProtocol[]): ServiceImpl =>
  ({ service: Reflection, handlers: reflectionHandlers(serverId, hosted) }) as unknown as ServiceImpl;

const reflectionHandlers = (serverId: string, hosted: () => readonly DescribedProtocol[]): Handlers<typeof Reflection.methods> => ({
    list_protocols: () => Effect.sync(() => ({
      server_id: serverId,
      server_version: '',
      request_version: REQUEST_VERSION,
      protocols: hosted().map(summary),
    })),
    describe: ({ protocol }) => Effect.suspend(() => {
      const all = hosted();
      const p = all.find((x) => x.name === protocol);
      return p === undefined
        ? Effect.fail(Errors.protocolNotSupported(notHostedMessage(protocol, all.map((x) => x.name))))
        : Effect.succeed(describeProtocol(p));
    }),
});

/** Reflection's own service type, for callers that host it. */
export type ReflectionService = typeof Reflection & AnyService;
