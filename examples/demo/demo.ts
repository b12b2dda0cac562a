// `npm run demo`: the whole path in one command. A dev server (2 nodes, 8 shards, tenancy on), the
// Hono-on-Node example app in front of it, and a worker. Orders for several tenants go in through
// HTTP, each lands on its tenant's shard, the worker prices it, and the results come back.
import { pathToFileURL } from "node:url";
import { hashTenant, SiloGRPCClient, type JobResult } from "silo-edge";
import { startDevServer, type DevServer, type ShardInfo } from "silo-edge/dev";
import { createWorker, type Worker } from "silo-edge/worker";
import { start, type RunningServer } from "../hono-node/server.js";

const TENANTS = ["acme", "globex", "initech", "umbrella", "hooli", "stark"];
const ORDERS_PER_TENANT = 2;
const TASK_GROUP = "orders";
const CATALOG = [
  { sku: "tea", price: 4.5 },
  { sku: "mug", price: 12 },
  { sku: "spoon", price: 0.75 },
  { sku: "kettle", price: 39.9 },
  { sku: "biscuits", price: 2.2 },
];

type Item = { sku: string; qty: number; price: number };
type Order = { items: Item[] };
type Priced = { items: number; total: number };

interface Row {
  tenant: string;
  shard: ShardInfo;
  id: string;
  outcome: string;
  result: string;
  ok: boolean;
}

const color = process.stdout.isTTY && !process.env.NO_COLOR;
const paint = (code: number, text: string): string => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
const dim = (text: string): string => paint(2, text);
const columns = [10, 10, 6, 38, 11];
const line = (cells: string[]): string => cells.map((c, i) => (i < columns.length ? c.padEnd(columns[i]!) : c)).join("");

/** The demo's order n of a tenant: a few catalog items, different for each order. */
function orderFor(tenantIndex: number, n: number): Order {
  const count = 1 + ((tenantIndex + n) % 3);
  const items = Array.from({ length: count }, (_, k) => {
    const product = CATALOG[(tenantIndex * 2 + n + k) % CATALOG.length]!;
    return { sku: product.sku, qty: 1 + ((tenantIndex + k * n) % 4), price: product.price };
  });
  return { items };
}

/** What the worker computes; the demo checks each result against it. */
function price({ items }: Order): Priced {
  return { items: items.length, total: Math.round(items.reduce((sum, i) => sum + i.qty * i.price, 0) * 100) / 100 };
}

/** The shard whose hash range holds the tenant: where the client must route its jobs. */
function shardOf(shards: ShardInfo[], tenant: string): ShardInfo {
  const hash = hashTenant(tenant);
  const shard = shards.find((s) => s.rangeStart <= hash && (s.rangeEnd === "" || hash < s.rangeEnd));
  if (!shard) throw new Error(`no shard holds tenant ${tenant} (hash ${hash})`);
  return shard;
}

async function postOrder(baseUrl: string, tenant: string, order: Order): Promise<string> {
  const res = await fetch(`${baseUrl}/orders`, {
    method: "POST",
    headers: { "content-type": "application/json", "x-tenant-id": tenant },
    body: JSON.stringify(order),
  });
  const body = (await res.json()) as { id?: string; error?: string };
  if (res.status !== 202 || typeof body.id !== "string") throw new Error(`POST /orders for ${tenant} answered ${res.status}: ${JSON.stringify(body)}`);
  return body.id;
}

