//! `twilio-standin [--bind 127.0.0.1] [--port 4010]`: runs the Twilio stand-in until Ctrl-C or
//! SIGTERM. Credentials come from `STANDIN_ACCOUNT_SID`, `STANDIN_AUTH_TOKEN`,
//! `STANDIN_API_KEY_SID` and `STANDIN_API_KEY_SECRET` (test defaults otherwise); `STANDIN_BIND`
//! and `STANDIN_PORT` set the address when the flags are absent. One log line per request goes
//! to stderr (never headers or secrets).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use twilio_standin::{Account, StandIn};

const USAGE: &str = "usage: twilio-standin [--bind ADDR] [--port PORT]
  --bind ADDR   address to listen on (env STANDIN_BIND, default 127.0.0.1)
  --port PORT   port to listen on (env STANDIN_PORT, default 4010; 0 picks a free one)";

/// The listen address from flags, then environment, then defaults.
fn address(args: &[String]) -> Result<SocketAddr, String> {
    let mut bind = std::env::var("STANDIN_BIND").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let mut port = std::env::var("STANDIN_PORT").unwrap_or_else(|_| "4010".to_owned());
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (flag, inline) = match arg.split_once('=') {
            Some((f, v)) => (f, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || {
            inline
                .clone()
                .or_else(|| it.next().cloned())
                .ok_or_else(|| format!("{flag} needs a value"))
        };
        match flag {
            "--bind" => bind = value()?,
            "--port" => port = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    let ip: IpAddr = bind
        .parse()
        .map_err(|_| format!("--bind/STANDIN_BIND: not an IP address: {bind}"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("--port/STANDIN_PORT: not a port number: {port}"))?;
    Ok(SocketAddr::new(ip, port))
}

async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--help" || a == "-h") {
        println!("{USAGE}");
        return ExitCode::SUCCESS;
    }
    let addr = match address(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("twilio-standin: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("twilio-standin: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async {
        let standin = match StandIn::start_on(addr, Account::from_env()).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("twilio-standin: cannot listen on {addr}: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("twilio stand-in listening on {}", standin.base_url());
        stop_signal().await;
        eprintln!("twilio-standin: stopping");
        standin.shutdown().await;
        ExitCode::SUCCESS
    })
}
