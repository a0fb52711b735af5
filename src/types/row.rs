//! Rows of a page, decoded lazily: [`Row`] (owned, cheap to keep), [`RowRef`] (borrowed,
//! what [`DeserializeRow`] reads), [`RowsPage`] (a page whose column specs are shared),
//! and the iterators that type-check a page once and then decode row by row.
//!
//! Owns the walk over a page's cells and the zero-copy hand-over of row bytes: a [`Row`]
//! is a [`Bytes`] slice of the page plus an `Arc` of the page's column specs, so keeping
//! one row keeps its page's buffer alive, not a copy of it. It does not decode values
//! (that is [`DeserializeValue`]'s job) and does not validate pages (that is
//! [`Rows`]'s: every page here comes from one, whose cells were checked when it was
//! decoded; the walk still stops cleanly, without panicking, on bytes it cannot read).

use std::fmt;
use std::iter::{FusedIterator, Zip};
use std::marker::PhantomData;
use std::slice;
use std::sync::Arc;

use bytes::Bytes;

use super::deserialize::{
    DeserializeOwnedRow, DeserializeRow, DeserializeValue, deserialize_column, type_check_column,
};
use super::error::DeserializeError;
use crate::protocol::ColumnType;
use crate::protocol::response::next_cell;
use crate::protocol::response::{ColumnSpec, Rows};
use crate::types::value::CqlValue;

// ---------------------------------------------------------------------------------------
// Walking cells
// ---------------------------------------------------------------------------------------

/// How many bytes the row of `columns` cells at the start of `data` spans.
fn row_len(data: &[u8], columns: usize) -> Option<usize> {
    let mut rest = data;
    for _ in 0..columns {
        rest = next_cell(rest)?.1;
    }
    Some(data.len() - rest.len())
}

/// Iterator over the cells of one row: `None` for null (the protocol layer's walker).
pub type Cells<'a> = crate::protocol::response::CellIter<'a>;

/// Position of the next row in a page's content.
#[derive(Debug, Clone)]
struct RowCursor {
    pos: usize,
    left: usize,
    columns: usize,
}

impl RowCursor {
    fn new(rows: usize, columns: usize) -> Self {
        RowCursor { pos: 0, left: rows, columns }
    }

    /// The bytes of the next row of `content`.
    fn next<'a>(&mut self, content: &'a [u8]) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let row = content.get(self.pos..).and_then(|data| Some(&data[..row_len(data, self.columns)?]));
        let Some(row) = row else {
            // Cannot happen for a validated page; end rather than panic.
            self.left = 0;
            return None;
        };
        self.pos += row.len();
        self.left -= 1;
        Some(row)
    }
}

/// `sub` as a slice of `page` without copying, when it lies inside it (it always does
/// here); a copy otherwise, so a mistake costs memory, not a panic.
fn slice_of(page: &Bytes, sub: &[u8]) -> Bytes {
    if sub.is_empty() {
        return Bytes::new();
    }
    let start = (sub.as_ptr() as usize).wrapping_sub(page.as_ptr() as usize);
    if start < page.len() && sub.len() <= page.len() - start {
        page.slice(start..start + sub.len())
    } else {
        Bytes::copy_from_slice(sub)
    }
}

/// Prints a cell as its CQL literal, or its bytes when they do not decode.
struct CellDebug<'a>(&'a ColumnType, Option<&'a [u8]>);

impl fmt::Debug for CellDebug<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.1 {
            None => f.write_str("null"),
            Some(b) => match CqlValue::decode(self.0, b) {
                Ok(v) => write!(f, "{v}"),
                Err(_) => write!(f, "{b:02x?}"),
            },
        }
    }
}

// ---------------------------------------------------------------------------------------
// Column lookup
// ---------------------------------------------------------------------------------------

/// Names a column of a row: its position (`usize`) or its name (`&str`, `String`).
///
/// A name matches exactly (CQL folds unquoted names to lower case before they get
/// here); with several columns of one name, the first is taken.
pub trait ColumnIndex {
    /// The position of this column among `columns`.
    fn index_in(&self, columns: &[ColumnSpec]) -> Result<usize, DeserializeError>;
}

