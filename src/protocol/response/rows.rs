//! Rows results (v4/v5 §4.2.5.2): the result metadata and the rows content, kept as one
//! zero-copy slice of the body.
//!
//! Owns the metadata layout (flags, paging state, v5 `new_metadata_id`, table and column
//! specs, shared with [`super::prepared`]), the one-pass validation of the cells, and
//! borrowing iteration over rows and cells. Decoding allocates for the metadata only;
//! the cells are walked once to check their lengths, then handed out as `&[u8]` slices
//! of the page's [`Bytes`]. Turning cell bytes into Rust values is not this module's job.

use std::iter::FusedIterator;

use bytes::{BufMut, Bytes, BytesMut};

use super::invalid;
use crate::protocol::column_type::ColumnType;
use crate::protocol::error::{DecodeError, EncodeError};
use crate::protocol::header::Version;
use crate::protocol::wire::{self, Reader};

// spec v5 §4.2.5.2: the metadata flags.
const GLOBAL_TABLES_SPEC: i32 = 0x0001;
const HAS_MORE_PAGES: i32 = 0x0002;
const NO_METADATA: i32 = 0x0004;
const METADATA_CHANGED: i32 = 0x0008;

/// Column specs are reserved up to this many ahead of parsing; past it the vector
/// grows with the specs actually read, so a hostile count cannot reserve memory.
const MAX_PREALLOC: usize = 1024;

/// The keyspace and table a column belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct TableSpec {
    /// Keyspace name.
    pub keyspace: String,
    /// Table name.
    pub table: String,
}

/// One column of a result, or one bind marker of a prepared statement.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ColumnSpec {
    /// Keyspace of the column's table (copied from the global table spec when the
    /// server sent one).
    pub keyspace: String,
    /// Table of the column (likewise).
    pub table: String,
    /// Column name, alias or bind marker name.
    pub name: String,
    /// The column's type.
    pub typ: ColumnType,
}

/// The `<metadata>` of a Rows result, also used as the result metadata of Prepared.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowsMetadata {
    /// The table every column belongs to, when the server sent the global form
    /// (Global_tables_spec). Requires `columns`; every column must match it.
    pub global_table_spec: Option<TableSpec>,
    /// Number of columns in each row; equals `columns.len()` when `columns` is present.
    pub columns_count: usize,
    /// Where the next page starts (Has_more_pages): `Some` means more pages follow.
    pub paging_state: Option<Bytes>,
    /// v5 only (Metadata_changed): the id of the changed result metadata, to use in
    /// later EXECUTEs of the statement.
    pub new_metadata_id: Option<Bytes>,
    /// The column specs; `None` when the server left them out (No_metadata, after the
    /// request asked to skip metadata).
    pub columns: Option<Vec<ColumnSpec>>,
}

impl TableSpec {
    /// A table spec.
    pub fn new(keyspace: impl Into<String>, table: impl Into<String>) -> TableSpec {
        TableSpec { keyspace: keyspace.into(), table: table.into() }
    }
}

impl ColumnSpec {
    /// A column spec.
    pub fn new(
        keyspace: impl Into<String>,
        table: impl Into<String>,
        name: impl Into<String>,
        typ: ColumnType,
    ) -> ColumnSpec {
        ColumnSpec { keyspace: keyspace.into(), table: table.into(), name: name.into(), typ }
    }

    fn in_table(&self, t: &TableSpec) -> bool {
        self.keyspace == t.keyspace && self.table == t.table
    }
}

/// The global table spec to use for `columns`: their common table, if they have one.
pub(super) fn common_table(columns: &[ColumnSpec]) -> Option<TableSpec> {
    let first = columns.first()?;
    let t = TableSpec::new(first.keyspace.as_str(), first.table.as_str());
    columns.iter().all(|c| c.in_table(&t)).then_some(t)
}

/// Writes `[<global_table_spec>]<col_spec_1>...<col_spec_n>` (spec v5 §4.2.5.2).
pub(super) fn encode_columns(
    buf: &mut BytesMut,
    version: Version,
    global: Option<&TableSpec>,
    columns: &[ColumnSpec],
) -> Result<(), EncodeError> {
    if let Some(g) = global {
        wire::put_string(buf, &g.keyspace, "global keyspace")?;
        wire::put_string(buf, &g.table, "global table")?;
    }
    for c in columns {
        match global {
            Some(g) if !c.in_table(g) => {
                return Err(EncodeError::Invalid {
                    what: "column spec",
                    detail: format!(
                        "column {:?} is in {}.{}, not in the global table {}.{}",
                        c.name, c.keyspace, c.table, g.keyspace, g.table
                    ),
                });
            }
            Some(_) => {}
            None => {
                wire::put_string(buf, &c.keyspace, "column keyspace")?;
                wire::put_string(buf, &c.table, "column table")?;
            }
        }
        wire::put_string(buf, &c.name, "column name")?;
        c.typ.encode(buf, version)?;
    }
    Ok(())
}

