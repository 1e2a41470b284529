/**
 * Output formatting that matches etcdctl 3.4 byte for byte where it matters to people and scripts:
 * the simple printer, the JSON printer (snake_case, zero fields omitted, uint64 ids as numbers,
 * bytes as base64) and the table printer (tablewriter's look, right-aligned cells).
 */
import { bytesToString } from '../client/bytes.js';
import type {
  DeleteRangeResponse,
  KeyValue,
  Member,
  PutResponse,
  RangeResponse,
  ResponseHeader,
  StatusResponse,
  WatchEvent,
} from '../server/protocol.js';

/** humanize.Bytes as etcdctl uses it for DB SIZE: base 1000, one decimal below 10. */
export function humanizeBytes(n: number): string {
  if (n < 10) return `${n} B`;
  const sizes = ['B', 'kB', 'MB', 'GB', 'TB', 'PB', 'EB'];
  const e = Math.floor(Math.log(n) / Math.log(1000));
  const val = Math.floor((n / 1000 ** e) * 10 + 0.5) / 10;
  if (val < 10) return `${val.toFixed(1)} ${sizes[e]}`;
  // Go's %.0f rounds halves to even (20.5 -> "20"); toFixed would round them up.
  const whole = val % 1 === 0.5 ? (Math.floor(val) % 2 === 0 ? Math.floor(val) : Math.ceil(val)) : Math.round(val);
  return `${whole} ${sizes[e]}`;
}

/** Renders a table the way olekukonko/tablewriter does with ALIGN_RIGHT (header centred). */
export function renderTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const sep = `+${widths.map((w) => '-'.repeat(w + 2)).join('+')}+`;
  const center = (s: string, w: number): string => {
    const pad = w - s.length;
    const left = Math.floor(pad / 2);
    return ' '.repeat(left) + s + ' '.repeat(pad - left);
  };
  const lines = [sep, `| ${header.map((h, i) => center(h, widths[i]!)).join(' | ')} |`, sep];
  for (const r of rows) lines.push(`| ${widths.map((w, i) => (r[i] ?? '').padStart(w)).join(' | ')} |`);
  lines.push(sep);
  return `${lines.join('\n')}\n`;
}

function idNumber(hex: string): string {
  return hex ? BigInt(`0x${hex}`).toString() : '0';
}

function b64(b: Uint8Array): string {
  return Buffer.from(b).toString('base64');
}

/** JSON with uint64 ids spliced in as bare numbers (JSON.stringify cannot emit a BigInt). */
function headerJson(h: ResponseHeader): string {
  const parts = [`"cluster_id":${idNumber(h.clusterId)}`, `"member_id":${idNumber(h.memberId)}`];
  if (h.revision) parts.push(`"revision":${h.revision}`);
  if (h.raftTerm) parts.push(`"raft_term":${h.raftTerm}`);
  return `{${parts.join(',')}}`;
}

function kvJson(kv: KeyValue): string {
  const o: Record<string, unknown> = { key: b64(kv.key) };
  if (kv.createRevision) o.create_revision = kv.createRevision;
  if (kv.modRevision) o.mod_revision = kv.modRevision;
  if (kv.version) o.version = kv.version;
  if (kv.value.length) o.value = b64(kv.value);
  if (kv.lease) o.lease = kv.lease;
  return JSON.stringify(o);
}

export function formatPut(res: PutResponse, format: OutputFormat): string {
  if (format === 'json') {
    const prev = res.prevKv ? `,"prev_kv":${kvJson(res.prevKv)}` : '';
    return `{"header":${headerJson(res.header)}${prev}}\n`;
  }
  let out = 'OK\n';
  if (res.prevKv) out += `${bytesToString(res.prevKv.key)}\n${bytesToString(res.prevKv.value)}\n`;
  return out;
}

export function formatGet(res: RangeResponse, format: OutputFormat, opts: { keysOnly?: boolean } = {}): string {
  if (format === 'json') {
    const parts = [`"header":${headerJson(res.header)}`];
    if (res.kvs.length) parts.push(`"kvs":[${res.kvs.map(kvJson).join(',')}]`);
    if (res.more) parts.push('"more":true');
    if (res.count) parts.push(`"count":${res.count}`);
    return `{${parts.join(',')}}\n`;
  }
  if (format === 'count') return `${res.count}\n`;
  let out = '';
  for (const kv of res.kvs) {
    out += `${bytesToString(kv.key)}\n`;
    if (!opts.keysOnly) out += `${bytesToString(kv.value)}\n`;
    else out += '\n';
  }
  return out;
}

