//! `fhir-bridge serve`: the HTTP API on the embedded store.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use http_api::{AppState, SourceHealth, SourceStatus};
use ingest_pipeline::batcher;
use ingest_pipeline::hl7v2::V2Mappings;
use node_store::{Node, Peer};
use smart_auth::{AuthConfig, Authenticator, ClientConfig};
use source_connectors::kafka::{KafkaHealth, KafkaSource};
use source_connectors::mllp::MllpListener;

use crate::config::BridgeConfig;
use crate::metrics::ServiceMetrics;

/// The Kafka connector's health as `/healthz` reports it (`null` when Kafka is not configured).
struct KafkaHealthReport(Option<Arc<KafkaHealth>>);

impl SourceHealth for KafkaHealthReport {
    fn name(&self) -> &'static str {
        "kafka"
    }

    fn status(&self) -> SourceStatus {
        match &self.0 {
            None => SourceStatus::Off,
            Some(health) => health.problem().map_or(SourceStatus::Ok, SourceStatus::Problem),
        }
    }
}

/// The chain anchor's health as `/healthz` reports it (`null` when no chain is configured):
/// degraded while its steps fail, with the anchor lag.
struct ChainHealthReport(Option<chain_anchor::SharedHealth>);

impl SourceHealth for ChainHealthReport {
    fn name(&self) -> &'static str {
        "chain"
    }

    fn status(&self) -> SourceStatus {
        let Some(health) = &self.0 else { return SourceStatus::Off };
        let health = health.lock().unwrap_or_else(|poison| poison.into_inner()).clone();
        match health.problem {
            None => SourceStatus::Ok,
            Some(problem) => SourceStatus::Problem(format!("anchor lag {} blocks: {problem}", health.lag_blocks)),
        }
    }
}

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Listen here instead of `http.listen`.
    #[arg(long)]
    pub listen: Option<std::net::SocketAddr>,
}

/// `auth` with every configured peer registered as a client, unless registered already: client id
/// = its node key id, key = its node key (ES256K assertions), scopes `system/*.rs`. What a peer
/// may actually read is decided per patient by the grants, not by these scopes.
fn with_peer_clients(auth: &AuthConfig, peers: &[Peer]) -> AuthConfig {
    let mut auth = auth.clone();
    for peer in peers {
        if auth.clients.iter().any(|c| c.client_id == peer.key_id_hex) {
            continue;
        }
        auth.clients.push(ClientConfig {
            client_id: peer.key_id_hex.clone(),
            public_key: peer.public_key.to_string(),
            scopes: vec!["system/*.rs".to_owned()],
            organization: None,
            node_key_id: Some(peer.key_id_hex.clone()),
        });
    }
    auth
}

/// Serves until SIGTERM or Ctrl-C; then stops accepting, finishes in-flight requests, commits
/// what the writer holds, and exits.
pub fn run(config: &BridgeConfig, args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let node = Arc::new(Node::open(&config.node()).context("opening the data dir")?);
    // Before anything is served: grants an earlier version made under looser consent rules end.
    let reconciled =
        ingest_pipeline::reconcile_grants(&node).context("checking the grants in force against the consents")?;
    if reconciled > 0 {
        tracing::warn!(records = reconciled, "Grants that the patients' consents no longer make were revoked.");
    }
    // A broken mapping file stops start-up here, naming the file, the line and the reason.
    let mappings =
        Arc::new(V2Mappings::load(config.hl7v2.mappings_dir.as_deref()).context("loading the HL7 v2 mappings")?);
    match mappings.get() {
        Some(m) => {
            let (messages, segments, datatypes, tables) = m.counts();
            tracing::info!(files = m.files, messages, segments, datatypes, tables, "HL7 v2 mappings loaded.");
        }
        None => tracing::warn!("No HL7 v2 mappings (hl7v2.mappings_dir unset, no ./mappings): v2 input is refused."),
    }
    let metrics = ServiceMetrics::default();
    let (writer, writer_thread) = batcher::start(
        node.clone(),
        metrics.writer.clone(),
        config.ingest.block_records,
        Duration::from_millis(config.ingest.block_linger_ms),
    )
    .context("starting the ledger writer thread")?;
    let kafka = match &config.kafka {
        Some(kafka) => {
            tracing::info!(brokers = %kafka.brokers, topic = %kafka.ingest_topic, group = %kafka.group_id, "Starting the Kafka connector.");
            Some(
                KafkaSource::start(
                    kafka.clone(),
                    node.clone(),
                    mappings.clone(),
                    writer.clone(),
                    metrics.kafka.clone(),
                )
                .context("starting the Kafka connector")?,
            )
        }
        None => None,
    };
    let mllp = match &config.mllp {
        Some(mllp) => Some(
            MllpListener::start(mllp.clone(), node.clone(), mappings.clone(), writer.clone(), metrics.mllp.clone())
                .with_context(|| format!("starting the MLLP listener on {}", mllp.listen))?,
        ),
        None => None,
    };
    let anchoring = crate::anchoring::start(config, &node, metrics.chain.clone())?;
    let listen = args.listen.unwrap_or(config.http.listen);
    let peer_client = Arc::new(crate::anchoring::peer_client(config, &node));
    let sources: Vec<Arc<dyn SourceHealth>> = vec![
        Arc::new(KafkaHealthReport(kafka.as_ref().map(|k| k.health.clone()))),
        Arc::new(ChainHealthReport(anchoring.as_ref().map(|handle| handle.health.clone()))),
    ];
    let state = AppState {
        node: node.clone(),
        writer,
        metrics: metrics.registry.clone(),
        sources,
        peer_client,
        public_base_url: config.http.public_base_url.clone(),
        conditional: Arc::default(),
        exports: Arc::default(),
    };
    // Clients put this URL in their assertions' `aud`; set `auth.token_url` to the public one.
    let authenticator = Arc::new(
        Authenticator::from_config(
            &with_peer_clients(&config.auth, &node.peers),
            &format!("http://{listen}/auth/token"),
        )
        .context("loading the auth configuration")?,
    );
    tracing::info!(%listen, data_dir = %config.data_dir.display(), key_id = %node.key_id, "Serving.");
    // actix handles SIGTERM, SIGINT and SIGQUIT: it stops accepting and lets in-flight requests
    // finish, each of which has its receipts only once durable.
    http_api::serve(&config.http, listen, state, authenticator)?;
    // The Kafka connector finishes its batch (offsets last) and leaves the group; the app states
    // (and their writer handles) are dropped with the server; the writer commits what it holds.
    if let Some(kafka) = kafka {
        kafka.stop();
    }
    // MLLP stops accepting; messages under way get their ACKs once durable, then it ends.
    if let Some(mllp) = mllp {
        mllp.stop();
    }
    writer_thread.join().map_err(|_| anyhow::anyhow!("the ledger writer thread panicked"))?;
    // The anchorer's state is durable at every step: stopping it loses nothing.
    if let Some(anchoring) = anchoring {
        anyhow::ensure!(anchoring.stop(), "the chain anchoring thread panicked");
    }
    node.db.flush().context("flushing the database")?;
    tracing::info!("Stopped; everything accepted is durable.");
    Ok(ExitCode::SUCCESS)
}
