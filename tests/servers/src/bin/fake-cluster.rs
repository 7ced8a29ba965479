//! fake-cluster: one simulated managed cluster (see the `cluster` module):
//! Hive's syncer and OLM for one ClusterDeployment, reporting CSV telemetry
//! to a pushgateway. Runs until killed; says on stderr what each
//! Subscription resolved to.
//!
//! Usage: fake-cluster --cluster-id ID --cluster-deployment NS/NAME --hive-url URL
//!                     [--hive-token T] --pushgateway URL [--oci-layout DIR]
//!                     [--install-delay-ms N] [--interval-ms N] [--fail REASON]

use std::path::PathBuf;
use std::time::Duration;

use addon_flow_testservers::cluster::{ClusterOptions, Resolution, SimulatedCluster};

const USAGE: &str = "fake-cluster --cluster-id ID --cluster-deployment NS/NAME --hive-url URL \
[--hive-token T] --pushgateway URL [--oci-layout DIR] [--install-delay-ms N] [--interval-ms N] [--fail REASON]";

fn main() -> std::process::ExitCode {
    addon_flow_testservers::program_main("fake-cluster", Some(USAGE), run)
}

fn run() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let (mut id, mut cd, mut hive, mut token, mut push, mut layout, mut fail) =
        (None, None, None, None, None, None, None);
    let mut delay = Duration::from_secs(2);
    let mut interval = Duration::from_millis(500);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or(format!("{arg} needs a value"));
        let millis = |text: String| {
            text.parse()
                .map(Duration::from_millis)
                .map_err(|_| format!("{text:?} is not a number of milliseconds"))
        };
        match arg.as_str() {
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            "--cluster-id" => id = Some(value()?),
            "--cluster-deployment" => cd = Some(value()?),
            "--hive-url" => hive = Some(value()?),
            "--hive-token" => token = Some(value()?),
            "--pushgateway" => push = Some(value()?),
            "--oci-layout" => layout = Some(PathBuf::from(value()?)),
            "--fail" => fail = Some(value()?),
            "--install-delay-ms" => delay = millis(value()?)?,
            "--interval-ms" => interval = millis(value()?)?,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let cd = cd.ok_or("--cluster-deployment is required")?;
    let (namespace, name) = cd
        .split_once('/')
        .ok_or(format!("--cluster-deployment {cd:?} is not NAMESPACE/NAME"))?;
    let mut cluster = SimulatedCluster::new(ClusterOptions {
        cluster_id: id.ok_or("--cluster-id is required")?,
        namespace: namespace.to_string(),
        name: name.to_string(),
        hive_url: hive.ok_or("--hive-url is required")?,
        hive_token: token,
        pushgateway_url: push.ok_or("--pushgateway is required")?,
        oci_layout: layout,
        install_delay: delay,
        fail,
    })?;
    let mut last = Vec::new();
    loop {
        match cluster.pass() {
            Ok(resolutions) => {
                if resolutions != last {
                    for resolution in &resolutions {
                        match resolution {
                            Resolution::Csv {
                                name, namespace, ..
                            } => {
                                eprintln!("fake-cluster {cd}: OLM installs {name} in {namespace}")
                            }
                            Resolution::Failed {
                                package, reason, ..
                            } => {
                                eprintln!(
                                    "fake-cluster {cd}: OLM cannot install {package}: {reason}"
                                )
                            }
                        }
                    }
                    last = resolutions;
                }
            }
            Err(why) => eprintln!("fake-cluster {cd}: {why}"),
        }
        std::thread::sleep(interval);
    }
}
