//! A Ballista scheduler whose codecs carry synthgmm's passes:
//!
//! ```text
//! synthgmm-scheduler [--bind-host 0.0.0.0] [--port 50050]
//! ```

use std::net::SocketAddr;
use std::sync::Arc;

use ballista_scheduler::cluster::BallistaCluster;
use ballista_scheduler::config::SchedulerConfig;
use ballista_scheduler::scheduler_process::start_server;
use synthgmm_ballista::{LogicalCodec, PhysicalCodec};

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> ballista_core::error::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let host = flag(&args, "--bind-host").unwrap_or_else(|| "0.0.0.0".into());
    let port: u16 = flag(&args, "--port").map_or(50050, |p| p.parse().expect("a port number"));
    let config = SchedulerConfig {
        bind_host: host.clone(),
        bind_port: port,
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        ..SchedulerConfig::default()
    };
    let address: SocketAddr = format!("{host}:{port}").parse().expect("a socket address");
    let cluster = BallistaCluster::new_from_config(&config).await?;
    start_server(cluster, address, Arc::new(config)).await
}