/// Reads `[<global_table_spec>]` and `n` column specs. The caller has checked `n`
/// against the input with [`min_column_spec_len`].
pub(super) fn decode_columns(
    r: &mut Reader<'_>,
    version: Version,
    global: bool,
    n: usize,
) -> Result<(Option<TableSpec>, Vec<ColumnSpec>), DecodeError> {
    let global = if global {
        let keyspace = r.read_string("global keyspace")?;
        Some(TableSpec { keyspace, table: r.read_string("global table")? })
    } else {
        None
    };
    let mut columns = Vec::with_capacity(n.min(MAX_PREALLOC));
    for _ in 0..n {
        let (keyspace, table) = match &global {
            Some(g) => (g.keyspace.clone(), g.table.clone()),
            None => {
                let keyspace = r.read_string("column keyspace")?;
                (keyspace, r.read_string("column table")?)
            }
        };
        let name = r.read_string("column name")?;
        let typ = ColumnType::decode(r, version)?;
        columns.push(ColumnSpec { keyspace, table, name, typ });
    }
    Ok((global, columns))
}

/// The fewest bytes one column spec takes: a name and a type id, plus two empty
/// strings when there is no global table spec.
pub(super) fn min_column_spec_len(global: bool) -> usize {
    if global { 4 } else { 8 }
}

impl RowsMetadata {
    /// Metadata with these columns and no paging state. The global table spec is used
    /// when every column belongs to the same table, as servers do.
    pub fn new(columns: Vec<ColumnSpec>) -> RowsMetadata {
        RowsMetadata {
            global_table_spec: common_table(&columns),
            columns_count: columns.len(),
            paging_state: None,
            new_metadata_id: None,
            columns: Some(columns),
        }
    }

    /// Metadata without column specs (No_metadata), for `columns_count` columns.
    pub fn no_metadata(columns_count: usize) -> RowsMetadata {
        RowsMetadata { columns_count, ..RowsMetadata::default() }
    }

    /// Whether more pages follow this one.
    pub fn has_more_pages(&self) -> bool {
        self.paging_state.is_some()
    }

    fn check(&self) -> Result<(), EncodeError> {
        match &self.columns {
            Some(c) if c.len() != self.columns_count => Err(EncodeError::Invalid {
                what: "rows metadata",
                detail: format!("columns_count is {} but {} column specs are given", self.columns_count, c.len()),
            }),
            None if self.global_table_spec.is_some() => Err(EncodeError::Invalid {
                what: "rows metadata",
                detail: "a global table spec needs column specs (it is not sent with No_metadata)".into(),
            }),
            _ => Ok(()),
        }
    }

    pub(crate) fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        self.check()?;
        if self.new_metadata_id.is_some() && version < Version::V5 {
            return Err(EncodeError::NotInVersion { what: "new_metadata_id", version });
        }
        let mut flags = 0;
        if self.global_table_spec.is_some() {
            flags |= GLOBAL_TABLES_SPEC;
        }
        if self.paging_state.is_some() {
            flags |= HAS_MORE_PAGES;
        }
        if self.columns.is_none() {
            flags |= NO_METADATA;
        }
        if self.new_metadata_id.is_some() {
            flags |= METADATA_CHANGED;
        }
        buf.put_i32(flags);
        wire::put_int_len(buf, self.columns_count, "columns_count")?;
        if let Some(p) = &self.paging_state {
            wire::put_bytes(buf, Some(p), "paging state")?;
        }
        if let Some(id) = &self.new_metadata_id {
            wire::put_short_bytes(buf, id, "new_metadata_id")?;
        }
        if let Some(columns) = &self.columns {
            encode_columns(buf, version, self.global_table_spec.as_ref(), columns)?;
        }
        Ok(())
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<RowsMetadata, DecodeError> {
        let flags = r.read_i32("rows metadata flags")?;
        let no_metadata = flags & NO_METADATA != 0;
        let global = flags & GLOBAL_TABLES_SPEC != 0;
        // With metadata, every column has a spec in the input; without, the count is
        // checked against the rows instead (in `Rows::decode`).
        let min = if no_metadata { 0 } else { min_column_spec_len(global) };
        let columns_count = r.read_count_i32("columns_count", min)?;
        let paging_state = if flags & HAS_MORE_PAGES != 0 {
            let at = r.position();
            // A null state would silently end paging; refuse it rather than drop pages.
            Some(r.read_bytes("paging state")?.ok_or_else(|| invalid("paging state", at, "null with Has_more_pages"))?)
        } else {
            None
        };
        // spec v5 §4.2.5.2: Metadata_changed is new in v5; earlier versions never set it.
        let new_metadata_id = if version >= Version::V5 && flags & METADATA_CHANGED != 0 {
            Some(r.read_short_bytes("new_metadata_id")?)
        } else {
            None
        };
        let (global_table_spec, columns) = if no_metadata {
            (None, None)
        } else {
            let (g, c) = decode_columns(r, version, global, columns_count)?;
            (g, Some(c))
        };
        Ok(RowsMetadata { global_table_spec, columns_count, paging_state, new_metadata_id, columns })
    }
}

