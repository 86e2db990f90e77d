/** Address search finds orders by Korean district names, through the trigram index. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listOrders } from '../../db/orders.js';
import { DEMO_DISPATCHER } from '../helpers/api-client.js';
import { captureQueries, indexesUsed } from '../helpers/explain.js';
import { createOrder } from '../helpers/fixtures.js';
import { startTestUvis, type TestUvis } from '../helpers/uvis.js';

let uvis: TestUvis;
let token: string;

beforeAll(async () => {
  uvis = await startTestUvis({ role: 'api' });
  token = await uvis.api.login(DEMO_DISPATCHER);
});
afterAll(async () => {
  await uvis?.stop();
});

describe('address search', () => {
  it('finds 강남구 inside a full road-name address, in pickup or delivery', async () => {
    const a = await createOrder(uvis.api, token, { pickup_address: '서울시 강남구 테헤란로 123', delivery_address: '대전광역시 유성구 대학로 99' });
    const b = await createOrder(uvis.api, token, { pickup_address: '경기도 성남시 분당구 판교역로 1', delivery_address: '서울특별시 강남구 역삼로 7' });
    const c = await createOrder(uvis.api, token, { pickup_address: '부산광역시 중구 중앙대로 1', delivery_address: '울산광역시 남구 삼산로 1' });
    const res = await uvis.api.get(`/api/v1/orders?q=${encodeURIComponent('강남구')}&limit=200`, token);
    expect(res.status).toBe(200);
    const ids = res.body.items.map((o: { id: number }) => o.id);
    expect(ids).toEqual(expect.arrayContaining([a.id, b.id]));
    expect(ids).not.toContain(c.id);
    const road = await uvis.api.get(`/api/v1/orders?q=${encodeURIComponent('테헤란로')}`, token);
    expect(road.body.items.map((o: { id: number }) => o.id)).toContain(a.id);
  });

  it('treats LIKE wildcards in the search text as text', async () => {
    await createOrder(uvis.api, token, { pickup_address: '서울시 중구 세종대로 100% 빌딩' });
    const all = await uvis.api.get(`/api/v1/orders?q=${encodeURIComponent('%')}&limit=200`, token);
    expect(all.body.items.every((o: { pickup_address: string; delivery_address: string }) => `${o.pickup_address} ${o.delivery_address}`.includes('%'))).toBe(
      true,
    );
    const underscore = await uvis.api.get(`/api/v1/orders?q=${encodeURIComponent('_')}`, token);
    expect(underscore.body.items).toEqual([]);
  });

  it('uses the trigram index on a table big enough for the planner to care', async () => {
    const { db } = uvis.running.deps;
    // 20,000 orders spread over the districts of data/kr-districts.csv.
    await db.raw(`
      insert into orders (client_id, pickup_address, delivery_address, cargo_type, weight_kg, status, created_at)
      select 1,
             (array['서울특별시 서초구','부산광역시 사하구','대구광역시 달서구','경기도 수원시','제주특별자치도 제주시'])[1 + i % 5] || ' 도로 ' || i,
             (array['인천광역시 연수구','광주광역시 서구','대전광역시 유성구','울산광역시 남구','경상남도 창원시'])[1 + i % 5] || ' 길 ' || i,
             'CHILLED', 100, 'PENDING', now() - (i || ' minutes')::interval
        from generate_series(1, 20000) as i`);
    // VACUUM also flushes the GIN pending list, as autovacuum would on a live table.
    await db.raw('vacuum analyze orders');
    const [query] = await captureQueries(db, () => listOrders(db, { q: '강남구', sort: '-created_at', limit: 50 }));
    const { indexes, plan } = await indexesUsed(db, query!.sql, query!.bindings);
    expect(indexes, plan).toContain('orders_address_trgm_idx');
  });
});
