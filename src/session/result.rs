//! The result of one statement: one page of rows (if any), its paging state, server
//! warnings, the tracing id, LWT `[applied]`, schema-change details.

use bytes::Bytes;
use uuid::Uuid;

use crate::error::Error;
use crate::protocol::response::SchemaChange;
use crate::types::{DeserializeRow, RowsPage, TypedRows};

/// What a statement returned.
#[derive(Debug)]
pub struct QueryResult {
    pub(crate) rows: Option<RowsPage>,
    pub(crate) paging_state: Option<Bytes>,
    pub(crate) warnings: Vec<String>,
    pub(crate) tracing_id: Option<Uuid>,
    pub(crate) schema_change: Option<SchemaChange>,
    pub(crate) keyspace: Option<String>,
}

impl QueryResult {
    /// The page of rows, for statements that return rows.
    pub fn rows(&self) -> Option<&RowsPage> {
        self.rows.as_ref()
    }

    /// The page of rows, owned.
    pub fn into_rows(self) -> Option<RowsPage> {
        self.rows
    }

    /// The rows read as `T` (tuples, `Row`, or a `#[derive(FromRow)]` struct), borrowing
    /// from the page: `(i32, &str)` costs no copy. Types are checked once per page.
    pub fn rows_typed<'f, T: DeserializeRow<'f>>(&'f self) -> Result<TypedRows<'f, T>, Error> {
        let page = self.rows.as_ref().ok_or_else(|| Error::Unexpected("the statement returned no rows".into()))?;
        Ok(page.rows::<T>()?)
    }

    /// Where the next page starts, when the server says more pages follow.
    pub fn paging_state(&self) -> Option<&Bytes> {
        self.paging_state.as_ref()
    }

    /// Warnings the server sent with the reply.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// The tracing session id, when tracing was requested.
    pub fn tracing_id(&self) -> Option<Uuid> {
        self.tracing_id
    }

    /// For a conditional (LWT) statement: whether it was applied.
    pub fn was_applied(&self) -> Option<bool> {
        let page = self.rows.as_ref()?;
        let first = page.columns().first()?;
        if first.name != "[applied]" {
            return None;
        }
        page.iter().next()?.cell(0).flatten().and_then(|b| b.first()).map(|b| *b != 0)
    }

    /// What a DDL statement changed.
    pub fn schema_change(&self) -> Option<&SchemaChange> {
        self.schema_change.as_ref()
    }

    /// The keyspace a `USE` switched to.
    pub fn keyspace(&self) -> Option<&str> {
        self.keyspace.as_deref()
    }
}
