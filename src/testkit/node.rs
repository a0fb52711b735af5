//! Test nodes and clusters: configuration, binding, start/stop/restart, and the
//! topology every node reports (addresses, data centre, rack, tokens, host ids).
//!
//! Owns lifecycles and the accept loops. Connections are served by
//! [`super::serve`]; statements are executed by [`super::engine::Engine`], one
//! per cluster, so all nodes share one dataset. Events about a node (up, down) are
//! pushed by the *other* nodes, as in Cassandra.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use uuid::Uuid;

use super::engine::Engine;
use super::events::Subscribers;
use super::faults::Faults;
use super::serve;
use super::stats::Stats;
use crate::protocol::request::Query;
use crate::protocol::response::{ErrorBody, ErrorKind, Event, ResultBody, StatusChangeType, TopologyChangeType};
use crate::protocol::{Consistency, QueryParameters, Request, Response, Values, Version};

/// Vnodes per node, as the issue asks (Cassandra 5 defaults to 16 too).
pub const VNODES: usize = 16;

/// How a node answers authentication.
#[derive(Debug, Clone, Default)]
pub(crate) struct Auth {
    /// `(user, password)` pairs accepted by the PasswordAuthenticator; empty = no auth.
    pub(crate) users: Vec<(String, String)>,
}

/// Static facts about one node.
#[derive(Debug, Clone)]
pub(crate) struct NodeInfo {
    pub(crate) addr: SocketAddr,
    pub(crate) host_id: Uuid,
    pub(crate) datacenter: String,
    pub(crate) rack: String,
    pub(crate) tokens: Vec<i64>,
}

#[derive(Debug)]
struct RunState {
    running: bool,
    /// Decommissioned: not in `system.peers`, not accepting connections.
    removed: bool,
    shutdown: Option<watch::Sender<bool>>,
    accept: Option<JoinHandle<()>>,
}

/// One node of a cluster (shared state).
#[derive(Debug)]
pub(crate) struct NodeShared {
    pub(crate) index: usize,
    pub(crate) info: NodeInfo,
    pub(crate) faults: Faults,
    pub(crate) stats: Stats,
    pub(crate) subscribers: Subscribers,
    run: Mutex<RunState>,
    /// One stop signal per client connection being served, oldest first; a connection
    /// whose `serve` has returned has no receiver left and is pruned.
    live: Mutex<Vec<Arc<watch::Sender<bool>>>>,
}

impl NodeShared {
    pub(crate) fn is_running(&self) -> bool {
        self.run.lock().unwrap_or_else(|e| e.into_inner()).running
    }

    /// The stop signals of the connections still being served (pruning the others).
    fn live(&self) -> std::sync::MutexGuard<'_, Vec<Arc<watch::Sender<bool>>>> {
        let mut live = self.live.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|c| c.receiver_count() > 0);
        live
    }

    /// Whether the node has left the ring (decommissioned).
    pub(crate) fn is_removed(&self) -> bool {
        self.run.lock().unwrap_or_else(|e| e.into_inner()).removed
    }
}

/// Everything the nodes of one cluster share.
#[derive(Debug)]
pub(crate) struct ClusterShared {
    pub(crate) name: String,
    pub(crate) max_protocol: Version,
    pub(crate) auth: Auth,
    pub(crate) nodes: Vec<Arc<NodeShared>>,
    pub(crate) engine: Engine,
}

impl ClusterShared {
    /// Pushes `event` to the registered connections of every running node but `except`.
    pub(crate) fn broadcast(&self, event: &Event, except: Option<usize>) {
        for n in &self.nodes {
            if Some(n.index) != except && n.is_running() {
                n.subscribers.push(event);
            }
        }
    }
}

/// Builds a [`TestCluster`] (or, with one node, a [`TestNode`]).
#[derive(Debug, Clone)]
pub struct TestClusterBuilder {
    nodes: usize,
    ip_base: Ipv4Addr,
    port: u16,
    max_protocol: Version,
    users: Vec<(String, String)>,
    datacenter: String,
    cluster_name: String,
}

impl Default for TestClusterBuilder {
    fn default() -> Self {
        TestClusterBuilder {
            nodes: 1,
            ip_base: Ipv4Addr::LOCALHOST,
            port: 0,
            max_protocol: Version::V5,
            users: Vec::new(),
            datacenter: "datacenter1".into(),
            cluster_name: "cqlstream testkit".into(),
        }
    }
}

impl TestClusterBuilder {
    /// Number of nodes: they listen on `127.0.0.1`, `127.0.0.2`, ... (same port).
    pub fn nodes(mut self, n: usize) -> Self {
        self.nodes = n.max(1);
        self
    }

