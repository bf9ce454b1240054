//! The ModemManager client (`org.freedesktop.ModemManager1` on the system
//! bus). The modem is found through the object manager every time its
//! status is read, so a modem that is unplugged, replugged or renumbered
//! is simply followed; properties are read with `GetAll`, so there is no
//! cache to go stale. [`ModemManagerClient::changed`] wakes a caller on
//! any ModemManager signal so it can read again at once.

use super::ModemError;
use super::status::{CellLocation, ModemStatus, registration_name, state_name, technology_name};
use std::collections::HashMap;
use zbus::zvariant::{OwnedObjectPath, OwnedValue, Value};

const MM: &str = "org.freedesktop.ModemManager1";
const ROOT: &str = "/org/freedesktop/ModemManager1";
const MODEM: &str = "org.freedesktop.ModemManager1.Modem";
const MODEM_3GPP: &str = "org.freedesktop.ModemManager1.Modem.Modem3gpp";
const LOCATION: &str = "org.freedesktop.ModemManager1.Modem.Location";
const SIMPLE: &str = "org.freedesktop.ModemManager1.Modem.Simple";
const BEARER: &str = "org.freedesktop.ModemManager1.Bearer";
/// `MM_MODEM_LOCATION_SOURCE_3GPP_LAC_CI`.
const SOURCE_3GPP_LAC_CI: u32 = 1;

type Props = HashMap<String, OwnedValue>;

#[derive(Debug, Clone)]
pub struct ModemManagerClient {
    conn: zbus::Connection,
}

impl ModemManagerClient {
    pub fn new(conn: zbus::Connection) -> Self {
        Self { conn }
    }

    async fn call<B>(&self, path: &str, iface: &str, method: &str, body: &B) -> Result<zbus::Message, ModemError>
    where
        B: serde::Serialize + zbus::zvariant::DynamicType,
    {
        self.conn.call_method(Some(MM), path, Some(iface), method, body).await.map_err(|e| ModemError::Bus(e.to_string()))
    }

    async fn get_all(&self, path: &str, iface: &str) -> Result<Props, ModemError> {
        let reply = self.call(path, "org.freedesktop.DBus.Properties", "GetAll", &(iface,)).await?;
        reply.body().deserialize::<Props>().map_err(|e| ModemError::Bus(e.to_string()))
    }

