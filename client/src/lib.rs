//! posd's D-Bus API as its clients use it (`posctl`, the `pos-kiosk`
//! cashier app): calls by name (no generated code, so a client reads
//! exactly what is on the bus), values turned into JSON, errors split into
//! the daemon's named errors and bus failures, and posd's signals as a
//! stream of JSON.
//!
//! - [`Client::connect`] to a [`Bus`]; [`Client::call`], [`Client::properties`];
//! - [`Client::signals`]: every signal of posd's object, as [`Signal`]s;
//! - [`to_json`]: any D-Bus value as JSON.

#![forbid(unsafe_code)]

use serde_json::{Map, Value as Json};
use std::collections::HashMap;
use zbus::zvariant::{DynamicType, OwnedValue, Value};

pub const NAME: &str = "org.smartpos.Pos1";
pub const PATH: &str = "/org/smartpos/Pos1";

pub fn iface(short: &str) -> String {
    format!("{NAME}.{short}")
}

/// Why a call gave no result.
#[derive(Debug)]
pub enum CallError {
    /// A named error of the daemon (`NotBound`, `Network`…) with its sentence.
    Daemon { name: String, message: String },
    /// The daemon could not be reached, or the bus refused the call.
    Bus(String),
}

impl CallError {
    fn from_zbus(e: zbus::Error) -> Self {
        match e {
            zbus::Error::MethodError(name, message, _) => {
                let name = name.as_str().to_string();
                let message = message.unwrap_or_default();
                if let Some(short) = name.strip_prefix("org.smartpos.Pos1.Error.") {
                    CallError::Daemon { name: short.to_string(), message }
                } else if name == "org.freedesktop.DBus.Error.AccessDenied" {
                    // The bus policy refused the call before posd saw it.
                    let remedy = "the system bus does not let this user make that call: payments, sign-in, settle and diagnose need group pos (usermod -aG pos USER, then log in again); Bind and Unbind need root";
                    CallError::Daemon { name: "AccessDenied".into(), message: remedy.into() }
                } else if name == "org.freedesktop.DBus.Error.ServiceUnknown" || name == "org.freedesktop.DBus.Error.NameHasNoOwner" {
                    CallError::Bus("posd is not running on this bus (systemctl status posd)".into())
                } else {
                    CallError::Bus(format!("{name}: {message}"))
                }
            }
            other => CallError::Bus(other.to_string()),
        }
    }
}

/// Which bus posd is on.
#[derive(Debug, Clone)]
pub enum Bus {
    System,
    Session,
    Address(String),
}

impl Bus {
    /// The bus of a client's `--session` / `--bus ADDRESS` flags (the system bus without either).
    pub fn of_flags(session: bool, address: Option<String>) -> Self {
        match (session, address) {
            (true, _) => Bus::Session,
            (_, Some(a)) => Bus::Address(a),
            _ => Bus::System,
        }
    }
}

/// A signal of posd's object: `member` (`Progress`, `PropertiesChanged`…)
/// and its arguments as a JSON array.
#[derive(Debug, Clone)]
pub struct Signal {
    pub member: String,
    pub args: Json,
}

#[derive(Debug, Clone)]
pub struct Client {
    pub conn: zbus::Connection,
}

impl Client {
    pub async fn connect(bus: &Bus) -> Result<Self, CallError> {
        let conn = match bus {
            Bus::System => zbus::Connection::system().await,
            Bus::Session => zbus::Connection::session().await,
            Bus::Address(a) => match zbus::connection::Builder::address(a.as_str()) {
                Ok(b) => b.build().await,
                Err(e) => Err(e),
            },
        };
        conn.map(|conn| Self { conn }).map_err(|e| CallError::Bus(format!("cannot connect to the bus: {e}")))
    }

    /// Calls `iface.method(body)` and returns the reply's body as JSON.
    pub async fn call<B>(&self, interface: &str, method: &str, body: &B) -> Result<Json, CallError>
    where
        B: serde::Serialize + DynamicType,
    {
        let reply = self.conn.call_method(Some(NAME), PATH, Some(iface(interface).as_str()), method, body).await.map_err(CallError::from_zbus)?;
        let body = reply.body();
        if body.signature().to_string().is_empty() {
            return Ok(Json::Null);
        }
        let value: Value<'_> = body.deserialize::<zbus::zvariant::Structure<'_>>().map(Value::Structure).map_err(|e| CallError::Bus(e.to_string()))?;
        // A reply of one value is that value, not a 1-tuple.
        match to_json(&value) {
            Json::Array(mut items) if items.len() == 1 => Ok(items.remove(0)),
            other => Ok(other),
        }
    }

    /// Every signal posd's object sends from now on (subscribed when this
    /// returns); the stream ends when the bus connection does.
    pub async fn signals(&self) -> Result<impl futures_util::Stream<Item = Signal> + use<>, CallError> {
        use futures_util::StreamExt;
        let rule = zbus::MatchRule::builder().msg_type(zbus::message::Type::Signal).path(PATH).map_err(|e| CallError::Bus(e.to_string()))?.build();
        let stream = zbus::MessageStream::for_match_rule(rule, &self.conn, Some(256)).await.map_err(|e| CallError::Bus(e.to_string()))?;
        Ok(stream.filter_map(|msg| async move {
            let msg = msg.ok()?;
            let member = msg.header().member().map(|m| m.to_string()).unwrap_or_default();
            let body = msg.body();
            let args = body.deserialize::<zbus::zvariant::Structure<'_>>().map(|s| to_json(&Value::Structure(s))).unwrap_or(Json::Null);
            Some(Signal { member, args })
        }))
    }

    /// All properties of an interface.
    pub async fn properties(&self, interface: &str) -> Result<Map<String, Json>, CallError> {
        let reply = self.conn.call_method(Some(NAME), PATH, Some("org.freedesktop.DBus.Properties"), "GetAll", &(iface(interface),)).await.map_err(CallError::from_zbus)?;
        let props: HashMap<String, OwnedValue> = reply.body().deserialize().map_err(|e| CallError::Bus(e.to_string()))?;
        Ok(props.into_iter().map(|(k, v)| (k, to_json(&v))).collect())
    }
}

/// A D-Bus value as JSON: numbers, strings, booleans, arrays, objects for
/// dictionaries, arrays for structures.
pub fn to_json(v: &Value<'_>) -> Json {
    match v {
        Value::U8(x) => Json::from(*x),
        Value::Bool(x) => Json::from(*x),
        Value::I16(x) => Json::from(*x),
        Value::U16(x) => Json::from(*x),
        Value::I32(x) => Json::from(*x),
        Value::U32(x) => Json::from(*x),
        Value::I64(x) => Json::from(*x),
        Value::U64(x) => Json::from(*x),
        Value::F64(x) => Json::from(*x),
        Value::Str(s) => Json::from(s.as_str()),
        Value::ObjectPath(p) => Json::from(p.as_str()),
        Value::Signature(s) => Json::from(s.to_string()),
        Value::Value(inner) => to_json(inner),
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Dict(d) => Json::Object(
            d.iter()
                .map(|(k, v)| {
                    let key = match to_json(k) {
                        Json::String(s) => s,
                        other => other.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Structure(s) => Json::Array(s.fields().iter().map(to_json).collect()),
        #[allow(unreachable_patterns)]
        _ => Json::Null,
    }
}