    /// The first node's address; the others count up from its IP. Port 0 picks a free
    /// port (shared by every node).
    pub fn bind(mut self, addr: SocketAddr) -> Self {
        if let IpAddr::V4(ip) = addr.ip() {
            self.ip_base = ip;
        }
        self.port = addr.port();
        self
    }

    /// The highest protocol version the nodes accept; a v4 cluster behaves like
    /// ScyllaDB and makes v5 clients step down.
    pub fn max_protocol(mut self, v: Version) -> Self {
        self.max_protocol = v;
        self
    }

    /// Requires PasswordAuthenticator (SASL PLAIN) login with one of these users.
    pub fn user(mut self, name: impl Into<String>, password: impl Into<String>) -> Self {
        self.users.push((name.into(), password.into()));
        self
    }

    /// The data centre every node reports (default `datacenter1`).
    pub fn datacenter(mut self, dc: impl Into<String>) -> Self {
        self.datacenter = dc.into();
        self
    }

    /// The cluster name in `system.local`.
    pub fn cluster_name(mut self, name: impl Into<String>) -> Self {
        self.cluster_name = name.into();
        self
    }

    /// Binds every node and starts accepting connections.
    pub async fn start(self) -> io::Result<TestCluster> {
        let n = self.nodes;
        let mut listeners = Vec::with_capacity(n);
        let mut port = self.port;
        for i in 0..n {
            let ip = Ipv4Addr::from(u32::from(self.ip_base).wrapping_add(i as u32));
            let l = TcpListener::bind(SocketAddr::new(IpAddr::V4(ip), port)).await?;
            port = l.local_addr()?.port();
            listeners.push(l);
        }
        let nodes = listeners
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let addr = l.local_addr()?;
                Ok(Arc::new(NodeShared {
                    index: i,
                    info: NodeInfo {
                        addr,
                        host_id: Uuid::from_u128(0x5e57_0000_0000_4000_8000_0000_0000_0000 | (i as u128 + 1)),
                        datacenter: self.datacenter.clone(),
                        rack: "rack1".into(),
                        tokens: tokens_for(i, n),
                    },
                    faults: Faults::default(),
                    stats: Stats::default(),
                    subscribers: Subscribers::default(),
                    run: Mutex::new(RunState { running: false, removed: false, shutdown: None, accept: None }),
                    live: Mutex::new(Vec::new()),
                }))
            })
            .collect::<io::Result<Vec<_>>>()?;
        let shared = Arc::new(ClusterShared {
            name: self.cluster_name,
            max_protocol: self.max_protocol,
            auth: Auth { users: self.users },
            nodes,
            engine: Engine::new(n),
        });
        for (i, l) in listeners.into_iter().enumerate() {
            start_accepting(&shared, i, l);
        }
        Ok(TestCluster { shared })
    }
}

/// Tokens of node `i` of `n`: `VNODES` each, spread evenly over the ring and
/// interleaved between nodes, so ownership is balanced and deterministic.
fn tokens_for(i: usize, n: usize) -> Vec<i64> {
    let total = (VNODES * n) as i128;
    let span = (u64::MAX as i128) + 1;
    (0..VNODES)
        .map(|k| {
            let slot = (k * n + i) as i128;
            (i64::MIN as i128 + slot * span / total) as i64
        })
        .collect()
}

fn start_accepting(cluster: &Arc<ClusterShared>, index: usize, listener: TcpListener) {
    let node = &cluster.nodes[index];
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(accept_loop(cluster.clone(), index, listener, rx));
    let mut run = node.run.lock().unwrap_or_else(|e| e.into_inner());
    run.running = true;
    run.shutdown = Some(tx);
    run.accept = Some(task);
}

async fn accept_loop(
    cluster: Arc<ClusterShared>,
    index: usize,
    listener: TcpListener,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            accepted = listener.accept() => {
                let Ok((socket, _peer)) = accepted else { continue };
                let _ = socket.set_nodelay(true);
                let node = &cluster.nodes[index];
                node.stats.record_connection();
                // Each connection stops on a signal of its own, raised when the node
                // stops or when a test drops just this connection.
                let (conn_stop, conn_stopped) = watch::channel(false);
                let conn_stop = Arc::new(conn_stop);
                node.live().push(conn_stop.clone());
                tokio::spawn(forward_stop(stop.clone(), conn_stop));
                tokio::spawn(serve::connection(socket, cluster.clone(), index, conn_stopped));
            }
        }
    }
}

/// Raises a connection's own stop signal when the node stops; ends with the connection.
async fn forward_stop(mut node_stop: watch::Receiver<bool>, conn_stop: Arc<watch::Sender<bool>>) {
    tokio::select! {
        _ = node_stop.changed() => {
            let _ = conn_stop.send(true);
        }
        () = conn_stop.closed() => {}
    }
}