/// A page of rows: the metadata and the rows content as one slice of the body.
///
/// The content is exactly `rows_count × columns_count` `[bytes]` cells, checked when the
/// value is built or decoded, so iterating it cannot fail.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rows {
    metadata: RowsMetadata,
    rows_count: usize,
    content: Bytes,
}

/// Why a run of cells is malformed, with offsets relative to the run.
enum CellError {
    Truncated { at: usize, needed: usize, available: usize },
    BadLength { at: usize, len: i32 },
}

/// Walks `cells` `[bytes]` cells at the start of `data` and returns how many bytes they
/// span. A length of -1 is null; other negative lengths are refused (servers only
/// ever send -1).
fn walk_cells(data: &[u8], cells: usize) -> Result<usize, CellError> {
    let mut pos = 0usize;
    for _ in 0..cells {
        let Some(len) = data.get(pos..).and_then(<[u8]>::first_chunk::<4>) else {
            return Err(CellError::Truncated { at: pos, needed: 4, available: data.len().saturating_sub(pos) });
        };
        let len = i32::from_be_bytes(*len);
        let at = pos;
        pos += 4;
        if len >= 0 {
            let len = len as usize;
            let available = data.len() - pos;
            if len > available {
                return Err(CellError::Truncated { at: pos, needed: len, available });
            }
            pos += len;
        } else if len != -1 {
            return Err(CellError::BadLength { at, len });
        }
    }
    Ok(pos)
}

/// `rows × columns` cells, if the input could possibly hold them (4 bytes at least each).
fn cells_fit(rows: usize, columns: usize, available: usize) -> Option<usize> {
    let cells = rows.checked_mul(columns)?;
    (cells.checked_mul(4)? <= available).then_some(cells)
}

impl Rows {
    /// Rows from pre-encoded content (the server side): `content` must be exactly
    /// `rows_count × metadata.columns_count` `[bytes]` cells. See [`RowsWriter`] to build it.
    pub fn new(metadata: RowsMetadata, rows_count: usize, content: Bytes) -> Result<Rows, EncodeError> {
        metadata.check()?;
        let bad = |detail: String| EncodeError::Invalid { what: "rows content", detail };
        let columns = metadata.columns_count;
        if columns == 0 {
            if !content.is_empty() {
                return Err(bad(format!("{} bytes of content for rows with no columns", content.len())));
            }
            if rows_count > 0 {
                return Err(bad(format!("{rows_count} rows with no columns")));
            }
        } else {
            let cells = cells_fit(rows_count, columns, content.len()).ok_or_else(|| {
                bad(format!("{rows_count} rows of {columns} columns cannot fit {} bytes", content.len()))
            })?;
            match walk_cells(&content, cells) {
                Ok(n) if n == content.len() => {}
                Ok(n) => return Err(bad(format!("{} bytes after the last row", content.len() - n))),
                Err(CellError::Truncated { at, .. }) => return Err(bad(format!("cell at byte {at} is truncated"))),
                Err(CellError::BadLength { at, len }) => {
                    return Err(bad(format!("cell at byte {at} has length {len}")));
                }
            }
        }
        Ok(Rows { metadata, rows_count, content })
    }

    /// No rows.
    pub fn empty(metadata: RowsMetadata) -> Rows {
        Rows { metadata, rows_count: 0, content: Bytes::new() }
    }

    /// The result metadata (paging state, columns).
    pub fn metadata(&self) -> &RowsMetadata {
        &self.metadata
    }

    /// Replaces the metadata and keeps the rows: for a page fetched without metadata,
    /// whose columns the caller knows from the prepared statement. The column count
    /// must stay the same.
    pub fn set_metadata(&mut self, metadata: RowsMetadata) -> Result<(), EncodeError> {
        metadata.check()?;
        if metadata.columns_count != self.metadata.columns_count {
            return Err(EncodeError::Invalid {
                what: "rows metadata",
                detail: format!(
                    "{} columns, but the rows have {}",
                    metadata.columns_count, self.metadata.columns_count
                ),
            });
        }
        self.metadata = metadata;
        Ok(())
    }

    /// Number of rows in this page.
    pub fn rows_count(&self) -> usize {
        self.rows_count
    }

    /// Number of cells in each row.
    pub fn columns_count(&self) -> usize {
        self.metadata.columns_count
    }

    /// The encoded cells of every row, back to back.
    pub fn content(&self) -> &Bytes {
        &self.content
    }

