// Test fixture (notify.int.test.ts): a notify worker process that is killed (SIGKILL) after a
// message left and before the outbox recorded it.
import { createDb } from '@pksync/db';
import { deliverDue } from '../../src/deliver.ts';

const env = process.env;
const db = createDb(env.CRASH_DATABASE_URL!, { max: 2 });
await deliverDue({
  db,
  config: {
    smtpUrl: undefined,
    alertFrom: 'pksync <noreply@pksync.test>',
    publicBaseUrl: 'https://pksync.test/',
    tokenKey: Buffer.from(env.CRASH_TOKEN_KEY!, 'hex'),
  },
  now: () => new Date(env.CRASH_NOW!),
  retry: { leaseMs: 60_000, timeoutMs: 5_000 },
  afterSend: () => {
    process.kill(process.pid, 'SIGKILL');
    return new Promise(() => {});
  },
});
console.error('crash-child: nothing was sent');
process.exit(3);
