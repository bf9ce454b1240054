//! What a person at the terminal sees while a command waits for the card,
//! the PIN or the host: posd's `Progress` signals as a live line on stderr
//! (a spinner on a terminal, one line per stage otherwise). The PIN shows
//! as stars: the daemon sends a count, never a digit.

use crate::client::{PATH, iface, to_json};
use futures_util::StreamExt;
use std::io::{IsTerminal, Write};
use tokio::task::JoinHandle;

/// The sentence for a stage.
pub fn describe(stage: &str, count: u64) -> String {
    match stage {
        "waiting-card" if count > 0 => "Insert or tap the card…".into(),
        "waiting-card" => "Insert the card…".into(),
        "card-inserted" => "Card inserted.".into(),
        "card-tapped" => "Card tapped: hold it there…".into(),
        "remove-card" => "Card read: remove the card.".into(),
        "use-contact" => "Above the contactless limit: insert the card…".into(),
        "reading-card" => "Reading the card…".into(),
        "waiting-pin" => "Cardholder: enter the PIN, then #".into(),
        "pin-digit" => format!("PIN: {}", "*".repeat(count.min(12) as usize)),
        "pin-entered" => "PIN entered.".into(),
        "connecting" => "Connecting to the host…".into(),
        "sending" | "waiting-host" => "Waiting for the host…".into(),
        "reversing" => "Reversing the transaction with the host…".into(),
        // The call's own answer (result or error) follows: nothing to add.
        "completed" => String::new(),
        other => format!("{other}…"),
    }
}

/// The `Progress` signals, subscribed when this returns.
pub async fn subscribe(conn: &zbus::Connection) -> Option<zbus::MessageStream> {
    let rule = zbus::MatchRule::builder().msg_type(zbus::message::Type::Signal).interface(iface("Payment")).ok()?.member("Progress").ok()?.path(PATH).ok()?.build();
    zbus::MessageStream::for_match_rule(rule, conn, Some(64)).await.ok()
}

/// Waits on a [`subscribe`]d stream until posd announces `stage` (`false`:
/// the bus went away first).
pub async fn wait_for(mut stream: zbus::MessageStream, stage: &str) -> bool {
    while let Some(Ok(msg)) = stream.next().await {
        if msg.body().deserialize::<(String, std::collections::HashMap<String, zbus::zvariant::OwnedValue>)>().is_ok_and(|(s, _)| s == stage) {
            return true;
        }
    }
    false
}

/// Starts following `Progress`; the subscription is in place when this returns.
pub async fn follow(conn: &zbus::Connection) -> Option<JoinHandle<()>> {
    let mut stream = subscribe(conn).await?;
    let tty = std::io::stderr().is_terminal();
    Some(tokio::spawn(async move {
        let spinner = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
        let mut n = 0;
        let mut last = String::new();
        while let Some(Ok(msg)) = stream.next().await {
            let Ok((stage, details)) = msg.body().deserialize::<(String, std::collections::HashMap<String, zbus::zvariant::OwnedValue>)>() else { continue };
            // `count`: PIN digits; for waiting-card, how many interfaces beyond the chip.
            let count = match details.get("interfaces").map(|v| to_json(v)) {
                Some(serde_json::Value::Array(list)) => list.len().saturating_sub(1) as u64,
                _ => details.get("count").map(|v| to_json(v)).and_then(|j| j.as_u64()).unwrap_or(0),
            };
            let text = describe(&stage, count);
            if text.is_empty() || text == last {
                continue;
            }
            last.clone_from(&text);
            let mut err = std::io::stderr().lock();
            if tty {
                n += 1;
                let _ = write!(err, "\r\x1b[K{} {text}", spinner.get(n % spinner.len()).copied().unwrap_or('*'));
            } else {
                let _ = writeln!(err, "{text}");
            }
            let _ = err.flush();
        }
    }))
}

/// Stops following and clears the live line.
pub fn finish(handle: Option<JoinHandle<()>>) {
    if let Some(h) = handle {
        h.abort();
        if std::io::stderr().is_terminal() {
            eprint!("\r\x1b[K");
        }
    }
}
