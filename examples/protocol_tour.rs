//! A tour of cqlstream's protocol layer against the embedded test server: start an
//! in-process CQL node, connect over TCP with the protocol codec, negotiate the protocol
//! version and compression, create a table, load rows with a prepared INSERT (many in
//! flight on distinct stream ids), then page through them with paging_state, checking
//! every row.
//!
//! Run: `cargo run --release --features testkit --example protocol_tour [-- --protocol 4|5 --compression lz4|none --rows N --page-size N]`

use std::time::Instant;

use bytes::Bytes;
use cqlstream::protocol::request::{Execute, Prepare, Query, Startup};
use cqlstream::protocol::response::{Prepared, ResultBody};
use cqlstream::protocol::{
    Compression, Consistency, CqlCodec, Framing, QueryParameters, Request, RequestMessage, Response, ResponseMessage,
    Role, Value, Values, Version,
};
use cqlstream::testkit::TestNode;
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    version: Version,
    compression: Compression,
    rows: usize,
    page_size: i32,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args { version: Version::V5, compression: Compression::Lz4, rows: 100_000, page_size: 5000 };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--protocol" => {
                let v: u8 = value()?.parse()?;
                args.version = Version::try_from(v).map_err(|v| format!("unsupported protocol {v}"))?;
            }
            "--compression" => {
                args.compression = match value()?.as_str() {
                    "lz4" => Compression::Lz4,
                    "none" => Compression::None,
                    other => return Err(format!("unknown compression {other}").into()),
                }
            }
            "--rows" => args.rows = value()?.parse()?,
            "--page-size" => args.page_size = value()?.parse()?,
            other => return Err(format!("unknown flag {other}; see the file's doc comment").into()),
        }
    }
    Ok(args)
}

/// One connection, driven by hand: the codec frames, we pick stream ids.
struct Conn {
    io: Framed<TcpStream, CqlCodec>,
    version: Version,
}

impl Conn {
    async fn send(&mut self, stream: i16, request: Request) -> Result<(), Error> {
        self.io.feed(RequestMessage::new(stream, request).to_envelope(self.version)?).await?;
        Ok(())
    }

    async fn recv(&mut self) -> Result<ResponseMessage, Error> {
        let env = self.io.next().await.ok_or("server closed the connection")??;
        Ok(ResponseMessage::from_envelope(&env)?)
    }

    async fn call(&mut self, request: Request) -> Result<Response, Error> {
        self.send(0, request).await?;
        SinkExt::<cqlstream::protocol::Envelope>::flush(&mut self.io).await?;
        match self.recv().await?.response {
            Response::Error(e) => Err(format!("server error {:#06x}: {}", e.code(), e.message).into()),
            other => Ok(other),
        }
    }

