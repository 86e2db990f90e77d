/**
 * Webhook events ride the transactional outbox: an event committed while Redis is down is
 * delivered once Redis is back, and a change that rolls back sends nothing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createOrder } from '../../use-cases/orders.js';
import { transaction } from '../../use-cases/transaction.js';
import { waitFor } from '../helpers/api-client.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/private-redis.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';
import { startReceiver, type WebhookReceiver } from '../helpers/webhook-receiver.js';

let redis: PrivateRedis;
let uvis: TestUvis;
let receiver: WebhookReceiver;
let admin: string;

beforeAll(async () => {
  redis = await startPrivateRedis();
  receiver = await startReceiver();
  uvis = await startTestUvis({ role: 'all', env: { REDIS_URL: redis.url, OUTBOX_POLL_MS: '100', REDIS_COMMAND_TIMEOUT_MS: '500' } });
  admin = await uvis.api.login();
});
afterAll(async () => {
  await uvis?.stop();
  await receiver?.close();
  await redis?.destroy();
});

const ORDER = { pickup_address: '인천광역시 연수구 송도동 1', delivery_address: '광주광역시 광산구 1', cargo_type: 'FROZEN', weight: 50 };
const orderIdsReceived = (path: string) => receiver.received(path).map((r) => (JSON.parse(r.body) as { data: { order_id: number } }).data.order_id);

describe('webhooks and the outbox', () => {
  it('an order committed while Redis is down is delivered once Redis is back', async () => {
    const endpoint = await uvis.api.post('/api/v1/webhooks/endpoints', { url: receiver.url('/down'), events: ['order.created'] }, admin);
    expect(endpoint.status, endpoint.text).toBe(201);

    await redis.stop();
    const created = await uvis.api.post('/api/v1/orders', { client_id: 1, ...ORDER }, admin);
    expect(created.status, created.text).toBe(201);
    const row = await uvis.running.deps
      .db('outbox')
      .where({ queue: 'webhooks' })
      .whereRaw(`payload->'data'->>'order_id' = ?`, [String(created.body.id)])
      .first();
    expect(row).toMatchObject({ job_name: 'webhook.event', published_at: null });
    // Nothing can be delivered while the queue is away.
    await waitFor(async () => ((await uvis.running.deps.db('outbox').where({ id: row.id }).first()).attempts >= 2 ? true : undefined), {
      what: 'failed relay attempts',
    });
    expect(receiver.received('/down')).toEqual([]);

    await redis.start();
    await waitFor(async () => (receiver.received('/down').length > 0 ? true : undefined), { timeoutMs: 20_000, what: 'the delivery after Redis returned' });
    expect(orderIdsReceived('/down')).toEqual([created.body.id]);
    expect(receiver.received('/down')[0]!.headers['webhook-id']).toBe(`msg_${row.job_key}`);
  });

  it('a change that rolls back sends nothing', async () => {
    const endpoint = await uvis.api.post('/api/v1/webhooks/endpoints', { url: receiver.url('/rollback'), events: ['order.created'] }, admin);
    expect(endpoint.status, endpoint.text).toBe(201);
    const { deps } = uvis.running;
    let rolledBack = 0;
    await expect(
      transaction(deps, async (tx) => {
        rolledBack = (
          await createOrder(
            tx,
            deps,
            { client_id: 1, pickup_address: ORDER.pickup_address, delivery_address: ORDER.delivery_address, cargo_type: 'FROZEN', weight_kg: 50 },
            1,
          )
        ).id;
        throw new Error('the change failed after announcing itself');
      }),
    ).rejects.toThrow('the change failed');
    expect(rolledBack).toBeGreaterThan(0);
    // A committed order afterwards is delivered: by then the rolled-back one would have been too.
    const committed = await uvis.api.post('/api/v1/orders', { client_id: 1, ...ORDER }, admin);
    expect(committed.status).toBe(201);
    await waitFor(async () => (orderIdsReceived('/rollback').includes(committed.body.id) ? true : undefined), { what: 'the committed order' });
    await deps.relay.relayPending();
    expect(orderIdsReceived('/rollback')).toEqual([committed.body.id]);
    expect(await deps.db('outbox').whereRaw(`payload->'data'->>'order_id' = ?`, [String(rolledBack)])).toEqual([]);
  });
});