impl ColumnIndex for usize {
    fn index_in(&self, columns: &[ColumnSpec]) -> Result<usize, DeserializeError> {
        if *self < columns.len() {
            Ok(*self)
        } else {
            Err(DeserializeError::IndexOutOfRange { index: *self, count: columns.len() })
        }
    }
}

impl ColumnIndex for str {
    fn index_in(&self, columns: &[ColumnSpec]) -> Result<usize, DeserializeError> {
        columns.iter().position(|c| c.name == self).ok_or_else(|| DeserializeError::no_such_column(self))
    }
}

impl ColumnIndex for String {
    fn index_in(&self, columns: &[ColumnSpec]) -> Result<usize, DeserializeError> {
        self.as_str().index_in(columns)
    }
}

impl<T: ColumnIndex + ?Sized> ColumnIndex for &T {
    fn index_in(&self, columns: &[ColumnSpec]) -> Result<usize, DeserializeError> {
        (**self).index_in(columns)
    }
}

/// Type-checks `T` for column `index` and reads its cell.
fn get_cell<'f, T: DeserializeValue<'f>>(
    columns: &[ColumnSpec],
    mut cells: Cells<'f>,
    index: impl ColumnIndex,
) -> Result<T, DeserializeError> {
    let i = index.index_in(columns)?;
    let column = &columns[i];
    type_check_column::<T>(i, column)?;
    let cell = cells.nth(i).ok_or(DeserializeError::IndexOutOfRange { index: i, count: columns.len() })?;
    deserialize_column::<T>(i, column, cell)
}

// ---------------------------------------------------------------------------------------
// RowRef
// ---------------------------------------------------------------------------------------

/// One row, borrowed: its cells (slices of the page, `'frame`) and the page's column
/// specs (`'meta`). What [`DeserializeRow::deserialize`] reads.
#[derive(Clone, Copy)]
pub struct RowRef<'frame, 'meta> {
    data: &'frame [u8],
    page: &'frame Bytes,
    columns: &'meta Arc<[ColumnSpec]>,
}

impl<'frame, 'meta> RowRef<'frame, 'meta> {
    /// The column specs.
    pub fn columns(&self) -> &'meta [ColumnSpec] {
        self.columns
    }

    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The cells in column order: `None` for null.
    pub fn cells(&self) -> Cells<'frame> {
        Cells::new(self.data, self.columns.len())
    }

    /// Each column with its cell, in order: the one pass a by-name reader needs.
    pub fn iter(&self) -> Zip<slice::Iter<'meta, ColumnSpec>, Cells<'frame>> {
        self.columns.iter().zip(self.cells())
    }

    /// Cell `i`: `None` when there is no such column, `Some(None)` when it is null.
    pub fn cell(&self, i: usize) -> Option<Option<&'frame [u8]>> {
        self.cells().nth(i)
    }

    /// Column `index` (a position or a name) as `T`, type-checked. Walks the cells
    /// before it; to read every column, use a [`DeserializeRow`] type.
    pub fn get<T: DeserializeValue<'frame>>(&self, index: impl ColumnIndex) -> Result<T, DeserializeError> {
        get_cell(self.columns, self.cells(), index)
    }

    /// The row's encoded cells.
    pub fn as_bytes(&self) -> &'frame [u8] {
        self.data
    }

    /// An owned [`Row`]: a slice of the page (no copy) and the shared column specs.
    pub fn to_row(&self) -> Row {
        Row { data: slice_of(self.page, self.data), columns: Arc::clone(self.columns) }
    }
}

impl fmt::Debug for RowRef<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for (c, cell) in self.iter() {
            m.entry(&c.name, &CellDebug(&c.typ, cell));
        }
        m.finish()
    }
}

// ---------------------------------------------------------------------------------------
// Row
// ---------------------------------------------------------------------------------------

