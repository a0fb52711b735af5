//! Proptest strategies for response bodies, per version (test-only). Each strategy
//! generates only what its version can encode, in the canonical form decoding
//! produces, so encode → decode returns the same value.

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::strategy::Union;

use super::*;
use crate::protocol::header::Version;
use crate::protocol::strategies as s;

fn v5_only<T: std::fmt::Debug + Clone + 'static>(
    version: Version,
    inner: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    if version >= Version::V5 { option::of(inner).boxed() } else { Just(None).boxed() }
}

pub(crate) fn table_spec() -> impl Strategy<Value = TableSpec> {
    (s::text(), s::text()).prop_map(|(keyspace, table)| TableSpec { keyspace, table })
}

/// A global table spec (or none) and columns consistent with it.
fn column_specs() -> impl Strategy<Value = (Option<TableSpec>, Vec<ColumnSpec>)> {
    (option::of(table_spec()), vec((table_spec(), s::text(), s::column_type()), 0..4)).prop_map(|(global, cols)| {
        let columns = cols
            .into_iter()
            .map(|(t, name, typ)| {
                let t = global.clone().unwrap_or(t);
                ColumnSpec { keyspace: t.keyspace, table: t.table, name, typ }
            })
            .collect();
        (global, columns)
    })
}

pub(crate) fn rows_metadata(version: Version) -> BoxedStrategy<RowsMetadata> {
    let paging = || s::opt_bytes(16);
    let new_id = move || v5_only(version, s::bytes(16));
    prop_oneof![
        3 => (column_specs(), paging(), new_id()).prop_map(|((global, columns), paging_state, new_metadata_id)| {
            RowsMetadata {
                global_table_spec: global,
                columns_count: columns.len(),
                paging_state,
                new_metadata_id,
                columns: Some(columns),
            }
        }),
        1 => (0usize..5, paging(), new_id()).prop_map(|(columns_count, paging_state, new_metadata_id)| RowsMetadata {
            global_table_spec: None,
            columns_count,
            paging_state,
            new_metadata_id,
            columns: None,
        }),
    ]
    .boxed()
}

pub(crate) fn rows(version: Version) -> BoxedStrategy<Rows> {
    prop_oneof![
        8 => rows_metadata(version)
            .prop_flat_map(|m| {
                let n = m.columns_count;
                // A page of no columns holds no rows.
                let rows = if n == 0 { 0..1 } else { 0..5 };
                (Just(m), vec(vec(s::opt_bytes(12), n), rows))
            })
            .prop_map(|(m, rows)| {
                let mut w = RowsWriter::new(m.columns_count);
                for r in &rows {
                    w.push_row(r.iter().map(|c| c.as_deref())).unwrap();
                }
                w.finish(m).unwrap()
            }),
        // No columns: no rows (a count there would be unbounded work; see `Rows::decode`).
        1 => Just(Rows::empty(RowsMetadata::no_metadata(0))),
    ]
    .boxed()
}

pub(crate) fn prepared(version: Version) -> BoxedStrategy<Prepared> {
    let pk = if version >= Version::V4 { vec(any::<u16>(), 0..4).boxed() } else { Just(vec![]).boxed() };
    let result_metadata_id =
        if version >= Version::V5 { s::bytes(16).prop_map(Some).boxed() } else { Just(None).boxed() };
    (s::bytes(16), result_metadata_id, column_specs(), pk, rows_metadata(version))
        .prop_map(|(id, result_metadata_id, (global_table_spec, columns), pk_indexes, result_metadata)| Prepared {
            id,
            result_metadata_id,
            metadata: PreparedMetadata { global_table_spec, pk_indexes, columns },
            result_metadata,
        })
        .boxed()
}

pub(crate) fn schema_change() -> BoxedStrategy<SchemaChange> {
    let change =
        prop::sample::select(vec![SchemaChangeType::Created, SchemaChangeType::Updated, SchemaChangeType::Dropped]);
    let target =
        prop_oneof![
            s::text().prop_map(|keyspace| SchemaChangeTarget::Keyspace { keyspace }),
            (s::text(), s::text()).prop_map(|(keyspace, name)| SchemaChangeTarget::Table { keyspace, name }),
            (s::text(), s::text()).prop_map(|(keyspace, name)| SchemaChangeTarget::Type { keyspace, name }),
            (s::text(), s::text(), s::string_list())
                .prop_map(|(keyspace, name, arg_types)| SchemaChangeTarget::Function { keyspace, name, arg_types }),
            (s::text(), s::text(), s::string_list())
                .prop_map(|(keyspace, name, arg_types)| SchemaChangeTarget::Aggregate { keyspace, name, arg_types }),
        ];
    (change, target).prop_map(|(change, target)| SchemaChange { change, target }).boxed()
}

pub(crate) fn result(version: Version) -> BoxedStrategy<ResultBody> {
    prop_oneof![
        1 => Just(ResultBody::Void),
        4 => rows(version).prop_map(ResultBody::Rows),
        1 => s::text().prop_map(ResultBody::SetKeyspace),
        2 => prepared(version).prop_map(|p| ResultBody::Prepared(Box::new(p))),
        1 => schema_change().prop_map(ResultBody::SchemaChange),
    ]
    .boxed()
}

