import * as http2 from "node:http2";
import * as net from "node:net";
import { once } from "node:events";
import { describe, expect, it } from "vitest";
import { HpackDecoder, HpackError, concatBlocks, encodeField } from "../../src/core/h2/hpack.js";
import { decodeHuffman, encodeHuffman, huffmanCode } from "../../src/core/h2/hpack-huffman.js";

// The HPACK layer of our HTTP/2 client: RFC 7541 Appendix C vectors, the Huffman code, hostile
// input, and a cross-check against nghttp2 (node:http2) over a hand-driven HTTP/2 connection.

type Field = [name: string, value: string];

function hex(s: string): Uint8Array {
  return Uint8Array.from(Buffer.from(s.replace(/\s+/g, ""), "hex"));
}

function decodeAll(decoder: HpackDecoder, block: Uint8Array): Field[] {
  const fields: Field[] = [];
  decoder.decode(block, (name, value) => fields.push([name, value]));
  return fields;
}

function expectHpackError(fn: () => unknown): void {
  expect(fn).toThrow(HpackError);
}

describe("the HPACK decoder on RFC 7541 Appendix C", () => {
  it("decodes the C.2 literal and indexed representations, indexing only the first", () => {
    let d = new HpackDecoder();
    expect(decodeAll(d, hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"))).toEqual([
      ["custom-key", "custom-header"],
    ]);
    expect(d.dynamicTableEntries()).toEqual([["custom-key", "custom-header"]]);
    expect(d.dynamicTableSize).toBe(55);

    d = new HpackDecoder();
    expect(decodeAll(d, hex("040c 2f73 616d 706c 652f 7061 7468"))).toEqual([[":path", "/sample/path"]]);
    expect(d.dynamicTableSize).toBe(0);

    d = new HpackDecoder();
    expect(decodeAll(d, hex("1008 7061 7373 776f 7264 0673 6563 7265 74"))).toEqual([["password", "secret"]]);
    expect(d.dynamicTableSize).toBe(0);

    d = new HpackDecoder();
    expect(decodeAll(d, hex("82"))).toEqual([[":method", "GET"]]);
    expect(d.dynamicTableSize).toBe(0);
  });

  const request1: Field[] = [
    [":method", "GET"],
    [":scheme", "http"],
    [":path", "/"],
    [":authority", "www.example.com"],
  ];
  const request2: Field[] = [...request1, ["cache-control", "no-cache"]];
  const request3: Field[] = [
    [":method", "GET"],
    [":scheme", "https"],
    [":path", "/index.html"],
    [":authority", "www.example.com"],
    ["custom-key", "custom-value"],
  ];

  function checkRequests(blocks: string[]): void {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex(blocks[0]!))).toEqual(request1);
    expect(d.dynamicTableEntries()).toEqual([[":authority", "www.example.com"]]);
    expect(d.dynamicTableSize).toBe(57);
    expect(decodeAll(d, hex(blocks[1]!))).toEqual(request2);
    expect(d.dynamicTableEntries()).toEqual([
      ["cache-control", "no-cache"],
      [":authority", "www.example.com"],
    ]);
    expect(d.dynamicTableSize).toBe(110);
    expect(decodeAll(d, hex(blocks[2]!))).toEqual(request3);
    expect(d.dynamicTableEntries()).toEqual([
      ["custom-key", "custom-value"],
      ["cache-control", "no-cache"],
      [":authority", "www.example.com"],
    ]);
    expect(d.dynamicTableSize).toBe(164);
  }

  it("decodes the C.3 requests without Huffman coding, sharing the dynamic table", () => {
    checkRequests([
      "8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d",
      "8286 84be 5808 6e6f 2d63 6163 6865",
      "8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65",
    ]);
  });

  it("decodes the C.4 requests with Huffman coding and the dynamic table", () => {
    checkRequests([
      "8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff",
      "8286 84be 5886 a8eb 1064 9cbf",
      "8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf",
    ]);
  });

  const date1 = "Mon, 21 Oct 2013 20:13:21 GMT";
  const date2 = "Mon, 21 Oct 2013 20:13:22 GMT";
  const location = "https://www.example.com";
  const cookie = "foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1";

  function checkResponses(blocks: string[]): void {
    const d = new HpackDecoder(256);
    expect(decodeAll(d, hex(blocks[0]!))).toEqual([
      [":status", "302"],
      ["cache-control", "private"],
      ["date", date1],
      ["location", location],
    ]);
    expect(d.dynamicTableEntries()).toEqual([
      ["location", location],
      ["date", date1],
      ["cache-control", "private"],
      [":status", "302"],
    ]);
    expect(d.dynamicTableSize).toBe(222);
    // ":status: 307" evicts ":status: 302".
    expect(decodeAll(d, hex(blocks[1]!))).toEqual([
      [":status", "307"],
      ["cache-control", "private"],
      ["date", date1],
      ["location", location],
    ]);
    expect(d.dynamicTableEntries()).toEqual([
      [":status", "307"],
      ["location", location],
      ["date", date1],
      ["cache-control", "private"],
    ]);
    expect(d.dynamicTableSize).toBe(222);
    expect(decodeAll(d, hex(blocks[2]!))).toEqual([
      [":status", "200"],
      ["cache-control", "private"],
      ["date", date2],
      ["location", location],
      ["content-encoding", "gzip"],
      ["set-cookie", cookie],
    ]);
    expect(d.dynamicTableEntries()).toEqual([
      ["set-cookie", cookie],
      ["content-encoding", "gzip"],
      ["date", date2],
    ]);
    expect(d.dynamicTableSize).toBe(215);
  }

  it("decodes the C.5 responses without Huffman coding, evicting at table size 256", () => {
    checkResponses([
      `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
       2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
       6c65 2e63 6f6d`,
      "4803 3330 37c1 c0bf",
      `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
       54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
       5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
       3d31`,
    ]);
  });

  it("decodes the C.6 responses with Huffman coding, evicting at table size 256", () => {
    checkResponses([
      `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
       2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
      "4883 640e ffc1 c0bf",
      `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
       77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
       9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
    ]);
  });
});