/// One row, owned: a slice of its page's buffer and the page's column specs, decoded
/// only when a column is asked for.
///
/// Cloning is two reference-count increments. Keeping a `Row` keeps its page's buffer
/// alive; to keep a few values of a big page, read them out.
///
/// ```
/// # use cqlstream::protocol::ColumnType;
/// # use cqlstream::protocol::response::{ColumnSpec, RowsMetadata, RowsWriter};
/// # let mut w = RowsWriter::new(2);
/// # w.push_row([Some(&[0, 0, 0, 7][..]), None]).unwrap();
/// # let rows = w.finish(RowsMetadata::new(vec![
/// #     ColumnSpec::new("ks", "t", "id", ColumnType::Int),
/// #     ColumnSpec::new("ks", "t", "name", ColumnType::Varchar),
/// # ])).unwrap();
/// let row = cqlstream::types::into_rows(rows)?.next().unwrap();
/// assert_eq!(row.get::<i32>(0), 7);
/// assert_eq!(row.get::<Option<&str>>("name"), None);
/// assert!(row.try_get::<String>("name").is_err()); // null
/// # Ok::<(), cqlstream::types::DeserializeError>(())
/// ```
#[derive(Clone)]
pub struct Row {
    data: Bytes,
    columns: Arc<[ColumnSpec]>,
}

impl Row {
    /// Number of columns.
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    /// Whether the row has no columns.
    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    /// The column specs, shared with every row of the page.
    pub fn columns(&self) -> &Arc<[ColumnSpec]> {
        &self.columns
    }

    /// Column `index` (a position or a name) as `T`, borrowing from the row where `T`
    /// does (`&str`, `&[u8]`).
    ///
    /// # Panics
    ///
    /// When there is no such column, its type does not fit `T`, or its value does not
    /// (a null for a non-`Option` type, malformed bytes). [`Row::try_get`] returns these
    /// as errors.
    #[track_caller]
    pub fn get<'r, T: DeserializeValue<'r>>(&'r self, index: impl ColumnIndex) -> T {
        match self.try_get(index) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    /// Column `index` (a position or a name) as `T`. Walks the cells before it.
    pub fn try_get<'r, T: DeserializeValue<'r>>(&'r self, index: impl ColumnIndex) -> Result<T, DeserializeError> {
        get_cell(&self.columns, self.cells(), index)
    }

    /// The raw cell of column `index`: `None` when there is no such column,
    /// `Some(None)` when it is null.
    pub fn get_raw(&self, index: impl ColumnIndex) -> Option<Option<&[u8]>> {
        let i = index.index_in(&self.columns).ok()?;
        self.cells().nth(i)
    }

    /// The cell of column `index` as a slice of the page's buffer (no copy): `None`
    /// when there is no such column, `Some(None)` when it is null.
    pub fn get_bytes(&self, index: impl ColumnIndex) -> Option<Option<Bytes>> {
        Some(self.get_raw(index)?.map(|cell| slice_of(&self.data, cell)))
    }

    /// The whole row as another row type, such as a tuple.
    pub fn deserialize<'r, T: DeserializeRow<'r>>(&'r self) -> Result<T, DeserializeError> {
        T::type_check(&self.columns)?;
        T::deserialize(self.as_row_ref())
    }

    /// The cells in column order: `None` for null.
    pub fn cells(&self) -> Cells<'_> {
        Cells::new(&self.data, self.columns.len())
    }

    /// The row's encoded cells.
    pub fn as_bytes(&self) -> &Bytes {
        &self.data
    }

    /// The row borrowed, as [`DeserializeRow`] reads it.
    pub fn as_row_ref(&self) -> RowRef<'_, '_> {
        RowRef { data: &self.data, page: &self.data, columns: &self.columns }
    }
}

impl fmt::Debug for Row {
    /// The cells as CQL literals by column name: `{"id": 1, "name": 'x'}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.as_row_ref().fmt(f)
    }
}

impl<'f> DeserializeRow<'f> for Row {
    /// Any columns.
    fn type_check(_columns: &[ColumnSpec]) -> Result<(), DeserializeError> {
        Ok(())
    }

    fn deserialize(row: RowRef<'f, '_>) -> Result<Self, DeserializeError> {
        Ok(row.to_row())
    }
}

