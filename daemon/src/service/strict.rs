//! The freedesktop error names zbus does not give: an interface wrapped in
//! [`Strict`] answers a call whose arguments do not match the method's
//! signature with `org.freedesktop.DBus.Error.InvalidArgs` (zbus says
//! `org.freedesktop.zbus.Error`), and a `Set` of a read-only property with
//! `org.freedesktop.DBus.Error.PropertyReadOnly` (zbus says
//! `UnknownProperty`). Everything else is the wrapped interface's own
//! code: the signatures and access modes are read from its introspection,
//! so the check cannot drift from the XML.

use std::collections::{HashMap, HashSet};
use std::fmt::Write;
use zbus::fdo;
use zbus::message::{Header, Message};
use zbus::names::{InterfaceName, MemberName};
use zbus::object_server::{DispatchResult, Interface, SignalEmitter};
use zbus::zvariant::{OwnedValue, Value};
use zbus::{Connection, ObjectServer};

/// `inner`, with the standard errors for wrong arguments and read-only properties.
pub struct Strict<I> {
    inner: I,
    /// Method name → the signature of its `in` arguments.
    methods: HashMap<String, String>,
    read_only: HashSet<String>,
}

impl<I: Interface> Strict<I> {
    pub fn new(inner: I) -> Self {
        let mut xml = String::new();
        inner.introspect_to_writer(&mut xml, 0);
        let (methods, read_only) = parse(&xml);
        Self { inner, methods, read_only }
    }
}

impl<I> std::fmt::Debug for Strict<I> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Strict").field("methods", &self.methods).field("read_only", &self.read_only).finish_non_exhaustive()
    }
}

impl<I> std::ops::Deref for Strict<I> {
    type Target = I;
    fn deref(&self) -> &I {
        &self.inner
    }
}

/// The value of `name="…"` in one XML start tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag.get(start..).and_then(|rest| rest.split('"').next())
}

/// Reads zbus's own introspection of one interface.
fn parse(xml: &str) -> (HashMap<String, String>, HashSet<String>) {
    let (mut methods, mut read_only) = (HashMap::new(), HashSet::new());
    let mut current: Option<String> = None;
    for tag in xml.split('<').map(str::trim) {
        if tag.starts_with("method ") {
            current = attr(tag, "name").map(str::to_string);
            if let Some(m) = &current {
                methods.insert(m.clone(), String::new());
            }
        } else if tag.starts_with("/method") || tag.starts_with("signal ") {
            current = None;
        } else if tag.starts_with("arg ") {
            if let (Some(m), Some(ty)) = (&current, attr(tag, "type"))
                && attr(tag, "direction").unwrap_or("in") == "in"
                && let Some(sig) = methods.get_mut(m)
            {
                sig.push_str(ty);
            }
        } else if tag.starts_with("property ")
            && attr(tag, "access") == Some("read")
            && let Some(p) = attr(tag, "name")
        {
            read_only.insert(p.to_string());
        }
    }
    (methods, read_only)
}

#[async_trait::async_trait]
impl<I: Interface> Interface for Strict<I> {
    fn name() -> InterfaceName<'static> {
        I::name()
    }

    fn spawn_tasks_for_methods(&self) -> bool {
        self.inner.spawn_tasks_for_methods()
    }

    async fn get(&self, property: &str, server: &ObjectServer, conn: &Connection, header: Option<&Header<'_>>, emitter: &SignalEmitter<'_>) -> Option<fdo::Result<OwnedValue>> {
        self.inner.get(property, server, conn, header, emitter).await
    }

    async fn get_all(&self, server: &ObjectServer, conn: &Connection, header: Option<&Header<'_>>, emitter: &SignalEmitter<'_>) -> fdo::Result<HashMap<String, OwnedValue>> {
        self.inner.get_all(server, conn, header, emitter).await
    }

    fn set<'call>(
        &'call self,
        property: &'call str,
        value: &'call Value<'_>,
        server: &'call ObjectServer,
        conn: &'call Connection,
        header: Option<&'call Header<'_>>,
        emitter: &'call SignalEmitter<'_>,
    ) -> DispatchResult<'call> {
        if self.read_only.contains(property) {
            // set_mut answers it, with the error name the spec has.
            return DispatchResult::RequiresMut;
        }
        self.inner.set(property, value, server, conn, header, emitter)
    }

    async fn set_mut(
        &mut self,
        property: &str,
        value: &Value<'_>,
        server: &ObjectServer,
        conn: &Connection,
        header: Option<&Header<'_>>,
        emitter: &SignalEmitter<'_>,
    ) -> Option<fdo::Result<()>> {
        if self.read_only.contains(property) {
            return Some(Err(fdo::Error::PropertyReadOnly(format!("{property} is read-only: it changes only as the terminal's state does."))));
        }
        self.inner.set_mut(property, value, server, conn, header, emitter).await
    }

    fn call<'call>(&'call self, server: &'call ObjectServer, conn: &'call Connection, msg: &'call Message, name: MemberName<'call>) -> DispatchResult<'call> {
        if let Some(want) = self.methods.get(name.as_str()) {
            // zbus shows a body of several arguments as a structure, `(ta{sv})`.
            let got = msg.body().signature().to_string_no_parens();
            if got != *want {
                let text = format!("{name} takes ({want}), not ({got}). Call it with the arguments of its introspection (docs/dbus-api.md).");
                return DispatchResult::Async(Box::pin(async move { conn.reply_dbus_error(&msg.header(), fdo::Error::InvalidArgs(text)).await.map(|_| ()) }));
            }
        }
        self.inner.call(server, conn, msg, name)
    }

    fn call_mut<'call>(&'call mut self, server: &'call ObjectServer, conn: &'call Connection, msg: &'call Message, name: MemberName<'call>) -> DispatchResult<'call> {
        self.inner.call_mut(server, conn, msg, name)
    }

    fn introspect_to_writer(&self, writer: &mut dyn Write, level: usize) {
        self.inner.introspect_to_writer(writer, level);
    }
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn reads_in_signatures_and_read_only_properties() {
        let xml = r#"<interface name="x">
  <method name="Sale"><arg name="amount" type="t" direction="in"/><arg name="options" type="a{sv}" direction="in"/><arg name="result" type="a{sv}" direction="out"/></method>
  <method name="Cancel"></method>
  <signal name="Progress"><arg name="stage" type="s"/></signal>
  <property name="State" type="s" access="read"/>
  <property name="Knob" type="u" access="readwrite"/>
</interface>"#;
        let (methods, ro) = parse(xml);
        assert_eq!(methods.get("Sale").map(String::as_str), Some("ta{sv}"));
        assert_eq!(methods.get("Cancel").map(String::as_str), Some(""));
        assert!(!methods.contains_key("Progress"));
        assert!(ro.contains("State") && !ro.contains("Knob"));
    }
}
