//! Proptest strategies for request bodies, per version (test-only).

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;

use super::*;
use crate::protocol::header::Version;
use crate::protocol::response::EventType;
use crate::protocol::strategies as s;

fn v5_field<T: std::fmt::Debug + Clone + 'static>(
    version: Version,
    inner: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    if version >= Version::V5 { option::of(inner).boxed() } else { Just(None).boxed() }
}

pub(crate) fn query_parameters(
    version: Version,
    values: BoxedStrategy<crate::protocol::Values>,
) -> impl Strategy<Value = QueryParameters> {
    (
        s::consistency(),
        values,
        any::<bool>(),
        option::of(any::<i32>()),
        s::opt_bytes(16),
        option::of(s::serial_consistency()),
        option::of(any::<i64>()),
        v5_field(version, s::text()),
        v5_field(version, any::<i32>()),
    )
        .prop_map(
            |(
                consistency,
                values,
                skip_metadata,
                page_size,
                paging_state,
                serial_consistency,
                timestamp,
                keyspace,
                now_in_seconds,
            )| {
                QueryParameters {
                    consistency,
                    values,
                    skip_metadata,
                    page_size,
                    paging_state,
                    serial_consistency,
                    timestamp,
                    keyspace,
                    now_in_seconds,
                }
            },
        )
}

fn batch(version: Version) -> impl Strategy<Value = Batch> {
    let stmt = (
        prop_oneof![s::text().prop_map(BatchStatementKind::Query), s::bytes(16).prop_map(BatchStatementKind::Prepared)],
        s::positional_values(),
    )
        .prop_map(|(kind, values)| BatchStatement { kind, values });
    (
        prop::sample::select(vec![BatchType::Logged, BatchType::Unlogged, BatchType::Counter]),
        vec(stmt, 0..4),
        s::consistency(),
        option::of(s::serial_consistency()),
        option::of(any::<i64>()),
        v5_field(version, s::text()),
        v5_field(version, any::<i32>()),
    )
        .prop_map(
            |(batch_type, statements, consistency, serial_consistency, timestamp, keyspace, now_in_seconds)| Batch {
                batch_type,
                statements,
                consistency,
                serial_consistency,
                timestamp,
                keyspace,
                now_in_seconds,
            },
        )
}

/// Any request `version` can encode.
pub(crate) fn request(version: Version) -> BoxedStrategy<Request> {
    let v5 = version >= Version::V5;
    prop_oneof![
        vec((s::text(), s::text()), 0..4).prop_map(|options| Request::Startup(Startup { options })),
        s::opt_bytes(32).prop_map(|token| Request::AuthResponse(AuthResponse { token })),
        Just(Request::Options(Options)),
        (s::text(), query_parameters(version, s::values().boxed()))
            .prop_map(|(query, params)| Request::Query(Query { query, params })),
        (s::text(), v5_field(version, s::text()))
            .prop_map(|(query, keyspace)| Request::Prepare(Prepare { query, keyspace })),
        (s::bytes(16), s::bytes(16), query_parameters(version, s::positional_values().boxed())).prop_map(
            move |(id, rid, params)| Request::Execute(Execute { id, result_metadata_id: v5.then_some(rid), params })
        ),
        batch(version).prop_map(Request::Batch),
        vec(
            prop::sample::select(vec![EventType::TopologyChange, EventType::StatusChange, EventType::SchemaChange]),
            0..3
        )
        .prop_map(|events| Request::Register(Register { events })),
    ]
    .boxed()
}
