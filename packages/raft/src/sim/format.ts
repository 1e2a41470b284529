import type { Entry, Message } from '../types.js';

const decoder = new TextDecoder();

function entryLabel(e: Entry): string {
  if (e.type === 'conf-change') return `${e.index}/t${e.term}:cc`;
  return e.data.length === 0 ? `${e.index}/t${e.term}:noop` : `${e.index}/t${e.term}:${decoder.decode(e.data)}`;
}

function entriesLabel(ents: Entry[]): string {
  if (ents.length === 0) return '[]';
  if (ents.length <= 3) return `[${ents.map(entryLabel).join(' ')}]`;
  return `[${entryLabel(ents[0] as Entry)} .. ${entryLabel(ents[ents.length - 1] as Entry)} (${ents.length})]`;
}

/** One readable line per message, for traces. */
export function formatMessage(m: Message): string {
  const head = `${m.type} ${m.from}->${m.to} t${m.term}`;
  switch (m.type) {
    case 'MsgApp':
      return `${head} prev=${m.index}/t${m.logTerm} ${entriesLabel(m.entries)} commit=${m.commit}`;
    case 'MsgAppResp':
      return m.reject ? `${head} REJECT ${m.index} hint=${m.rejectHint}/t${m.logTerm}` : `${head} ok ${m.index}`;
    case 'MsgVote':
    case 'MsgPreVote':
      return `${head} last=${m.index}/t${m.logTerm}${m.context.length > 0 ? ' (transfer)' : ''}`;
    case 'MsgVoteResp':
    case 'MsgPreVoteResp':
      return `${head} ${m.reject ? 'REJECT' : 'grant'}`;
    case 'MsgHeartbeat':
      return `${head} commit=${m.commit}${m.context.length > 0 ? ` ctx=${decoder.decode(m.context)}` : ''}`;
    case 'MsgHeartbeatResp':
      return `${head}${m.context.length > 0 ? ` ctx=${decoder.decode(m.context)}` : ''}`;
    case 'MsgSnap':
      return `${head} snapshot=${m.snapshot?.metadata.index}/t${m.snapshot?.metadata.term}`;
    case 'MsgProp':
      return `${head} ${entriesLabel(m.entries)}`;
    case 'MsgReadIndex':
    case 'MsgReadIndexResp':
      return `${head} ctx=${decoder.decode(m.context)} index=${m.index}`;
    default:
      return head;
  }
}
