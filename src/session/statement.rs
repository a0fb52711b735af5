//! Statements and their per-statement options: consistency, serial consistency, page
//! size, paging state, timestamp, keyspace and now_in_seconds (v5), tracing,
//! idempotence, timeout. Prepared statements keep their metadata current (v5
//! result_metadata_id, spec v5 §4.2.5.2).

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;

use crate::protocol::request::BatchType;
use crate::protocol::response::ColumnSpec;
use crate::protocol::{Consistency, QueryParameters, Values};

/// Options of one statement. Unset options take the session's defaults.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct StatementOptions {
    /// Consistency (default LOCAL_ONE).
    pub consistency: Option<Consistency>,
    /// Serial consistency for conditional statements.
    pub serial_consistency: Option<Consistency>,
    /// Rows per page (default 5000).
    pub page_size: Option<i32>,
    /// Resume a paged query here.
    pub paging_state: Option<Bytes>,
    /// Write timestamp in microseconds (default: a client-side monotonic clock).
    pub timestamp: Option<i64>,
    /// Keyspace for this statement (v5).
    pub keyspace: Option<String>,
    /// "Now" in seconds for TTL evaluation (v5, testing).
    pub now_in_seconds: Option<i32>,
    /// Ask the server to trace the request.
    pub tracing: bool,
    /// Whether the statement may be retried safely.
    pub idempotent: bool,
    /// Request timeout (default: the session's).
    pub timeout: Option<Duration>,
}

macro_rules! option_setters {
    () => {
        /// Consistency level.
        pub fn with_consistency(mut self, c: crate::protocol::Consistency) -> Self {
            self.options.consistency = Some(c);
            self
        }
        /// Serial consistency for conditional statements.
        pub fn with_serial_consistency(mut self, c: crate::protocol::Consistency) -> Self {
            self.options.serial_consistency = Some(c);
            self
        }
        /// Rows per page.
        pub fn with_page_size(mut self, n: i32) -> Self {
            self.options.page_size = Some(n);
            self
        }
        /// Resume from a paging state returned by a previous page.
        pub fn with_paging_state(mut self, state: bytes::Bytes) -> Self {
            self.options.paging_state = Some(state);
            self
        }
        /// Write timestamp in microseconds.
        pub fn with_timestamp(mut self, micros: i64) -> Self {
            self.options.timestamp = Some(micros);
            self
        }
        /// Keyspace for this statement (protocol v5).
        pub fn with_keyspace(mut self, ks: impl Into<String>) -> Self {
            self.options.keyspace = Some(ks.into());
            self
        }
        /// "Now" in seconds (protocol v5).
        pub fn with_now_in_seconds(mut self, s: i32) -> Self {
            self.options.now_in_seconds = Some(s);
            self
        }
        /// Ask the server to trace this request.
        pub fn with_tracing(mut self, on: bool) -> Self {
            self.options.tracing = on;
            self
        }
        /// Mark the statement safe to retry.
        pub fn with_idempotent(mut self, on: bool) -> Self {
            self.options.idempotent = on;
            self
        }
        /// Timeout for this statement.
        pub fn with_timeout(mut self, t: std::time::Duration) -> Self {
            self.options.timeout = Some(t);
            self
        }
        /// The options in force.
        pub fn options(&self) -> &StatementOptions {
            &self.options
        }
    };
}

/// An unprepared statement: CQL text plus options.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub(crate) text: String,
    pub(crate) options: StatementOptions,
}

impl Statement {
    /// A statement with default options.
    pub fn new(text: impl Into<String>) -> Statement {
        Statement { text: text.into(), options: StatementOptions::default() }
    }

    /// The CQL text.
    pub fn text(&self) -> &str {
        &self.text
    }

    option_setters!();
}

impl From<&str> for Statement {
    fn from(s: &str) -> Self {
        Statement::new(s)
    }
}

impl From<String> for Statement {
    fn from(s: String) -> Self {
        Statement::new(s)
    }
}