export async function main(): Promise<number> {
  const startedAt = Date.now();
  let server: DevServer | undefined;
  let app: RunningServer | undefined;
  let worker: Worker | undefined;
  try {
    console.log(paint(1, "silo-edge demo"));
    server = await startDevServer({ port: 0, nodes: 2, shards: 8, tenancy: true });
    const shards = server.shards();
    const nodes = server.addresses.map((a, i) => `node ${i} ${a}`).join(", ");
    console.log(`  dev server  2 nodes, ${shards.length} shards, tenancy on: ${nodes}`);

    const client = new SiloGRPCClient({ servers: server.addresses, useTls: false });
    app = await start({ port: 0, client, taskGroup: TASK_GROUP });
    console.log(`  Hono app    ${app.url}  (examples/hono-node: POST /orders, tenant from x-tenant-id)`);

    // Where each job actually ran, as the worker saw it: checked against the tenant's routing.
    const ranOn = new Map<string, string>();
    worker = createWorker<Order, Priced>({
      client,
      taskGroup: TASK_GROUP,
      concurrency: 4,
      pollIntervalMs: 20,
      async handler({ payload, task, signal }) {
        ranOn.set(task.jobId, task.shard);
        // Some work to watch: 100 to 400 ms per order.
        await new Promise((resolve) => setTimeout(resolve, 100 + Math.floor(Math.random() * 300)));
        signal.throwIfAborted();
        return price(payload);
      },
    });
    worker.start();
    console.log(`  worker      task group "${TASK_GROUP}", concurrency 4, polling both nodes`);

    const jobs = TENANTS.flatMap((tenant, t) => Array.from({ length: ORDERS_PER_TENANT }, (_, n) => ({ tenant, order: orderFor(t, n) })));
    const sentAt = Date.now();
    const ids = await Promise.all(jobs.map(({ tenant, order }) => postOrder(app!.url, tenant, order)));
    console.log(`\n${jobs.length} orders for ${TENANTS.length} tenants sent to POST /orders: ${jobs.length} × 202 in ${Date.now() - sentAt} ms\n`);

    console.log(paint(1, line(["tenant", "shard", "node", "job id", "outcome", "result"])));
    const rows = await Promise.all(
      jobs.map(async ({ tenant, order }, i): Promise<Row> => {
        const id = ids[i]!;
        const shard = shardOf(shards, tenant);
        let outcome: string;
        let result: string;
        let ok = false;
        try {
          const r: JobResult<Priced> = await client.handle(id, tenant).awaitResult<Priced>({ timeoutMs: 20_000, pollIntervalMs: 50 });
          outcome = r.outcome;
          if (r.outcome === "succeeded") {
            result = `${r.result.items} item${r.result.items === 1 ? "" : "s"}, total ${r.result.total.toFixed(2)}`;
            const expected = price(order);
            if (!server!.jobsOnShard(shard.id).includes(id) || ranOn.get(id) !== shard.id) outcome = "misrouted";
            else if (r.result.total !== expected.total || r.result.items !== expected.items) outcome = "wrong result";
            else ok = true;
          } else if (r.outcome === "failed") {
            result = `${r.errorCode} ${JSON.stringify(r.errorData)}`;
          } else {
            result = "";
          }
        } catch (err) {
          outcome = "error";
          result = err instanceof Error ? err.message : String(err);
        }
        const row = { tenant, shard, id, outcome, result, ok };
        console.log(line([tenant, shard.id.slice(0, 8), String(shard.nodeIndex), id, ok ? paint(32, outcome.padEnd(columns[4]! - 1)) + " " : paint(31, outcome.padEnd(columns[4]! - 1)) + " ", result]));
        return row;
      }),
    );

    await worker.stop();
    const succeeded = rows.filter((r) => r.ok).length;
    const failed = rows.length - succeeded;
    const elapsed = ((Date.now() - startedAt) / 1000).toFixed(1);
    console.log(`\n${paint(1, `${rows.length} jobs`)}: ${paint(succeeded === rows.length ? 32 : 0, `${succeeded} succeeded`)}, ${paint(failed > 0 ? 31 : 0, `${failed} failed`)} in ${elapsed} s`);
    for (const [node, address] of server.addresses.entries()) {
      const onNode = rows.filter((r) => r.shard.nodeIndex === node);
      const used = new Set(onNode.map((r) => r.shard.id)).size;
      const owned = shards.filter((s) => s.nodeIndex === node).length;
      const enqueues = server.rpcCounts(node).Enqueue ?? 0;
      console.log(`  node ${node} ${address}: ${onNode.length} jobs on ${used} of its ${owned} shards, ${enqueues} Enqueue RPCs`);
    }
    const stats = worker.stats;
    console.log(dim(`  worker: ${stats.leased} leased, ${stats.succeeded} succeeded, ${stats.failed} failed, ${stats.polls} LeaseTasks polls`));
    return failed === 0 ? 0 : 1;
  } catch (err) {
    console.error(paint(31, `demo failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`));
    return 1;
  } finally {
    await worker?.stop();
    await app?.close();
    await server?.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = await main();
}
