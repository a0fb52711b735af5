//! [`RowStream`]: the rows of a query, decoded as `T`, with a resume point exact to
//! the row.
//!
//! Owns the walk through each page's rows and the row-level resume position; pages
//! come from [`PageStream`].

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::{FusedStream, Stream};

use super::config::{StreamConfig, config_setters};
use super::page::{Page, Progress};
use super::pages::PageStream;
use super::resume::ResumePoint;
use crate::error::Error;
use crate::types::{DeserializeOwnedRow, IntoTypedRows, Row};

/// The page being read: its rows as `T` (`None` when they failed the type check), and
/// what the resume point needs of it.
struct Current<T> {
    rows: Option<IntoTypedRows<T>>,
    page: Page,
    consumed: usize,
}

/// The rows of a query as a `futures_core::Stream` of `Result<T, Error>`, where `T` is
/// [`Row`] by default, or any [`DeserializeOwnedRow`]: a tuple such as
/// `(i32, String)`, or a `#[derive(FromRow)]` struct.
///
/// Made by [`Session::stream`](crate::session::Session::stream). Nothing is sent before
/// the first poll; configure it before (every [`StreamConfig`] setter is here too; one
/// called after the first poll makes the next item an
/// [`Error::Config`](crate::Error::Config) naming it, and ends the stream).
/// Pages are fetched ahead as [`StreamConfig::prefetch`] says, so memory holds at most
/// `prefetch + 1` pages whatever the table size. Dropping the stream is the cleanup.
///
/// ```no_run
/// # async fn demo(session: cqlstream::session::Session) -> Result<(), cqlstream::Error> {
/// use futures_util::StreamExt;
///
/// let mut rows = session
///     .stream("SELECT id, name FROM shop.items", ())
///     .page_size(1000)
///     .prefetch(2)
///     .typed::<(i32, String)>();
/// while let Some(row) = rows.next().await {
///     let (id, name) = row?;
///     println!("{id}: {name}");
/// }
/// println!("{:?}", rows.progress());
/// # Ok(()) }
/// ```
pub struct RowStream<T = Row> {
    pages: PageStream,
    current: Option<Current<T>>,
    /// Ended by the rows' type check or a late setter (the pages are ended too); the
    /// page being read is kept for the resume point.
    ended: bool,
    /// An error to yield next, which ends the stream (a type error found by `typed`).
    pending: Option<Error>,
    rows_yielded: u64,
    _t: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for RowStream<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RowStream")
            .field("type", &std::any::type_name::<T>())
            .field("pages", &self.pages)
            .field("rows_yielded", &self.rows_yielded)
            .finish_non_exhaustive()
    }
}

impl<T: DeserializeOwnedRow> RowStream<T> {
    pub(crate) fn new(pages: PageStream) -> RowStream<T> {
        RowStream { pages, current: None, ended: false, pending: None, rows_yielded: 0, _t: PhantomData }
    }

    fn map_config(mut self, name: &'static str, f: impl FnOnce(StreamConfig) -> StreamConfig) -> Self {
        self.pages = self.pages.map_config(name, f);
        self
    }

    config_setters!();

    /// The same stream, its rows read as `U`. Best called before the first poll; called
    /// later, the rest of the page being read is read as `U` (nothing is lost or
    /// repeated, and the resume point stays exact), and if that page's columns do not fit
    /// `U` the next item is the [`Error::Deserialize`] and the stream ends.
    pub fn typed<U: DeserializeOwnedRow>(self) -> RowStream<U> {
        let mut pending = self.pending;
        let current = self.current.map(|c| {
            let rows = match c.rows {
                Some(_) => match c.page.rows_page().slice_rows(c.consumed..c.page.len()).into_typed::<U>() {
                    Ok(rows) => Some(rows),
                    Err(e) => {
                        pending.get_or_insert(e.into());
                        None
                    }
                },
                None => None,
            };
            Current { rows, page: c.page, consumed: c.consumed }
        });
        RowStream {
            pages: self.pages,
            current,
            ended: self.ended,
            pending,
            rows_yielded: self.rows_yielded,
            _t: PhantomData,
        }
    }

    /// The same stream as whole pages, whose rows can be read borrowed
    /// (`page.rows::<(i32, &str)>()`). Best called before the first poll; called later,
    /// the first page yielded is the unread rest of the page being read (nothing is
    /// lost or repeated, and the resume point stays exact).
    pub fn pages(self) -> PageStream {
        let mut pages = self.pages;
        if let Some(c) = self.current {
            if self.ended {
                // Ended on a type error or a late setter: nothing more, but the point
                // stays where reading stopped.
                pages.stand_at(c.page.position_after(c.consumed, pages.resume_point().statement));
            } else if c.consumed < c.page.len() {
                pages.hand_back(c.page.rest_after(c.consumed));
            }
        }
        pages
    }