describe("the HPACK decoder on malformed input", () => {
  it("rejects index 0, indexes past the tables, and truncated blocks", () => {
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("80")));
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("be"))); // 62 with an empty table
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("7e 01 61"))); // name index 62
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("04 05 61 62"))); // value cut short
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("00 03 61 62 63"))); // no value
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("ff"))); // integer cut short
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("40")));
  });

  it("rejects integers above 2^31 - 1 and over-long integer encodings", () => {
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("ff ff ff ff ff 0f")));
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("ff 80 80 80 80 80 00")));
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("0f 01 7f ff ff ff ff 07")));
  });

  it("reads multi-octet integers as in C.1.2 (1337 with a 5-bit prefix)", () => {
    // A dynamic table size update to 1337: within a limit of 1337, over a limit of 1336.
    expect(decodeAll(new HpackDecoder(1337), hex("3f 9a 0a 82"))).toEqual([[":method", "GET"]]);
    expectHpackError(() => decodeAll(new HpackDecoder(1336), hex("3f 9a 0a 82")));
  });

  it("accepts dynamic table size updates only at the start of a block and within the limit", () => {
    const d = new HpackDecoder();
    expect(decodeAll(d, hex("3f e1 1f 20 3f e1 1f 82"))).toEqual([[":method", "GET"]]); // 4096, 0, 4096
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("3f e2 1f"))); // 4097
    expectHpackError(() => decodeAll(new HpackDecoder(), hex("82 20")));
  });

  it("evicts at once when the limit is lowered and then requires a size update first", () => {
    const d = new HpackDecoder();
    decodeAll(d, hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
    expect(d.dynamicTableSize).toBe(55);
    d.setMaxTableSize(40);
    expect(d.dynamicTableSize).toBe(0);
    expectHpackError(() => decodeAll(d, hex("82")));
    const d2 = new HpackDecoder();
    d2.setMaxTableSize(40);
    expect(decodeAll(d2, hex("3f 09 82"))).toEqual([[":method", "GET"]]); // size update to 40
    expectHpackError(() => decodeAll(d2, hex("3f 0a"))); // 41
  });

  it("drops an entry larger than the whole table and empties the table", () => {
    const d = new HpackDecoder(60);
    decodeAll(d, hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"));
    expect(d.dynamicTableSize).toBe(55);
    expect(decodeAll(d, encodeIncremental("x", "y".repeat(40)))).toEqual([["x", "y".repeat(40)]]);
    expect(d.dynamicTableEntries()).toEqual([]);
    expect(d.dynamicTableSize).toBe(0);
  });

  it("keeps the dynamic table right across ring-buffer growth and wrap-around", () => {
    const d = new HpackDecoder(4096);
    const expected: Field[] = [];
    for (let i = 0; i < 500; i++) {
      const field: Field = [`n${i}`, `v${"x".repeat(i % 50)}`];
      decodeAll(d, encodeIncremental(...field));
      expected.unshift(field);
      let size = 0;
      let n = 0;
      while (n < expected.length && size + expected[n]![0].length + expected[n]![1].length + 32 <= 4096) {
        size += expected[n]![0].length + expected[n]![1].length + 32;
        n++;
      }
      expected.length = n;
      expect(d.dynamicTableSize).toBe(size);
    }
    expect(d.dynamicTableEntries()).toEqual(expected);
    // Index 62 + k is the k-th newest entry.
    const indexed = concatBlocks(
      expected.map((_, k) => (62 + k < 127 ? Uint8Array.of(0x80 | (62 + k)) : Uint8Array.of(0xff, 62 + k - 127))),
    );
    expect(decodeAll(d, indexed)).toEqual(expected);
  });

  it("throws only HpackError on 2,000 random and mutated blocks, quickly", () => {
    const random = mulberry32(7541);
    const valid = [
      hex("8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff"),
      hex("4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6"),
      hex("400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572"),
    ];
    let ok = 0;
    let rejected = 0;
    const started = performance.now();
    for (let i = 0; i < 2000; i++) {
      let block: Uint8Array;
      if (i % 2 === 0) {
        block = new Uint8Array(Math.floor(random() * 64));
        for (let j = 0; j < block.length; j++) block[j] = Math.floor(random() * 256);
      } else {
        block = Uint8Array.from(valid[i % valid.length]!);
        for (let flips = 1 + Math.floor(random() * 3); flips > 0; flips--) {
          block[Math.floor(random() * block.length)] = Math.floor(random() * 256);
        }
      }
      try {
        decodeAll(new HpackDecoder(random() < 0.5 ? 4096 : 256), block);
        ok++;
      } catch (err) {
        expect(err).toBeInstanceOf(HpackError);
        rejected++;
      }
    }
    expect(ok).toBeGreaterThan(0);
    expect(rejected).toBeGreaterThan(0);
    expect(performance.now() - started).toBeLessThan(2000);
  });
});

