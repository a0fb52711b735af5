#![cfg_attr(feature = "testkit", doc = include_str!("../../docs/streaming.md"))]
#![cfg_attr(
    not(feature = "testkit"),
    doc = "Streaming large result sets with bounded memory: [`RowStream`] and [`PageStream`]. \
           The guide is `docs/streaming.md` (and these docs, built with feature `testkit`)."
)]
//!
//! # Layout
//!
//! - `config`: [`StreamConfig`], the settings and their defaults;
//! - `source`: where pages come from: the page-source trait, one page's request
//!   (page size, paging state, timeout), and what the stream knows of its statement;
//! - `producer`: the read-ahead task and the bounded page channel; [`StreamStats`];
//! - `pages`: [`PageStream`], the consumer's side: settling the page requests, order,
//!   limits, resume position;
//! - `rows`: [`RowStream`], rows decoded as `T`;
//! - `page`: [`Page`], [`PageInfo`], [`Progress`];
//! - `resume`: [`ResumePoint`], the token and its encodings.
//!
//! Owns paging a query from the client's side: the page channel, the read-ahead,
//! byte and page budgets, limits, resume points and the stream gauges. It does not
//! know who fetches its pages: a page source does (the session, which makes the
//! streams, with its request path). **The rule: `stream` uses [`crate::Error`],
//! [`RetryPolicy`], protocol and types; it must not use `session`, `connection` or
//! `testkit`.** [`crate::session`] uses `stream`, never the reverse.

mod config;
mod page;
mod pages;
mod producer;
mod resume;
mod rows;
mod source;
#[cfg(test)]
mod tests;

pub use config::{DEFAULT_PREFETCH, StreamConfig};
pub use page::{Page, PageInfo, Progress};
pub use pages::PageStream;
pub(crate) use producer::Gauges;
pub use producer::StreamStats;
pub use resume::{InvalidResumePoint, ResumePoint};
pub use rows::RowStream;
pub(crate) use source::{Fetched, PageRequest, PageSource, Retries, StatementSettings};

pub use crate::retry::RetryPolicy;
