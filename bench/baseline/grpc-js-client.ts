// The reference client the targets are measured against: what a Node user writes today with the
// stack of Silo's own Node client. @grpc/grpc-js over HTTP/2, messages from
// @grpc/proto-loader (proto/silo/v1/silo.proto loaded at start-up, as proto-loader users do),
// and the same work as ours per enqueue: GetClusterInfo once (shared by concurrent first calls),
// XXH64 routing of the tenant (`hashTenant`, so the hash costs the same on both sides),
// MessagePack payload, a client-generated UUID job id, then Enqueue to the owning node.
// No retries or redirects: that only flatters the baseline.
import { credentials, loadPackageDefinition, type Client, type ServiceError } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { encode } from "@msgpack/msgpack";
import { hashTenant } from "silo-edge";

// proto-loader with `defaults: false` leaves proto3 default values ("" here) undefined.
interface Shard {
  shard_id: string;
  grpc_addr: string;
  range_start?: string;
  range_end?: string;
}

type Unary<Req, Res> = (request: Req, callback: (err: ServiceError | null, res: Res) => void) => void;

interface SiloStub extends Client {
  GetClusterInfo: Unary<Record<string, never>, { shard_owners: Shard[] }>;
  Enqueue: Unary<Record<string, unknown>, { id: string }>;
}

type SiloCtor = new (address: string, creds: ReturnType<typeof credentials.createInsecure>) => SiloStub;

export interface GrpcJsBaselineOptions {
  /** `host:port` of a node to learn the topology from. */
  server: string;
  /** Path of silo.proto. */
  protoPath: string;
}

function call<Req, Res>(fn: Unary<Req, Res>, stub: SiloStub, request: Req): Promise<Res> {
  return new Promise((resolve, reject) => fn.call(stub, request, (err, res) => (err ? reject(err) : resolve(res))));
}

export class GrpcJsBaselineClient {
  readonly #server: string;
  readonly #Silo: SiloCtor;
  readonly #stubs = new Map<string, SiloStub>();
  #shards: Promise<Shard[]> | undefined;

  constructor({ server, protoPath }: GrpcJsBaselineOptions) {
    this.#server = server;
    const definition = loadSync(protoPath, { keepCase: true, longs: String, enums: String, defaults: false, oneofs: true });
    const pkg = loadPackageDefinition(definition) as unknown as { silo: { v1: { Silo: SiloCtor } } };
    this.#Silo = pkg.silo.v1.Silo;
  }

  #stub(address: string): SiloStub {
    let stub = this.#stubs.get(address);
    if (!stub) {
      stub = new this.#Silo(address, credentials.createInsecure());
      this.#stubs.set(address, stub);
    }
    return stub;
  }

  #topology(): Promise<Shard[]> {
    this.#shards ??= (async () => {
      const stub = this.#stub(this.#server);
      const info = await call(stub.GetClusterInfo, stub, {});
      return info.shard_owners;
    })();
    return this.#shards;
  }

  /** Enqueues one job and resolves with its id. */
  async enqueue({ tenant, taskGroup, payload }: { tenant: string; taskGroup: string; payload: unknown }): Promise<string> {
    const shards = await this.#topology();
    const hash = hashTenant(tenant);
    const shard = shards.find((s) => (!s.range_start || s.range_start <= hash) && (!s.range_end || hash < s.range_end));
    if (!shard) throw new Error(`no shard for tenant ${tenant}`);
    const stub = this.#stub(shard.grpc_addr);
    const id = crypto.randomUUID();
    const res = await call(stub.Enqueue, stub, {
      shard: shard.shard_id,
      id,
      priority: 50,
      start_at_ms: 0,
      payload: { msgpack: encode(payload) },
      tenant,
      task_group: taskGroup,
    });
    return res.id || id;
  }

  close(): void {
    for (const stub of this.#stubs.values()) stub.close();
  }
}