// ---------------------------------------------------------------------------------------
// Pages
// ---------------------------------------------------------------------------------------

/// A page of rows whose column specs are shared (`Arc`), ready for typed decoding.
///
/// Made from a [`Rows`] result, taking its column specs (no copy of them), or, for a
/// page fetched without metadata (a prepared statement with skip-metadata), with the
/// statement's result columns. The rest of the metadata (paging state, ...) is dropped:
/// take it from the [`Rows`] first.
#[derive(Debug, Clone)]
pub struct RowsPage {
    columns: Arc<[ColumnSpec]>,
    rows_count: usize,
    content: Bytes,
}

impl RowsPage {
    /// The page with the column specs it carries; [`DeserializeError::NoMetadata`] when it
    /// carries none.
    pub fn new(rows: Rows) -> Result<RowsPage, DeserializeError> {
        let (metadata, rows_count, content) = rows.into_parts();
        let columns = metadata.columns.ok_or(DeserializeError::NoMetadata)?;
        Ok(RowsPage { columns: columns.into(), rows_count, content })
    }

    /// The page with `columns` as its column specs (the page's own, if any, are
    /// dropped). There must be as many as the page has columns.
    pub fn with_columns(rows: Rows, columns: Arc<[ColumnSpec]>) -> Result<RowsPage, DeserializeError> {
        if rows.columns_count() != columns.len() {
            return Err(DeserializeError::MetadataMismatch { given: columns.len(), found: rows.columns_count() });
        }
        let (_, rows_count, content) = rows.into_parts();
        Ok(RowsPage { columns, rows_count, content })
    }

    /// The column specs.
    pub fn columns(&self) -> &Arc<[ColumnSpec]> {
        &self.columns
    }

    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows_count
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.rows_count == 0
    }

    /// The encoded cells of every row, back to back.
    pub fn content(&self) -> &Bytes {
        &self.content
    }

    /// The rows, borrowed and undecoded.
    pub fn iter(&self) -> RowRefs<'_> {
        RowRefs {
            content: &self.content,
            cursor: RowCursor::new(self.rows_count, self.columns.len()),
            columns: &self.columns,
        }
    }

    /// The rows as `T`, which may borrow from the page: the column types are checked
    /// once, here, then each row is decoded as the iterator reaches it.
    pub fn rows<'f, T: DeserializeRow<'f>>(&'f self) -> Result<TypedRows<'f, T>, DeserializeError> {
        TypedRows::new(&self.content, self.rows_count, Arc::clone(&self.columns))
    }

    /// The rows as an owned `T`, consuming the page: the column types are checked once,
    /// here.
    pub fn into_typed<T: DeserializeOwnedRow>(self) -> Result<IntoTypedRows<T>, DeserializeError> {
        T::type_check(&self.columns)?;
        Ok(IntoTypedRows { cursor: RowCursor::new(self.rows_count, self.columns.len()), page: self, _t: PhantomData })
    }

    /// The rows `range` of the page (clamped to its length) as a page of their own,
    /// sharing this page's buffer: no copy. Used to drop rows already consumed before a
    /// resume, or rows past a limit.
    ///
    /// ```
    /// # use cqlstream::protocol::ColumnType;
    /// # use cqlstream::protocol::response::{ColumnSpec, RowsMetadata, RowsWriter};
    /// # use cqlstream::types::RowsPage;
    /// let mut w = RowsWriter::new(1);
    /// for i in 0..5i32 {
    ///     w.push_row([Some(&i.to_be_bytes()[..])])?;
    /// }
    /// let page = RowsPage::new(w.finish(RowsMetadata::new(vec![ColumnSpec::new("ks", "t", "i", ColumnType::Int)]))?)?;
    /// let middle: Vec<(i32,)> = page.slice_rows(1..3).rows()?.collect::<Result<_, _>>()?;
    /// assert_eq!(middle, [(1,), (2,)]);
    /// assert!(page.slice_rows(7..9).is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn slice_rows(&self, range: std::ops::Range<usize>) -> RowsPage {
        let end = range.end.min(self.rows_count);
        let start = range.start.min(end);
        let mut cursor = RowCursor::new(self.rows_count, self.columns.len());
        for _ in 0..start {
            cursor.next(&self.content);
        }
        let from = cursor.pos;
        // A page that cannot be walked (never the case for a validated one) ends early:
        // count only the rows really walked.
        let taken = (start..end).take_while(|_| cursor.next(&self.content).is_some()).count();
        RowsPage {
            columns: Arc::clone(&self.columns),
            rows_count: taken,
            content: self.content.slice(from..cursor.pos),
        }
    }

    /// The rows as [`Row`]s, each a slice of the page.
    pub fn into_rows(self) -> IntoRows {
        IntoRows { cursor: RowCursor::new(self.rows_count, self.columns.len()), page: self }
    }
}

