/**
 * Bull Board twice: a full board of every queue for admins (retry, promote, clean,
 * pause) and a read-only one for dispatchers, without the admin-only queues (as
 * GET /jobs refuses them). Both live at /admin/queues; admin-routes.ts picks one
 * per request by the signed-in role.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import type { Router } from 'express';
import { ADMIN_ONLY_QUEUES, type Queues } from '../jobs/queues.js';

export const BOARD_PATH = '/admin/queues';

const DESCRIPTIONS: Record<string, string> = {
  orders: '주문 후속 처리 (거리 추정) · order follow-ups',
  dispatches: '배차 이력 · 알림 · dispatch history and notifications',
  locations: '차량 위치 저장 · GPS points',
  backups: '데이터베이스 백업 · database backups',
  maintenance: '정리 작업 (위치 보존 기간 등) · cleanup (GPS retention, outbox)',
};

function board(queues: Queue[], readOnlyMode: boolean): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map(
      (queue) => new BullMQAdapter(queue, { readOnlyMode, allowRetries: !readOnlyMode, description: DESCRIPTIONS[queue.name] ?? '' }),
    ),
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: readOnlyMode ? 'UVIS 작업 큐 (읽기 전용)' : 'UVIS 작업 큐',
        locale: { lng: 'ko-KR' },
        miscLinks: [
          { text: '대시보드 · Dashboard', url: '/dashboard' },
          { text: '로그아웃 · Sign out', url: '/admin/logout' },
        ],
      },
    },
  });
  return serverAdapter.getRouter() as Router;
}

export function createBoards(queues: Queues): { admin: Router; viewer: Router } {
  const all = Object.values(queues);
  return { admin: board(all, false), viewer: board(all.filter((q) => !ADMIN_ONLY_QUEUES.includes(q.name)), true) };
}
