import { Code, ConnectError } from "./rpc-error.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  CancelJobRequestSchema,
  CancelJobResponse,
  DeleteJobRequestSchema,
  DeleteJobResponse,
  EnqueueRequestSchema,
  EnqueueResponse,
  ExpediteJobRequestSchema,
  ExpediteJobResponse,
  GetClusterInfoRequestSchema,
  GetClusterInfoResponse,
  GetJobRequestSchema,
  GetJobResponse,
  GetJobResultRequestSchema,
  GetJobResultResponse,
  HeartbeatRequestSchema,
  HeartbeatResponse,
  ImportJobsRequestSchema,
  ImportJobsResponse,
  LeaseTaskRequestSchema,
  LeaseTaskResponse,
  LeaseTasksRequestSchema,
  LeaseTasksResponse,
  ReportOutcomeRequestSchema,
  ReportOutcomeResponse,
  ReportRefreshOutcomeRequestSchema,
  ReportRefreshOutcomeResponse,
  QueryRequestSchema,
  QueryResponse,
  ResetShardsRequestSchema,
  ResetShardsResponse,
  RestartJobRequestSchema,
  RestartJobResponse,
} from "../gen/silo/v1/silo_pb.js";
import { BinaryWriter } from "./wire/proto-wire.js";
import { FRAME_HEADER_BYTES, type UnaryBytesOptions, type UnaryBytesResponse, type UnaryChannel } from "./unary-channel.js";
import { decodeGetClusterInfoResponse, decodeResetShardsResponse } from "./wire/cluster-messages.js";
import { decodeQueryResponse, encodeQueryRequest } from "./wire/query-messages.js";
import {
  checkEmptyResponse,
  decodeEnqueueResponse,
  decodeGetJobResponse,
  decodeGetJobResultResponse,
  encodeEnqueueRequest,
  encodeGetJobRequest,
  encodeJobRefRequest,
} from "./wire/job-messages.js";
import {
  decodeHeartbeatResponse,
  decodeLeaseTaskResponse,
  decodeLeaseTasksResponse,
  encodeHeartbeatRequest,
  encodeLeaseTaskRequest,
  encodeLeaseTasksRequest,
  encodeReportOutcomeRequest,
  encodeReportRefreshOutcomeRequest,
} from "./wire/worker-messages.js";
import { decodeImportJobsResponse, encodeImportJobsRequest } from "./wire/import-messages.js";

/** Per-call options of a {@link SiloRpc} method (the subset of Connect's `CallOptions` the client uses). */
export type SiloRpcCallOptions = UnaryBytesOptions;

type Rpc<I, O> = (request: I, options?: SiloRpcCallOptions) => Promise<O>;

/**
 * The silo.v1.Silo RPCs an application makes (enqueue and look after jobs), with the method names
 * and message shapes of the generated Connect client, encoded by the hand-written codec in `wire/`
 * instead of protobuf-es reflection. Responses are plain objects of the generated types.
 */
export interface SiloJobRpc {
  getClusterInfo: Rpc<MessageInitShape<typeof GetClusterInfoRequestSchema>, GetClusterInfoResponse>;
  enqueue: Rpc<MessageInitShape<typeof EnqueueRequestSchema>, EnqueueResponse>;
  getJob: Rpc<MessageInitShape<typeof GetJobRequestSchema>, GetJobResponse>;
  getJobResult: Rpc<MessageInitShape<typeof GetJobResultRequestSchema>, GetJobResultResponse>;
  cancelJob: Rpc<MessageInitShape<typeof CancelJobRequestSchema>, CancelJobResponse>;
  deleteJob: Rpc<MessageInitShape<typeof DeleteJobRequestSchema>, DeleteJobResponse>;
  restartJob: Rpc<MessageInitShape<typeof RestartJobRequestSchema>, RestartJobResponse>;
  expediteJob: Rpc<MessageInitShape<typeof ExpediteJobRequestSchema>, ExpediteJobResponse>;
}

/** Every silo.v1.Silo RPC the client and worker call: the job RPCs plus the worker, import, query and admin ones. */
export interface SiloRpc extends SiloJobRpc {
  leaseTask: Rpc<MessageInitShape<typeof LeaseTaskRequestSchema>, LeaseTaskResponse>;
  leaseTasks: Rpc<MessageInitShape<typeof LeaseTasksRequestSchema>, LeaseTasksResponse>;
  heartbeat: Rpc<MessageInitShape<typeof HeartbeatRequestSchema>, HeartbeatResponse>;
  reportOutcome: Rpc<MessageInitShape<typeof ReportOutcomeRequestSchema>, ReportOutcomeResponse>;
  reportRefreshOutcome: Rpc<MessageInitShape<typeof ReportRefreshOutcomeRequestSchema>, ReportRefreshOutcomeResponse>;
  importJobs: Rpc<MessageInitShape<typeof ImportJobsRequestSchema>, ImportJobsResponse>;
  /** Dev mode only: wipes every shard of the node (tests). */
  resetShards: Rpc<MessageInitShape<typeof ResetShardsRequestSchema>, ResetShardsResponse>;
  /** SQL over one shard's jobs, tasks and queues. */
  query: Rpc<MessageInitShape<typeof QueryRequestSchema>, QueryResponse>;
}