    /// The first modem ModemManager manages, with its interfaces.
    async fn find_modem(&self) -> Result<(OwnedObjectPath, Vec<String>), ModemError> {
        let reply = self.call(ROOT, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", &()).await?;
        let objects: HashMap<OwnedObjectPath, HashMap<String, Props>> = reply.body().deserialize().map_err(|e| ModemError::Bus(e.to_string()))?;
        let mut modems: Vec<_> = objects.into_iter().filter(|(_, ifaces)| ifaces.contains_key(MODEM)).collect();
        modems.sort_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        modems.into_iter().next().map(|(path, ifaces)| (path, ifaces.into_keys().collect())).ok_or_else(|| ModemError::Absent("ModemManager sees no modem".into()))
    }

    /// The modem's status now; a missing ModemManager or modem is a status
    /// (`present` false), not an error.
    pub async fn status(&self) -> ModemStatus {
        match self.read_status().await {
            Ok(s) => s,
            Err(e) => {
                let mut s = ModemStatus::absent("modemmanager");
                s.state = match e {
                    ModemError::Absent(_) => "absent".into(),
                    _ => "no-modemmanager".into(),
                };
                s
            }
        }
    }

    async fn read_status(&self) -> Result<ModemStatus, ModemError> {
        let (path, ifaces) = self.find_modem().await?;
        let modem = self.get_all(path.as_str(), MODEM).await?;
        let mut s = ModemStatus::absent("modemmanager");
        s.present = true;
        s.state = state_name(get::<i32>(&modem, "State").unwrap_or(0)).into();
        s.technology = technology_name(get::<u32>(&modem, "AccessTechnologies").unwrap_or(0)).into();
        s.signal = modem.get("SignalQuality").and_then(|v| <(u32, bool)>::try_from(v.try_clone().ok()?).ok()).map_or(0, |(q, _)| q.min(100));
        s.sim_present = modem.get("Sim").and_then(|v| v.downcast_ref::<zbus::zvariant::ObjectPath<'_>>().ok()).is_some_and(|p| p.as_str() != "/");
        if ifaces.iter().any(|i| i == MODEM_3GPP) {
            let gpp = self.get_all(path.as_str(), MODEM_3GPP).await?;
            s.registration = registration_name(get::<u32>(&gpp, "RegistrationState").unwrap_or(4)).into();
            s.operator = get::<String>(&gpp, "OperatorName").unwrap_or_default();
            s.operator_code = get::<String>(&gpp, "OperatorCode").unwrap_or_default();
        }
        let bearers: Vec<OwnedObjectPath> = modem.get("Bearers").and_then(|v| Vec::<OwnedObjectPath>::try_from(v.try_clone().ok()?).ok()).unwrap_or_default();
        for bearer in bearers {
            if let Ok(props) = self.get_all(bearer.as_str(), BEARER).await
                && get::<bool>(&props, "Connected").unwrap_or(false)
            {
                s.bearer_connected = true;
            }
        }
        if ifaces.iter().any(|i| i == LOCATION) {
            s.location = self.cell(path.as_str()).await;
        }
        Ok(s)
    }

    /// The serving cell, enabling the 3GPP source first when it is off.
    async fn cell(&self, path: &str) -> Option<CellLocation> {
        let props = self.get_all(path, LOCATION).await.ok()?;
        let capabilities = get::<u32>(&props, "Capabilities").unwrap_or(0);
        let enabled = get::<u32>(&props, "Enabled").unwrap_or(0);
        if capabilities & SOURCE_3GPP_LAC_CI == 0 {
            return None;
        }
        if enabled & SOURCE_3GPP_LAC_CI == 0 {
            self.call(path, LOCATION, "Setup", &(enabled | SOURCE_3GPP_LAC_CI, false)).await.ok()?;
        }
        let reply = self.call(path, LOCATION, "GetLocation", &()).await.ok()?;
        let sources: HashMap<u32, OwnedValue> = reply.body().deserialize().ok()?;
        let text: String = sources.get(&SOURCE_3GPP_LAC_CI)?.try_clone().ok()?.try_into().ok()?;
        CellLocation::parse_modemmanager(&text)
    }

    /// `Simple.Connect` with the APN; returns the bearer's path.
    pub async fn connect(&self, apn: &str) -> Result<String, ModemError> {
        let (path, _) = self.find_modem().await?;
        let mut props: HashMap<&str, Value<'_>> = HashMap::new();
        props.insert("apn", Value::from(apn));
        let reply = self.call(path.as_str(), SIMPLE, "Connect", &(props,)).await?;
        let bearer: OwnedObjectPath = reply.body().deserialize().map_err(|e| ModemError::Bus(e.to_string()))?;
        Ok(bearer.as_str().to_string())
    }

    /// Resolves when ModemManager emits any signal (a property changed, a
    /// modem came or went): the caller then reads the status again.
    pub async fn changed(&self) -> Result<(), ModemError> {
        self.changes().await?.next().await;
        Ok(())
    }

    /// A subscription to ModemManager's signals, in place once this returns
    /// (the bus has the match rule): nothing emitted after it is missed.
    /// Drain it or drop it: zbus stops reading the connection while a
    /// subscription's queue (16) is full, so one left unread stalls every
    /// call on this client.
    pub async fn changes(&self) -> Result<ModemChanges, ModemError> {
        let rule = zbus::MatchRule::builder().msg_type(zbus::message::Type::Signal).sender(MM).map_err(|e| ModemError::Bus(e.to_string()))?.build();
        let stream = zbus::MessageStream::for_match_rule(rule, &self.conn, Some(16)).await.map_err(|e| ModemError::Bus(e.to_string()))?;
        Ok(ModemChanges(stream))
    }
}

/// See [`ModemManagerClient::changes`].
#[derive(Debug)]
pub struct ModemChanges(zbus::MessageStream);

impl ModemChanges {
    /// Resolves at the next signal (any: the caller reads the status again).
    pub async fn next(&mut self) {
        use futures_util::StreamExt;
        self.0.next().await;
    }
}

fn get<T>(props: &Props, name: &str) -> Option<T>
where
    T: TryFrom<OwnedValue>,
{
    props.get(name).and_then(|v| v.try_clone().ok()).and_then(|v| T::try_from(v).ok())
}
