/**
 * `vgi-rpc describe`: the server's protocols and, for each application
 * protocol (or the one `--protocol` names), its methods with their kind,
 * parameters, result and header types. Text for people, or one JSON
 * document with `--json`. Reflection describes no parameter defaults and no
 * docs, so neither can be shown.
 */
import type { Field, Schema } from 'apache-arrow';
import { type ReflectedMethod, type ReflectedProtocol, describeProtocol } from '../src/client/reflected-client.js';
import { typeToken } from '../src/types/type-tokens.js';
import type { ServerAddress } from './connect.js';
import { CliFailure, ExitCode } from './exit-codes.js';
import { writeJson } from './json-text.js';
import { paramList } from './param-values.js';
import { type Session, applicationProtocols, printLog, withSession } from './session.js';

/** What `describe` was asked. */
export interface DescribeRequest {
  readonly address: ServerAddress;
  readonly protocol: string | undefined;
  readonly json: boolean;
}

const token = (f: Field): string => {
  try {
    return typeToken(f.type);
  } catch {
    return String(f.type);
  }
};

const fieldJson = (f: Field) => ({ name: f.name, type: token(f), nullable: f.nullable });

const methodJson = (m: ReflectedMethod) => ({
  name: m.name,
  kind: m.kind,
  params: m.params.fields.map(fieldJson),
  result: m.result?.fields[0] === undefined ? null : { type: token(m.result.fields[0]), nullable: m.result.fields[0].nullable },
  header: m.header === undefined ? null : m.header.fields.map(fieldJson),
  idempotency: m.idempotency,
  deprecated: m.deprecated,
  deprecation_message: m.deprecationMessage,
});

const columns = (s: Schema): string => s.fields.map((f) => `${f.name}${f.nullable ? '?' : ''}: ${token(f)}`).join(', ');

const methodLine = (m: ReflectedMethod): string => {
  const params = m.params.fields.length === 0 ? '' : paramList(m.params);
  const result = m.result?.fields[0] === undefined ? '' : ` -> ${token(m.result.fields[0])}${m.result.fields[0].nullable ? '?' : ''}`;
  const header = m.header === undefined ? '' : `  header(${columns(m.header)})`;
  const notes = [
    m.idempotency !== 'unknown' && m.idempotency !== '' ? m.idempotency : '',
    m.deprecated ? `deprecated${m.deprecationMessage === '' ? '' : `: ${m.deprecationMessage}`}` : '',
  ].filter((n) => n !== '');
  return `  ${m.kind.padEnd(9)}${m.name}(${params})${result}${header}${notes.length === 0 ? '' : `  [${notes.join('; ')}]`}`;
};

const protocolText = (p: ReflectedProtocol): string[] => [
  `${p.name}${p.version === undefined ? '' : ` ${p.version}`}${p.deprecated ? `  [deprecated${p.deprecationMessage === '' ? '' : `: ${p.deprecationMessage}`}]` : ''}`,
  `  hash ${p.hash}`,
  ...p.methods.map(methodLine),
];

/** Print the description; failures carry their exit codes. */
export const runDescribe = (req: DescribeRequest): Promise<void> =>
  withSession(req.address, async ({ endpoint, server }: Session) => {
    const names = req.protocol === undefined ? applicationProtocols(server) : [req.protocol];
    const hosted = server.protocols.map((p) => p.name);
    const missing = names.find((n) => !hosted.includes(n));
    if (missing !== undefined) {
      throw new CliFailure(ExitCode.usage, `the server does not host protocol '${missing}'; it hosts: ${hosted.join(', ')}`);
    }
    const described: ReflectedProtocol[] = [];
    for (const n of names) described.push(await describeProtocol(endpoint.conn, n, { onLog: printLog }));
    if (req.json) {
      const doc = {
        server_id: server.serverId,
        server_version: server.serverVersion,
        request_version: server.requestVersion,
        protocols: server.protocols.map((p) => {
          const d = described.find((x) => x.name === p.name);
          return {
            name: p.name,
            version: p.version ?? null,
            hash: p.hash,
            deprecated: p.deprecated,
            deprecation_message: p.deprecationMessage,
            ...(d === undefined ? {} : { methods: d.methods.map(methodJson) }),
          };
        }),
      };
      process.stdout.write(`${writeJson(doc, 2)}\n`);
      return;
    }
    const lines = [
      `server ${server.serverId}${server.serverVersion === '' ? '' : ` ${server.serverVersion}`}  (request version ${server.requestVersion})`,
      `hosts: ${server.protocols.map((p) => (p.version === undefined ? p.name : `${p.name} ${p.version}`)).join(', ')}`,
    ];
    for (const p of described) lines.push('', ...protocolText(p));
    lines.push(
      '',
      '? marks a nullable parameter or result. Reflection describes no defaults or docs: a parameter left out of',
      'a call is sent as null, and the server applies its default (or reports the parameter missing).',
    );
    process.stdout.write(`${lines.join('\n')}\n`);
  });