/// A prepared statement's result metadata as last heard from the server: PREPARE's,
/// kept current as the server reports changes (v5 Metadata_changed). Not to be
/// confused with the wire's
/// [`protocol::response::PreparedMetadata`](crate::protocol::response::PreparedMetadata)
/// (the bind markers).
#[derive(Debug)]
pub(crate) struct ResultMetadataCache {
    pub(crate) result_metadata_id: Option<Bytes>,
    pub(crate) result_columns: Option<Arc<[ColumnSpec]>>,
}

/// A prepared statement: cheap to clone, valid on every connection of the session
/// (re-prepared transparently where the server has forgotten it).
#[derive(Debug, Clone)]
pub struct PreparedStatement {
    pub(crate) id: Bytes,
    pub(crate) text: Arc<str>,
    pub(crate) keyspace: Option<Arc<str>>,
    pub(crate) bind_columns: Arc<[ColumnSpec]>,
    pub(crate) pk_indexes: Arc<[u16]>,
    pub(crate) metadata: Arc<Mutex<ResultMetadataCache>>,
    pub(crate) options: StatementOptions,
}

impl PreparedStatement {
    /// The statement id.
    pub fn id(&self) -> &Bytes {
        &self.id
    }

    /// The CQL text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The keyspace it was prepared for (v5 per-statement keyspace), if any.
    pub fn keyspace(&self) -> Option<&str> {
        self.keyspace.as_deref()
    }

    /// The bind markers: names and types.
    pub fn bind_columns(&self) -> &[ColumnSpec] {
        &self.bind_columns
    }

    /// Positions of the partition key among the bind markers (for token routing).
    pub fn pk_indexes(&self) -> &[u16] {
        &self.pk_indexes
    }

    /// The result columns, when the statement returns rows.
    pub fn result_columns(&self) -> Option<Arc<[ColumnSpec]>> {
        self.metadata.lock().unwrap_or_else(|e| e.into_inner()).result_columns.clone()
    }

    option_setters!();
}

/// One statement of a batch.
#[derive(Debug, Clone)]
pub enum BatchItem {
    /// CQL text with its values (serialized without metadata).
    Query(String, Values),
    /// A prepared statement with its values.
    Prepared(PreparedStatement, Values),
}

/// A batch of INSERT/UPDATE/DELETE statements.
#[derive(Debug, Clone, Default)]
pub struct Batch {
    pub(crate) kind: BatchType,
    pub(crate) items: Vec<BatchItem>,
    pub(crate) options: StatementOptions,
}

impl Batch {
    /// An empty batch of this kind (logged, unlogged, counter).
    pub fn new(kind: BatchType) -> Batch {
        Batch { kind, ..Default::default() }
    }

    /// Adds an unprepared statement with values.
    pub fn add_query(
        &mut self,
        cql: impl Into<String>,
        values: impl crate::types::SerializeRow,
    ) -> Result<&mut Self, crate::types::SerializeError> {
        let values = if values.is_empty() { Values::empty() } else { crate::types::serialize_values_untyped(&values)? };
        self.items.push(BatchItem::Query(cql.into(), values));
        Ok(self)
    }

    /// Adds a prepared statement with values checked against its markers.
    pub fn add_prepared(
        &mut self,
        p: &PreparedStatement,
        values: impl crate::types::SerializeRow,
    ) -> Result<&mut Self, crate::types::SerializeError> {
        let values = crate::types::serialize_values(&values, &p.bind_columns)?;
        self.items.push(BatchItem::Prepared(p.clone(), values));
        Ok(self)
    }

    /// Statements in the batch.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether the batch is empty.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    option_setters!();
}

/// Builds the wire parameters from options and defaults; the page size and paging
/// state are settled by the caller (the options', or a page's).
pub(crate) fn parameters(
    o: &StatementOptions,
    default_consistency: Consistency,
    page_size: i32,
    paging_state: Option<Bytes>,
    timestamp: i64,
    values: Values,
) -> QueryParameters {
    QueryParameters {
        consistency: o.consistency.unwrap_or(default_consistency),
        values,
        skip_metadata: false,
        page_size: Some(page_size),
        paging_state,
        serial_consistency: o.serial_consistency,
        timestamp: Some(o.timestamp.unwrap_or(timestamp)),
        keyspace: o.keyspace.clone(),
        now_in_seconds: o.now_in_seconds,
    }
}
