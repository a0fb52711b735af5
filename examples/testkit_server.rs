//! The testkit CQL server as a standalone process, for real drivers (the interop suite
//! under `tests/interop/`), benchmarks and manual poking with `cqlsh`.
//!
//! ```text
//! cargo run --release --features testkit --example testkit_server -- \
//!     --addr 127.0.0.1:9042 [--nodes 3] [--max-protocol 4|5] [--user NAME:PASSWORD] \
//!     [--demo-rows N] [--demo-value-bytes B]
//! ```
//!
//! Prints exactly one line, `ready <addr>`, to stdout once the nodes accept connections
//! (and the demo rows, if any, are loaded), then runs until killed. Everything else goes
//! to stderr. Nodes of a cluster listen on consecutive IPs with one port: `127.0.0.1`,
//! `127.0.0.2`, ...
//!
//! `--demo-rows N` creates keyspace `bench` (SimpleStrategy, RF 1) and table
//! `bench.rows (pk int, ck int, v blob, PRIMARY KEY (pk, ck))` holding rows
//! `i = 0..N`: `pk = i / 100`, `ck = i % 100`, and `v` of `B` bytes (default 100) whose
//! first 8 bytes are `i` as a big-endian u64; the rest is a deterministic pseudo-random
//! pattern, so LZ4 cannot shrink it to nothing: the dataset of `cqlstream::testkit::demo`.
//!
//! The rows are loaded the way a client would: the example connects to its own node
//! with a tiny scripted client built on `cqlstream::protocol` (STARTUP, auth, QUERY for
//! the DDL, PREPARE, then pipelined EXECUTEs with up to [`IN_FLIGHT`] requests on
//! distinct stream ids), so it shows real CQL and needs no API beyond the server's.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Instant;

use bytes::BytesMut;
use cqlstream::protocol::request::{AuthResponse, Execute, Prepare, Query, Startup};
use cqlstream::protocol::response::ResultBody;
use cqlstream::protocol::{
    Compression, Consistency, CqlCodec, Envelope, Framing, QueryParameters, Request, RequestMessage, Response,
    ResponseMessage, Role, Values, ValuesWriter, Version,
};
use cqlstream::testkit::{TestCluster, demo};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Requests the loader keeps in flight on its one connection (each on its own stream id).
const IN_FLIGHT: usize = 2048;

/// At most this many EXECUTEs are encoded into one write (one v5 segment run).
const WRITE_BATCH: usize = 256;

const USAGE: &str = "\
usage: testkit_server [--addr IP:PORT] [--nodes N] [--max-protocol 4|5] [--user NAME:PASSWORD]
                      [--demo-rows N] [--demo-value-bytes B]

  --addr IP:PORT          address of the first node (IPv4; default 127.0.0.1:9042, port 0 = any free)
  --nodes N               nodes in the cluster, on consecutive IPs with the same port (default 1)
  --max-protocol 4|5      highest protocol version accepted (default 5; 4 behaves like ScyllaDB)
  --user NAME:PASSWORD    require PasswordAuthenticator login (repeatable)
  --demo-rows N           create bench.rows and load N rows into it
  --demo-value-bytes B    size of each demo row's blob, at least 8 (default 100)

Prints `ready <addr>` on stdout once it accepts connections, then runs until killed.";

#[derive(Debug)]
struct Args {
    addr: SocketAddr,
    nodes: usize,
    max_protocol: Version,
    users: Vec<(String, String)>,
    demo_rows: u64,
    demo_value_bytes: usize,
}

/// What parsing the command line asks for.
#[derive(Debug)]
enum Command {
    Run(Args),
    Help,
}

fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Command, String> {
    let mut out = Args {
        addr: SocketAddr::from(([127, 0, 0, 1], 9042)),
        nodes: 1,
        max_protocol: Version::V5,
        users: Vec::new(),
        demo_rows: 0,
        demo_value_bytes: 100,
    };
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Ok(Command::Help);
        }
        // Accept both `--flag value` and `--flag=value`.
        let (flag, inline) = match flag.split_once('=') {
            Some((f, v)) if f.starts_with("--") => (f.to_string(), Some(v.to_string())),
            _ => (flag, None),
        };
        let mut value = || inline.clone().or_else(|| it.next()).ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--addr" => {
                let v = value()?;
                out.addr = v.parse().map_err(|_| format!("--addr: `{v}` is not an IP:PORT address"))?;
                if !out.addr.is_ipv4() {
                    return Err(format!("--addr: `{v}` is not IPv4 (test nodes count up from an IPv4 address)"));
                }
            }
            "--nodes" => {
                let v = value()?;
                out.nodes = match v.parse::<usize>() {
                    Ok(n) if (1..=255).contains(&n) => n,
                    _ => return Err(format!("--nodes: `{v}` is not a number from 1 to 255")),
                };
            }
            "--max-protocol" => {
                let v = value()?;
                out.max_protocol = match v.as_str() {
                    "4" | "v4" => Version::V4,
                    "5" | "v5" => Version::V5,
                    _ => return Err(format!("--max-protocol: `{v}` is not 4 or 5")),
                };
            }
            "--user" => {
                let v = value()?;
                match v.split_once(':') {
                    Some((name, pw)) if !name.is_empty() => out.users.push((name.into(), pw.into())),
                    _ => return Err(format!("--user: `{v}` is not NAME:PASSWORD")),
                }
            }
            "--demo-rows" => {
                let v = value()?;
                out.demo_rows = v.parse().map_err(|_| format!("--demo-rows: `{v}` is not a row count"))?;
                // pk = i / 100 must fit an int.
                if out.demo_rows > i32::MAX as u64 * 100 {
                    return Err(format!("--demo-rows: {v} is too many (pk = i / 100 must fit an int)"));
                }
            }
            "--demo-value-bytes" => {
                let v = value()?;
                out.demo_value_bytes = match v.parse::<usize>() {
                    Ok(b) if (8..=(256 << 20)).contains(&b) => b,
                    _ => return Err(format!("--demo-value-bytes: `{v}` is not a size from 8 to 268435456")),
                };
            }
            other => return Err(format!("unknown argument `{other}`")),
        }
    }
    Ok(Command::Run(out))
}

#[tokio::main]
async fn main() -> ExitCode {
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Command::Run(args)) => args,
        Ok(Command::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("testkit_server: {e}\n\n{USAGE}");
            return ExitCode::FAILURE;
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("testkit_server: error: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Error> {
    let mut builder = TestCluster::builder().nodes(args.nodes).bind(args.addr).max_protocol(args.max_protocol);
    for (name, pw) in &args.users {
        builder = builder.user(name, pw);
    }
    let cluster = builder.start().await.map_err(|e| format!("cannot listen on {}: {e}", args.addr))?;
    let addrs = cluster.addrs();
    eprintln!(
        "testkit_server: {} node(s) on {}, protocol up to {}{}",
        addrs.len(),
        addrs.iter().map(|a| a.to_string()).collect::<Vec<_>>().join(", "),
        args.max_protocol,
        if args.users.is_empty() { "" } else { ", password authentication" },
    );

    if args.demo_rows > 0 {
        let started = Instant::now();
        load_demo_rows(addrs[0], args.max_protocol, args.users.first(), args.demo_rows, args.demo_value_bytes)
            .await
            .map_err(|e| format!("loading the demo rows: {e}"))?;
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "testkit_server: loaded {} rows into bench.rows in {secs:.2} s ({:.0} rows/s)",
            args.demo_rows,
            args.demo_rows as f64 / secs.max(1e-9)
        );
    }

    // The one line on stdout that scripts wait for.
    println!("ready {}", addrs[0]);
    use std::io::Write as _;
    std::io::stdout().flush()?;

    // Serve until killed; `cluster` must stay alive for the nodes to run.
    std::future::pending::<()>().await;
    drop(cluster);
    Ok(())
}

