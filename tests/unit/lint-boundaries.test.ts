/** ESLint keeps the layer direction: an import against it is an error, one along it is not. */
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

const eslint = new ESLint();

async function restrictedImports(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'import-x/no-restricted-paths').map((m) => m.message);
}

describe('layer boundaries (eslint.config.js)', () => {
  it('refuses lib/ importing any layer, domain/ the data, db/ use-cases, use-cases/ the transport, jobs/ api/, api/ the dashboard', async () => {
    expect(await restrictedImports('lib/probe.ts', "import { startUvis } from '../app/start.js';\nexport const x = startUvis;\n")).toHaveLength(1);
    expect(
      await restrictedImports(
        'lib/probe.ts',
        "import { ACTIVE_DISPATCH_STATUSES } from '../domain/dispatch-status.js';\nexport const x = ACTIVE_DISPATCH_STATUSES;\n",
      ),
    ).toHaveLength(1);
    expect(
      await restrictedImports('db/probe.ts', "import { assignDispatch } from '../use-cases/dispatches.js';\nexport const x = assignDispatch;\n"),
    ).toHaveLength(1);
    expect(await restrictedImports('jobs/probe.ts', "import { buildApp } from '../api/app.js';\nexport const x = buildApp;\n")).toHaveLength(1);
    expect(await restrictedImports('api/probe.ts', "import { mountDashboard } from '../dashboard/mount.js';\nexport const x = mountDashboard;\n")).toHaveLength(
      1,
    );
    expect(await restrictedImports('use-cases/probe.ts', "import { reply } from '../api/route.js';\nexport const x = reply;\n")).toHaveLength(1);
    expect(await restrictedImports('use-cases/probe.ts', "import { createQueues } from '../jobs/queues.js';\nexport const x = createQueues;\n")).toHaveLength(
      1,
    );
    expect(await restrictedImports('domain/probe.ts', "import { getOrder } from '../db/orders.js';\nexport const x = getOrder;\n")).toHaveLength(1);
  });

  it('refuses one route module importing another', async () => {
    const messages = await restrictedImports('api/routes/probe.ts', "import { orderRoutes } from './orders.js';\nexport const x = orderRoutes;\n");
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatch(/route modules do not import each other/);
  });

  it('allows imports along the layers', async () => {
    const code = [
      "import { assignDispatch } from '../../use-cases/dispatches.js';",
      "import { getOrder } from '../../db/orders.js';",
      "import { orderCancelRefusal } from '../../domain/orders.js';",
      "import { loadConfig } from '../../lib/config.js';",
      "import { QUEUE_NAMES } from '../../jobs/index.js';",
      "import { defineRoute } from '../route.js';",
      'export const x = [assignDispatch, getOrder, orderCancelRefusal, loadConfig, QUEUE_NAMES, defineRoute];',
    ].join('\n');
    expect(await restrictedImports('api/routes/probe.ts', code)).toEqual([]);
  });
});
