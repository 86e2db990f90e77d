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
import { dispatcherMaySee, isQueueName, queueDefinition } from '../jobs/index.js';
import type { Queues } from '../jobs/queues.js';

export const BOARD_PATH = '/admin/queues';

function board(queues: Queue[], readOnlyMode: boolean): Router {
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: queues.map(
      (queue) =>
        new BullMQAdapter(queue, {
          readOnlyMode,
          allowRetries: !readOnlyMode,
          description: isQueueName(queue.name) ? queueDefinition(queue.name).description : '',
        }),
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
  return {
    admin: board(all, false),
    viewer: board(
      all.filter((q) => dispatcherMaySee(q.name)),
      true,
    ),
  };
}