export function formatDelete(res: DeleteRangeResponse, format: OutputFormat): string {
  if (format === 'json') {
    const parts = [`"header":${headerJson(res.header)}`];
    if (res.deleted) parts.push(`"deleted":${res.deleted}`);
    if (res.prevKvs?.length) parts.push(`"prev_kvs":[${res.prevKvs.map(kvJson).join(',')}]`);
    return `{${parts.join(',')}}\n`;
  }
  let out = `${res.deleted}\n`;
  for (const kv of res.prevKvs ?? []) out += `${bytesToString(kv.key)}\n${bytesToString(kv.value)}\n`;
  return out;
}

export function formatWatchEvent(ev: WatchEvent, format: OutputFormat, header: ResponseHeader): string {
  if (format === 'json') {
    const kv = kvJson(ev.kv);
    const type = ev.type === 'delete' ? '"type":1,' : '';
    return `{"Header":${headerJson(header)},"Events":[{${type}"kv":${kv}}],"CompactRevision":0,"Canceled":false,"Created":false}\n`;
  }
  let out = `${ev.type.toUpperCase()}\n`;
  if (ev.prevKv) out += `${bytesToString(ev.prevKv.key)}\n${bytesToString(ev.prevKv.value)}\n`;
  out += `${bytesToString(ev.kv.key)}\n${bytesToString(ev.kv.value)}\n`;
  return out;
}

export function formatMemberList(members: Member[], header: ResponseHeader, format: OutputFormat): string {
  if (format === 'json') {
    const ms = members.map((m) => {
      const parts = [`"ID":${idNumber(m.id)}`, `"name":${JSON.stringify(m.name)}`];
      parts.push(`"peerURLs":${JSON.stringify(m.peerUrls)}`);
      if (m.clientUrls.length) parts.push(`"clientURLs":${JSON.stringify(m.clientUrls)}`);
      if (m.isLearner) parts.push('"isLearner":true');
      return `{${parts.join(',')}}`;
    });
    return `{"header":${headerJson(header)},"members":[${ms.join(',')}]}\n`;
  }
  const rows = members.map((m) => [
    m.id,
    m.name ? 'started' : 'unstarted',
    m.name,
    m.peerUrls.join(','),
    m.clientUrls.join(','),
    String(m.isLearner),
  ]);
  if (format === 'table') {
    return renderTable(['ID', 'STATUS', 'NAME', 'PEER ADDRS', 'CLIENT ADDRS', 'IS LEARNER'], rows);
  }
  return rows.map((r) => `${r.join(', ')}\n`).join('');
}

export interface EndpointStatusRow {
  endpoint: string;
  status?: StatusResponse;
  error?: string;
}

export function formatEndpointStatus(rows: EndpointStatusRow[], format: OutputFormat): string {
  const ok = rows.filter((r): r is EndpointStatusRow & { status: StatusResponse } => r.status !== undefined);
  if (format === 'json') {
    const items = ok.map((r) => {
      const s = r.status;
      const parts = [
        `"header":${headerJson(s.header)}`,
        `"version":${JSON.stringify(s.version)}`,
        `"dbSize":${s.dbSize}`,
        `"leader":${idNumber(s.leader)}`,
        `"raftIndex":${s.raftIndex}`,
        `"raftTerm":${s.raftTerm}`,
        `"raftAppliedIndex":${s.raftAppliedIndex}`,
      ];
      if (s.errors.length) parts.push(`"errors":${JSON.stringify(s.errors)}`);
      return `{"Endpoint":${JSON.stringify(r.endpoint)},"Status":{${parts.join(',')}}}`;
    });
    return `[${items.join(',')}]\n`;
  }
  const table = ok.map((r) => {
    const s = r.status;
    return [
      r.endpoint,
      s.header.memberId,
      s.version,
      humanizeBytes(s.dbSize),
      String(s.leader !== '' && s.leader === s.header.memberId),
      String(s.isLearner),
      String(s.raftTerm),
      String(s.raftIndex),
      String(s.raftAppliedIndex),
      s.errors.join(', '),
    ];
  });
  if (format === 'table') {
    return renderTable(
      [
        'ENDPOINT',
        'ID',
        'VERSION',
        'DB SIZE',
        'IS LEADER',
        'IS LEARNER',
        'RAFT TERM',
        'RAFT INDEX',
        'RAFT APPLIED INDEX',
        'ERRORS',
      ],
      table,
    );
  }
  return table.map((r) => `${r.join(', ')}\n`).join('');
}

export type OutputFormat = 'simple' | 'json' | 'table' | 'count';
