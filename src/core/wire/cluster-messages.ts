import type { ClusterMember, GetClusterInfoResponse, ResetShardsResponse, ShardOwner } from "../../gen/silo/v1/silo_pb.js";
import { BinaryReader, BinaryWriter, decodeUtf8, LD, readTag, skipField, subEnd, VARINT } from "./wire-fields.js";

// GetClusterInfo: the request has no fields (an empty body); the response decoder is checked
// against silo_pb.ts by test/wire/silo-wire-codec.test.ts.

export function encodeGetClusterInfoRequest(_m?: unknown, w: BinaryWriter = new BinaryWriter()): Uint8Array {
  return w.finish();
}

function readShardOwner(r: BinaryReader): ShardOwner {
  const end = subEnd(r);
  const m: ShardOwner = { $typeName: "silo.v1.ShardOwner", shardId: "", grpcAddr: "", nodeId: "", rangeStart: "", rangeEnd: "" };
  while (r.pos < end) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | LD:
        m.shardId = r.string();
        break;
      case (2 << 3) | LD:
        m.grpcAddr = r.string();
        break;
      case (3 << 3) | LD:
        m.nodeId = r.string();
        break;
      case (4 << 3) | LD:
        m.rangeStart = r.string();
        break;
      case (5 << 3) | LD:
        m.rangeEnd = r.string();
        break;
      case (6 << 3) | LD:
        m.placementRing = r.string();
        break;
      default:
        skipField(r, tag);
    }
  }
  return m;
}

function readClusterMember(r: BinaryReader): ClusterMember {
  const end = subEnd(r);
  const m: ClusterMember = { $typeName: "silo.v1.ClusterMember", nodeId: "", grpcAddr: "", placementRings: [] };
  while (r.pos < end) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | LD:
        m.nodeId = r.string();
        break;
      case (2 << 3) | LD:
        m.grpcAddr = r.string();
        break;
      case (3 << 3) | LD:
        m.placementRings.push(r.string());
        break;
      default:
        skipField(r, tag);
    }
  }
  return m;
}

export function decodeGetClusterInfoResponse(bytes: Uint8Array): GetClusterInfoResponse {
  const r = new BinaryReader(bytes, decodeUtf8);
  const m: GetClusterInfoResponse = {
    $typeName: "silo.v1.GetClusterInfoResponse",
    numShards: 0,
    shardOwners: [],
    thisNodeId: "",
    thisGrpcAddr: "",
    members: [],
  };
  while (r.pos < r.len) {
    const tag = readTag(r);
    switch (tag) {
      case (1 << 3) | VARINT:
        m.numShards = r.uint32();
        break;
      case (2 << 3) | LD:
        m.shardOwners.push(readShardOwner(r));
        break;
      case (3 << 3) | LD:
        m.thisNodeId = r.string();
        break;
      case (4 << 3) | LD:
        m.thisGrpcAddr = r.string();
        break;
      case (5 << 3) | LD:
        m.members.push(readClusterMember(r));
        break;
      default:
        skipField(r, tag);
    }
  }
  return m;
}

/** ResetShards (dev mode only) answers with the number of shards it reset. */
export function decodeResetShardsResponse(bytes: Uint8Array): ResetShardsResponse {
  const r = new BinaryReader(bytes, decodeUtf8);
  const m: ResetShardsResponse = { $typeName: "silo.v1.ResetShardsResponse", shardsReset: 0 };
  while (r.pos < r.len) {
    const tag = readTag(r);
    if (tag === ((1 << 3) | VARINT)) m.shardsReset = r.uint32();
    else skipField(r, tag);
  }
  return m;
}
