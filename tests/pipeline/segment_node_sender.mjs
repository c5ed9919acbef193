// Segment's official Node library (@segment/analytics-node) sending one event of each
// type to this server: `node segment_node_sender.mjs <host> <writeKey>`. Exits non-zero
// when the library reports an error.
import { Analytics } from '@segment/analytics-node';

const [host, writeKey] = process.argv.slice(2);
const analytics = new Analytics({ writeKey, host, flushAt: 6, maxRetries: 0 });
const errors = [];
analytics.on('error', (error) => errors.push(error));

analytics.identify({ userId: 'n-1', traits: { email: 'ada@example.com' } });
analytics.track({ userId: 'n-1', event: 'Order Completed', properties: { revenue: 9.99 } });
analytics.page({ userId: 'n-1', category: 'Docs', name: 'Install' });
analytics.screen({ userId: 'n-1', name: 'Settings' });
analytics.group({ userId: 'n-1', groupId: 'g-1', traits: { name: 'Initech' } });
analytics.alias({ userId: 'n-1', previousId: 'a-1' });
await analytics.closeAndFlush({ timeout: 20_000 });
if (errors.length) {
  console.error(errors.map((error) => String(error?.reason ?? error)).join('\n'));
  process.exit(1);
}
