//! The HTTP API the page calls: each route is one call of posd's D-Bus API
//! (the kiosk holds no payment logic), its answer as JSON, and every failure
//! as `{"error": {"name", "message"}}` — posd's named error and its sentence
//! with the remedy, or the kiosk's own (`OperatorPin`, `Unreachable`).
//! Void, refund, settle and unbind first take the operator PIN.

use crate::App;
use crate::guard::Refusal;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value as JsonValue, json};
use smartpos_client::CallError;
use std::collections::HashMap;
use std::sync::Arc;
use zbus::zvariant::Value;

/// A failed route: the status and the named error the page shows.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    name: String,
    message: String,
}

impl Failure {
    fn new(status: StatusCode, name: &str, message: impl Into<String>) -> Self {
        Self { status, name: name.into(), message: message.into() }
    }

    pub fn bad(message: &str) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "InvalidArgument", message)
    }
}

impl From<CallError> for Failure {
    fn from(e: CallError) -> Self {
        match e {
            CallError::Daemon { name, message } => Self::new(StatusCode::CONFLICT, &name, message),
            CallError::Bus(detail) => Self::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "Unreachable",
                format!("The payment service (posd) does not answer: {detail}. Restart the terminal; if it persists, call service."),
            ),
        }
    }
}

impl From<Refusal> for Failure {
    fn from(r: Refusal) -> Self {
        let message = match r {
            Refusal::NotSet => {
                "No operator PIN is set on this terminal, so void, refund, settle and unbind are off: the integrator sets operator_pin in /etc/smartpos/kiosk.toml.".to_string()
            }
            Refusal::Wrong { left } => format!("The operator PIN is wrong ({left} tries left). Ask the shop owner for the operator PIN."),
            Refusal::Locked { seconds } => format!("Too many wrong operator PINs: try again in {seconds} seconds."),
        };
        Self::new(StatusCode::FORBIDDEN, "OperatorPin", message)
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (self.status, Json(json!({"error": {"name": self.name, "message": self.message}}))).into_response()
    }
}

type Answer = Result<Json<JsonValue>, Failure>;

/// The screen's state: the Terminal, Queue and Hardware properties
/// (`posd: false` with the error when posd does not answer).
pub async fn snapshot(app: &App) -> JsonValue {
    let all = async {
        let terminal = app.client.properties("Terminal").await?;
        let queue = app.client.properties("Queue").await?;
        let hardware = app.client.properties("Hardware").await?;
        Ok::<_, CallError>(json!({"posd": true, "terminal": terminal, "queue": queue, "hardware": hardware, "language": app.language}))
    };
    all.await.unwrap_or_else(|e| {
        let f = Failure::from(e);
        json!({"posd": false, "error": {"name": f.name, "message": f.message}, "language": app.language})
    })
}

pub async fn state(State(app): State<Arc<App>>) -> Json<JsonValue> {
    Json(snapshot(&app).await)
}

async fn call<B: serde::Serialize + zbus::zvariant::DynamicType>(app: &App, iface: &str, method: &str, body: &B) -> Answer {
    Ok(Json(app.client.call(iface, method, body).await?))
}

pub async fn journal(State(app): State<Arc<App>>) -> Answer {
    call(&app, "Payment", "List", &(100u32,)).await
}

pub async fn queue(State(app): State<Arc<App>>) -> Answer {
    call(&app, "Queue", "List", &(100u32,)).await
}

/// `Diagnose`'s rows as objects.
pub async fn diagnose(State(app): State<Arc<App>>) -> Answer {
    let rows = app.client.call("Terminal", "Diagnose", &()).await?;
    let keys = ["category", "check", "status", "detail", "remedy"];
    let rows: Vec<JsonValue> = rows
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| keys.iter().enumerate().map(|(i, k)| ((*k).to_string(), r.get(i).cloned().unwrap_or(JsonValue::Null))).collect::<serde_json::Map<_, _>>().into())
        .collect();
    Ok(Json(json!(rows)))
}

pub async fn receipt(State(app): State<Arc<App>>, Path(stan): Path<u32>) -> Answer {
    call(&app, "Payment", "Receipt", &(stan, "customer")).await
}

pub async fn sign_in(State(app): State<Arc<App>>) -> Answer {
    call(&app, "Terminal", "SignIn", &()).await
}

pub async fn cancel(State(app): State<Arc<App>>) -> Answer {
    call(&app, "Payment", "Cancel", &()).await
}

pub async fn flush(State(app): State<Arc<App>>) -> Answer {
    call(&app, "Queue", "Flush", &()).await
}

#[derive(Debug, Deserialize)]
pub struct BindRequest {
    code: String,
}

pub async fn bind(State(app): State<Arc<App>>, Json(r): Json<BindRequest>) -> Answer {
    call(&app, "Terminal", "Bind", &(r.code.trim(),)).await
}

#[derive(Debug, Deserialize)]
pub struct SaleRequest {
    /// Fen.
    amount: u64,
}

pub async fn sale(State(app): State<Arc<App>>, Json(r): Json<SaleRequest>) -> Answer {
    // Every interface the terminal has, offline allowed: posd's defaults.
    let options: HashMap<&str, Value<'_>> = HashMap::new();
    call(&app, "Payment", "Sale", &(r.amount, options)).await
}

#[derive(Debug, Deserialize)]
pub struct PrintRequest {
    stan: u32,
}

pub async fn print(State(app): State<Arc<App>>, Json(r): Json<PrintRequest>) -> Answer {
    call(&app, "Payment", "PrintReceipt", &(r.stan, "customer")).await
}

#[derive(Debug, Deserialize)]
pub struct Guarded<T> {
    operator_pin: String,
    #[serde(flatten)]
    body: T,
}

impl<T> Guarded<T> {
    fn open(self, app: &App) -> Result<T, Failure> {
        app.guard.check(&self.operator_pin)?;
        Ok(self.body)
    }
}

#[derive(Debug, Deserialize)]
pub struct VoidRequest {
    stan: u32,
}

pub async fn void(State(app): State<Arc<App>>, Json(r): Json<Guarded<VoidRequest>>) -> Answer {
    let r = r.open(&app)?;
    call(&app, "Payment", "Void", &(r.stan,)).await
}

#[derive(Debug, Deserialize)]
pub struct RefundRequest {
    amount: u64,
    rrn: String,
    date: String,
    batch: Option<u32>,
    stan: Option<u32>,
}

pub async fn refund(State(app): State<Arc<App>>, Json(r): Json<Guarded<RefundRequest>>) -> Answer {
    let r = r.open(&app)?;
    let mut options: HashMap<&str, Value<'_>> = HashMap::new();
    if let Some(b) = r.batch {
        options.insert("original_batch", Value::from(b));
    }
    if let Some(s) = r.stan {
        options.insert("original_stan", Value::from(s));
    }
    call(&app, "Payment", "Refund", &(r.amount, r.rrn.as_str(), r.date.as_str(), options)).await
}

#[derive(Debug, Deserialize)]
pub struct Nothing {}

pub async fn settle(State(app): State<Arc<App>>, Json(r): Json<Guarded<Nothing>>) -> Answer {
    r.open(&app)?;
    call(&app, "Terminal", "Settle", &()).await
}

pub async fn unbind(State(app): State<Arc<App>>, Json(r): Json<Guarded<Nothing>>) -> Answer {
    r.open(&app)?;
    call(&app, "Terminal", "Unbind", &()).await
}
