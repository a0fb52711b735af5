//! Where an integration test runs: an in-process [`TestNode`] by default, or the real
//! cluster that `CQLSTREAM_TEST_CONTACT_POINTS` names, so that one suite serves both.
//! (It builds driver sessions, so it lives with the tests, not in the testkit, which
//! uses the protocol, types and values only.)
//!
//! | variable | meaning |
//! |---|---|
//! | `CQLSTREAM_TEST_CONTACT_POINTS` | `host:port[,host:port]`: run against this cluster instead of a testkit node |
//! | `CQLSTREAM_TEST_PROTOCOL` | `4` or `5`: pin the protocol version (default: negotiate) |
//! | `CQLSTREAM_TEST_USERNAME`, `CQLSTREAM_TEST_PASSWORD` | log in with PasswordAuthenticator |
//!
//! Each test says which target it ran against, and a test that needs testkit-only control
//! (fault injection, request counters, stopping nodes) says that it was skipped. Both
//! lines go straight to the process's stderr, past the test harness's output capture, so
//! a skip is never a silent pass. Against a shared cluster every test works in a keyspace
//! of its own ([`TestTarget::keyspace`]), dropped when the test ends.
//!
//! ```ignore
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use crate::support::TestTarget;
//!
//! let target = TestTarget::from_env("my_test").await?;
//! let ks = target.keyspace().await?;
//! let session = target.session_builder().keyspace(ks.name()).build().await?;
//! session.query("CREATE TABLE t (k int PRIMARY KEY, v text)", ()).await?;
//! if let Some(node) = target.require_testkit("counts requests") {
//!     assert_eq!(node.stats().requests("CREATE TABLE t (k int PRIMARY KEY, v text)"), 1);
//! }
//! # Ok(()) }
//! ```
//!
//! Owns reading the environment, starting the node, naming and dropping keyspaces. It
//! does not know what the tests do.

use std::io::Write;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use cqlstream::connection::ConnectionConfig;
use cqlstream::protocol::Version;
use cqlstream::session::{Session, SessionBuilder};
use cqlstream::testkit::{TestNode, TestNodeBuilder};

/// The cluster to run against instead of a testkit node: `host:port[,host:port]`.
pub(crate) const CONTACT_POINTS_VAR: &str = "CQLSTREAM_TEST_CONTACT_POINTS";
/// The protocol version to pin against a real cluster: `4` or `5`.
pub(crate) const PROTOCOL_VAR: &str = "CQLSTREAM_TEST_PROTOCOL";
/// The user to log in as against a real cluster.
pub(crate) const USERNAME_VAR: &str = "CQLSTREAM_TEST_USERNAME";
/// That user's password.
pub(crate) const PASSWORD_VAR: &str = "CQLSTREAM_TEST_PASSWORD";

/// Why a test target could not be set up.
#[derive(Debug, thiserror::Error)]
pub(crate) enum TargetError {
    /// A variable is set to something unusable.
    #[error("{var}: {reason}")]
    BadVariable {
        /// The variable.
        var: &'static str,
        /// What is wrong with its value.
        reason: String,
    },
    /// The testkit node did not start.
    #[error("starting the testkit node: {0}")]
    Start(#[from] std::io::Error),
    /// Connecting or creating the keyspace failed.
    #[error(transparent)]
    Session(#[from] cqlstream::Error),
}

/// A real cluster named by the environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RealCluster {
    /// `host:port` of each contact point.
    pub(crate) contact_points: Vec<String>,
    /// The pinned protocol version, if any.
    pub(crate) protocol: Option<Version>,
    /// User and password, if any.
    pub(crate) credentials: Option<(String, String)>,
}

impl RealCluster {
    /// The cluster the environment names; `None` when `CQLSTREAM_TEST_CONTACT_POINTS` is
    /// unset or empty.
    pub(crate) fn from_env() -> Result<Option<RealCluster>, TargetError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        RealCluster::parse(
            var(CONTACT_POINTS_VAR).as_deref(),
            var(PROTOCOL_VAR).as_deref(),
            var(USERNAME_VAR),
            var(PASSWORD_VAR),
        )
    }

    /// [`RealCluster::from_env`] on given values (what the variables hold, if set).
    pub(crate) fn parse(
        contact_points: Option<&str>,
        protocol: Option<&str>,
        username: Option<String>,
        password: Option<String>,
    ) -> Result<Option<RealCluster>, TargetError> {
        let Some(points) = contact_points else { return Ok(None) };
        let contact_points: Vec<String> =
            points.split(',').map(str::trim).filter(|p| !p.is_empty()).map(str::to_owned).collect();
        if contact_points.is_empty() {
            return Ok(None);
        }
        if let Some(bad) =
            contact_points.iter().find(|p| p.rsplit_once(':').is_none_or(|(_, port)| port.parse::<u16>().is_err()))
        {
            return Err(TargetError::BadVariable {
                var: CONTACT_POINTS_VAR,
                reason: format!("`{bad}` is not host:port"),
            });
        }
        let protocol = match protocol {
            None => None,
            Some("4") => Some(Version::V4),
            Some("5") => Some(Version::V5),
            Some(other) => {
                return Err(TargetError::BadVariable { var: PROTOCOL_VAR, reason: format!("`{other}` is not 4 or 5") });
            }
        };
        let credentials = match (username, password) {
            (Some(u), Some(p)) => Some((u, p)),
            (None, None) => None,
            (Some(_), None) => {
                return Err(TargetError::BadVariable { var: PASSWORD_VAR, reason: "unset, but a user is".into() });
            }
            (None, Some(_)) => {
                return Err(TargetError::BadVariable { var: USERNAME_VAR, reason: "unset, but a password is".into() });
            }
        };
        Ok(Some(RealCluster { contact_points, protocol, credentials }))
    }
}