    async fn query(&mut self, cql: &str) -> Result<Response, Error> {
        self.call(Request::Query(Query::new(cql, QueryParameters::new(Consistency::LocalOne)))).await
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let args = parse_args()?;
    let node = TestNode::builder().start().await?;
    println!("embedded test node listening on {}", node.addr());

    let mut conn = Conn {
        io: Framed::new(TcpStream::connect(node.addr()).await?, CqlCodec::new(Role::Client)),
        version: args.version,
    };
    let compression = (args.compression == Compression::Lz4).then_some("lz4");
    // v3/v4: the server compresses its reply to a STARTUP that asks for LZ4, so LZ4 is on
    // before that reply is read (STARTUP itself is never compressed).
    if !args.version.uses_segments() {
        conn.io.codec_mut().set_compression(args.compression);
    }
    let reply = conn.call(Request::Startup(Startup::new(compression))).await?;
    println!("STARTUP ({}, compression {:?}) -> {:?}", args.version, args.compression, reply.opcode());
    // After READY both sides switch: v5 to segments (spec v5 §2.3.1), v4 to LZ4 bodies.
    conn.io.codec_mut().set_compression(args.compression);
    if args.version.uses_segments() {
        conn.io.codec_mut().set_framing(Framing::Segments);
    }

    conn.query("CREATE KEYSPACE tour WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").await?;
    conn.query("CREATE TABLE tour.rows (pk int, ck int, v blob, PRIMARY KEY (pk, ck))").await?;
    let Response::Result(ResultBody::Prepared(insert)) =
        conn.call(Request::Prepare(Prepare::new("INSERT INTO tour.rows (pk, ck, v) VALUES (?, ?, ?)"))).await?
    else {
        return Err("PREPARE did not return a prepared statement".into());
    };
    println!(
        "prepared INSERT: {} bind variables, partition key at {:?}",
        insert.metadata.columns.len(),
        insert.metadata.pk_indexes
    );

    // Load with up to 256 requests in flight: each on its own stream id.
    let started = Instant::now();
    let mut next = 0usize;
    let mut in_flight = 0usize;
    while next < args.rows || in_flight > 0 {
        while next < args.rows && in_flight < 256 {
            let i = next;
            let mut v = [0u8; 100];
            v[..8].copy_from_slice(&(i as u64).to_be_bytes());
            let values = Values::positional([
                Value::Bytes(Bytes::copy_from_slice(&((i / 100) as i32).to_be_bytes())),
                Value::Bytes(Bytes::copy_from_slice(&((i % 100) as i32).to_be_bytes())),
                Value::Bytes(Bytes::copy_from_slice(&v)),
            ])?;
            let params = QueryParameters::new(Consistency::LocalOne).with_values(values);
            let exec = execute(&insert, params, args.version);
            conn.send((i % 32_768) as i16, exec).await?;
            next += 1;
            in_flight += 1;
        }
        SinkExt::<cqlstream::protocol::Envelope>::flush(&mut conn.io).await?;
        let reply = conn.recv().await?;
        if let Response::Error(e) = reply.response {
            return Err(format!("insert failed: {}", e.message).into());
        }
        in_flight -= 1;
    }
    println!("loaded {} rows in {:.2?}", args.rows, started.elapsed());

    let Response::Result(ResultBody::Prepared(select)) =
        conn.call(Request::Prepare(Prepare::new("SELECT pk, ck, v FROM tour.rows"))).await?
    else {
        return Err("PREPARE did not return a prepared statement".into());
    };
    let started = Instant::now();
    let (mut pages, mut rows, mut bytes) = (0usize, 0usize, 0usize);
    let mut paging_state = None;
    let mut seen = vec![false; args.rows];
    loop {
        let mut params = QueryParameters::new(Consistency::LocalOne).with_page_size(args.page_size);
        params.paging_state = paging_state.take();
        let Response::Result(ResultBody::Rows(page)) = conn.call(execute(&select, params, args.version)).await? else {
            return Err("SELECT did not return rows".into());
        };
        pages += 1;
        bytes += page.content().len();
        // Cells are slices of the page's buffer: no copy, no allocation per row.
        for row in page.iter() {
            let v = row.cell(2).flatten().ok_or("null v")?;
            let i = u64::from_be_bytes(v.get(..8).ok_or("short v")?.try_into()?) as usize;
            if std::mem::replace(seen.get_mut(i).ok_or("row out of range")?, true) {
                return Err(format!("row {i} arrived twice").into());
            }
            rows += 1;
        }
        paging_state = page.metadata().paging_state.clone();
        if paging_state.is_none() {
            break;
        }
    }
    if rows != args.rows {
        return Err(format!("read {rows} rows, wrote {}", args.rows).into());
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "scanned {rows} rows in {pages} pages ({:.1} MB) in {secs:.2} s: {:.0} rows/s, every row checked once",
        bytes as f64 / 1e6,
        rows as f64 / secs
    );
    println!(
        "server saw {} page requests for the scan",
        node.stats().pages("SELECT pk, ck, v FROM tour.rows").iter().sum::<u64>()
    );
    Ok(())
}

fn execute(p: &Prepared, params: QueryParameters, version: Version) -> Request {
    let result_metadata_id = if version >= Version::V5 { p.result_metadata_id.clone() } else { None };
    Request::Execute(Execute { id: p.id.clone(), result_metadata_id, params })
}
