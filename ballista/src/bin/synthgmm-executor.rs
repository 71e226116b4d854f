//! A Ballista executor whose codecs rebuild synthgmm's passes:
//!
//! ```text
//! synthgmm-executor [--scheduler-host localhost] [--scheduler-port 50050] [--port 50051] [--grpc-port 50052]
//! ```

use std::sync::Arc;

use ballista_executor::executor_process::{start_executor_process, ExecutorProcessConfig};
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
    let number = |name: &str, default: u16| {
        flag(&args, name).map_or(default, |p| p.parse().expect("a port number"))
    };
    let config = ExecutorProcessConfig {
        scheduler_host: flag(&args, "--scheduler-host").unwrap_or_else(|| "localhost".into()),
        scheduler_port: number("--scheduler-port", 50050),
        port: number("--port", 50051),
        grpc_port: number("--grpc-port", 50052),
        override_logical_codec: Some(Arc::new(LogicalCodec::default())),
        override_physical_codec: Some(Arc::new(PhysicalCodec::default())),
        ..ExecutorProcessConfig::default()
    };
    start_executor_process(Arc::new(config)).await
}
