//! A tour of the protocol layer: a client and a server codec talking over an in-memory
//! pipe. The client sends STARTUP (unframed), the server answers READY, both switch to
//! the negotiated framing, then a QUERY gets a page of rows back.
//!
//! Run: `cargo run --release --example protocol_tour [-- --protocol 4|5 --compression lz4|none --rows N]`

use std::time::Instant;

use bytes::Bytes;
use cqlstream::protocol::request::{Query, Startup};
use cqlstream::protocol::response::{ColumnSpec, ResultBody, RowsMetadata, RowsWriter};
use cqlstream::protocol::{
    ColumnType, Compression, Consistency, CqlCodec, Framing, QueryParameters, Request, RequestMessage, Response,
    ResponseMessage, Role, Version,
};
use futures_util::{SinkExt, StreamExt};
use tokio_util::codec::Framed;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Args {
    version: Version,
    compression: Compression,
    rows: usize,
}

fn parse_args() -> Result<Args, Error> {
    let mut args = Args { version: Version::V5, compression: Compression::Lz4, rows: 5000 };
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
            other => return Err(format!("unknown flag {other}; see the file's doc comment").into()),
        }
    }
    Ok(args)
}

/// After the reply to STARTUP: v5 switches to segments (spec v5 §2.3.1); v4 keeps plain
/// envelopes and compresses bodies.
fn after_startup(codec: &mut CqlCodec, version: Version, compression: Compression) {
    codec.set_compression(compression);
    if version.uses_segments() {
        codec.set_framing(Framing::Segments);
    }
}

async fn server(
    io: tokio::io::DuplexStream,
    version: Version,
    compression: Compression,
    rows: usize,
) -> Result<(), Error> {
    let mut conn = Framed::new(io, CqlCodec::new(Role::Server));
    let startup = conn.next().await.ok_or("client went away")??;
    let startup = RequestMessage::from_envelope(&startup)?;
    println!("server <- {:?} on stream {}", startup.request.opcode(), startup.stream);
    conn.send(ResponseMessage::new(startup.stream, Response::Ready).to_envelope(version)?).await?;
    after_startup(conn.codec_mut(), version, compression);

    let query = RequestMessage::from_envelope(&conn.next().await.ok_or("client went away")??)?;
    let Request::Query(q) = &query.request else { return Err("expected a QUERY".into()) };
    println!("server <- QUERY {:?} page_size={:?}", q.query, q.params.page_size);

    let columns = ["pk", "ck", "v"].iter().zip([ColumnType::Int, ColumnType::Int, ColumnType::Blob]);
    let columns = columns.map(|(n, t)| ColumnSpec::new("bench", "rows", *n, t)).collect();
    let mut w = RowsWriter::with_capacity(3, rows * 124);
    let mut blob = [0u8; 100];
    for i in 0..rows {
        blob[..8].copy_from_slice(&(i as u64).to_be_bytes());
        let (pk, ck) = (((i / 100) as i32).to_be_bytes(), ((i % 100) as i32).to_be_bytes());
        w.push_row([Some(&pk[..]), Some(&ck[..]), Some(&blob[..])])?;
    }
    let mut metadata = RowsMetadata::new(columns);
    metadata.paging_state = Some(Bytes::from_static(b"next-page"));
    let result = Response::Result(ResultBody::Rows(w.finish(metadata)?));
    conn.send(ResponseMessage::new(query.stream, result).to_envelope(version)?).await?;
    Ok(())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let args = parse_args()?;
    let (client_io, server_io) = tokio::io::duplex(1 << 20);
    let server = tokio::spawn(server(server_io, args.version, args.compression, args.rows));

    let mut conn = Framed::new(client_io, CqlCodec::new(Role::Client));
    let compression_name = (args.compression == Compression::Lz4).then_some("lz4");
    let startup = RequestMessage::new(0, Request::Startup(Startup::new(compression_name)));
    conn.send(startup.to_envelope(args.version)?).await?;
    let ready = ResponseMessage::from_envelope(&conn.next().await.ok_or("server went away")??)?;
    println!("client <- {:?}", ready.response.opcode());
    after_startup(conn.codec_mut(), args.version, args.compression);

    let params = QueryParameters::new(Consistency::LocalOne).with_page_size(args.rows as i32);
    let query = RequestMessage::new(1, Request::Query(Query::new("SELECT pk, ck, v FROM bench.rows", params)));
    let started = Instant::now();
    conn.send(query.to_envelope(args.version)?).await?;
    let reply = conn.next().await.ok_or("server went away")??;
    let body_len = reply.body.len();
    let reply = ResponseMessage::from_envelope(&reply)?;
    let Response::Result(ResultBody::Rows(rows)) = reply.response else { return Err("expected rows".into()) };

    // Walk every cell without copying: cells are slices of the page's buffer.
    let mut checked = 0usize;
    for (i, row) in rows.iter().enumerate() {
        let v = row.cell(2).flatten().ok_or("null v")?;
        let n = u64::from_be_bytes(v.get(..8).ok_or("short v")?.try_into()?);
        if n != i as u64 {
            return Err(format!("row {i} carries {n}").into());
        }
        checked += 1;
    }
    let elapsed = started.elapsed();
    server.await??;

    println!(
        "client <- RESULT Rows: {} rows x {} columns, {} body bytes, more pages: {}",
        rows.rows_count(),
        rows.columns_count(),
        body_len,
        rows.metadata().has_more_pages()
    );
    println!(
        "protocol {} / compression {:?}: {checked} rows checked in {:.2?} ({:.0} rows/s end to end in memory)",
        args.version,
        args.compression,
        elapsed,
        checked as f64 / elapsed.as_secs_f64()
    );
    Ok(())
}