    /// The rows, borrowed from the content.
    pub fn iter(&self) -> RowIter<'_> {
        RowIter { data: &self.content, rows_left: self.rows_count, columns: self.metadata.columns_count }
    }

    /// The metadata, the row count and the content.
    pub fn into_parts(self) -> (RowsMetadata, usize, Bytes) {
        (self.metadata, self.rows_count, self.content)
    }

    pub(crate) fn encode(&self, version: Version, buf: &mut BytesMut) -> Result<(), EncodeError> {
        self.metadata.encode(version, buf)?;
        wire::put_int_len(buf, self.rows_count, "rows_count")?;
        buf.put_slice(&self.content);
        Ok(())
    }

    pub(crate) fn decode(version: Version, r: &mut Reader<'_>) -> Result<Rows, DecodeError> {
        let metadata = RowsMetadata::decode(version, r)?;
        let at = r.position();
        let rows_count = r.read_len("rows_count")?;
        let columns = metadata.columns_count;
        if columns == 0 {
            // A row of no columns takes no bytes, so a count here is not bounded by the
            // input: 2^31 - 1 empty rows in a 20-byte body would have every consumer
            // iterate for minutes. No CQL statement returns rows without columns (a
            // SELECT names at least one), so such a page holds no rows.
            if rows_count > 0 {
                return Err(DecodeError::InvalidLength {
                    what: "rows_count of a page with no columns",
                    at,
                    len: rows_count as i64,
                });
            }
            return Ok(Rows { metadata, rows_count, content: Bytes::new() });
        }
        // Refuse counts the input cannot hold before walking anything; this also bounds
        // the walk by the input size.
        let cells = cells_fit(rows_count, columns, r.remaining()).ok_or(DecodeError::InvalidLength {
            what: "rows_count",
            at,
            len: rows_count as i64,
        })?;
        let start = r.position();
        let mut probe = r.clone();
        let tail = probe.take(probe.remaining(), "rows content")?;
        let len = walk_cells(tail, cells).map_err(|e| match e {
            CellError::Truncated { at, needed, available } => {
                DecodeError::Truncated { what: "row cell", at: start + at, needed, available }
            }
            CellError::BadLength { at, len } => {
                DecodeError::InvalidLength { what: "row cell", at: start + at, len: len.into() }
            }
        })?;
        // Bytes after the last row are left unread (spec §4.2: clients ignore them).
        let content = r.take_bytes(len, "rows content")?;
        Ok(Rows { metadata, rows_count, content })
    }
}

impl<'a> IntoIterator for &'a Rows {
    type Item = RawRow<'a>;
    type IntoIter = RowIter<'a>;

    fn into_iter(self) -> RowIter<'a> {
        self.iter()
    }
}

/// Iterator over the rows of a [`Rows`] page.
#[derive(Debug, Clone)]
pub struct RowIter<'a> {
    data: &'a [u8],
    rows_left: usize,
    columns: usize,
}

impl<'a> Iterator for RowIter<'a> {
    type Item = RawRow<'a>;

    fn next(&mut self) -> Option<RawRow<'a>> {
        if self.rows_left == 0 {
            return None;
        }
        // The content was validated when the page was built; should a walk fail all the
        // same, the iteration ends instead of panicking.
        let split = walk_cells(self.data, self.columns).ok().and_then(|n| self.data.split_at_checked(n));
        let Some((row, rest)) = split else {
            self.rows_left = 0;
            return None;
        };
        self.data = rest;
        self.rows_left -= 1;
        Some(RawRow { data: row, columns: self.columns })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.rows_left, Some(self.rows_left))
    }
}

impl ExactSizeIterator for RowIter<'_> {}
impl FusedIterator for RowIter<'_> {}

/// One row: its cells, borrowed from the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawRow<'a> {
    data: &'a [u8],
    columns: usize,
}

impl<'a> RawRow<'a> {
    /// Number of cells.
    pub fn len(&self) -> usize {
        self.columns
    }

    /// Whether the row has no cells (a result with no columns).
    pub fn is_empty(&self) -> bool {
        self.columns == 0
    }

    /// The cells in column order: `None` for null.
    pub fn cells(&self) -> CellIter<'a> {
        CellIter { data: self.data, left: self.columns }
    }

    /// Cell `i`: `None` when there is no such column, `Some(None)` when it is null.
    /// Walks the cells before it.
    pub fn cell(&self, i: usize) -> Option<Option<&'a [u8]>> {
        self.cells().nth(i)
    }

    /// The row's encoded cells.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.data
    }
}

impl<'a> IntoIterator for RawRow<'a> {
    type Item = Option<&'a [u8]>;
    type IntoIter = CellIter<'a>;

    fn into_iter(self) -> CellIter<'a> {
        self.cells()
    }
}

/// Iterator over the cells of a [`RawRow`]: `None` for null.
#[derive(Debug, Clone)]
pub struct CellIter<'a> {
    data: &'a [u8],
    left: usize,
}