const SERVICE = "/silo.v1.Silo/";

/** The Silo service's message size limit in both directions, which the upstream client sets too. */
export const MAX_MESSAGE_BYTES = 128 * 1024 * 1024;
const NO_OPTIONS: SiloRpcCallOptions = {};

const FRAME_PLACEHOLDER = new Uint8Array(FRAME_HEADER_BYTES);

// One writer for every call: encoding is synchronous, and finish() hands out a copy and resets it,
// so its buffer is allocated once instead of per request.
let writer: BinaryWriter | undefined;

/** The shared writer, positioned after the reserved frame header bytes. */
function frameWriter(): BinaryWriter {
  return (writer ??= new BinaryWriter()).raw(FRAME_PLACEHOLDER);
}

/** GetClusterInfo and ResetShards requests have no fields. */
const encodeEmpty = (_request: unknown, w: BinaryWriter): Uint8Array => w.finish();

/** Decodes an empty response of the method `name` (`silo.v1.<name>Response`). */
const empty = (name: string) => (bytes: Uint8Array) => {
  checkEmptyResponse(bytes);
  return { $typeName: `silo.v1.${name}Response` } as never;
};

/** The RPC `name` on `channel`; its messages are `silo.v1.<name>Request` and `silo.v1.<name>Response`. */
function method<I, O>(channel: UnaryChannel, name: string, encode: (m: I, w: BinaryWriter) => Uint8Array, decode: (bytes: Uint8Array) => O = empty(name)): Rpc<I, O> {
  const path = SERVICE + name;
  const input = `silo.v1.${name}Request`;
  const output = `silo.v1.${name}Response`;
  const decodeResponse = (res: UnaryBytesResponse): O => {
    if (res.bytes.length > MAX_MESSAGE_BYTES) {
      throw new ConnectError(`received message larger than max (${res.bytes.length} vs. ${MAX_MESSAGE_BYTES})`, Code.ResourceExhausted);
    }
    try {
      return decode(res.bytes);
    } catch (e) {
      const metadata = new Headers(res.header);
      res.trailer.forEach((value, key) => metadata.append(key, value));
      throw new ConnectError(`protocol error: failed to decode ${output}`, Code.Internal, metadata, undefined, e);
    }
  };
  // Not async: one promise per call fewer on the hot path.
  return (request, options) => {
    let frame: Uint8Array;
    try {
      frame = encode(request, frameWriter());
    } catch (e) {
      writer = undefined; // left mid-message: start the next call on a fresh one
      return Promise.reject(new ConnectError(`failed to serialize ${input}`, Code.Internal, undefined, undefined, e));
    }
    if (frame.length - FRAME_HEADER_BYTES > MAX_MESSAGE_BYTES) {
      return Promise.reject(
        new ConnectError(`trying to send message larger than max (${frame.length - FRAME_HEADER_BYTES} vs. ${MAX_MESSAGE_BYTES})`, Code.ResourceExhausted),
      );
    }
    return channel.unaryFrame(path, frame, options ?? NO_OPTIONS).then(decodeResponse);
  };
}

/**
 * The job RPCs of one node on a raw unary channel. A separate builder from {@link createSiloRpc}
 * so that a bundle with only `SiloJobClient` leaves the worker, import and query codecs out.
 */
export function createJobRpc(channel: UnaryChannel): SiloJobRpc {
  const ref = encodeJobRefRequest;
  return {
    getClusterInfo: method(channel, "GetClusterInfo", encodeEmpty, decodeGetClusterInfoResponse),
    enqueue: method(channel, "Enqueue", encodeEnqueueRequest, decodeEnqueueResponse),
    getJob: method(channel, "GetJob", encodeGetJobRequest, decodeGetJobResponse),
    getJobResult: method(channel, "GetJobResult", ref, decodeGetJobResultResponse),
    cancelJob: method(channel, "CancelJob", ref),
    deleteJob: method(channel, "DeleteJob", ref),
    restartJob: method(channel, "RestartJob", ref),
    expediteJob: method(channel, "ExpediteJob", ref),
  };
}

/** Every RPC of one node on a raw unary channel. */
export function createSiloRpc(channel: UnaryChannel): SiloRpc {
  return {
    ...createJobRpc(channel),
    leaseTask: method(channel, "LeaseTask", encodeLeaseTaskRequest, decodeLeaseTaskResponse),
    leaseTasks: method(channel, "LeaseTasks", encodeLeaseTasksRequest, decodeLeaseTasksResponse),
    heartbeat: method(channel, "Heartbeat", encodeHeartbeatRequest, decodeHeartbeatResponse),
    reportOutcome: method(channel, "ReportOutcome", encodeReportOutcomeRequest),
    reportRefreshOutcome: method(channel, "ReportRefreshOutcome", encodeReportRefreshOutcomeRequest),
    importJobs: method(channel, "ImportJobs", encodeImportJobsRequest, decodeImportJobsResponse),
    resetShards: method(channel, "ResetShards", encodeEmpty, decodeResetShardsResponse),
    query: method(channel, "Query", encodeQueryRequest, decodeQueryResponse),
  };
}
