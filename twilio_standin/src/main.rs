//! `twilio-standin [--bind 127.0.0.1] [--port 4010] [--media-port 0] [--media-ip IP]...
//! [--ivs-public-key-file PEM] [--ivs-whip-base URL]`: runs the Twilio stand-in (REST, the
//! WHIP/WHEP media relay and the IVS real-time API) until Ctrl-C or SIGTERM. Credentials come
//! from `STANDIN_ACCOUNT_SID`, `STANDIN_AUTH_TOKEN`, `STANDIN_API_KEY_SID` and
//! `STANDIN_API_KEY_SECRET`, the IVS API's AWS key pair from `STANDIN_AWS_ACCESS_KEY_ID` and
//! `STANDIN_AWS_SECRET_ACCESS_KEY` (test defaults otherwise); `STANDIN_BIND`, `STANDIN_PORT`,
//! `STANDIN_MEDIA_PORT`, `STANDIN_MEDIA_IPS`, `STANDIN_IVS_PUBLIC_KEY_FILE` and
//! `STANDIN_IVS_WHIP_BASE` apply when the flags are absent. One log line per
//! request goes to stderr (never headers or secrets).

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;

use twilio_standin::{Account, IvsSettings, MediaSettings, StandIn};

const USAGE: &str =
    "usage: twilio-standin [--bind ADDR] [--port PORT] [--media-port PORT] [--media-ip IP]...
  --bind ADDR        address to listen on (env STANDIN_BIND, default 127.0.0.1)
  --port PORT        port to listen on (env STANDIN_PORT, default 4010; 0 picks a free one)
  --media-port PORT  UDP port of the media relay (env STANDIN_MEDIA_PORT, default 0: a free one)
  --media-ip IP      also offer this address to browsers besides 127.0.0.1, e.g. the LAN
                     address so a phone can watch; repeatable or comma-separated
                     (env STANDIN_MEDIA_IPS, default none)
  --ivs-public-key-file PEM
                     import this P-384 public key into the IVS API at start, as
                     arn:aws:ivs:us-east-1:123456789012:public-key/standin0000
                     (env STANDIN_IVS_PUBLIC_KEY_FILE, default none)
  --ivs-whip-base URL
                     stages' WHIP endpoints are URL/ivs/whip/<stage id>
                     (env STANDIN_IVS_WHIP_BASE, default http://<bind>:<port>/media)";

/// The listen address, media and IVS settings from flags, then environment, then defaults.
fn settings(args: &[String]) -> Result<(SocketAddr, MediaSettings, IvsSettings), String> {
    let mut bind = std::env::var("STANDIN_BIND").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let mut port = std::env::var("STANDIN_PORT").unwrap_or_else(|_| "4010".to_owned());
    let mut media = MediaSettings::from_env()?;
    let mut ivs = IvsSettings::from_env()?;
    let mut media_ips_from_flags: Option<Vec<IpAddr>> = None;
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
            "--media-port" => {
                media.udp_port = MediaSettings::parse_port(&value()?)
                    .map_err(|e| format!("--media-port: {e}"))?;
            }
            "--media-ip" => {
                let ips =
                    MediaSettings::parse_ips(&value()?).map_err(|e| format!("--media-ip: {e}"))?;
                media_ips_from_flags
                    .get_or_insert_with(Vec::new)
                    .extend(ips);
            }
            "--ivs-public-key-file" => ivs
                .read_public_key(&value()?)
                .map_err(|e| format!("--ivs-public-key-file: {e}"))?,
            "--ivs-whip-base" => ivs.whip_base = Some(value()?),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if let Some(ips) = media_ips_from_flags {
        media.extra_ips = ips;
    }
    let ip: IpAddr = bind
        .parse()
        .map_err(|_| format!("--bind/STANDIN_BIND: not an IP address: {bind}"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("--port/STANDIN_PORT: not a port number: {port}"))?;
    Ok((SocketAddr::new(ip, port), media, ivs))
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
    let (addr, media, ivs) = match settings(&args) {
        Ok(s) => s,
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
        let standin = match StandIn::start_with_ivs(addr, Account::from_env(), media, ivs).await {
            Ok(s) => s,
            Err(e) => {
                eprintln!("twilio-standin: cannot listen on {addr} (HTTP) or bind the media UDP socket: {e}");
                return ExitCode::FAILURE;
            }
        };
        println!("twilio stand-in listening on {}", standin.base_url());
        let udp: Vec<String> = standin
            .media_udp_addrs()
            .iter()
            .map(ToString::to_string)
            .collect();
        eprintln!(
            "twilio-standin: media relay (WHIP/WHEP under {}/media) on udp {}",
            standin.base_url(),
            udp.join(", ")
        );
        stop_signal().await;
        eprintln!("twilio-standin: stopping");
        standin.shutdown().await;
        ExitCode::SUCCESS
    })
}
