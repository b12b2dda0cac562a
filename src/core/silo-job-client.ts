import { Code, ConnectError } from "./rpc-error.js";
import { clientTelemetry } from "#client-telemetry";
import { platform } from "#platform";
import { abortableSleep } from "./abortable-sleep.js";
import type { CallOptions, RpcOptionsLike, SiloGRPCClientOptions, TokenOption } from "./client-options.js";
import type { UnaryChannel } from "./unary-channel.js";
import { buildEnqueueRequest, type EnqueueJobOptions } from "./enqueue-options.js";
import {
  type ErrorSubject,
  JobAlreadyExistsError,
  JobNotFoundError,
  JobNotTerminalError,
  SiloCancelledError,
  SiloDeadlineExceededError,
  SiloError,
  SiloFailedPreconditionError,
  SiloPermissionDeniedError,
  SiloUnauthenticatedError,
  SiloUnavailableError,
  SiloValidationError,
  toSiloError,
} from "./errors.js";
import { type AwaitJobOptions, JobHandle, type JobOperations } from "./job-handle.js";
import { type Job, type JobResult, JobStatus } from "./job-types.js";
import { requestMayHaveBeenSent } from "./delivery-failure.js";
import { jobFromWire, jobResultFromWire, jobStatusFromWire } from "./job-view.js";
import { PROTOCOLS, type Protocol } from "./protocol.js";
import { isLoopbackAddress, parseNodeAddress, parseServers } from "./server-address.js";
import { createJobRpc, type SiloJobRpc } from "./silo-rpc.js";
import { hashTenantCached } from "./tenant-hash.js";
import { Topology, type ShardRoute } from "./topology.js";
import { checkedNodeAddress, mayFollowRedirect, type TrustSource } from "./trusted-hosts.js";
import { currentTopology, knownTopology, markTopologyStale, peekTopology, refreshTopology, type TopologySource } from "./topology-cache.js";
import type { ShardInfoWithRange } from "./task-types.js";
import { checkTlsOptions, type SiloTlsOptions } from "./tls-options.js";
import { enqueueMany, type EnqueueManyOptions, type EnqueueManyResult } from "./enqueue-many.js";
import { checkLogger, silentLogger, type SiloLogger } from "./logger.js";
import { checkBool, checkCallOptions, checkHeaders, checkInt, checkJobId, checkKnownKeys, checkObject, checkSignal, checkTenant } from "./validation.js";

/** The job RPCs of one node that `SiloJobClient.callRouted` hands out: the generated Connect client's methods, on the hand-written codec. */
export type SiloJobRpcClient = SiloJobRpc;

/** Per-attempt options handed to an RPC. */
export interface AttemptOptions {
  /** The caller's cancellation; undefined when the call has no signal (its deadline is `timeoutMs`). */
  signal: AbortSignal | undefined;
  timeoutMs: number;
  /** Request metadata: lower-case names, values checked (a plain object, so Node never loads undici's `Headers`). */
  headers: Readonly<Record<string, string>>;
}

/** The tenant string the server routes a call without tenant with. */
export const DEFAULT_TENANT_ROUTE = "-";

// The upstream client's shardRouting defaults; the deadline (ours) bounds the retries too.
export const DEFAULTS = {
  topologyRefreshIntervalMs: 30_000,
  topologyRefreshTimeoutMs: 10_000,
  maxRetries: 8,
  retryDelayMs: 250,
  maxRetryDelayMs: 5_000,
  timeoutMs: 10_000,
} as const;

const CLIENT_KEYS = [
  "servers",
  "useTls",
  "token",
  "shardRouting",
  "protocol",
  "addressMap",
  "topologyCache",
  "timeoutMs",
  "grpcClientOptions",
  "rpcOptions",
  "meter",
  "fetch",
  "headers",
  "allowInsecureToken",
  "maxReceiveMessageBytes",
  "tls",
  "logger",
] as const;

/** RPC clients shared by every client of the process, keyed by RPC set, protocol and URL. */
const sharedRpcClients = new Map<string, SiloJobRpcClient>();

const OWNER_ADDR = "x-silo-shard-owner-addr";
// The last three: a gRPC stream that ended without response headers or without a status, which
// is how a connection that broke after the request was sent looks on HTTP/2 (the request may
// have run, so the retry is ambiguous).
const CONNECTIVITY =
  /reset|socket|ECONN|EPIPE|closed|GOAWAY|premature close|terminated|network|fetch failed|other side|aborted|missing status|ended without response headers|no grpc-status/i;

/** What a failed attempt means for the next one. */
type Verdict =
  | { kind: "redirect"; address: string }
  | { kind: "refresh" }
  | { kind: "retry"; ambiguous: boolean }
  | { kind: "fail" };

function classify(err: ConnectError): Verdict {
  switch (err.code) {
    case Code.NotFound:
      if (err.rawMessage === "shard not found") {
        const owner = err.metadata.get(OWNER_ADDR);
        return owner ? { kind: "redirect", address: owner } : { kind: "refresh" };
      }
      return { kind: "fail" };
    case Code.FailedPrecondition:
      return err.rawMessage.includes("refresh topology and retry") ? { kind: "refresh" } : { kind: "fail" };
    case Code.Unavailable:
      // The HTTP/2 transport says when a request provably never left: resending it is safe.
      return { kind: "retry", ambiguous: requestMayHaveBeenSent(err) !== false };
    // Our own aborts are handled before classify, so a cancel here came from the peer.
    case Code.Canceled:
    case Code.Unknown:
    case Code.Internal:
    case Code.Aborted:
      return CONNECTIVITY.test(err.rawMessage) || CONNECTIVITY.test(String((err.cause as Error | undefined)?.message ?? ""))
        ? { kind: "retry", ambiguous: true }
        : { kind: "fail" };
    default:
      return { kind: "fail" };
  }
}

