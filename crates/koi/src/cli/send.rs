//! `koi send`: one text message; prints `conv seq id`.

use clap::ArgGroup;
use koi_client::Api;

use super::Login;

/// Sends one text message and prints `conv seq id`.
#[derive(clap::Args, Debug)]
#[command(group(ArgGroup::new("target").required(true).args(["to", "conv"])))]
pub struct SendArgs {
    #[command(flatten)]
    login: Login,
    /// The user to message (the direct conversation with them).
    #[arg(long)]
    to: Option<String>,
    /// The conversation to write to (`g:<id>`, `d:<a>:<b>`).
    #[arg(long)]
    conv: Option<String>,
    /// The text; several words are joined with spaces.
    #[arg(required = true, num_args = 1.., trailing_var_arg = true)]
    text: Vec<String>,
}

pub async fn run(args: SendArgs) -> anyhow::Result<()> {
    let client = args.login.connect().await?;
    let send = koi_client::proto::Send {
        to: args.to,
        conv: args.conv,
        client_msg_id: super::client_msg_id(),
        kind: "text".into(),
        text: Some(args.text.join(" ")),
        file: None,
        meta: None,
        ..koi_client::proto::Send::default()
    };
    let result = client.send(send).await;
    client.close().await;
    let ok = result?;
    println!("{} {} {}", ok.conv, ok.seq, ok.id);
    Ok(())
}
