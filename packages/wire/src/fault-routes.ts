import { AdminRequestError, type AdminServer } from '@kemu/runtime';
import { WireBadFaultRuleError } from './errors.js';
import type { FaultTable } from './faults.js';

/**
 * Exposes the fault table on the process's admin endpoint (the only surface chaos tooling uses):
 *
 * - `GET /faults` → `200 {rules: [...]}` (each rule with `id`, `expiresAt`, `expiresInMs`)
 * - `POST /faults` with a rule as JSON → `201 {id, expiresAt}`; invalid rule → `400 {error}`
 * - `DELETE /faults` → `200 {removed: n}` heals everything
 * - `DELETE /faults?id=f3` → `200 {removed: 1}`, or `404` when no such rule
 *
 * (The admin server matches exact paths, hence the query parameter rather than `/faults/<id>`.)
 */
export function registerFaultRoutes(admin: AdminServer, table: FaultTable): void {
  admin.route('GET', '/faults', () => ({ body: { rules: table.list() } }));
  admin.route('POST', '/faults', (req) => {
    if (req.body === undefined) throw new AdminRequestError(400, 'POST /faults needs a fault rule as JSON body');
    try {
      const rule = table.add(req.body);
      return { status: 201, body: { id: rule.id, expiresAt: rule.expiresAt } };
    } catch (err) {
      if (err instanceof WireBadFaultRuleError) throw new AdminRequestError(400, `bad fault rule: ${err.message}`);
      throw err;
    }
  });
  admin.route('DELETE', '/faults', (req) => {
    const id = req.query.get('id');
    if (id === null) return { body: { removed: table.clear() } };
    if (!table.remove(id)) throw new AdminRequestError(404, `no fault rule ${JSON.stringify(id)}`);
    return { body: { removed: 1 } };
  });
}