impl<'a> CellIter<'a> {
    /// The cells of one encoded row of `columns` cells. Crate-only: the row must come
    /// from a validated page, which is what makes the exact size hint true.
    pub(crate) fn new(row: &'a [u8], columns: usize) -> CellIter<'a> {
        CellIter { data: row, left: columns }
    }
}

/// The first cell of `data` and what follows it.
pub(crate) fn next_cell(data: &[u8]) -> Option<(Option<&[u8]>, &[u8])> {
    let (len, rest) = data.split_first_chunk::<4>()?;
    let Ok(len) = usize::try_from(i32::from_be_bytes(*len)) else {
        return Some((None, rest));
    };
    let (cell, rest) = rest.split_at_checked(len)?;
    Some((Some(cell), rest))
}

impl<'a> Iterator for CellIter<'a> {
    type Item = Option<&'a [u8]>;

    fn next(&mut self) -> Option<Option<&'a [u8]>> {
        if self.left == 0 {
            return None;
        }
        let Some((cell, rest)) = next_cell(self.data) else {
            self.left = 0;
            return None;
        };
        self.data = rest;
        self.left -= 1;
        Some(cell)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for CellIter<'_> {}
impl FusedIterator for CellIter<'_> {}

/// Builds the content of a [`Rows`] page cell by cell (the test server, tests).
#[derive(Debug, Default)]
pub struct RowsWriter {
    buf: BytesMut,
    columns: usize,
    rows: usize,
    in_row: usize,
}

impl RowsWriter {
    /// A writer for rows of `columns_count` cells.
    pub fn new(columns_count: usize) -> RowsWriter {
        RowsWriter { columns: columns_count, ..RowsWriter::default() }
    }

    /// Like [`RowsWriter::new`], reserving `bytes` of content up front.
    pub fn with_capacity(columns_count: usize, bytes: usize) -> RowsWriter {
        RowsWriter { buf: BytesMut::with_capacity(bytes), ..RowsWriter::new(columns_count) }
    }

    /// Appends the next cell (`None` = null); a row ends after `columns_count` cells.
    pub fn push(&mut self, cell: Option<&[u8]>) -> Result<(), EncodeError> {
        if self.columns == 0 {
            return Err(EncodeError::Invalid {
                what: "rows content",
                detail: "rows with no columns have no cells; use push_row".into(),
            });
        }
        wire::put_bytes(&mut self.buf, cell, "row cell")?;
        self.in_row += 1;
        if self.in_row == self.columns {
            self.in_row = 0;
            self.rows += 1;
        }
        Ok(())
    }

    /// Appends a whole row, which must have exactly `columns_count` cells and start at
    /// a row boundary. On error nothing is appended.
    pub fn push_row<'c, I>(&mut self, cells: I) -> Result<(), EncodeError>
    where
        I: IntoIterator<Item = Option<&'c [u8]>>,
    {
        let bad = |detail: String| EncodeError::Invalid { what: "rows content", detail };
        if self.in_row != 0 {
            return Err(bad(format!("row started with {} of {} cells already pushed", self.in_row, self.columns)));
        }
        let start = self.buf.len();
        let mut n = 0usize;
        let mut result = Ok(());
        for cell in cells {
            n += 1;
            if n > self.columns {
                break;
            }
            if let Err(e) = wire::put_bytes(&mut self.buf, cell, "row cell") {
                result = Err(e);
                break;
            }
        }
        if result.is_ok() && n != self.columns {
            result = Err(bad(format!(
                "a row of {} columns got {}{} cells",
                self.columns,
                n,
                if n > self.columns { "+" } else { "" }
            )));
        }
        match result {
            Ok(()) => self.rows += 1,
            Err(_) => self.buf.truncate(start),
        }
        result
    }

    /// Complete rows so far.
    pub fn rows_count(&self) -> usize {
        self.rows
    }