describe("the HPACK Huffman code", () => {
  it("builds the RFC 7541 Appendix B codes from the code lengths", () => {
    const expected: Array<[symbol: number, code: number, bits: number]> = [
      [0, 0x1ff8, 13],
      [9, 0xffffea, 24],
      [10, 0x3ffffffc, 30],
      [32, 0x14, 6],
      [48, 0x0, 5],
      [88, 0xfc, 8],
      [92, 0x7fff0, 19],
      [127, 0xffffffc, 28],
      [195, 0x7fff1, 19],
      [255, 0x3ffffee, 26],
      [256, 0x3fffffff, 30],
    ];
    for (const [symbol, code, bits] of expected) expect(huffmanCode(symbol)).toEqual({ code, bits });
    let kraft = 0;
    for (let symbol = 0; symbol <= 256; symbol++) kraft += 2 ** -huffmanCode(symbol).bits;
    expect(kraft).toBe(1);
  });

  it("round-trips all 256 octet values, alone and together", () => {
    let all = "";
    for (let c = 0; c < 256; c++) {
      const s = String.fromCharCode(c);
      all += s;
      const encoded = encodeHuffman(s);
      expect(decodeHuffman(encoded, 0, encoded.length)).toBe(s);
    }
    for (const s of [all, all.split("").reverse().join(""), "", "www.example.com", "a".repeat(1000)]) {
      const encoded = encodeHuffman(s);
      expect(decodeHuffman(encoded, 0, encoded.length)).toBe(s);
    }
    expect(Buffer.from(encodeHuffman("www.example.com")).toString("hex")).toBe("f1e3c2e5f23a6ba0ab90f4ff");
  });

  it("decodes only the given range of the source", () => {
    const block = concatBlocks([Uint8Array.of(0xaa), encodeHuffman("no-cache"), Uint8Array.of(0xbb)]);
    expect(decodeHuffman(block, 1, block.length - 1)).toBe("no-cache");
  });

  it("rejects EOS inside a string, padding of 8 bits or more, and padding that is not all ones", () => {
    expectHpackError(() => decodeHuffman(hex("ffffffff"), 0, 4)); // EOS then 2 padding bits
    expectHpackError(() => decodeHuffman(hex("1fffffffff"), 0, 5)); // 'a' then EOS
    expectHpackError(() => decodeHuffman(hex("ff"), 0, 1)); // 8 bits of padding alone
    expectHpackError(() => decodeHuffman(hex("07ff"), 0, 2)); // '0' then 11 bits of padding
    expectHpackError(() => decodeHuffman(hex("00"), 0, 1)); // '0' then padding 000
    expectHpackError(() => decodeHuffman(hex("05"), 0, 1)); // '0' then padding 101
    expect(decodeHuffman(hex("07"), 0, 1)).toBe("0");
    expect(decodeHuffman(hex("1f"), 0, 1)).toBe("a");
  });
});