    /// The stream's configuration: its own settings over the session's (see
    /// [`PageStream::get_config`]).
    pub fn get_config(&self) -> &StreamConfig {
        self.pages.get_config()
    }

    /// Pages taken, rows yielded, bytes of the pages taken, retries.
    pub fn progress(&self) -> Progress {
        let mut p = self.pages.progress();
        p.rows = self.rows_yielded;
        p
    }

    /// Where this stream stands: resuming from it (with
    /// [`resume_from`](RowStream::resume_from), in this process or another) yields
    /// exactly the rows this stream has not yielded yet. That holds in every state:
    /// before the first poll (the point given to `resume_from`, or the start), while a
    /// resumed stream is still dropping the rows consumed before, mid-page, at a page's
    /// end, after the last row, and right after an error (a page that could not be
    /// fetched, a type error: the rows of that page are not consumed). A row that was
    /// yielded as an `Err` of its own (a value that could not be decoded) counts as
    /// yielded.
    ///
    /// ```no_run
    /// # async fn demo(session: cqlstream::session::Session) -> Result<(), Box<dyn std::error::Error>> {
    /// use futures_util::StreamExt;
    /// use cqlstream::stream::ResumePoint;
    ///
    /// let mut rows = session.stream("SELECT * FROM ks.events", ());
    /// for _ in 0..10 {
    ///     rows.next().await.transpose()?;
    /// }
    /// let token: String = rows.resume_point().to_string(); // save it anywhere
    /// drop(rows);
    ///
    /// let point: ResumePoint = token.parse()?;
    /// let mut rest = session.stream("SELECT * FROM ks.events", ()).resume_from(point);
    /// while let Some(row) = rest.next().await {
    ///     let _row = row?; // the 11th row first
    /// }
    /// # Ok(()) }
    /// ```
    pub fn resume_point(&self) -> ResumePoint {
        match &self.current {
            Some(c) => c.page.position_after(c.consumed, self.pages.resume_point().statement),
            None => self.pages.resume_point(),
        }
    }

    /// Whether the stream has ended: every row yielded, a limit reached, or an error.
    pub fn is_finished(&self) -> bool {
        if self.pages.late_setter_pending() || self.pending.is_some() {
            return false;
        }
        self.ended || (self.pages.is_finished() && self.current.as_ref().is_none_or(|c| c.consumed >= c.page.len()))
    }
}

impl<T: DeserializeOwnedRow> Stream for RowStream<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if let Some(e) = this.pages.take_late_setter() {
            this.ended = true;
            return Poll::Ready(Some(Err(e)));
        }
        if let Some(e) = this.pending.take() {
            this.ended = true;
            this.pages.finish();
            return Poll::Ready(Some(Err(e)));
        }
        if this.ended {
            return Poll::Ready(None);
        }
        loop {
            if let Some(c) = &mut this.current
                && let Some(row) = c.rows.as_mut().and_then(Iterator::next)
            {
                c.consumed += 1;
                this.rows_yielded = this.rows_yielded.saturating_add(1);
                return Poll::Ready(Some(row.map_err(Error::from)));
            }
            match ready!(Pin::new(&mut this.pages).poll_next(cx)) {
                Some(Ok(page)) => {
                    // The page is kept beside its rows (a clone is a few refcounts) for
                    // the resume point.
                    match page.rows_page().clone().into_typed::<T>() {
                        Ok(rows) => this.current = Some(Current { rows: Some(rows), page, consumed: 0 }),
                        Err(e) => {
                            // The next page would fail the same check: end here, with
                            // none of this page's rows consumed.
                            this.current = Some(Current { rows: None, page, consumed: 0 });
                            this.ended = true;
                            this.pages.finish();
                            return Poll::Ready(Some(Err(e.into())));
                        }
                    }
                }
                Some(Err(e)) => {
                    // Keep the last page so the resume point stays where reading stopped.
                    return Poll::Ready(Some(Err(e)));
                }
                None => {
                    return Poll::Ready(None);
                }
            }
        }
    }
}

impl<T: DeserializeOwnedRow> FusedStream for RowStream<T> {
    fn is_terminated(&self) -> bool {
        self.is_finished()
    }
}

/// Streams move between tasks and need no pinning.
fn _assert_send_unpin() {
    fn is<T: Send + Unpin + 'static>() {}
    is::<RowStream<Row>>();
    is::<RowStream<(i32, String)>>();
    is::<PageStream>();
    is::<super::Page>();
}