/// A running in-process cluster of test nodes sharing one dataset.
///
/// ```no_run
/// # async fn demo() -> std::io::Result<()> {
/// use cqlstream::testkit::TestCluster;
/// let cluster = TestCluster::builder().nodes(3).start().await?;
/// println!("contact point: {}", cluster.node(0).addr());
/// cluster.node(2).stop().await; // the others push STATUS_CHANGE DOWN
/// cluster.node(2).start().await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct TestCluster {
    shared: Arc<ClusterShared>,
}

impl TestCluster {
    /// A builder with one node on `127.0.0.1`, any free port, protocol up to v5.
    pub fn builder() -> TestClusterBuilder {
        TestClusterBuilder::default()
    }

    /// Node `i` (0-based). Panics if out of range, like slice indexing.
    pub fn node(&self, i: usize) -> TestNode {
        assert!(i < self.shared.nodes.len(), "node {i} of a {}-node cluster", self.shared.nodes.len());
        TestNode { cluster: self.shared.clone(), index: i }
    }

    /// All nodes.
    pub fn nodes(&self) -> Vec<TestNode> {
        (0..self.shared.nodes.len()).map(|i| self.node(i)).collect()
    }

    /// Addresses of all nodes.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        self.shared.nodes.iter().map(|n| n.info.addr).collect()
    }

    /// Runs one CQL statement in-process, as a client of node 0 would (no connection),
    /// e.g. to set up a schema or load data before a test. Schema changes are pushed to
    /// registered connections as usual.
    ///
    /// ```no_run
    /// # async fn demo() -> std::io::Result<()> {
    /// use cqlstream::testkit::TestCluster;
    /// let cluster = TestCluster::builder().start().await?;
    /// cluster.execute("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}").unwrap();
    /// # Ok(()) }
    /// ```
    pub fn execute(&self, cql: &str) -> Result<ResultBody, ErrorBody> {
        self.execute_with(cql, Values::empty())
    }

    /// Like [`TestCluster::execute`], with bound values for the statement's markers.
    pub fn execute_with(&self, cql: &str, values: Values) -> Result<ResultBody, ErrorBody> {
        let query = Query::new(cql, QueryParameters::new(Consistency::One).with_values(values));
        let mut client = super::engine::ClientState::default();
        let outcome = self.shared.engine.execute(&self.shared, 0, &mut client, Version::V5, Request::Query(query));
        if let Some(event) = outcome.event {
            self.shared.broadcast(&event, None);
        }
        match outcome.response {
            Response::Result(r) => Ok(r),
            Response::Error(e) => Err(e),
            other => Err(ErrorBody { kind: ErrorKind::ServerError, message: format!("unexpected reply {other:?}") }),
        }
    }

    /// Stops every node.
    pub async fn stop(&self) {
        for n in self.nodes() {
            n.stop().await;
        }
    }
}

/// One node of a [`TestCluster`]; a single-node cluster is built with
/// [`TestNode::builder`].
#[derive(Debug, Clone)]
pub struct TestNode {
    cluster: Arc<ClusterShared>,
    index: usize,
}

/// Builds a single [`TestNode`]: a one-node cluster. Same options as
/// [`TestClusterBuilder`].
#[derive(Debug, Clone, Default)]
pub struct TestNodeBuilder(TestClusterBuilder);

impl TestNodeBuilder {
    /// The address to listen on; port 0 picks a free port.
    pub fn bind(self, addr: SocketAddr) -> Self {
        TestNodeBuilder(self.0.bind(addr))
    }

    /// The highest protocol version accepted (v4 behaves like ScyllaDB).
    pub fn max_protocol(self, v: Version) -> Self {
        TestNodeBuilder(self.0.max_protocol(v))
    }

    /// Requires PasswordAuthenticator login with one of these users.
    pub fn user(self, name: impl Into<String>, password: impl Into<String>) -> Self {
        TestNodeBuilder(self.0.user(name, password))
    }

    /// The data centre the node reports.
    pub fn datacenter(self, dc: impl Into<String>) -> Self {
        TestNodeBuilder(self.0.datacenter(dc))
    }

    /// The cluster name in `system.local`.
    pub fn cluster_name(self, name: impl Into<String>) -> Self {
        TestNodeBuilder(self.0.cluster_name(name))
    }

    /// Binds and starts accepting connections.
    pub async fn start(self) -> io::Result<TestNode> {
        Ok(self.0.nodes(1).start().await?.node(0))
    }
}

impl TestNode {
    /// A builder for a single node on `127.0.0.1`, any free port, protocol up to v5.
    pub fn builder() -> TestNodeBuilder {
        TestNodeBuilder::default()
    }