/// A connection of the scripted loader client.
struct Client {
    io: Framed<TcpStream, CqlCodec>,
    version: Version,
}

impl Client {
    /// Connects, STARTUP, and logs in with `user` if the node asks for it.
    async fn connect(addr: SocketAddr, version: Version, user: Option<&(String, String)>) -> Result<Client, Error> {
        let socket = TcpStream::connect(addr).await.map_err(|e| format!("connecting to {addr}: {e}"))?;
        socket.set_nodelay(true)?;
        let mut client = Client { io: Framed::new(socket, CqlCodec::new(Role::Client)), version };
        let reply = client.request(Request::Startup(Startup::new(None))).await?;
        // spec v5 §2.3.1: segment framing starts after READY or AUTHENTICATE.
        if matches!(reply, Response::Ready | Response::Authenticate(_)) && version.uses_segments() {
            client.io.codec_mut().set_framing(Framing::Segments);
        }
        client.io.codec_mut().set_compression(Compression::None);
        match reply {
            Response::Ready => {}
            Response::Authenticate(a) => {
                let (name, pw) = user.ok_or_else(|| format!("the node wants a login ({})", a.authenticator))?;
                match client.request(Request::AuthResponse(AuthResponse::plain(name, pw))).await? {
                    Response::AuthSuccess(_) => {}
                    other => return Err(format!("login as {name} failed: {}", describe(&other)).into()),
                }
            }
            other => return Err(format!("STARTUP answered {}", describe(&other)).into()),
        }
        Ok(client)
    }

    /// One request on stream 0, waiting for its reply.
    async fn request(&mut self, request: Request) -> Result<Response, Error> {
        let env = RequestMessage::new(0, request).to_envelope(self.version)?;
        self.io.send(env).await?;
        loop {
            let env = self.io.next().await.ok_or("the node closed the connection")??;
            let reply = ResponseMessage::from_envelope(&env)?;
            // Skip events (stream -1); there are none unless we REGISTER, but be safe.
            if reply.stream == 0 {
                return Ok(reply.response);
            }
        }
    }

    /// A QUERY that must succeed.
    async fn query(&mut self, cql: &str) -> Result<ResultBody, Error> {
        let q = Query::new(cql, QueryParameters::new(Consistency::LocalOne));
        match self.request(Request::Query(q)).await? {
            Response::Result(r) => Ok(r),
            other => Err(format!("{cql}: {}", describe(&other)).into()),
        }
    }
}

fn describe(response: &Response) -> String {
    match response {
        Response::Error(e) => format!("error {e}"),
        other => format!("unexpected {:?}", other.opcode()),
    }
}