impl TryFrom<Rows> for RowsPage {
    type Error = DeserializeError;

    fn try_from(rows: Rows) -> Result<Self, Self::Error> {
        RowsPage::new(rows)
    }
}

impl IntoIterator for RowsPage {
    type Item = Row;
    type IntoIter = IntoRows;

    fn into_iter(self) -> IntoRows {
        self.into_rows()
    }
}

impl<'a> IntoIterator for &'a RowsPage {
    type Item = RowRef<'a, 'a>;
    type IntoIter = RowRefs<'a>;

    fn into_iter(self) -> RowRefs<'a> {
        self.iter()
    }
}

/// The rows of `rows` as `T`, which may borrow from the page. The column types are
/// checked once, here; the column specs are copied once, so that a `T` such as [`Row`]
/// can share them. Fails with [`DeserializeError::NoMetadata`] for a page without
/// column specs (see [`RowsPage::with_columns`]).
pub fn rows_typed<'f, T: DeserializeRow<'f>>(rows: &'f Rows) -> Result<TypedRows<'f, T>, DeserializeError> {
    let columns = rows.metadata().columns.as_deref().ok_or(DeserializeError::NoMetadata)?;
    TypedRows::new(rows.content(), rows.rows_count(), columns.into())
}

/// The rows of `rows` as [`Row`]s, each a slice of the page sharing its column specs.
/// Fails with [`DeserializeError::NoMetadata`] for a page without column specs.
pub fn into_rows(rows: Rows) -> Result<IntoRows, DeserializeError> {
    Ok(RowsPage::new(rows)?.into_rows())
}

/// Iterator over the rows of a page, borrowed and undecoded.
#[derive(Debug, Clone)]
pub struct RowRefs<'a> {
    content: &'a Bytes,
    cursor: RowCursor,
    columns: &'a Arc<[ColumnSpec]>,
}

impl<'a> Iterator for RowRefs<'a> {
    type Item = RowRef<'a, 'a>;

    fn next(&mut self) -> Option<RowRef<'a, 'a>> {
        let data = self.cursor.next(self.content)?;
        Some(RowRef { data, page: self.content, columns: self.columns })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.cursor.left, Some(self.cursor.left))
    }
}

impl ExactSizeIterator for RowRefs<'_> {}
impl FusedIterator for RowRefs<'_> {}

/// Iterator over the rows of a page as `T`, decoded one by one; the page's column types
/// were checked when it was made.
pub struct TypedRows<'f, T> {
    content: &'f Bytes,
    cursor: RowCursor,
    columns: Arc<[ColumnSpec]>,
    _t: PhantomData<fn() -> T>,
}

impl<'f, T: DeserializeRow<'f>> TypedRows<'f, T> {
    fn new(content: &'f Bytes, rows: usize, columns: Arc<[ColumnSpec]>) -> Result<Self, DeserializeError> {
        T::type_check(&columns)?;
        Ok(TypedRows { content, cursor: RowCursor::new(rows, columns.len()), columns, _t: PhantomData })
    }
}

impl<'f, T: DeserializeRow<'f>> Iterator for TypedRows<'f, T> {
    type Item = Result<T, DeserializeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let content: &'f Bytes = self.content;
        let data = self.cursor.next(content)?;
        Some(T::deserialize(RowRef { data, page: content, columns: &self.columns }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.cursor.left, Some(self.cursor.left))
    }
}