#[derive(Debug)]
enum Kind {
    Testkit(TestNode),
    Real(RealCluster),
}

/// Where one test runs; see the module documentation.
#[derive(Debug)]
pub(crate) struct TestTarget {
    test: String,
    kind: Kind,
}

impl TestTarget {
    /// The cluster the environment names, or else a fresh testkit node with the default
    /// settings. Says which on stderr, naming `test`.
    pub(crate) async fn from_env(test: &str) -> Result<TestTarget, TargetError> {
        TestTarget::from_env_with(test, TestNode::builder()).await
    }

    /// As [`TestTarget::from_env`], with the testkit node built by `node` (a protocol
    /// ceiling, users) when no cluster is named.
    pub(crate) async fn from_env_with(test: &str, node: TestNodeBuilder) -> Result<TestTarget, TargetError> {
        let kind = match RealCluster::from_env()? {
            Some(cluster) => Kind::Real(cluster),
            None => Kind::Testkit(node.start().await?),
        };
        let target = TestTarget { test: test.to_owned(), kind };
        report(&format!("{}: running against {}", target.test, target.describe()));
        Ok(target)
    }

    /// `testkit node at ADDR` or `real cluster at HOST:PORT,...`.
    pub(crate) fn describe(&self) -> String {
        match &self.kind {
            Kind::Testkit(node) => format!("testkit node at {}", node.addr()),
            Kind::Real(c) => format!("real cluster at {}", c.contact_points.join(",")),
        }
    }

    /// Whether this is a real cluster.
    pub(crate) fn is_real(&self) -> bool {
        matches!(self.kind, Kind::Real(_))
    }

    /// The testkit node, if this is one.
    pub(crate) fn testkit(&self) -> Option<&TestNode> {
        match &self.kind {
            Kind::Testkit(node) => Some(node),
            Kind::Real(_) => None,
        }
    }

    /// The testkit node, for the part of a test that needs it; against a real cluster,
    /// says on stderr that the part was skipped and why, and returns `None`.
    pub(crate) fn require_testkit(&self, why: &str) -> Option<&TestNode> {
        if self.testkit().is_none() {
            report(&format!("{}: SKIPPED against a real node: {why}", self.test));
        }
        self.testkit()
    }

    /// `host:port` of every contact point.
    pub(crate) fn contact_points(&self) -> Vec<String> {
        match &self.kind {
            Kind::Testkit(node) => vec![node.addr().to_string()],
            Kind::Real(c) => c.contact_points.clone(),
        }
    }

    /// The first contact point, resolved (for tests that open a bare connection).
    pub(crate) async fn addr(&self) -> Result<SocketAddr, TargetError> {
        let first = self.contact_points().into_iter().next().unwrap_or_default();
        tokio::net::lookup_host(&first).await?.next().ok_or_else(|| TargetError::BadVariable {
            var: CONTACT_POINTS_VAR,
            reason: format!("`{first}` resolves to nothing"),
        })
    }

    /// A connection config with the target's protocol and credentials.
    pub(crate) fn connection_config(&self) -> ConnectionConfig {
        let mut config = ConnectionConfig::new();
        if let Kind::Real(c) = &self.kind {
            if let Some(v) = c.protocol {
                config = config.protocol(v);
            }
            if let Some((user, password)) = &c.credentials {
                config = config.credentials(user, password);
            }
        }
        config
    }

    /// A session builder with the target's contact points, protocol and credentials.
    /// (Set further connection options on [`TestTarget::connection_config`] and pass it
    /// with `connection_config`, so that the credentials stay.)
    pub(crate) fn session_builder(&self) -> SessionBuilder {
        let mut b = Session::builder().connection_config(self.connection_config());
        for p in self.contact_points() {
            b = b.contact_point(p);
        }
        b
    }

    /// A keyspace of the test's own (SimpleStrategy, replication factor 1), created now
    /// and dropped when the returned guard is dropped.
    pub(crate) async fn keyspace(&self) -> Result<TestKeyspace, TargetError> {
        let name = keyspace_name(&self.test);
        let session = self.session_builder().build().await?;
        session
            .query(
                format!(
                    "CREATE KEYSPACE {name} WITH replication = {{'class': 'SimpleStrategy', 'replication_factor': 1}}"
                ),
                (),
            )
            .await?;
        Ok(TestKeyspace { name, drop_with: self.is_real().then(|| self.session_builder()) })
    }
}