async fn load_demo_rows(
    addr: SocketAddr,
    version: Version,
    user: Option<&(String, String)>,
    rows: u64,
    value_bytes: usize,
) -> Result<(), Error> {
    let mut client = Client::connect(addr, version, user).await?;
    client.query(demo::CREATE_KEYSPACE).await?;
    client.query(demo::CREATE_TABLE).await?;
    let insert = demo::INSERT;
    let prepared = match client.request(Request::Prepare(Prepare::new(insert))).await? {
        Response::Result(ResultBody::Prepared(p)) => p,
        other => return Err(format!("PREPARE {insert}: {}", describe(&other)).into()),
    };
    let id = prepared.id.clone();
    // v5 EXECUTE carries the result metadata id; an INSERT has empty result metadata.
    let result_metadata_id =
        if version >= Version::V5 { Some(prepared.result_metadata_id.clone().unwrap_or_default()) } else { None };

    let (mut sink, mut stream) = client.io.split();
    // The free stream ids: the writer takes one per EXECUTE, the reader gives it back
    // with the reply. Its capacity is the pipelining window.
    let (free_tx, mut free_rx) = mpsc::channel::<i16>(IN_FLIGHT);
    for id in 0..IN_FLIGHT as i16 {
        free_tx.try_send(id).expect("the channel holds IN_FLIGHT ids");
    }

    let writer = async {
        let mut value = BytesMut::with_capacity(value_bytes);
        let mut batch: Vec<Envelope> = Vec::with_capacity(WRITE_BATCH);
        let mut i = 0u64;
        while i < rows {
            // Take the ids that are free now; wait (after flushing) only when none are.
            let stream_id = match free_rx.try_recv() {
                Ok(s) => s,
                Err(_) => {
                    if !batch.is_empty() {
                        sink.send(std::mem::take(&mut batch)).await?;
                    }
                    free_rx.recv().await.ok_or("the reply reader stopped")?
                }
            };
            let mut values = ValuesWriter::positional();
            values.push_bytes(Some(&((i / 100) as i32).to_be_bytes()))?;
            values.push_bytes(Some(&((i % 100) as i32).to_be_bytes()))?;
            value.clear();
            demo::write_value(i, value_bytes, &mut value);
            values.push_bytes(Some(&value))?;
            let values: Values = values.finish();
            let execute = Execute {
                id: id.clone(),
                result_metadata_id: result_metadata_id.clone(),
                params: QueryParameters::new(Consistency::LocalOne).with_values(values),
            };
            batch.push(RequestMessage::new(stream_id, Request::Execute(execute)).to_envelope(version)?);
            if batch.len() == WRITE_BATCH {
                sink.feed(std::mem::take(&mut batch)).await?;
            }
            i += 1;
        }
        if !batch.is_empty() {
            sink.feed(batch).await?;
        }
        sink.flush().await?;
        Ok::<_, Error>(())
    };

    let reader = async move {
        let mut done = 0u64;
        let mut last_report = Instant::now();
        while done < rows {
            let env = stream.next().await.ok_or("the node closed the connection")??;
            let reply = ResponseMessage::from_envelope(&env)?;
            if reply.stream < 0 {
                continue; // an event
            }
            match reply.response {
                Response::Result(ResultBody::Void) => {}
                other => return Err(format!("EXECUTE {insert}: {}", describe(&other)).into()),
            }
            done += 1;
            // The writer may have finished and dropped its receiver: that is fine.
            let _ = free_tx.send(reply.stream).await;
            if last_report.elapsed().as_secs() >= 2 {
                eprintln!("testkit_server: {done} of {rows} rows loaded");
                last_report = Instant::now();
            }
        }
        Ok::<_, Error>(())
    };

    // The reader never blocks on the writer's progress, and the writer waits only for
    // ids the reader frees, so running both in one task cannot deadlock; the first
    // error ends both.
    tokio::try_join!(writer, reader)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Command, String> {
        parse_args(args.iter().map(|s| s.to_string()))
    }

    #[test]
    fn flags_parse() {
        let Ok(Command::Run(a)) = parse(&[
            "--addr",
            "127.0.0.3:19042",
            "--nodes=3",
            "--max-protocol",
            "4",
            "--user",
            "cassandra:pa:ss",
            "--demo-rows",
            "1000",
            "--demo-value-bytes",
            "64",
        ]) else {
            panic!("did not parse")
        };
        assert_eq!(a.addr, "127.0.0.3:19042".parse().unwrap());
        assert_eq!(a.nodes, 3);
        assert_eq!(a.max_protocol, Version::V4);
        assert_eq!(a.users, vec![("cassandra".to_string(), "pa:ss".to_string())]);
        assert_eq!((a.demo_rows, a.demo_value_bytes), (1000, 64));
    }

    #[test]
    fn bad_flags_are_errors_not_panics() {
        for bad in [
            &["--addr"][..],
            &["--addr", "localhost"],
            &["--addr", "[::1]:9042"],
            &["--nodes", "0"],
            &["--max-protocol", "6"],
            &["--user", "nocolon"],
            &["--demo-rows", "-1"],
            &["--demo-value-bytes", "7"],
            &["--bogus"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
    }
}