impl<'f, T: DeserializeRow<'f>> ExactSizeIterator for TypedRows<'f, T> {}
impl<'f, T: DeserializeRow<'f>> FusedIterator for TypedRows<'f, T> {}

impl<T> fmt::Debug for TypedRows<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TypedRows")
            .field("rows_left", &self.cursor.left)
            .field("columns", &self.columns.len())
            .field("type", &std::any::type_name::<T>())
            .finish()
    }
}

/// Owning iterator over the rows of a page as `T`, decoded one by one.
pub struct IntoTypedRows<T> {
    page: RowsPage,
    cursor: RowCursor,
    _t: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwnedRow> Iterator for IntoTypedRows<T> {
    type Item = Result<T, DeserializeError>;

    fn next(&mut self) -> Option<Self::Item> {
        let data = self.cursor.next(&self.page.content)?;
        Some(T::deserialize(RowRef { data, page: &self.page.content, columns: &self.page.columns }))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.cursor.left, Some(self.cursor.left))
    }
}

impl<T: DeserializeOwnedRow> ExactSizeIterator for IntoTypedRows<T> {}
impl<T: DeserializeOwnedRow> FusedIterator for IntoTypedRows<T> {}

impl<T> fmt::Debug for IntoTypedRows<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IntoTypedRows")
            .field("rows_left", &self.cursor.left)
            .field("columns", &self.page.columns.len())
            .field("type", &std::any::type_name::<T>())
            .finish()
    }
}

/// Owning iterator over the rows of a page as [`Row`]s.
#[derive(Debug, Clone)]
pub struct IntoRows {
    page: RowsPage,
    cursor: RowCursor,
}

impl IntoRows {
    /// The column specs every row shares.
    pub fn columns(&self) -> &Arc<[ColumnSpec]> {
        &self.page.columns
    }
}

impl Iterator for IntoRows {
    type Item = Row;

    fn next(&mut self) -> Option<Row> {
        let data = self.cursor.next(&self.page.content)?;
        Some(Row { data: slice_of(&self.page.content, data), columns: Arc::clone(&self.page.columns) })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.cursor.left, Some(self.cursor.left))
    }
}

impl ExactSizeIterator for IntoRows {}
impl FusedIterator for IntoRows {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::response::{RowsMetadata, RowsWriter};
    use crate::types::{SerializeValue, serialize_values};

    fn columns() -> Vec<ColumnSpec> {
        vec![
            ColumnSpec::new("ks", "t", "id", ColumnType::Int),
            ColumnSpec::new("ks", "t", "name", ColumnType::Varchar),
            ColumnSpec::new("ks", "t", "data", ColumnType::Blob),
        ]
    }

    /// A page of three rows written through the serializer, the last one with nulls.
    fn page() -> Rows {
        let cols = columns();
        let mut w = RowsWriter::new(3);
        let rows: [&[&dyn SerializeValue]; 3] =
            [&[&1, &"one", &vec![1u8]], &[&2, &"two", &Vec::<u8>::new()], &[&3, &None::<&str>, &None::<Vec<u8>>]];
        for r in rows {
            let values = serialize_values(r, &cols).unwrap();
            w.push_row(values.iter().map(|(_, v)| match v {
                crate::protocol::ValueRef::Bytes(b) => Some(b),
                _ => None,
            }))
            .unwrap();
        }
        w.finish(RowsMetadata::new(cols)).unwrap()
    }

    fn inside(page: &Bytes, p: *const u8) -> bool {
        let start = page.as_ptr() as usize;
        (start..start + page.len()).contains(&(p as usize))
    }

    #[test]
    fn borrowed_rows_point_into_the_page() {
        let rows = page();
        let it = rows_typed::<(i32, Option<&str>, Option<&[u8]>)>(&rows).unwrap();
        assert_eq!(it.len(), 3);
        let got: Vec<_> = it.collect::<Result<_, _>>().unwrap();
        assert_eq!(got, [(1, Some("one"), Some(&[1u8][..])), (2, Some("two"), Some(&[][..])), (3, None, None)]);
        assert!(inside(rows.content(), got[0].1.unwrap().as_ptr()));
        assert!(inside(rows.content(), got[1].1.unwrap().as_ptr()));
        assert!(inside(rows.content(), got[0].2.unwrap().as_ptr()));
    }