pub(crate) fn event() -> BoxedStrategy<Event> {
    prop_oneof![
        (
            prop::sample::select(vec![
                TopologyChangeType::NewNode,
                TopologyChangeType::RemovedNode,
                TopologyChangeType::MovedNode
            ]),
            s::socket_addr()
        )
            .prop_map(|(change, addr)| Event::TopologyChange { change, addr }),
        (prop::sample::select(vec![StatusChangeType::Up, StatusChangeType::Down]), s::socket_addr())
            .prop_map(|(change, addr)| Event::StatusChange { change, addr }),
        schema_change().prop_map(Event::SchemaChange),
    ]
    .boxed()
}

fn write_type() -> BoxedStrategy<WriteType> {
    prop_oneof![
        4 => prop::sample::select(vec![
            WriteType::Simple,
            WriteType::Batch,
            WriteType::UnloggedBatch,
            WriteType::Counter,
            WriteType::BatchLog,
            WriteType::Cas,
            WriteType::View,
            WriteType::Cdc,
        ]),
        // Lower case never collides with a known name.
        1 => "[a-z_]{0,10}".prop_map(WriteType::Other),
    ]
    .boxed()
}

fn failures(version: Version) -> BoxedStrategy<Failures> {
    if version >= Version::V5 {
        vec((s::ip(), any::<u16>()), 0..3).prop_map(Failures::ReasonMap).boxed()
    } else {
        any::<i32>().prop_map(Failures::Count).boxed()
    }
}

pub(crate) fn error_kind(version: Version) -> BoxedStrategy<ErrorKind> {
    use ErrorKind::*;
    let v5 = version >= Version::V5;
    let counts = || (s::consistency(), any::<i32>(), any::<i32>());
    Union::new(vec![
        prop::sample::select(vec![
            ServerError,
            ProtocolError,
            AuthenticationError,
            Overloaded,
            IsBootstrapping,
            TruncateError,
            CdcWriteFailure,
            SyntaxError,
            Unauthorized,
            Invalid,
            ConfigError,
        ])
        .boxed(),
        counts().prop_map(|(consistency, required, alive)| Unavailable { consistency, required, alive }).boxed(),
        (counts(), write_type(), any::<u16>())
            .prop_map(move |((consistency, received, block_for), write_type, c)| {
                let contentions = (v5 && write_type == WriteType::Cas).then_some(c);
                WriteTimeout { consistency, received, block_for, write_type, contentions }
            })
            .boxed(),
        (counts(), any::<bool>())
            .prop_map(|((consistency, received, block_for), data_present)| ReadTimeout {
                consistency,
                received,
                block_for,
                data_present,
            })
            .boxed(),
        (counts(), failures(version), any::<bool>())
            .prop_map(|((consistency, received, block_for), failures, data_present)| ReadFailure {
                consistency,
                received,
                block_for,
                failures,
                data_present,
            })
            .boxed(),
        (s::text(), s::text(), s::string_list())
            .prop_map(|(keyspace, function, arg_types)| FunctionFailure { keyspace, function, arg_types })
            .boxed(),
        (counts(), failures(version), write_type())
            .prop_map(|((consistency, received, block_for), failures, write_type)| WriteFailure {
                consistency,
                received,
                block_for,
                failures,
                write_type,
            })
            .boxed(),
        counts()
            .prop_map(|(consistency, received, block_for)| CasWriteUnknown { consistency, received, block_for })
            .boxed(),
        (s::text(), s::text()).prop_map(|(keyspace, table)| AlreadyExists { keyspace, table }).boxed(),
        s::bytes(16).prop_map(|id| Unprepared { id }).boxed(),
        any::<i32>().prop_filter("unknown code", |c| !ErrorKind::is_known_code(*c)).prop_map(Other).boxed(),
    ])
    .boxed()
}

/// Any response `version` can encode.
pub(crate) fn response(version: Version) -> impl Strategy<Value = Response> {
    Union::new_weighted(vec![
        (
            3,
            (error_kind(version), s::text())
                .prop_map(|(kind, message)| Response::Error(ErrorBody { kind, message }))
                .boxed(),
        ),
        (1, Just(Response::Ready).boxed()),
        (1, s::text().prop_map(|authenticator| Response::Authenticate(Authenticate { authenticator })).boxed()),
        (
            1,
            vec((s::text(), s::string_list()), 0..3)
                .prop_map(|options| Response::Supported(Supported { options }))
                .boxed(),
        ),
        (6, result(version).prop_map(Response::Result).boxed()),
        (2, event().prop_map(Response::Event).boxed()),
        (1, s::opt_bytes(32).prop_map(|token| Response::AuthChallenge(AuthChallenge { token })).boxed()),
        (1, s::opt_bytes(32).prop_map(|token| Response::AuthSuccess(AuthSuccess { token })).boxed()),
    ])
}
