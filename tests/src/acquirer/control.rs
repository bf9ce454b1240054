//! The control socket: JSON lines on loopback to switch faults, read the
//! ledger and stop the simulator. One request per line, one answer per
//! line: `{"ok": true, "result": …}` or `{"ok": false, "error": "…"}`.
//!
//! Requests: `{"cmd":"faults"}`, `{"cmd":"set_faults","faults":{…}}`,
//! `{"cmd":"clear_faults"}`, `{"cmd":"ledger"}`,
//! `{"cmd":"reset_pin_tries","card":"LABEL"}`, `{"cmd":"shutdown"}`.

use super::Shared;
use super::faults::Faults;
use super::ledger::Ledger;
use serde::Deserialize;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Debug, Deserialize)]
#[serde(tag = "cmd", rename_all = "snake_case", deny_unknown_fields)]
enum Request {
    Faults,
    SetFaults { faults: Faults },
    ClearFaults,
    Ledger,
    ResetPinTries { card: String },
    ForgetHeldAnswers,
    Shutdown,
}

/// Applies one control request.
pub fn apply(shared: &Shared, line: &str) -> Value {
    let req: Request = match serde_json::from_str(line) {
        Ok(r) => r,
        Err(e) => return json!({"ok": false, "error": e.to_string()}),
    };
    let result = match req {
        Request::Faults => serde_json::to_value(shared.faults()).unwrap_or_default(),
        Request::SetFaults { faults } => {
            shared.set_faults(faults);
            Value::Null
        }
        Request::ClearFaults => {
            shared.set_faults(Faults::default());
            Value::Null
        }
        Request::Ledger => serde_json::to_value(shared.ledger()).unwrap_or_default(),
        Request::ResetPinTries { card } => {
            let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
            match state.accounts.values_mut().find(|a| a.profile.label == card) {
                Some(a) => {
                    a.wrong_pins = 0;
                    Value::Null
                }
                None => return json!({"ok": false, "error": format!("no card labelled {card:?}")}),
            }
        }
        Request::ForgetHeldAnswers => {
            shared.forget_held_answers();
            Value::Null
        }
        Request::Shutdown => {
            let _ = shared.shutdown.send_replace(true);
            Value::Null
        }
    };
    json!({"ok": true, "result": result})
}

pub async fn serve(listener: TcpListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.subscribe();
    loop {
        let accepted = tokio::select! {
            a = listener.accept() => a,
            _ = shutdown.changed() => return,
        };
        let Ok((stream, _)) = accepted else { continue };
        let shared = shared.clone();
        tokio::spawn(async move {
            let (read, mut write) = stream.into_split();
            let mut lines = tokio::io::BufReader::new(read).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                let mut answer = apply(&shared, &line);
                // A fault switch is answered once a network cut (or its end) is in effect.
                let switch = matches!(serde_json::from_str(&line), Ok(Request::SetFaults { .. } | Request::ClearFaults));
                let refuse = *shared.refuse.borrow();
                if switch
                    && answer["ok"] == true
                    && let Err(e) = shared.until_applied(refuse).await
                {
                    answer = json!({"ok": false, "error": e});
                }
                if write.write_all(format!("{answer}\n").as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}

/// A blocking client of the control socket, for tests and `ctl`.
#[derive(Debug)]
pub struct ControlClient {
    stream: BufReader<TcpStream>,
}

impl ControlClient {
    pub fn connect(addr: SocketAddr) -> std::io::Result<Self> {
        Ok(Self { stream: BufReader::new(TcpStream::connect(addr)?) })
    }

    /// Sends one request; the `result` on success, the error text otherwise.
    pub fn call(&mut self, request: &Value) -> Result<Value, String> {
        let s = self.stream.get_mut();
        s.write_all(format!("{request}\n").as_bytes()).map_err(|e| e.to_string())?;
        let mut line = String::new();
        self.stream.read_line(&mut line).map_err(|e| e.to_string())?;
        let v: Value = serde_json::from_str(&line).map_err(|e| format!("bad answer {line:?}: {e}"))?;
        if v["ok"] == Value::Bool(true) { Ok(v["result"].clone()) } else { Err(v["error"].as_str().unwrap_or("unknown error").to_string()) }
    }

    pub fn set_faults(&mut self, faults: &Faults) -> Result<(), String> {
        self.call(&json!({"cmd": "set_faults", "faults": faults})).map(|_| ())
    }

    pub fn ledger(&mut self) -> Result<Ledger, String> {
        serde_json::from_value(self.call(&json!({"cmd": "ledger"}))?).map_err(|e| e.to_string())
    }
}