/** What `SiloGRPCClient` (silo-client.ts) reads and sets of its base class. Not exported from the package. */
export interface JobClientInternals {
  readonly servers: readonly string[];
  readonly maxRetries: number;
  readonly retryDelayMs: number;
  readonly source: TopologySource;
  /**
   * Makes the client build `rpcs` for each node instead of the job RPCs (a superset of them) and
   * call itself `name`. `set` keys the process-wide cache of RPC clients. Before any call only.
   */
  extend(name: string, set: string, rpcs: (channel: UnaryChannel) => SiloJobRpc): void;
}

/** Reads a client's internals (see {@link JobClientInternals}); set by the class's static block. */
export let jobClientInternals: (client: SiloJobClient) => JobClientInternals;

/**
 * The application side of the Silo client: the API of Silo's enqueueing guide (enqueue, and get,
 * await, cancel, delete, restart or expedite a job), for serverless and edge runtimes. The
 * constructor does no I/O; the first call learns the cluster topology once (shared by every
 * client for the same servers) and routes each tenant to its shard's node.
 *
 * `SiloGRPCClient` is this class plus the worker, import, query and admin methods; a bundle that
 * uses only this class leaves their code out. `silo-edge` exports it with every protocol of the
 * runtime (job-client-protocols.ts); `silo-edge/workers-grpc` exports this class itself, which on
 * fetch-only runtimes speaks only what was made available (gRPC over sockets in workerd).
 */
export class SiloJobClient implements JobOperations {
  readonly #servers: readonly string[];
  readonly #useTls: boolean;
  readonly #tls: SiloTlsOptions | undefined;
  readonly #logger: SiloLogger | undefined;
  readonly #log: SiloLogger;
  readonly #token: TokenOption | undefined;
  readonly #protocol: Protocol;
  readonly #addressMap: ((advertised: string) => string) | undefined;
  readonly #maxRetries: number;
  readonly #retryDelayMs: number;
  readonly #topologyRefreshTimeoutMs: number | undefined;
  readonly #timeoutMs: number;
  readonly #rpcOptions: (() => RpcOptionsLike | undefined) | undefined;
  readonly #meter: object | undefined;
  readonly #fetch: typeof globalThis.fetch | undefined;
  readonly #headers: Record<string, string>;
  readonly #allowInsecureToken: boolean;
  readonly #maxReceiveMessageBytes: number | undefined;
  readonly #source: TopologySource;
  readonly #trust: TrustSource;
  readonly #ownRpcClients = new Map<string, SiloJobRpcClient>();
  #fixedHeaders: Readonly<Record<string, string>> | undefined;
  /** `#rpcFor` by address, so a warm call builds no URL or cache key. */
  readonly #rpcByAddress = new Map<string, SiloJobRpcClient>();
  /** The class name in `toString()`, and the RPCs built per node (see `JobClientInternals.extend`). */
  #name = "SiloJobClient";
  #rpcSet = "jobs";
  #createRpc: (channel: UnaryChannel) => SiloJobRpc = createJobRpc;

  static {
    jobClientInternals = (client) => ({
      servers: client.#servers,
      maxRetries: client.#maxRetries,
      retryDelayMs: client.#retryDelayMs,
      source: client.#source,
      extend(name, set, rpcs) {
        client.#name = name;
        client.#rpcSet = set;
        client.#createRpc = rpcs;
      },
    });
  }

