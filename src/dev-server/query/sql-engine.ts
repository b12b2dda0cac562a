import type * as DuckDB from "@duckdb/node-api";
import { Code, ConnectError } from "@connectrpc/connect";
import type { QueryParameter } from "../../gen/silo/v1/silo_pb.js";
import { internal, invalidArgument, unimplemented } from "../errors.js";
import { encodeRow, resultColumn, type ResultColumn } from "./query-encoding.js";
import { QUERY_TABLES, type QueryTableName, type QueryTableRows, type TableColumn, type TableCell } from "./query-tables.js";

// The SQL engine behind the dev server's Query RPC: DuckDB, embedded, loaded on the first Query
// with a dynamic import, so starting the dev server (and every client bundle) never loads it.
// Each statement runs on its own connection, which gets its own TEMP copies of the tables it
// names: a snapshot nobody else sees, dropped with the connection.

/** The package the engine comes from; an optional peer dependency of silo-edge. */
export const ENGINE_PACKAGE = "@duckdb/node-api";

export interface StatementLimits {
  /** Abort a statement that runs longer; 0 disables. */
  readonly statementTimeoutMs: number;
  /** Fail a result whose encoded rows exceed this many bytes. */
  readonly maxResultBytes: number;
}

export interface StatementResult {
  readonly columns: readonly ResultColumn[];
  readonly rows: readonly Uint8Array[];
}

interface Engine {
  readonly duckdb: typeof DuckDB;
  readonly instance: DuckDB.DuckDBInstance;
}

let engine: Promise<Engine> | undefined;

function loadEngine(): Promise<Engine> {
  engine ??= createEngine().catch((err: unknown) => {
    engine = undefined; // let a later Query try again (say, after the package was installed)
    throw err;
  });
  return engine;
}

async function createEngine(): Promise<Engine> {
  let duckdb: typeof DuckDB;
  try {
    duckdb = await import(ENGINE_PACKAGE);
  } catch (err) {
    throw unimplemented(
      `Query on the silo-edge dev server needs the optional package ${ENGINE_PACKAGE}; install it with \`npm install --save-dev ${ENGINE_PACKAGE}\` (${(err as Error).message})`,
    );
  }
  const instance = await duckdb.DuckDBInstance.create(":memory:", {
    // SQL from a client must never reach the file system, the network or extension downloads.
    enable_external_access: "false",
    autoinstall_known_extensions: "false",
    autoload_known_extensions: "false",
  });
  const setup = await instance.connect();
  try {
    // DataFusion's name for DuckDB's list_any_value, so the contract's queries run as written.
    await setup.run("CREATE MACRO array_any_value(l) AS list_any_value(l)");
    await setup.run("SET lock_configuration = true");
  } finally {
    setup.closeSync();
  }
  return { duckdb, instance };
}

/**
 * Run one read-only statement against the given tables. Failures are ConnectErrors with the
 * stock server's codes and messages (src/server.rs:466-527, 1520-1560).
 */
export async function runStatement(
  sql: string,
  parameters: readonly QueryParameter[],
  tablesFor: (wanted: ReadonlySet<QueryTableName>) => QueryTableRows,
  limits: StatementLimits,
): Promise<StatementResult> {
  const { duckdb, instance } = await loadEngine();
  const connection = await instance.connect();
  try {
    const wanted = referencedTables(connection, sql);
    // Taken synchronously, before any await: one consistent snapshot of the shard.
    const rows = tablesFor(wanted);
    for (const table of QUERY_TABLES) {
      if (wanted.has(table.name)) await loadTable(duckdb, connection, table.name, table.columns, rows[table.name]);
    }

    let prepared: DuckDB.DuckDBPreparedStatement;
    try {
      prepared = await connection.prepare(sql);
    } catch (err) {
      throw invalidArgument(`SQL error: ${engineMessage(err)}`);
    }
    const kind = duckdb.StatementType[prepared.statementType];
    if (kind !== "SELECT" && kind !== "EXPLAIN") {
      throw invalidArgument(`SQL error: the query tables are read-only; only SELECT and EXPLAIN statements run (got ${kind ?? "an unknown statement"})`);
    }
    bindParameters(prepared, parameters);

    return await withTimeout(connection, limits.statementTimeoutMs, () => collect(prepared, limits.maxResultBytes));
  } finally {
    connection.closeSync();
  }
}

/**
 * The query tables a statement names, so only those are built; all five when DuckDB cannot tell.
 */
function referencedTables(connection: DuckDB.DuckDBConnection, sql: string): Set<QueryTableName> {
  const known = new Set<string>(QUERY_TABLES.map((t) => t.name));
  const wanted = new Set<QueryTableName>();
  let names: readonly string[];
  try {
    names = connection.getTableNames(sql, false);
  } catch {
    names = [];
  }
  // DuckDB answers an empty list for statements it cannot analyse (placeholders, writes).
  if (names.length === 0) return new Set(QUERY_TABLES.map((t) => t.name));
  for (const name of names) {
    const lower = name.toLowerCase();
    if (known.has(lower)) wanted.add(lower as QueryTableName);
  }
  return wanted;
}