describe("the HPACK encoder", () => {
  it("uses the indexed representation for exact static-table matches", () => {
    expect(encodeField(":method", "POST")).toEqual(Uint8Array.of(0x83));
    expect(encodeField(":method", "GET")).toEqual(Uint8Array.of(0x82));
    expect(encodeField(":scheme", "https")).toEqual(Uint8Array.of(0x87));
    expect(encodeField(":scheme", "http")).toEqual(Uint8Array.of(0x86));
    expect(encodeField(":path", "/")).toEqual(Uint8Array.of(0x84));
    expect(encodeField("accept-encoding", "gzip, deflate")).toEqual(Uint8Array.of(0x90));
  });

  it("writes other fields as literals without indexing, naming static entries by index", () => {
    // content-type is static entry 31: 4-bit prefix 15, then 16.
    expect(encodeField("content-type", "application/grpc")).toEqual(
      concatBlocks([Uint8Array.of(0x0f, 0x10, 0x10), Buffer.from("application/grpc", "latin1")]),
    );
    expect(encodeField(":path", "/a")).toEqual(Uint8Array.of(0x04, 0x02, 0x2f, 0x61));
    expect(encodeField("x-tenant", "acme")).toEqual(
      concatBlocks([Uint8Array.of(0x00, 0x08), Buffer.from("x-tenant"), Uint8Array.of(0x04), Buffer.from("acme")]),
    );
  });

  it("uses the never-indexed representation for sensitive fields", () => {
    const auth = encodeField("authorization", "Bearer abc", true);
    expect(auth[0]! & 0xf0).toBe(0x10);
    expect(auth[0]).toBe(0x1f); // authorization is static entry 23
    const secret = encodeField("x-secret", "s", true);
    expect(secret[0]).toBe(0x10);
    const d = new HpackDecoder();
    expect(decodeAll(d, concatBlocks([auth, secret]))).toEqual([
      ["authorization", "Bearer abc"],
      ["x-secret", "s"],
    ]);
    expect(d.dynamicTableSize).toBe(0);
  });

  it("round-trips a 2,000-byte value and every latin1 octet through the decoder", () => {
    const jwt = "eyJ" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.".repeat(40).slice(0, 1997);
    expect(jwt.length).toBe(2000);
    const encoded = encodeField("x-token", jwt);
    // Prefix 127 then 1873 in two continuation octets.
    expect(encoded.length).toBe(1 + 1 + 7 + 3 + 2000);
    let latin1 = "";
    for (let c = 0; c < 256; c++) latin1 += String.fromCharCode(c);
    const block = concatBlocks([encodeField(":status", "200"), encoded, encodeField("x-bytes", latin1)]);
    expect(decodeAll(new HpackDecoder(), block)).toEqual([
      [":status", "200"],
      ["x-token", jwt],
      ["x-bytes", latin1],
    ]);
  });
});

describe("the HPACK layer against nghttp2 (node:http2)", () => {
  it("decodes a node:http2 server's responses, and the server reads our requests", async () => {
    await crossCheck(4096, 6);
  });

  it("follows nghttp2's table size update and eviction when SETTINGS_HEADER_TABLE_SIZE is 256", async () => {
    await crossCheck(256, 5);
  });
});

const longValue = "0123456789abcdef".repeat(40);
const printable = Array.from({ length: 0x7e - 0x21 + 1 }, (_, i) => String.fromCharCode(0x21 + i)).join("") + " end";
const jwt = "eyJhbGciOiJIUzI1NiJ9." + "QWxhZGRpbjpvcGVuIHNlc2FtZQ".repeat(80);

