//! `SessionBuilder::build`: contact points that do not resolve are skipped, and
//! errors say what to do (wrong credentials, none given).

use std::time::Duration;

use crate::support::TestTarget;
use cqlstream::Error;
use cqlstream::connection::ConnectionError;
use cqlstream::protocol::response::ErrorKind;
use cqlstream::session::{ContactPointError, Session};
use cqlstream::testkit::TestNode;

#[tokio::test]
async fn unresolvable_and_malformed_contact_points_are_skipped() {
    let target = TestTarget::from_env("session::unresolvable_and_malformed_contact_points_are_skipped").await.unwrap();
    let bad = ["no-such-host.invalid:9042", "nonsense"];
    let mut builder =
        Session::builder().connection_config(target.connection_config().connect_timeout(Duration::from_secs(2)));
    for b in bad {
        builder = builder.contact_point(b);
    }
    let only_bad = builder.clone();
    for good in target.contact_points() {
        builder = builder.contact_point(good);
    }
    let session = tokio::time::timeout(Duration::from_secs(10), builder.build())
        .await
        .expect("build() did not finish")
        .unwrap_or_else(|e| panic!("a good contact point after bad ones: {e}"));
    session.query("SELECT * FROM system.local", ()).await.unwrap();
    // With only bad ones, every failure is listed with its contact point.
    let err = tokio::time::timeout(Duration::from_secs(10), only_bad.build())
        .await
        .expect("build() did not finish")
        .unwrap_err();
    let Error::NoNodeAvailable(failures) = &err else { panic!("{err}") };
    assert_eq!(failures.iter().map(|f| f.contact_point.as_str()).collect::<Vec<_>>(), bad, "{err}");
    for f in failures {
        assert!(matches!(f.error, ContactPointError::Resolve(_)), "{f}");
        assert_eq!(f.addr, None);
    }
    for b in bad {
        assert!(err.to_string().contains(b), "{b} missing from: {err}");
    }
}

#[tokio::test]
async fn wrong_or_missing_credentials_are_their_own_error() {
    let target = TestTarget::from_env_with(
        "session::wrong_or_missing_credentials_are_their_own_error",
        TestNode::builder().user("alice", "secret"),
    )
    .await
    .unwrap();
    let Some(node) = target.require_testkit("needs a user set up on the node") else { return };
    // An unreachable contact point first: the refusal still comes back as itself.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let err = Session::builder()
        .contact_point(dead.to_string())
        .contact_point(node.addr().to_string())
        .credentials("alice", "wrong")
        .build()
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Authentication { node: n, error } if *n == node.addr()
            && matches!(**error, ConnectionError::AuthenticationFailed(_))),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(text.contains("credentials") && text.contains("refused"), "{text}");
    assert!(!text.contains("no node could be reached"), "{text}");
    assert_eq!(err.server_kind(), Some(&ErrorKind::AuthenticationError), "{err:?}");
    assert!(err.server_error().unwrap().message.contains("incorrect"), "the server's message is kept: {err:?}");

    let err = Session::builder().contact_point(node.addr().to_string()).build().await.unwrap_err();
    assert!(
        matches!(&err, Error::Authentication { error, .. } if matches!(**error, ConnectionError::AuthenticationRequired { .. })),
        "{err:?}"
    );
    assert_eq!(err.server_kind(), None, "no server error: the driver had nothing to send");
    let text = err.to_string();
    assert!(text.contains("requires authentication") && text.contains("no credentials"), "{text}");
    assert!(!text.contains("no node could be reached"), "{text}");
}