  constructor(options: SiloGRPCClientOptions) {
    const o = checkObject("options", options);
    checkKnownKeys("", o, CLIENT_KEYS);
    this.#logger = checkLogger(o.logger);
    this.#log = this.#logger ?? silentLogger;
    this.#servers = parseServers(o.servers, (err) => this.#log.warn({ field: err.field, reason: err.message }, "silo-edge: server address left out"));
    // TLS unless every server is on this machine, where nothing on the network can read the
    // traffic and a local Silo (or the dev server) speaks plaintext.
    // TLS options mean TLS, even to loopback (a local TLS proxy or a tunnel).
    this.#tls = checkTlsOptions(o.tls);
    this.#useTls = o.useTls === undefined ? this.#tls !== undefined || !this.#servers.every(isLoopbackAddress) : checkBool("useTls", o.useTls);
    if (this.#tls !== undefined && !this.#useTls) throw new SiloValidationError("tls", "needs useTls: true (or leave useTls out)");
    if (o.token !== undefined && typeof o.token !== "function" && (typeof o.token !== "string" || o.token === "")) {
      throw new SiloValidationError("token", "must be a non-empty string or a function returning one");
    }
    this.#token = o.token as TokenOption | undefined;
    if (o.protocol !== undefined && !PROTOCOLS.includes(o.protocol as Protocol)) {
      throw new SiloValidationError("protocol", `must be one of ${PROTOCOLS.map((p) => `"${p}"`).join(", ")}, got ${JSON.stringify(o.protocol)}`);
    }
    this.#protocol = (o.protocol as Protocol | undefined) ?? platform.defaultProtocol;
    const unsupported = platform.unsupported(this.#protocol);
    if (unsupported) throw new SiloValidationError("protocol", unsupported);
    if (this.#tls !== undefined && this.#protocol !== "grpc") {
      throw new SiloValidationError("tls", `applies to protocol "grpc" (Node's HTTP/2 transport) only; with "${this.#protocol}", configure TLS on the fetch you pass`);
    }
    this.#addressMap = toAddressMap(o.addressMap);
    this.#timeoutMs = o.timeoutMs === undefined ? DEFAULTS.timeoutMs : checkInt("timeoutMs", o.timeoutMs, 1, 2 ** 31 - 1);
    if (o.fetch !== undefined && typeof o.fetch !== "function") throw new SiloValidationError("fetch", "must be a function");
    this.#fetch = o.fetch as typeof globalThis.fetch | undefined;
    this.#headers = o.headers === undefined ? {} : checkHeaders("headers", o.headers);
    this.#allowInsecureToken = o.allowInsecureToken === undefined ? false : checkBool("allowInsecureToken", o.allowInsecureToken);
    this.#maxReceiveMessageBytes = o.maxReceiveMessageBytes === undefined ? undefined : checkInt("maxReceiveMessageBytes", o.maxReceiveMessageBytes, 1, Number.MAX_SAFE_INTEGER);
    if (clientTelemetry) clientTelemetry.init(this, o.meter);
    let refreshIntervalMs: number = DEFAULTS.topologyRefreshIntervalMs;
    let maxRetries: number = DEFAULTS.maxRetries;
    let retryDelayMs: number = DEFAULTS.retryDelayMs;
    let refreshTimeoutMs: number | undefined;
    if (o.shardRouting !== undefined) {
      const r = checkObject("shardRouting", o.shardRouting);
      checkKnownKeys("shardRouting", r, ["numShards", "topologyRefreshIntervalMs", "topologyRefreshTimeoutMs", "maxRetries", "retryDelayMs"]);
      if (r.numShards !== undefined) checkInt("shardRouting.numShards", r.numShards, 1, 1_000_000);
      if (r.topologyRefreshIntervalMs !== undefined) {
        refreshIntervalMs = checkInt("shardRouting.topologyRefreshIntervalMs", r.topologyRefreshIntervalMs, 0, 2 ** 31 - 1);
      }
      if (r.topologyRefreshTimeoutMs !== undefined) {
        refreshTimeoutMs = checkInt("shardRouting.topologyRefreshTimeoutMs", r.topologyRefreshTimeoutMs, 1, 2 ** 31 - 1);
      }
      if (r.maxRetries !== undefined) maxRetries = checkInt("shardRouting.maxRetries", r.maxRetries, 0, 1_000);
      if (r.retryDelayMs !== undefined) retryDelayMs = checkInt("shardRouting.retryDelayMs", r.retryDelayMs, 0, 2 ** 31 - 1);
    }
    this.#maxRetries = maxRetries;
    this.#retryDelayMs = retryDelayMs;
    this.#topologyRefreshTimeoutMs = refreshTimeoutMs;
    if (o.grpcClientOptions !== undefined) checkObject("grpcClientOptions", o.grpcClientOptions);
    if (o.rpcOptions !== undefined && typeof o.rpcOptions !== "function") checkObject("rpcOptions", o.rpcOptions);
    this.#rpcOptions =
      o.rpcOptions === undefined
        ? undefined
        : typeof o.rpcOptions === "function"
          ? (o.rpcOptions as () => RpcOptionsLike | undefined)
          : () => o.rpcOptions as RpcOptionsLike;
    if (o.meter !== undefined && (typeof o.meter !== "object" || o.meter === null)) throw new SiloValidationError("meter", "must be an OpenTelemetry Meter object");
    this.#meter = o.meter as object | undefined;
    const store = o.topologyCache;
    if (store !== undefined && (typeof store !== "object" || store === null || typeof (store as { get?: unknown }).get !== "function" || typeof (store as { set?: unknown }).set !== "function")) {
      throw new SiloValidationError("topologyCache", "must have get(key) and set(key, value) methods");
    }
    for (const server of this.#servers) this.#checkTokenTransport(server, "servers");
    this.#source = {
      key: `${this.#useTls ? "tls" : "plain"}|${this.#servers.join(",")}`,
      fetch: () => this.#fetchTopology(),
      store: store as SiloGRPCClientOptions["topologyCache"],
      refreshIntervalMs,
    };
    this.#trust = { servers: this.#servers, cached: () => peekTopology(this.#source), refresh: () => this.refreshTopology() };
  }

  /** The configured servers, never the token. */
  toString(): string {
    return `${this.#name}(${this.#servers.join(", ")}, ${this.#protocol}${this.#useTls ? ", tls" : ""})`;
  }

  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return this.toString();
  }

  toJSON(): { servers: readonly string[]; protocol: Protocol; useTls: boolean } {
    return { servers: this.#servers, protocol: this.#protocol, useTls: this.#useTls };
  }

  /** The wire protocol this client speaks. */
  get protocol(): Protocol {
    return this.#protocol;
  }

  /** The `meter` option as given (an OpenTelemetry `Meter`), or undefined. */
  get meter(): object | undefined {
    return this.#meter;
  }

  /** The `logger` option, when one was given (adapters send background-enqueue failures to it). */
  get logger(): SiloLogger | undefined {
    return this.#logger;
  }

  /** The default deadline of each call in ms (`timeoutMs` option). */
  get timeoutMs(): number {
    return this.#timeoutMs;
  }

  // ---------------------------------------------------------------------------------------------
  // Topology

  /**
   * Fetches the topology now (recommended at start-up on long-running servers) and caches it.
   * Rejects with `SiloUnavailableError` ("Failed to refresh cluster topology from any server: ...").
   */
  refreshTopology(): Promise<Topology> {
    return refreshTopology(this.#source);
  }

  /** The cached topology, learning it first if needed. */
  loadTopology(): Promise<Topology> {
    return currentTopology(this.#source);
  }

  /**
   * The topology as last learned, synchronously (the upstream shape): shard id → reachable
   * address, and the shards sorted by range start. Empty before the first call or
   * `refreshTopology()`. Shards without an owner are left out.
   */
  getTopology(): { shardToServer: Map<string, string>; shards: ShardInfoWithRange[] } {
    const shardToServer = new Map<string, string>();
    const shards: ShardInfoWithRange[] = [];
    for (const s of peekTopology(this.#source)?.shards ?? []) {
      if (s.address === "") continue;
      const serverAddr = this.#mapAddress(s.address);
      shardToServer.set(s.id, serverAddr);
      shards.push({ shardId: s.id, serverAddr, rangeStart: s.rangeStart, rangeEnd: s.rangeEnd });
    }
    return { shardToServer, shards };
  }

  /**
   * The id of the shard that holds `tenant`'s jobs, synchronously. Throws a `SiloError` with code
   * `SILO_TOPOLOGY_NOT_LOADED` before the topology is known (call `refreshTopology()` first).
   */
  getShardForTenant(tenant: string): string {
    checkTenant("tenant", tenant);
    const topology = peekTopology(this.#source);
    if (!topology) throw new SiloError("SILO_TOPOLOGY_NOT_LOADED", "the cluster topology is not known yet; await client.refreshTopology() first");
    const shard = topology.shardForHash(hashTenantCached(tenant));
    if (!shard) throw new SiloError("SILO_INTERNAL", `the cluster topology has no shard for tenant ${JSON.stringify(tenant)}`);
    return shard.id;
  }

  async #fetchTopology(): Promise<Topology> {
    const failures: string[] = [];
    const candidates = [...this.#servers, ...this.#learnedNodes()];
    // Each server gets its share of the deadline, so one that accepts connections but never
    // answers cannot use it all up before the next server is tried.
    const perServerMs =
      this.#topologyRefreshTimeoutMs ?? Math.min(DEFAULTS.topologyRefreshTimeoutMs, Math.max(1, Math.floor(this.#timeoutMs / candidates.length)));
    // GetClusterInfo is read-only, so a second pass after a connectivity error is safe: it
    // replaces a connection that died while idle (a server restart, a frozen Lambda).
    for (let pass = 0; pass < 2; pass++) {
      let retryable = false;
      for (const server of candidates) {
        const deadline = AbortSignal.timeout(perServerMs);
        try {
          const headers = await this.#headersFor(this.#withRpcOptions(undefined)?.headers);
          const info = await this.#rpcFor(server).getClusterInfo({}, { signal: deadline, timeoutMs: perServerMs, headers });
          const topology = Topology.fromClusterInfo(info);
          if (topology.shards.length === 0) throw new SiloUnavailableError(`${server} reported no shards`);
          this.#log.info({ server, shards: topology.shards.length }, "silo-edge: cluster topology refreshed");
          return topology;
        } catch (err) {
          // The per-server deadline firing is a timeout, not a cancellation by anyone.
          const e = deadline.aborted
            ? new SiloDeadlineExceededError(`GetClusterInfo at ${server}: no answer within ${perServerMs} ms`, { cause: err })
            : toSiloError(err, `GetClusterInfo at ${server}`);
          if (e instanceof SiloUnauthenticatedError || e instanceof SiloPermissionDeniedError) throw e;
          if (!(err instanceof SiloError) && classify(ConnectError.from(err)).kind === "retry") retryable = true;
          this.#log.warn({ server, code: e.code, error: e.message }, "silo-edge: GetClusterInfo failed");
          failures.push(e.message);
        }
      }
      if (!retryable) break;
    }
    throw new SiloUnavailableError(`Failed to refresh cluster topology from any server: ${failures.join("; ")}`);
  }

  /**
   * The nodes the last topology named that are not configured servers, asked after them: after a
   * scale-down the configured ones may be gone while the cluster lives on (upstream's
   * refreshTopology asks every node it knows, typescript_client/src/client.ts:1737-1745).
   */
  #learnedNodes(): string[] {
    try {
      const known = knownTopology(this.#source.key)?.addresses() ?? [];
      return known.map((a) => this.#mapAddress(a)).filter((a) => !this.#servers.includes(a));
    } catch {
      return []; // an addressMap that rejects an address: the refresh itself will say so
    }
  }

  /** The reachable address of an advertised node address. */
  #mapAddress(advertised: string): string {
    return this.#addressMap ? this.#addressMap(advertised) : advertised;
  }

  #checkTokenTransport(address: string, field: string): void {
    if (this.#token !== undefined && !this.#useTls && !this.#allowInsecureToken && !isLoopbackAddress(address)) {
      throw new SiloValidationError(
        "token",
        `would be sent in cleartext to ${address} (from ${field}); set useTls: true, or allowInsecureToken: true if the network is trusted`,
      );
    }
  }

  /** The RPC client of one node, shared across clients for the same protocol and URL. */
  #rpcFor(address: string): SiloJobRpcClient {
    const known = this.#rpcByAddress.get(address);
    if (known !== undefined) return known;
    // A client with its own fetch or TLS settings shares its connections with nobody; one with a
    // logger has its own channels (its logger gets their reconnects), over the shared connections.
    const own = this.#fetch !== undefined || this.#tls !== undefined || this.#logger !== undefined;
    const cache = own ? this.#ownRpcClients : sharedRpcClients;
    const baseUrl = `${this.#useTls ? "https" : "http"}://${checkedNodeAddress(address)}`;
    const limit = this.#maxReceiveMessageBytes;
    const key = `${this.#rpcSet} ${this.#protocol} ${baseUrl}${limit === undefined ? "" : ` max=${limit}`}`;
    let client = cache.get(key);
    if (!client) {
      this.#checkTokenTransport(address, "the cluster topology");
      client = this.#createRpc(
        platform.createChannel({
          baseUrl,
          protocol: this.#protocol,
          ...(this.#fetch !== undefined ? { fetch: this.#fetch } : {}),
          ...(limit === undefined ? {} : { maxReceiveMessageBytes: limit }),
          ...(this.#tls !== undefined ? { tls: this.#tls } : {}),
          ...(this.#logger !== undefined ? { logger: this.#logger } : {}),
        }),
      );
      cache.set(key, client);
    }
    this.#rpcByAddress.set(address, client);
    return client;
  }

  async #headersFor(extra: Record<string, string> | undefined): Promise<Readonly<Record<string, string>>> {
    const fixed = extra === undefined && typeof this.#token !== "function";
    if (fixed && this.#fixedHeaders !== undefined) return this.#fixedHeaders;
    // Names and values were checked by checkHeaders; names are case-insensitive, later ones win.
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(this.#headers)) headers[k.toLowerCase()] = v.trim();
    if (extra) for (const [k, v] of Object.entries(extra)) headers[k.toLowerCase()] = v.trim();
    if (this.#token !== undefined) {
      let token: string;
      try {
        token = typeof this.#token === "function" ? await this.#token() : this.#token;
      } catch (err) {
        throw new SiloUnauthenticatedError(`the token function failed: ${(err as Error)?.message ?? String(err)}`);
      }
      if (typeof token !== "string" || token === "") throw new SiloUnauthenticatedError("the token function returned no token");
      if (/[\0\r\n]/.test(token)) throw new SiloUnauthenticatedError("the token contains a line break or NUL, which no HTTP header can carry");
      headers.authorization = `Bearer ${token.trim()}`;
    }
    // Without per-call headers or a token function every call sends the same: build it once.
    // Frozen, so a channel may encode it once too.
    if (fixed) this.#fixedHeaders = Object.freeze(headers);
    return headers;
  }

  // ---------------------------------------------------------------------------------------------
  // Routed calls

  /**
   * Runs `fn` against the node owning `tenant`'s shard (or `shardId` when given), following
   * redirects at once and retrying transient failures with capped exponential backoff, within
   * the call's deadline and `maxRetries`. `onRetryError` may turn an error seen after an
   * ambiguous attempt into a result (e.g. "already exists" for our own earlier enqueue).
   */
  async callRouted<T>(
    op: string,
    route: { tenant?: string | undefined; shardId?: string } & ErrorSubject,
    fn: (rpc: SiloJobRpcClient, shard: ShardRoute, attempt: AttemptOptions) => Promise<T>,
    givenCallOptions: CallOptions | undefined,
    onRetryError?: (err: SiloError) => T | undefined,
  ): Promise<T> {
    const callOptions = this.#withRpcOptions(givenCallOptions);
    checkCallOptions(callOptions);
    const timeoutMs = callOptions?.timeoutMs ?? this.#timeoutMs;
    const deadline = Date.now() + timeoutMs;
    const userSignal = callOptions?.signal;
    // Without a caller's signal, attempts get none: no controller, no listener. (Not a shared
    // never-firing signal: workerd forbids using one request's signal in another request.)
    const controller = userSignal ? new AbortController() : undefined;
    const signal = controller?.signal;
    const onAbort = (): void => controller?.abort(userSignal?.reason);
    if (userSignal) {
      if (userSignal.aborted) throw new SiloCancelledError(`${op}: aborted by the caller's signal before it started`);
      userSignal.addEventListener("abort", onAbort, { once: true });
    }
    const headers = (callOptions?.headers === undefined ? this.#fixedHeaders : undefined) ?? (await this.#headersFor(callOptions?.headers));
    let redirectTo: string | undefined;
    let ambiguous = false;
    let lastError: SiloError | undefined;
    try {
      for (let attempt = 0; ; attempt++) {
        const remaining = deadline - Date.now();
        if (remaining <= 0) {
          throw new SiloDeadlineExceededError(`${op}: deadline of ${timeoutMs} ms exceeded${lastError ? ` (last error: ${lastError.message})` : ""}`, {
            cause: lastError,
          });
        }
        const topology = peekTopology(this.#source) ?? (await this.#topologyWithin(remaining, op));
        const shard = route.shardId !== undefined ? topology.shardById(route.shardId) : topology.shardForHash(hashTenantCached(route.tenant ?? DEFAULT_TENANT_ROUTE));
        if (!shard) {
          if (route.shardId !== undefined && !redirectTo) {
            throw new SiloError("SILO_INTERNAL", `${op}: shard ${route.shardId} is not in the cluster topology`);
          }
          throw new SiloError("SILO_INTERNAL", `${op}: the cluster topology has no shard for tenant ${JSON.stringify(route.tenant ?? DEFAULT_TENANT_ROUTE)}`);
        }
        const address = redirectTo ?? (shard.address === "" ? "" : this.#mapAddress(shard.address));
        redirectTo = undefined;
        try {
          if (address === "") throw new ConnectError(`shard ${shard.id} has no owner yet`, Code.Unavailable);
          const attemptTimeout = Math.max(1, deadline - Date.now());
          return await fn(this.#rpcFor(address), shard, { signal, timeoutMs: attemptTimeout, headers });
        } catch (err) {
          if (signal?.aborted) throw new SiloCancelledError(`${op}: aborted by the caller's signal`, { cause: err });
          const ce = ConnectError.from(err);
          const siloErr = toSiloError(err, op, route);
          if (ambiguous && onRetryError) {
            const recovered = onRetryError(siloErr);
            if (recovered !== undefined) return recovered;
          }
          const verdict = err instanceof SiloError ? ({ kind: "fail" } as const) : classify(ce);
          if (verdict.kind === "fail") throw siloErr;
          if (attempt >= this.#maxRetries) throw unreachable(siloErr, verdict, op, address, err, ambiguous);
          if (ce.code === Code.DeadlineExceeded && Date.now() >= deadline) throw siloErr;
          lastError = siloErr;
          if (clientTelemetry && ce.code === Code.NotFound) clientTelemetry.wrongShardRetry(this);
          markTopologyStale(this.#source.key);
          if (verdict.kind === "redirect") {
            // Followed only to a node the configured servers' topology names (refreshed first when
            // it does not): a redirect must not take the token to a host nobody configured.
            if (await mayFollowRedirect(verdict.address, this.#trust)) {
              redirectTo = this.#mapAddress(verdict.address);
              this.#log.debug({ op, shard: shard.id, from: address, to: redirectTo }, "silo-edge: redirected to the shard's owner");
              continue;
            }
            this.#log.warn({ op, shard: shard.id, address, to: verdict.address }, "silo-edge: refused a redirect to a node the topology does not name");
          } else if (verdict.kind === "refresh") {
            await this.refreshTopology().catch(() => undefined);
          } else if (verdict.kind === "retry") {
            ambiguous ||= verdict.ambiguous;
            // Reconnect to a fresh view: the node may have gone, and its shards moved.
            await this.refreshTopology().catch(() => undefined);
          }
          const backoff = Math.min(DEFAULTS.maxRetryDelayMs, this.#retryDelayMs * 2 ** attempt) * (0.5 + Math.random() / 2);
          this.#log.warn(
            { op, shard: shard.id, address, attempt: attempt + 1, code: siloErr.code, backoffMs: Math.round(backoff), error: siloErr.message },
            verdict.kind === "refresh" ? "silo-edge: topology refreshed, retrying" : "silo-edge: transient failure, reconnecting and retrying",
          );
          await abortableSleep(Math.min(backoff, Math.max(0, deadline - Date.now())), signal);
        }
      }
    } finally {
      userSignal?.removeEventListener("abort", onAbort);
    }
  }

  async #topologyWithin(remainingMs: number, op: string): Promise<Topology> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new SiloDeadlineExceededError(`${op}: deadline exceeded while learning the cluster topology`)), remainingMs);
    });
    try {
      return await Promise.race([currentTopology(this.#source), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Runs `fn` against one node by address (worker polling). No routing; transient errors are
   * not retried here.
   */
  async callNode<T>(address: string, op: string, fn: (rpc: SiloJobRpcClient, attempt: AttemptOptions) => Promise<T>, givenCallOptions?: CallOptions): Promise<T> {
    const callOptions = this.#withRpcOptions(givenCallOptions);
    const timeoutMs = callOptions?.timeoutMs ?? this.#timeoutMs;
    const signal = callOptions?.signal ? AbortSignal.any([callOptions.signal, AbortSignal.timeout(timeoutMs)]) : AbortSignal.timeout(timeoutMs);
    const headers = await this.#headersFor(callOptions?.headers);
    try {
      return await fn(this.#rpcFor(this.#mapAddress(address)), { signal, timeoutMs, headers });
    } catch (err) {
      throw toSiloError(err, `${op} at ${address}`);
    }
  }

  // ---------------------------------------------------------------------------------------------
  // The guide's API

  /**
   * Enqueues a job and returns its handle. Without `id`, the client generates a UUID so that a
   * retry after an ambiguous failure cannot create a second job.
   */
  async enqueue<P = unknown>(options: EnqueueJobOptions<P>, callOptions?: CallOptions): Promise<JobHandle> {
    const given = (options as { id?: unknown } | undefined)?.id;
    const id = given === undefined ? crypto.randomUUID() : checkJobId("id", given);
    const { request, tenant } = buildEnqueueRequest(options as EnqueueJobOptions, id);
    let jobId: string;
    try {
      jobId = await this.callRouted(
        "Enqueue",
        { tenant, ...(given !== undefined ? { jobId: id } : {}) },
        async (rpc, shard, attempt) => {
          request.shard = shard.id;
          if (tenant !== undefined) request.tenant = tenant;
          const res = await rpc.enqueue(request, attempt);
          return res.id || id;
        },
        callOptions,
        (err) => (err instanceof JobAlreadyExistsError ? id : undefined),
      );
    } catch (err) {
      // The caller needs the id to find out whether an ambiguous failure created the job.
      if (err instanceof SiloError) err.jobId = id;
      throw err;
    }
    return new JobHandle(this, jobId, tenant);
  }

  /**
   * Enqueues many jobs, `concurrency` at a time (default 16), each routed to its tenant's shard
   * and settled on its own; resolves with one result per job, in input order. See enqueue-many.ts.
   */
  enqueueMany(jobs: readonly EnqueueJobOptions[], options?: EnqueueManyOptions): Promise<EnqueueManyResult[]> {
    return enqueueMany(this, jobs, options);
  }

  /** A handle for an existing job. */
  handle(id: string, tenant?: string): JobHandle {
    return new JobHandle(this, checkJobId("id", id), checkTenant("tenant", tenant));
  }

  /** Full job details, payload decoded. */
  async getJob(id: string, tenant?: string, options?: CallOptions & { includeAttempts?: boolean }): Promise<Job> {
    checkJobId("id", id);
    checkTenant("tenant", tenant);
    const { includeAttempts = false, ...callOptions } = options === undefined ? {} : (checkObject("options", options) as CallOptions & { includeAttempts?: boolean });
    checkBool("includeAttempts", includeAttempts);
    const res = await this.callRouted(
      "GetJob",
      { tenant, jobId: id },
      (rpc, shard, a) => rpc.getJob({ shard: shard.id, id, ...(tenant !== undefined ? { tenant } : {}), includeAttempts }, a),
      callOptions,
    );
    return jobFromWire(res, tenant);
  }

  /** The job's status. */
  async getJobStatus(id: string, tenant?: string, options?: CallOptions): Promise<JobStatus> {
    checkJobId("id", id);
    checkTenant("tenant", tenant);
    const res = await this.callRouted("GetJob", { tenant, jobId: id }, (rpc, shard, a) => rpc.getJob({ shard: shard.id, id, ...(tenant !== undefined ? { tenant } : {}) }, a), options);
    return jobStatusFromWire(res.status);
  }

  /** The outcome of a finished job; `JobNotTerminalError` while it is scheduled or running. */
  async getJobResult<T = unknown>(id: string, tenant?: string, options?: CallOptions): Promise<JobResult<T>> {
    checkJobId("id", id);
    checkTenant("tenant", tenant);
    let res;
    try {
      res = await this.callRouted(
        "GetJobResult",
        { tenant, jobId: id },
        (rpc, shard, a) => rpc.getJobResult({ shard: shard.id, id, ...(tenant !== undefined ? { tenant } : {}) }, a),
        options,
      );
    } catch (err) {
      // "job is not complete: status is Running": the status is in the message, no second call needed.
      if (err instanceof SiloFailedPreconditionError && err.grpcMessage.startsWith("job is not complete")) {
        const named = /status is (\w+)/.exec(err.grpcMessage)?.[1];
        const status = Object.values(JobStatus).find((s) => s === named);
        throw new JobNotTerminalError(id, tenant, status, { cause: err, grpcCode: "FAILED_PRECONDITION" });
      }
      throw err;
    }
    return jobResultFromWire<T>(res);
  }

  /** Polls `getJobResult` until the job finishes. */
  async awaitJobResult<T = unknown>(id: string, tenant: string | undefined, options: AwaitJobOptions = {}): Promise<JobResult<T>> {
    const o = checkObject("options", options);
    checkKnownKeys("", o, ["timeoutMs", "pollIntervalMs", "signal"]);
    const pollIntervalMs = options.pollIntervalMs === undefined ? 500 : checkInt("pollIntervalMs", options.pollIntervalMs, 1, 2 ** 31 - 1);
    const timeoutMs = options.timeoutMs === undefined ? undefined : checkInt("timeoutMs", options.timeoutMs, 1, 2 ** 31 - 1);
    if (options.signal !== undefined) checkSignal("signal", options.signal);
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    const stop = options.signal ?? new AbortController().signal;
    for (;;) {
      if (options.signal?.aborted) throw new SiloCancelledError(`awaitResult(${id}): aborted by the caller's signal`);
      const remaining = deadline - Date.now();
      try {
        return await this.getJobResult<T>(id, tenant, {
          ...(options.signal ? { signal: options.signal } : {}),
          ...(Number.isFinite(remaining) ? { timeoutMs: Math.max(1, Math.min(this.#timeoutMs, remaining)) } : {}),
        });
      } catch (err) {
        // The last poll ran into awaitResult's own deadline: report it as awaitResult's timeout.
        if (err instanceof SiloDeadlineExceededError && timeoutMs !== undefined && Date.now() >= deadline) {
          throw new SiloDeadlineExceededError(`Timeout waiting for job ${id} to complete after ${timeoutMs}ms`, { cause: err });
        }
        if (!(err instanceof JobNotTerminalError)) throw err;
        if (Date.now() + pollIntervalMs > deadline) {
          throw new SiloDeadlineExceededError(`Timeout waiting for job ${id} to complete after ${timeoutMs}ms`, { cause: err });
        }
      }
      await abortableSleep(pollIntervalMs, stop);
    }
  }

  /** Cancels a job; a running job's worker sees it on its next heartbeat. */
  async cancelJob(id: string, tenant?: string, options?: CallOptions): Promise<void> {
    // Our own earlier attempt may have cancelled it before the connection dropped.
    await this.#jobCommand("CancelJob", id, tenant, options, (err) => err instanceof SiloFailedPreconditionError && err.message.includes("already cancelled"));
  }

  /** Deletes a finished job. */
  async deleteJob(id: string, tenant?: string, options?: CallOptions): Promise<void> {
    await this.#jobCommand("DeleteJob", id, tenant, options, (err) => err instanceof JobNotFoundError);
  }

  /** Runs a failed or cancelled job again from its first attempt. */
  async restartJob(id: string, tenant?: string, options?: CallOptions): Promise<void> {
    // Our own earlier attempt may have restarted it before the connection dropped: it is now
    // in progress again, which is what the caller asked for.
    await this.#jobCommand(
      "RestartJob",
      id,
      tenant,
      options,
      (err) => err instanceof SiloFailedPreconditionError && /cannot restart job/.test(err.message) && !/succeeded/i.test(err.message),
    );
  }

  /** Starts a job whose next attempt is scheduled in the future now. */
  async expediteJob(id: string, tenant?: string, options?: CallOptions): Promise<void> {
    // Our own earlier attempt may have expedited it before the connection dropped: it is now
    // ready or running, which is what the caller asked for.
    await this.#jobCommand(
      "ExpediteJob",
      id,
      tenant,
      options,
      (err) => err instanceof SiloFailedPreconditionError && /cannot expedite job/.test(err.message) && /running|ready to run|not future/i.test(err.message),
    );
  }

  /**
   * A job command (a job reference in, an empty answer out) on the job's shard. `doneBefore` says
   * whether an error seen after an ambiguous attempt means that attempt already did the work.
   */
  async #jobCommand(
    op: "CancelJob" | "DeleteJob" | "RestartJob" | "ExpediteJob",
    id: string,
    tenant: string | undefined,
    options: CallOptions | undefined,
    doneBefore: (err: SiloError) => boolean,
  ): Promise<void> {
    checkJobId("id", id);
    checkTenant("tenant", tenant);
    const method = `${op[0]!.toLowerCase()}${op.slice(1)}` as Uncapitalize<typeof op>;
    await this.callRouted(
      op,
      { tenant, jobId: id },
      async (rpc, shard, a) => {
        await rpc[method]({ shard: shard.id, id, ...(tenant !== undefined ? { tenant } : {}) }, a);
        return true;
      },
      options,
      (err) => (doneBefore(err) ? true : undefined),
    );
  }

  /**
   * Releases this client's connections. Connections are pooled per process and never keep it
   * alive, so this only drops the client's references; a later call connects again.
   */
  close(): void {
    this.#rpcByAddress.clear();
    this.#ownRpcClients.clear();
  }

  /** Merges the `rpcOptions` option under a call's own options. */
  #withRpcOptions(callOptions: CallOptions | undefined): CallOptions | undefined {
    const base = this.#rpcOptions?.();
    if (base === undefined) return callOptions;
    const merged: CallOptions = { ...callOptions };
    if (merged.timeoutMs === undefined && base.timeout !== undefined) {
      const ms = base.timeout instanceof Date ? base.timeout.getTime() - Date.now() : base.timeout;
      if (typeof ms === "number" && Number.isFinite(ms)) merged.timeoutMs = Math.max(1, Math.floor(ms));
    }
    if (merged.signal === undefined && base.abort !== undefined) merged.signal = base.abort;
    if (base.meta !== undefined) {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(base.meta)) headers[k] = Array.isArray(v) ? v.join(", ") : v;
      merged.headers = { ...headers, ...callOptions?.headers };
    }
    return merged;
  }
}

/**
 * The error of a last attempt that failed to reach its node. A broken connection surfaces from
 * fetch as UNKNOWN "fetch failed" and from HTTP/2 as CANCELLED or INTERNAL; callers should see
 * the same `unavailable` code for all of them, with the node and the underlying reason named.
 */
function unreachable(siloErr: SiloError, verdict: Verdict, op: string, address: string, err: unknown, earlierAmbiguous = false): SiloError {
  if (verdict.kind !== "retry" || siloErr instanceof SiloDeadlineExceededError) return siloErr;
  if (siloErr instanceof SiloUnavailableError) {
    // A last attempt that never left must not hide an earlier one that may have been processed.
    if (!earlierAmbiguous || requestMayHaveBeenSent(err) !== false) return siloErr;
    return new SiloUnavailableError(`${siloErr.message}; an earlier attempt reached the server and may have been processed`, {
      cause: err,
      ...(siloErr.grpcCode ? { grpcCode: siloErr.grpcCode } : {}),
    });
  }
  let reason = siloErr.message;
  for (let c: unknown = (err as { cause?: unknown } | undefined)?.cause; c instanceof Error; c = c.cause) reason = `${reason}: ${c.message}`;
  return new SiloUnavailableError(`${op}: no answer from ${address} after every retry: ${reason}`, { cause: err, ...(siloErr.grpcCode ? { grpcCode: siloErr.grpcCode } : {}) });
}

function toAddressMap(value: unknown): ((advertised: string) => string) | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "function") {
    return (advertised) => {
      const mapped = (value as (a: string) => unknown)(advertised);
      if (typeof mapped !== "string" || parseNodeAddress(mapped) === undefined) {
        throw new SiloValidationError("addressMap", `returned ${JSON.stringify(mapped)} for ${advertised}; expected "host:port"`);
      }
      return mapped;
    };
  }
  const map = checkObject("addressMap", value);
  for (const [k, v] of Object.entries(map)) {
    if (typeof v !== "string" || parseNodeAddress(v) === undefined) throw new SiloValidationError(`addressMap.${k}`, "must be a \"host:port\" string");
  }
  return (advertised) => (map[advertised] as string | undefined) ?? advertised;
}