    /// The page: `metadata.columns_count` must be this writer's, and the last row complete.
    pub fn finish(self, metadata: RowsMetadata) -> Result<Rows, EncodeError> {
        metadata.check()?;
        let bad = |detail: String| EncodeError::Invalid { what: "rows content", detail };
        if self.in_row != 0 {
            return Err(bad(format!("the last row has {} of {} cells", self.in_row, self.columns)));
        }
        if metadata.columns_count != self.columns {
            return Err(bad(format!("rows of {} cells, metadata of {} columns", self.columns, metadata.columns_count)));
        }
        if self.columns == 0 && self.rows > 0 {
            return Err(bad(format!("{} rows with no columns", self.rows)));
        }
        Ok(Rows { metadata, rows_count: self.rows, content: self.buf.freeze() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::header::Opcode;
    use crate::protocol::response::testing::*;
    use crate::protocol::response::{Response, ResultBody};

    fn rows_of(resp: Result<Response, DecodeError>) -> Rows {
        match resp {
            Ok(Response::Result(ResultBody::Rows(rows))) => rows,
            other => panic!("not rows: {other:?}"),
        }
    }

    #[rustfmt::skip]
    const PAGED_ROWS: &[u8] = &[
        0x00, 0x00, 0x00, 0x02,                         // RESULT kind: Rows
        0x00, 0x00, 0x00, 0x03,                         // flags: Global_tables_spec | Has_more_pages
        0x00, 0x00, 0x00, 0x02,                         // columns_count 2
        0x00, 0x00, 0x00, 0x03, 0x01, 0x02, 0x03,       // paging state [bytes]
        0x00, 0x02, b'k', b's',                         // global keyspace
        0x00, 0x01, b't',                               // global table
        0x00, 0x02, b'i', b'd', 0x00, 0x09,             // column "id" int
        0x00, 0x01, b'v', 0x00, 0x0d,                   // column "v" varchar
        0x00, 0x00, 0x00, 0x02,                         // rows_count 2
        0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x01, // row 1: id = 1
        0x00, 0x00, 0x00, 0x02, b'h', b'i',             //        v = "hi"
        0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x02, // row 2: id = 2
        0xff, 0xff, 0xff, 0xff,                         //        v = null
        0x00,                                           // not part of the vector (trailing)
    ];

    fn paged_rows() -> Rows {
        let metadata = RowsMetadata {
            paging_state: Some(Bytes::from_static(&[1, 2, 3])),
            ..RowsMetadata::new(vec![
                ColumnSpec::new("ks", "t", "id", ColumnType::Int),
                ColumnSpec::new("ks", "t", "v", ColumnType::Varchar),
            ])
        };
        let mut w = RowsWriter::new(2);
        w.push_row([Some(&[0, 0, 0, 1][..]), Some(&b"hi"[..])]).unwrap();
        w.push(Some(&[0, 0, 0, 2])).unwrap();
        w.push(None).unwrap();
        w.finish(metadata).unwrap()
    }

    #[test]
    fn paged_rows_vector() {
        let body = &PAGED_ROWS[..PAGED_ROWS.len() - 1];
        let expected = paged_rows();
        assert_eq!(expected.metadata().global_table_spec, Some(TableSpec::new("ks", "t")));
        for v in Version::ALL {
            check_vector(v, body, &Response::Result(ResultBody::Rows(expected.clone())));
        }
        // Trailing bytes are ignored, and not part of the content.
        let rows = rows_of(decode(Opcode::Result, Version::V4, PAGED_ROWS));
        assert_eq!(rows, expected);
        assert_eq!(rows.content().len(), 26);
        assert!(rows.metadata().has_more_pages());

        let cells: Vec<Vec<Option<&[u8]>>> = rows.iter().map(|r| r.cells().collect()).collect();
        assert_eq!(cells, vec![vec![Some(&[0, 0, 0, 1][..]), Some(&b"hi"[..])], vec![Some(&[0, 0, 0, 2][..]), None]]);
        let second = rows.iter().nth(1).unwrap();
        assert_eq!(second.len(), 2);
        assert_eq!(second.cell(0), Some(Some(&[0, 0, 0, 2][..])));
        assert_eq!(second.cell(1), Some(None));
        assert_eq!(second.cell(2), None);
        assert_eq!(rows.iter().len(), 2);
    }

    #[test]
    fn content_is_a_slice_of_the_body() {
        let src = Bytes::copy_from_slice(PAGED_ROWS);
        let resp = Response::decode_body(Opcode::Result, Version::V4, &mut Reader::new(&src));
        let rows = rows_of(resp);
        let body_range = src.as_ptr() as usize..src.as_ptr() as usize + src.len();
        assert!(body_range.contains(&(rows.content().as_ptr() as usize)));
        let cell = rows.iter().next().unwrap().cell(1).unwrap().unwrap();
        assert!(body_range.contains(&(cell.as_ptr() as usize)));
    }

    /// A Rows body with No_metadata: flags, counts, then `cells`.
    fn no_metadata_body(columns: i32, rows: i32, cells: &[u8]) -> Vec<u8> {
        let mut b = vec![0, 0, 0, 2, 0, 0, 0, 4];
        b.extend_from_slice(&columns.to_be_bytes());
        b.extend_from_slice(&rows.to_be_bytes());
        b.extend_from_slice(cells);
        b
    }

    #[test]
    fn hostile_counts_are_refused_without_work() {
        let v = Version::V5;
        let one_cell = [0, 0, 0, 0];
        for (columns, rows) in [(1, i32::MAX), (i32::MAX, 1), (i32::MAX, i32::MAX), (2, 1), (65536, 65536)] {
            assert!(
                matches!(
                    decode(Opcode::Result, v, &no_metadata_body(columns, rows, &one_cell)),
                    Err(DecodeError::InvalidLength { what: "rows_count", at: 12, .. })
                ),
                "{columns} x {rows}"
            );
        }
        for (columns, rows) in [(-1, 0), (i32::MIN, 0), (1, -1), (1, i32::MIN)] {
            assert!(matches!(
                decode(Opcode::Result, v, &no_metadata_body(columns, rows, &one_cell)),
                Err(DecodeError::InvalidLength { .. })
            ));
        }
        // Many columns and no rows is fine without metadata.
        let rows = rows_of(decode(Opcode::Result, v, &no_metadata_body(i32::MAX, 0, &[])));
        assert_eq!((rows.rows_count(), rows.columns_count()), (0, i32::MAX as usize));
        assert_eq!(rows.iter().next(), None);
        // With metadata, a column count the input cannot hold is refused up front.
        let mut b = vec![0, 0, 0, 2, 0, 0, 0, 1];
        b.extend_from_slice(&i32::MAX.to_be_bytes());
        b.extend_from_slice(&[0, 1, b'k', 0, 1, b't', 0, 1, b'c', 0, 9, 0, 0, 0, 0]);
        assert!(matches!(decode(Opcode::Result, v, &b), Err(DecodeError::InvalidLength { what: "columns_count", .. })));
    }

    #[test]
    fn zero_columns_hold_no_rows() {
        // Rows of no columns take no bytes, so their count is not bounded by the input:
        // refused, on decode and on every way of building a page.
        let refused = decode(Opcode::Result, Version::V4, &no_metadata_body(0, i32::MAX, &[1, 2, 3])).unwrap_err();
        assert!(matches!(refused, DecodeError::InvalidLength { what: "rows_count of a page with no columns", .. }));
        let rows = rows_of(decode(Opcode::Result, Version::V4, &no_metadata_body(0, 0, &[])));
        assert_eq!((rows.rows_count(), rows.iter().count()), (0, 0));
        let resp = Response::Result(ResultBody::Rows(rows));
        assert_eq!(encode(&resp, Version::V4).unwrap(), no_metadata_body(0, 0, &[]));

        let mut w = RowsWriter::new(0);
        assert!(w.push(None).is_err());
        w.push_row([]).unwrap();
        assert!(w.finish(RowsMetadata::new(vec![])).is_err());
        assert!(RowsWriter::new(0).finish(RowsMetadata::new(vec![])).is_ok());
        assert!(Rows::new(RowsMetadata::no_metadata(0), 5, Bytes::from_static(&[0])).is_err());
        assert!(Rows::new(RowsMetadata::no_metadata(0), 5, Bytes::new()).is_err());
        assert_eq!(Rows::new(RowsMetadata::no_metadata(0), 0, Bytes::new()).unwrap().iter().count(), 0);
    }

    #[test]
    fn bad_cells() {
        let v = Version::V4;
        // Length -2 is not a valid cell.
        let b = no_metadata_body(1, 1, &[0xff, 0xff, 0xff, 0xfe]);
        assert!(matches!(
            decode(Opcode::Result, v, &b),
            Err(DecodeError::InvalidLength { what: "row cell", at: 16, len: -2 })
        ));
        // A cell claiming i32::MAX bytes.
        let b = no_metadata_body(1, 1, &[0x7f, 0xff, 0xff, 0xff, 0]);
        assert!(matches!(
            decode(Opcode::Result, v, &b),
            Err(DecodeError::Truncated { what: "row cell", at: 20, needed: 0x7fff_ffff, available: 1 })
        ));
        // Second row missing.
        let b = no_metadata_body(1, 2, &[0, 0, 0, 1, 9, 0, 0, 0]);
        assert!(matches!(decode(Opcode::Result, v, &b), Err(DecodeError::Truncated { what: "row cell", .. })));
        // i32::MIN is refused too.
        let b = no_metadata_body(1, 1, &[0x80, 0, 0, 0]);
        assert!(decode(Opcode::Result, v, &b).is_err());
    }

    #[test]
    fn paging_state_edges() {
        let v = Version::V4;
        let head = |len: i32| {
            let mut b = vec![0, 0, 0, 2, 0, 0, 0, 6, 0, 0, 0, 0];
            b.extend_from_slice(&len.to_be_bytes());
            b
        };
        let mut b = head(-1);
        b.extend_from_slice(&[0, 0, 0, 0]);
        assert!(matches!(decode(Opcode::Result, v, &b), Err(DecodeError::Invalid { what: "paging state", .. })));
        let mut b = head(i32::MAX);
        b.extend_from_slice(&[0, 0, 0, 0]);
        assert!(matches!(decode(Opcode::Result, v, &b), Err(DecodeError::Truncated { what: "paging state", .. })));
        let mut b = head(0);
        b.extend_from_slice(&[0, 0, 0, 0]);
        let rows = rows_of(decode(Opcode::Result, v, &b));
        assert_eq!(rows.metadata().paging_state, Some(Bytes::new()));
    }

    #[test]
    fn metadata_changed_is_v5_only() {
        // flags No_metadata | Metadata_changed, 0 columns, new_metadata_id [0xaa], 0 rows.
        let b = [0, 0, 0, 2, 0, 0, 0, 0x0c, 0, 0, 0, 0, 0, 1, 0xaa, 0, 0, 0, 0];
        let rows = rows_of(decode(Opcode::Result, Version::V5, &b));
        assert_eq!(rows.metadata().new_metadata_id, Some(Bytes::from_static(&[0xaa])));
        check_vector(Version::V5, &b, &Response::Result(ResultBody::Rows(rows.clone())));
        assert!(matches!(
            encode(&Response::Result(ResultBody::Rows(rows)), Version::V4),
            Err(EncodeError::NotInVersion { what: "new_metadata_id", .. })
        ));
        // v4 ignores the bit, so the id bytes become the row count: 3 rows of no
        // columns, which no page may hold.
        let refused =
            decode(Opcode::Result, Version::V4, &[0, 0, 0, 2, 0, 0, 0, 0x0c, 0, 0, 0, 0, 0, 0, 0, 3]).unwrap_err();
        assert!(matches!(refused, DecodeError::InvalidLength { len: 3, .. }), "{refused}");
    }

    #[test]
    fn inconsistent_metadata_is_refused() {
        let cols =
            vec![ColumnSpec::new("a", "b", "c", ColumnType::Int), ColumnSpec::new("a", "x", "d", ColumnType::Int)];
        let m = RowsMetadata::new(cols.clone());
        assert_eq!(m.global_table_spec, None);
        let mut buf = BytesMut::new();
        m.encode(Version::V4, &mut buf).unwrap();
        let bad_global = RowsMetadata { global_table_spec: Some(TableSpec::new("a", "b")), ..m.clone() };
        assert!(matches!(bad_global.encode(Version::V4, &mut buf), Err(EncodeError::Invalid { .. })));
        let bad_count = RowsMetadata { columns_count: 3, ..m.clone() };
        assert!(bad_count.encode(Version::V4, &mut buf).is_err());
        let global_without_columns =
            RowsMetadata { global_table_spec: Some(TableSpec::new("a", "b")), ..RowsMetadata::no_metadata(1) };
        assert!(global_without_columns.encode(Version::V4, &mut buf).is_err());
        assert!(Rows::new(bad_count, 0, Bytes::new()).is_err());
    }

    #[test]
    fn rows_new_checks_content() {
        let m = || RowsMetadata::no_metadata(2);
        let one_row = Bytes::from_static(&[0, 0, 0, 1, 7, 0xff, 0xff, 0xff, 0xff]);
        let rows = Rows::new(m(), 1, one_row.clone()).unwrap();
        assert_eq!(rows.iter().next().unwrap().as_bytes(), &one_row[..]);
        assert!(Rows::new(m(), 2, one_row.clone()).is_err());
        assert!(Rows::new(m(), 0, one_row.clone()).is_err());
        assert!(Rows::new(m(), usize::MAX, one_row.clone()).is_err());
        assert!(Rows::new(m(), 1, one_row.slice(..8)).is_err());
        let mut trailing = one_row.to_vec();
        trailing.push(0);
        assert!(Rows::new(m(), 1, Bytes::from(trailing)).is_err());
    }

    #[test]
    fn set_metadata_keeps_rows() {
        let mut rows = Rows::new(RowsMetadata::no_metadata(1), 1, Bytes::from_static(&[0, 0, 0, 0])).unwrap();
        assert!(rows.set_metadata(RowsMetadata::no_metadata(2)).is_err());
        let full = RowsMetadata::new(vec![ColumnSpec::new("k", "t", "c", ColumnType::Blob)]);
        rows.set_metadata(full.clone()).unwrap();
        assert_eq!(rows.metadata(), &full);
        assert_eq!(rows.iter().next().unwrap().cell(0), Some(Some(&[][..])));
    }

    #[test]
    fn writer_errors_leave_no_partial_row() {
        let mut w = RowsWriter::new(2);
        assert!(w.push_row([None]).is_err());
        assert!(w.push_row([None, None, None]).is_err());
        w.push_row([None, Some(&b"x"[..])]).unwrap();
        w.push(None).unwrap();
        assert!(w.push_row([None, None]).is_err());
        assert_eq!(w.rows_count(), 1);
        assert!(RowsWriter::new(2).finish(RowsMetadata::no_metadata(3)).is_err());
        assert!(w.finish(RowsMetadata::no_metadata(2)).is_err());
    }

    #[test]
    fn iteration_never_panics_on_inconsistent_content() {
        // Not constructible through the API; the iterators must still stop cleanly.
        let broken = [0, 0, 0, 9, 1, 2];
        let mut it = RowIter { data: &broken, rows_left: 3, columns: 1 };
        assert_eq!(it.next(), None);
        assert_eq!(it.next(), None);
        let row = RawRow { data: &broken, columns: 2 };
        assert_eq!(row.cells().count(), 0);
        assert_eq!(row.cell(5), None);
    }
}