    fn shared(&self) -> &Arc<NodeShared> {
        &self.cluster.nodes[self.index]
    }

    /// The address the node listens on.
    pub fn addr(&self) -> SocketAddr {
        self.shared().info.addr
    }

    /// The node's fault rules.
    pub fn faults(&self) -> &Faults {
        &self.shared().faults
    }

    /// The node's request counters.
    pub fn stats(&self) -> &Stats {
        &self.shared().stats
    }

    /// The node's tokens.
    pub fn tokens(&self) -> &[i64] {
        &self.shared().info.tokens
    }

    /// Client connections the node is serving now: accepted and not yet closed by
    /// either side.
    pub fn open_connections(&self) -> usize {
        self.shared().live().len()
    }

    /// Drops up to `n` of the connections the node is serving, oldest first, without a
    /// word (as a crashed peer or a cut network would); returns how many it dropped.
    /// The node keeps accepting new connections.
    pub fn drop_connections(&self, n: usize) -> usize {
        let live = self.shared().live();
        let mut dropped = 0;
        for c in live.iter().filter(|c| !*c.borrow()).take(n) {
            let _ = c.send(true);
            dropped += 1;
        }
        dropped
    }

    /// Forgets every statement prepared on this node, as a restarted Cassandra whose
    /// prepared-statement cache was lost would: the next EXECUTE or BATCH naming one
    /// gets UNPREPARED.
    pub fn forget_prepared(&self) {
        self.cluster.engine.forget_prepared(self.index);
    }

    /// Whether the node accepts connections.
    pub fn is_running(&self) -> bool {
        self.shared().is_running()
    }

    /// Stops listening and drops every connection, like a killed process. The other
    /// nodes push STATUS_CHANGE DOWN.
    pub async fn stop(&self) {
        let (tx, task) = {
            let mut run = self.shared().run.lock().unwrap_or_else(|e| e.into_inner());
            if !run.running {
                return;
            }
            run.running = false;
            (run.shutdown.take(), run.accept.take())
        };
        if let Some(tx) = tx {
            let _ = tx.send(true);
        }
        if let Some(task) = task {
            let _ = task.await;
        }
        self.shared().subscribers.clear();
        let event = Event::StatusChange { change: StatusChangeType::Down, addr: self.addr() };
        self.cluster.broadcast(&event, Some(self.index));
    }

    /// Listens again on the same address after [`TestNode::stop`]. The other nodes push
    /// STATUS_CHANGE UP.
    pub async fn start(&self) -> io::Result<()> {
        if self.is_running() {
            return Ok(());
        }
        let listener = TcpListener::bind(self.addr()).await?;
        start_accepting(&self.cluster, self.index, listener);
        let event = Event::StatusChange { change: StatusChangeType::Up, addr: self.addr() };
        self.cluster.broadcast(&event, Some(self.index));
        Ok(())
    }

    /// Stops and starts again.
    pub async fn restart(&self) -> io::Result<()> {
        self.stop().await;
        self.start().await
    }

    /// Takes the node out of the ring, as `nodetool decommission` does: it stops, drops
    /// out of the other nodes' `system.peers`, and they push TOPOLOGY_CHANGE
    /// REMOVED_NODE (after STATUS_CHANGE DOWN).
    pub async fn decommission(&self) {
        self.stop().await;
        self.shared().run.lock().unwrap_or_else(|e| e.into_inner()).removed = true;
        let event = Event::TopologyChange { change: TopologyChangeType::RemovedNode, addr: self.addr() };
        self.cluster.broadcast(&event, Some(self.index));
    }

    /// Brings a decommissioned node back: it starts, reappears in `system.peers`, and
    /// the other nodes push TOPOLOGY_CHANGE NEW_NODE (and STATUS_CHANGE UP).
    pub async fn rejoin(&self) -> io::Result<()> {
        self.shared().run.lock().unwrap_or_else(|e| e.into_inner()).removed = false;
        let event = Event::TopologyChange { change: TopologyChangeType::NewNode, addr: self.addr() };
        self.cluster.broadcast(&event, Some(self.index));
        self.start().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_sorted_per_node_and_interleaved() {
        let n = 3;
        let mut all: Vec<(i64, usize)> =
            (0..n).flat_map(|i| tokens_for(i, n).into_iter().map(move |t| (t, i))).collect();
        all.sort();
        assert_eq!(all.len(), VNODES * n);
        assert_eq!(all[0], (i64::MIN, 0));
        // Ownership alternates node 0, 1, 2, 0, 1, 2, ...
        for (k, (_, owner)) in all.iter().enumerate() {
            assert_eq!(*owner, k % n);
        }
    }
}