    #[test]
    fn type_check_happens_once_up_front() {
        let rows = page();
        assert_eq!(
            rows_typed::<(i64, String, Vec<u8>)>(&rows).unwrap_err().to_string(),
            "column `id`: cannot read CQL type int as Rust i64"
        );
        assert_eq!(
            rows_typed::<(i32, String)>(&rows).unwrap_err().to_string(),
            "the rows have 3 column(s), but Rust (i32, String) takes 2"
        );
        // A type that fits the columns but not a value: the error names the column.
        let mut it = rows_typed::<(i32, String, Vec<u8>)>(&rows).unwrap();
        assert!(it.next().unwrap().is_ok());
        assert!(it.next().unwrap().is_ok());
        assert_eq!(
            it.next().unwrap().unwrap_err().to_string(),
            "column `name`: unexpected null: Rust String cannot hold a null; read the column as Option<String>"
        );
        assert!(it.next().is_none());
    }

    #[test]
    fn rows_get_by_index_and_name() {
        let rows = page();
        let content = rows.content().clone();
        let all: Vec<Row> = into_rows(rows).unwrap().collect();
        assert_eq!(all.len(), 3);
        let first = &all[0];
        assert!(Arc::ptr_eq(first.columns(), all[2].columns()), "specs shared by the page");
        assert!(inside(&content, first.as_bytes().as_ptr()), "row bytes are a slice of the page");
        assert_eq!(first.len(), 3);
        assert_eq!(first.get::<i32>(0), 1);
        assert_eq!(first.get::<&str>("name"), "one");
        assert!(inside(&content, first.get::<&str>("name").as_ptr()));
        assert_eq!(first.get::<Vec<u8>>(&"data".to_owned()), [1]);
        assert_eq!(first.get_raw(2), Some(Some(&[1u8][..])));
        assert_eq!(first.get_raw("nope"), None);
        let b = first.get_bytes("data").unwrap().unwrap();
        assert!(inside(&content, b.as_ptr()), "get_bytes does not copy");
        assert_eq!(all[2].get_raw("name"), Some(None));
        assert_eq!(all[2].get::<Option<String>>(1), None);
        assert_eq!(first.deserialize::<(i32, &str, &[u8])>().unwrap(), (1, "one", &[1u8][..]));
        assert_eq!(first.try_get::<i32>("nope").unwrap_err().to_string(), "the result has no column named `nope`");
        assert_eq!(
            first.try_get::<i32>(3).unwrap_err().to_string(),
            "column index 3 is out of range for a row of 3 column(s)"
        );
        assert_eq!(
            first.try_get::<String>(0).unwrap_err().to_string(),
            "column `id`: cannot read CQL type int as Rust String"
        );
        assert_eq!(format!("{:?}", all[0]), r#"{"id": 1, "name": 'one', "data": 0x01}"#);
        assert_eq!(format!("{:?}", all[2]), r#"{"id": 3, "name": null, "data": null}"#);
        // A row outlives its page value and the iterator: it holds the buffer.
        let kept = all[1].clone();
        drop(all);
        drop(content);
        assert_eq!(kept.get::<&str>(1), "two");
    }

    #[test]
    #[should_panic(expected = "column `id`: cannot read CQL type int as Rust bool")]
    fn get_panics_with_the_error() {
        let row = into_rows(page()).unwrap().next().unwrap();
        let _: bool = row.get("id");
    }

    #[test]
    fn pages() {
        let page = RowsPage::new(page()).unwrap();
        assert_eq!((page.len(), page.columns().len()), (3, 3));
        // Borrowed rows, and owned typed rows.
        let refs: Vec<RowRef<'_, '_>> = page.iter().collect();
        assert_eq!(refs[1].get::<&str>("name").unwrap(), "two");
        assert_eq!(refs[1].cell(0), Some(Some(&[0, 0, 0, 2][..])));
        assert_eq!(refs[1].iter().map(|(c, _)| c.name.as_str()).collect::<Vec<_>>(), ["id", "name", "data"]);
        assert_eq!(refs[1].to_row().get::<i32>(0), 2);
        let names: Vec<Option<&str>> =
            page.rows::<(i32, Option<&str>, Option<&[u8]>)>().unwrap().map(|r| r.unwrap().1).collect();
        assert_eq!(names, [Some("one"), Some("two"), None]);
        let owned: Vec<(i32, Option<String>)> = page.clone().into_rows().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(owned[2], (3, None));
        let typed: Vec<(i32, Option<String>, Option<Vec<u8>>)> =
            page.clone().into_typed().unwrap().collect::<Result<_, _>>().unwrap();
        assert_eq!(typed[0], (1, Some("one".into()), Some(vec![1])));
        assert!(page.clone().into_typed::<(i32,)>().is_err());
        assert_eq!(page.into_iter().count(), 3);
    }

    #[test]
    fn pages_without_metadata() {
        let (_, n, content) = page().into_parts();
        let bare = Rows::new(RowsMetadata::no_metadata(3), n, content).unwrap();
        assert_eq!(rows_typed::<Row>(&bare).unwrap_err(), DeserializeError::NoMetadata);
        assert!(into_rows(bare.clone()).is_err());
        let cols: Arc<[ColumnSpec]> = columns().into();
        assert_eq!(
            RowsPage::with_columns(bare.clone(), cols[..2].into()).unwrap_err().to_string(),
            "2 column spec(s) were supplied for a page of 3 column(s)"
        );
        let page = RowsPage::with_columns(bare, Arc::clone(&cols)).unwrap();
        assert!(Arc::ptr_eq(page.columns(), &cols));
        let rows: Vec<Row> = page.into_rows().collect();
        assert!(Arc::ptr_eq(rows[0].columns(), &cols));
        assert_eq!(rows[0].get::<&str>("name"), "one");
    }

    #[test]
    fn rows_typed_into_row_shares_one_copy_of_the_specs() {
        let rows = page();
        let all: Vec<Row> = rows_typed::<Row>(&rows).unwrap().collect::<Result<_, _>>().unwrap();
        assert!(Arc::ptr_eq(all[0].columns(), all[2].columns()));
        assert!(inside(rows.content(), all[0].as_bytes().as_ptr()));
    }

    #[test]
    fn rows_with_no_columns() {
        // A page of no columns holds no rows (the protocol layer refuses a count there).
        let rows = RowsWriter::new(0).finish(RowsMetadata::new(vec![])).unwrap();
        assert_eq!(into_rows(rows.clone()).unwrap().count(), 0);
        assert!(rows_typed::<(i32,)>(&rows).is_err());
    }

    #[test]
    fn rows_and_pages_cross_threads() {
        fn sendable<T: Send + Sync + 'static>() {}
        sendable::<Row>();
        sendable::<RowsPage>();
        sendable::<IntoRows>();
        sendable::<IntoTypedRows<(i32, String)>>();
        sendable::<DeserializeError>();
    }

    #[test]
    fn slicing_outside_the_page_copies() {
        let page = Bytes::from_static(b"abcdef");
        assert_eq!(slice_of(&page, &page[2..4]).as_ptr(), page[2..].as_ptr());
        let other = [1u8, 2];
        assert_eq!(&slice_of(&page, &other)[..], &other);
        assert!(slice_of(&page, &[]).is_empty());
        // A truncated row ends the walk instead of panicking.
        let mut c = RowCursor::new(2, 1);
        assert_eq!(c.next(&[0, 0, 0, 1, 7]), Some(&[0, 0, 0, 1, 7][..]));
        assert_eq!(c.next(&[0, 0, 0, 1, 7]), None);
        let mut c = RowCursor::new(1, 2);
        assert_eq!(c.next(&[0, 0, 0, 9]), None);
        assert_eq!(c.left, 0);
    }
}