function requestFields(i: number, port: number): Field[] {
  return [
    [":method", "POST"],
    [":scheme", "http"],
    [":path", `/silo.v1.Silo/Enqueue?i=${i}`],
    [":authority", `127.0.0.1:${port}`],
    ["content-type", "application/grpc"],
    ["te", "trailers"],
    ["user-agent", "silo-edge-test/1.0"],
    ["x-tenant", `tenant-${i % 2}`],
    ["grpc-timeout", "5S"],
    ["authorization", `Bearer ${jwt}`],
  ];
}

/** What the test server answers: fixed and varying fields, then the request it saw, echoed. */
function responseFields(i: string, echoed: Field[], sensitive: string): Field[] {
  return [
    [":status", "200"],
    ["content-type", "application/grpc"],
    ["date", "Mon, 21 Oct 2013 20:13:21 GMT"],
    ["x-long", longValue],
    ["x-printable", printable],
    ["x-multi", "one"],
    ["x-multi", "two"],
    ["x-multi", "three"],
    ["x-request", i],
    ["x-secret", `s3cr3t-${i}`],
    ...echoed.map(([name, value]): Field => [`echo-${name.replace(/^:/, "")}`, value]),
    ["echo-sensitive", sensitive],
  ];
}

async function crossCheck(headerTableSize: number, requests: number): Promise<void> {
  const server = http2.createServer();
  server.on("stream", (stream, headers) => {
    const echoed: Field[] = Object.entries(headers).map(([name, value]) => [name, String(value)]);
    const sensitive = (Reflect.get(headers, http2.sensitiveHeaders) as string[] | undefined)?.join(",") ?? "";
    const i = new URL(String(headers[":path"]), "http://x").searchParams.get("i")!;
    const fields = responseFields(i, echoed, sensitive);
    const out: http2.OutgoingHttpHeaders = { [http2.sensitiveHeaders]: ["x-secret"] };
    for (const [name, value] of fields) {
      const prev = out[name];
      out[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [String(prev)]), value];
    }
    stream.respond(out, { endStream: true });
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const port = (server.address() as net.AddressInfo).port;
  const conn = new RawH2Connection(net.connect(port, "127.0.0.1"), headerTableSize);
  try {
    await conn.ready;
    for (let i = 0; i < requests; i++) {
      const sent = requestFields(i, port);
      const block = concatBlocks(
        sent.map(([name, value]) => encodeField(name, value, name === "authorization")),
      );
      const received = await conn.request(2 * i + 1, block);
      expect(received).toEqual(responseFields(String(i), sent, "authorization"));
    }
    expect(conn.sawHuffman).toBe(true);
    expect(conn.sawNeverIndexed).toBe(true);
    expect(conn.decoder.dynamicTableSize).toBeGreaterThan(0);
    expect(conn.decoder.dynamicTableSize).toBeLessThanOrEqual(headerTableSize);
    if (headerTableSize === 4096) {
      expect(conn.sawIndexed).toBe(true);
    } else {
      // Each response evicts the one before, so nothing is reused, but the update must come first.
      expect(conn.sawSizeUpdate).toBe(true);
    }
  } finally {
    conn.socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** Just enough HTTP/2 over a raw socket to send HEADERS and read the HEADERS coming back. */
class RawH2Connection {
  readonly decoder: HpackDecoder;
  readonly ready: Promise<void>;
  sawHuffman = false;
  sawIndexed = false;
  sawNeverIndexed = false;
  sawSizeUpdate = false;
  private pending = Buffer.alloc(0);
  private block: { streamId: number; parts: Buffer[] } | undefined;
  private waiting = new Map<number, { resolve: (fields: Field[]) => void; reject: (err: Error) => void }>();
  private failure: Error | undefined;

  constructor(
    readonly socket: net.Socket,
    headerTableSize: number,
  ) {
    this.decoder = new HpackDecoder(headerTableSize);
    const settings =
      headerTableSize === 4096 ? Buffer.alloc(0) : Buffer.from([0x00, 0x01, ...u32(headerTableSize)]);
    socket.write(Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"));
    socket.write(frame(0x4, 0, 0, settings));
    this.ready = once(socket, "connect").then(() => undefined);
    socket.on("data", (chunk: Buffer) => this.onData(chunk));
    socket.on("error", (err) => this.fail(err));
    socket.on("close", () => this.fail(new Error("connection closed")));
  }

  request(streamId: number, block: Uint8Array): Promise<Field[]> {
    return new Promise((resolve, reject) => {
      if (this.failure !== undefined) return reject(this.failure);
      this.waiting.set(streamId, { resolve, reject });
      // END_STREAM | END_HEADERS
      this.socket.write(frame(0x1, 0x5, streamId, block));
    });
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const { reject } of this.waiting.values()) reject(err);
    this.waiting.clear();
  }

  private onData(chunk: Buffer): void {
    this.pending = Buffer.concat([this.pending, chunk]);
    while (this.pending.length >= 9) {
      const length = this.pending.readUIntBE(0, 3);
      if (this.pending.length < 9 + length) break;
      const type = this.pending[3]!;
      const flags = this.pending[4]!;
      const streamId = this.pending.readUInt32BE(5) & 0x7fffffff;
      const payload = this.pending.subarray(9, 9 + length);
      this.pending = this.pending.subarray(9 + length);
      this.onFrame(type, flags, streamId, payload);
    }
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (type === 0x4 && (flags & 0x1) === 0) {
      this.socket.write(frame(0x4, 0x1, 0, Buffer.alloc(0))); // SETTINGS ack
    } else if (type === 0x1) {
      let start = 0;
      let end = payload.length;
      if ((flags & 0x8) !== 0) end -= payload[start++]!; // PADDED
      if ((flags & 0x20) !== 0) start += 5; // PRIORITY
      this.block = { streamId, parts: [payload.subarray(start, end)] };
      if ((flags & 0x4) !== 0) this.endBlock();
    } else if (type === 0x9 && this.block !== undefined) {
      this.block.parts.push(payload);
      if ((flags & 0x4) !== 0) this.endBlock();
    } else if (type === 0x3) {
      this.waiting.get(streamId)?.reject(new Error(`RST_STREAM ${payload.readUInt32BE(0)} on stream ${streamId}`));
    } else if (type === 0x7) {
      this.fail(new Error(`GOAWAY ${payload.readUInt32BE(4)}: ${payload.subarray(8).toString()}`));
    }
  }

  private endBlock(): void {
    const { streamId, parts } = this.block!;
    this.block = undefined;
    const block = Buffer.concat(parts);
    this.noteRepresentations(block);
    const fields: Field[] = [];
    this.decoder.decode(block, (name, value) => fields.push([name, value]));
    const waiter = this.waiting.get(streamId);
    this.waiting.delete(streamId);
    waiter?.resolve(fields);
  }

  /** Walks the block's representations (trusting it) to see which kinds nghttp2 used. */
  private noteRepresentations(block: Buffer): void {
    let pos = 0;
    const integer = (prefixBits: number): number => {
      const max = (1 << prefixBits) - 1;
      let value = block[pos++]! & max;
      if (value === max) {
        for (let m = 1; pos < block.length; m *= 128) {
          const b = block[pos++]!;
          value += (b & 0x7f) * m;
          if (b < 0x80) break;
        }
      }
      return value;
    };
    const string = (): void => {
      if (block[pos]! >= 0x80) this.sawHuffman = true;
      const length = integer(7);
      pos += length;
    };
    while (pos < block.length) {
      const b = block[pos]!;
      if (b >= 0x80) {
        if (integer(7) > 61) this.sawIndexed = true;
      } else if (b >= 0x20 && b < 0x40) {
        this.sawSizeUpdate = true;
        integer(5);
      } else {
        if (b >= 0x10 && b < 0x20) this.sawNeverIndexed = true;
        if (integer(b >= 0x40 ? 6 : 4) === 0) string();
        string();
      }
    }
  }
}

function frame(type: number, flags: number, streamId: number, payload: Uint8Array): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(payload.length, 0, 3);
  header[3] = type;
  header[4] = flags;
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

function u32(n: number): number[] {
  return [(n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** Literal with incremental indexing and a literal name (raw strings, short lengths only). */
function encodeIncremental(name: string, value: string): Uint8Array {
  return concatBlocks([
    Uint8Array.of(0x40, name.length),
    Buffer.from(name, "latin1"),
    Uint8Array.of(value.length),
    Buffer.from(value, "latin1"),
  ]);
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
