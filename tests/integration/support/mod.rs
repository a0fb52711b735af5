//! What every server-facing area of the suite shares: [`TestTarget`], which runs a test
//! against an in-process testkit node or the real cluster the environment names.
//!
//! Owns test plumbing only; the areas' own helpers stay in their modules.

mod target;

pub(crate) use target::{RealCluster, TestKeyspace, TestTarget};
