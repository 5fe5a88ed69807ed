//! `pinbridge sandbox --listen ADDR`: run the sandbox with one seeded user and board, and print
//! what a config needs to point at it.

use std::net::SocketAddr;

use secrecy::ExposeSecret;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{Sandbox, SandboxConfig};
use crate::pinterest::oauth::authorize_url;

/// Bind `listen`, print the base URL, client credentials and a seeded user's tokens, and serve
/// until `shutdown`. Fails only if the address cannot be bound.
pub async fn run_cli(
    listen: SocketAddr,
    config: SandboxConfig,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let listener = TcpListener::bind(listen)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {listen}: {e}")))?;
    let addr = listener.local_addr()?;
    let sandbox = Sandbox::new(config);
    let user = sandbox.create_user("sandbox-user");
    let board = sandbox.create_board(&user, "Sandbox board");
    let base = Sandbox::api_base(addr);
    let cfg = sandbox.config();
    let mut authorize = base.clone();
    authorize.set_path("/oauth/");
    let authorize = authorize_url(
        &authorize,
        &cfg.client_id,
        "http://127.0.0.1:8085/",
        &[
            "boards:read",
            "boards:write",
            "pins:read",
            "pins:write",
            "user_accounts:read",
        ],
        "xyz",
    );
    println!(
        "pinbridge sandbox: a local Pinterest API v5 stand-in (nothing leaves this machine)\n\
         \n  api_base       {base}\n  authorize URL  {authorize}\n\
         \n  user           {} (id {}), board \"Sandbox board\" (id {board})\n\
         \nPut this in your config to try it:\n\
         \n[pinterest]\napi_base = \"{base}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\n\
         \n[[accounts]]\nname = \"sandbox\"\naccess_token = \"{}\"\nrefresh_token = \"{}\"\n\
         \nStop with Ctrl-C.",
        user.username,
        user.id,
        cfg.client_id,
        cfg.client_secret.expose_secret(),
        user.access_token,
        user.refresh_token,
    );
    sandbox
        .spawn(listener, shutdown)
        .await
        .map_err(std::io::Error::other)
}
