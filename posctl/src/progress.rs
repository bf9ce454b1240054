//! What a person at the terminal sees while a command waits for the card,
//! the PIN or the host: posd's `Progress` signals as a live line on stderr
//! (a spinner on a terminal, one line per stage otherwise). The PIN shows
//! as stars: the daemon sends a count, never a digit.

use futures_util::StreamExt;
use smartpos_client::{PATH, iface, to_json};
use std::io::{IsTerminal, Write};
use tokio::task::JoinHandle;

/// The sentence for a stage and its details (a JSON object of the signal's
/// `a{sv}`: `count` for PIN digits, `interfaces` for waiting-card).
pub fn describe(stage: &str, details: &serde_json::Value) -> String {
    let count = details.get("count").and_then(serde_json::Value::as_u64).unwrap_or(0);
    let accepts = |name: &str| details.get("interfaces").and_then(serde_json::Value::as_array).is_some_and(|l| l.iter().any(|i| i == name));
    match stage {
        "waiting-card" => match (accepts("contact") || details.get("interfaces").is_none(), accepts("contactless"), accepts("code")) {
            (true, true, true) => "Insert or tap the card, or scan the customer's payment code…".into(),
            (true, false, true) => "Insert the card, or scan the customer's payment code…".into(),
            (false, true, true) => "Tap the card, or scan the customer's payment code…".into(),
            (true, true, _) => "Insert or tap the card…".into(),
            (false, true, _) => "Tap the card…".into(),
            _ => "Insert the card…".into(),
        },
        "waiting-code" => "Scan the customer's payment code…".into(),
        "code-scanned" => "Payment code scanned.".into(),
        "waiting-customer" => "The customer confirms the payment on the phone…".into(),
        "printing" => "Printing the receipt…".into(),
        "card-inserted" => "Card inserted.".into(),
        "card-tapped" => "Card tapped: hold it there…".into(),
        "remove-card" => "Card read: remove the card.".into(),
        "use-contact" => "Insert the card: this amount is not taken on a tap…".into(),
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
            let details: serde_json::Map<String, serde_json::Value> = details.iter().map(|(k, v)| (k.clone(), to_json(v))).collect();
            let text = describe(&stage, &serde_json::Value::Object(details));
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

#[cfg(test)]
mod tests {
    use super::describe;
    use serde_json::json;

    #[test]
    fn waiting_card_names_only_the_interfaces_the_sale_accepts() {
        assert_eq!(describe("waiting-card", &json!({"interfaces": ["contact", "contactless"]})), "Insert or tap the card…");
        assert_eq!(describe("waiting-card", &json!({"interfaces": ["contactless"]})), "Tap the card…");
        assert_eq!(describe("waiting-card", &json!({"interfaces": ["contact"]})), "Insert the card…");
        assert_eq!(describe("waiting-card", &json!({"interfaces": ["contact", "code"]})), "Insert the card, or scan the customer's payment code…");
        assert_eq!(describe("waiting-card", &json!({"interfaces": ["contact", "contactless", "code"]})), "Insert or tap the card, or scan the customer's payment code…");
        // A posd older than the contactless additions sends no details.
        assert_eq!(describe("waiting-card", &json!({})), "Insert the card…");
        assert_eq!(describe("pin-digit", &json!({"count": 3})), "PIN: ***");
    }
}