async function loadTable(
  duckdb: typeof DuckDB,
  connection: DuckDB.DuckDBConnection,
  name: string,
  columns: readonly TableColumn[],
  rows: readonly (readonly TableCell[])[],
): Promise<void> {
  const ddl = columns.map((c) => `"${c.name}" ${c.type}${c.nullable ? "" : " NOT NULL"}`).join(", ");
  await connection.run(`CREATE TEMP TABLE "${name}" (${ddl})`);
  if (rows.length === 0) return;
  const appender = await connection.createAppender(name, "main", "temp");
  const mapType = duckdb.MAP(duckdb.VARCHAR, duckdb.VARCHAR);
  try {
    for (const row of rows) {
      for (let i = 0; i < columns.length; i++) {
        const cell = row[i];
        if (cell === null || cell === undefined) {
          appender.appendNull();
          continue;
        }
        switch (columns[i]!.type) {
          case "VARCHAR":
            appender.appendVarchar(cell as string);
            break;
          case "UTINYINT":
            appender.appendUTinyInt(cell as number);
            break;
          case "UINTEGER":
            appender.appendUInteger(cell as number);
            break;
          case "BIGINT":
            appender.appendBigInt(BigInt(cell as number));
            break;
          case "MAP(VARCHAR, VARCHAR)": {
            const entries = Object.entries(cell as Record<string, string>).map(([key, value]) => ({ key, value }));
            appender.appendMap(new duckdb.DuckDBMapValue(entries), mapType);
            break;
          }
        }
      }
      appender.endRow();
    }
    appender.flushSync();
  } finally {
    appender.closeSync();
  }
}

/**
 * Binds `$n` from `parameters[n-1]`, with the stock server's checks in its order: a parameter
 * without a value first, then a placeholder without a parameter (src/server.rs:426-457, 506-511).
 * Without parameters the statement runs as written (an unbound placeholder then fails to run).
 */
function bindParameters(prepared: DuckDB.DuckDBPreparedStatement, parameters: readonly QueryParameter[]): void {
  if (parameters.length === 0) return;
  if (parameters.some((p) => p.value.case === undefined)) throw invalidArgument("query parameter is missing a value");
  const count = prepared.parameterCount;
  let found = 0;
  // DuckDB names `$n` placeholders "n"; probe the numbers a statement can plausibly use.
  for (let n = 1; found < count && n <= parameters.length + 1000; n++) {
    let index: number;
    try {
      index = prepared.parameterIndex(String(n));
    } catch {
      continue;
    }
    found++;
    const parameter = parameters[n - 1];
    if (parameter === undefined) throw invalidArgument(`SQL parameter error: Execution error: No value found for placeholder with id $${n}`);
    if (index !== found) {
      // DuckDB numbers placeholders densely and cannot bind `$3` of a statement without `$2`.
      throw invalidArgument(`SQL parameter error: placeholder $${n} follows a gap; the dev server's SQL engine needs $1..$${n} all used`);
    }
    bindOne(prepared, index, parameter);
  }
  if (found < count) throw invalidArgument("SQL parameter error: Execution error: No value found for a named placeholder; use $1, $2, ...");
}

function bindOne(prepared: DuckDB.DuckDBPreparedStatement, index: number, parameter: QueryParameter): void {
  const v = parameter.value;
  switch (v.case) {
    case "boolValue":
      prepared.bindBoolean(index, v.value);
      break;
    case "int64Value":
      prepared.bindBigInt(index, v.value);
      break;
    case "uint64Value":
      prepared.bindUBigInt(index, v.value);
      break;
    case "float64Value":
      prepared.bindDouble(index, v.value);
      break;
    case "stringValue":
      prepared.bindVarchar(index, v.value);
      break;
    case "bytesValue":
      prepared.bindBlob(index, v.value);
      break;
    case "nullValue":
    default:
      prepared.bindNull(index);
  }
}

/** Reads the result chunk by chunk, encoding rows and enforcing the result-size cap as it goes. */
async function collect(prepared: DuckDB.DuckDBPreparedStatement, maxResultBytes: number): Promise<StatementResult> {
  let result: DuckDB.DuckDBResult;
  try {
    result = await prepared.stream();
  } catch (err) {
    throw executionError(err);
  }
  const columns = result.columnTypes().map((type, i) => resultColumn(result.columnName(i), type));
  const rows: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    let chunk: DuckDB.DuckDBDataChunk | null;
    try {
      chunk = await result.fetchChunk();
    } catch (err) {
      throw executionError(err);
    }
    if (chunk === null || chunk.rowCount === 0) break;
    for (const cells of chunk.getRows()) {
      const row = encodeRow(columns, cells);
      rows.push(row);
      bytes += row.length;
    }
    if (bytes > maxResultBytes) {
      throw new ConnectError(
        `query result exceeded max_result_bytes (${maxResultBytes} bytes) after ${rows.length} rows; add a LIMIT, project fewer columns, or use QueryArrow`,
        Code.ResourceExhausted,
      );
    }
  }
  return { columns, rows };
}

/** Interrupts the connection's statement once the deadline passes (0: no deadline). */
async function withTimeout<T>(connection: DuckDB.DuckDBConnection, timeoutMs: number, run: () => Promise<T>): Promise<T> {
  if (timeoutMs <= 0) return run();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    connection.interrupt();
  }, timeoutMs);
  try {
    return await run();
  } catch (err) {
    if (expired) throw new ConnectError(`Query exceeded statement timeout of ${timeoutMs} ms`, Code.DeadlineExceeded);
    throw err;
  } finally {
    clearTimeout(timer);
  }
}

function executionError(err: unknown): ConnectError {
  return internal(`Query execution failed: ${engineMessage(err)}`);
}

/** DuckDB's message on one line, without its source excerpt (DataFusion's messages are one line). */
function engineMessage(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  return message.split(/\n\s*\nLINE \d+:/)[0]!.replace(/\s*\n\s*/g, " ").trim();
}