/// A keyspace made for one test; dropped (against a real cluster) when this is dropped.
#[derive(Debug)]
pub(crate) struct TestKeyspace {
    name: String,
    drop_with: Option<SessionBuilder>,
}

impl TestKeyspace {
    /// The keyspace's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// `keyspace.table`.
    pub(crate) fn table(&self, table: &str) -> String {
        format!("{}.{table}", self.name)
    }
}

impl Drop for TestKeyspace {
    /// Drops the keyspace from a thread of its own (a drop cannot await), waiting at most
    /// 30 s; a failure is reported, not raised, since the test's verdict is already in.
    fn drop(&mut self) {
        let Some(builder) = self.drop_with.take() else { return };
        let name = std::mem::take(&mut self.name);
        let dropper = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
            runtime.block_on(async {
                let drop = async {
                    let session = builder.build().await?;
                    session.query(format!("DROP KEYSPACE IF EXISTS {name}"), ()).await?;
                    Ok::<_, cqlstream::Error>(())
                };
                match tokio::time::timeout(Duration::from_secs(30), drop).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => report(&format!("dropping test keyspace {name}: {e}")),
                    Err(_) => report(&format!("dropping test keyspace {name}: no answer within 30 s")),
                }
            });
            Ok::<_, std::io::Error>(())
        });
        let _ = dropper.join();
    }
}

/// A keyspace name unique to this process and test: `t_<test>_<pid>_<n>`, at most 48
/// characters of `[a-z0-9_]`, as CQL allows unquoted.
fn keyspace_name(test: &str) -> String {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("_{}_{n}", std::process::id());
    let stem: String = test
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '_' })
        .take(48 - 2 - suffix.len())
        .collect();
    format!("t_{stem}{suffix}")
}

/// One line to stderr, written directly: the test harness captures `eprintln!` of a
/// passing test, not writes to the stderr handle itself.
fn report(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_variables() {
        assert_eq!(RealCluster::parse(None, Some("5"), None, None).unwrap(), None);
        assert_eq!(RealCluster::parse(Some(" , "), None, None, None).unwrap(), None);
        let c = RealCluster::parse(Some("10.0.0.1:9042, db:19042"), Some("4"), Some("u".into()), Some("p".into()))
            .unwrap()
            .unwrap();
        assert_eq!(c.contact_points, ["10.0.0.1:9042", "db:19042"]);
        assert_eq!(c.protocol, Some(Version::V4));
        assert_eq!(c.credentials, Some(("u".into(), "p".into())));
        for (points, protocol, user, password, var) in [
            ("db", None, None, None, CONTACT_POINTS_VAR),
            ("db:port", None, None, None, CONTACT_POINTS_VAR),
            ("db:9042", Some("3"), None, None, PROTOCOL_VAR),
            ("db:9042", None, Some("u"), None, PASSWORD_VAR),
            ("db:9042", None, None, Some("p"), USERNAME_VAR),
        ] {
            let err =
                RealCluster::parse(Some(points), protocol, user.map(Into::into), password.map(Into::into)).unwrap_err();
            assert!(matches!(err, TargetError::BadVariable { var: v, .. } if v == var), "{err}");
        }
    }

    #[test]
    fn keyspace_names_are_unique_short_and_plain() {
        let a = keyspace_name("session::query_prepare_execute_and_typed_rows_with_a_very_long_name");
        let b = keyspace_name("session::query_prepare_execute_and_typed_rows_with_a_very_long_name");
        assert_ne!(a, b);
        for n in [&a, &b] {
            assert!(n.len() <= 48, "{n}");
            assert!(n.starts_with("t_session__query"), "{n}");
            assert!(n.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'), "{n}");
        }
    }

    #[tokio::test]
    async fn a_testkit_target_gives_sessions_and_keyspaces() {
        // The suite's CI has no cluster variable set; with one set, this checks that one.
        let target = TestTarget::from_env("target::a_testkit_target_gives_sessions_and_keyspaces").await.unwrap();
        let ks = target.keyspace().await.unwrap();
        let session = target.session_builder().keyspace(ks.name()).build().await.unwrap();
        session.query("CREATE TABLE t (k int PRIMARY KEY, v text)", ()).await.unwrap();
        session.query("INSERT INTO t (k, v) VALUES (1, 'one')", ()).await.unwrap();
        let r = session.query(format!("SELECT v FROM {} WHERE k = 1", ks.table("t")), ()).await.unwrap();
        let (v,): (&str,) = r.rows_typed().unwrap().next().unwrap().unwrap();
        assert_eq!(v, "one");
        assert_eq!(target.is_real(), target.testkit().is_none());
        assert_eq!(target.require_testkit("checks the testkit accessor").is_some(), !target.is_real());
    }
}
