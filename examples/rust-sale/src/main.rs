//! Takes a sale through posd and prints the result: the smallest useful
//! app. A zbus proxy for `org.smartpos.Pos1.Payment`, Progress shown while
//! the terminal waits for the card and the PIN.
//!
//! ```text
//! smartpos-example-sale AMOUNT_FEN [BUS_ADDRESS]     # default: the system bus
//! ```

use futures_util::StreamExt;
use std::collections::HashMap;
use zbus::zvariant::{OwnedValue, Value};

#[zbus::proxy(interface = "org.smartpos.Pos1.Payment", default_service = "org.smartpos.Pos1", default_path = "/org/smartpos/Pos1")]
trait Payment {
    fn sale(&self, amount: u64, options: HashMap<&str, Value<'_>>) -> zbus::Result<HashMap<String, OwnedValue>>;
    #[zbus(signal)]
    fn progress(&self, stage: String, details: HashMap<String, OwnedValue>) -> zbus::Result<()>;
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let amount: u64 = args.next().ok_or("usage: smartpos-example-sale AMOUNT_FEN [BUS_ADDRESS]")?.parse()?;
    let conn = match args.next() {
        Some(address) => zbus::connection::Builder::address(address.as_str())?.build().await?,
        None => zbus::Connection::system().await?,
    };
    let payment = PaymentProxy::new(&conn).await?;
    let mut progress = payment.receive_progress().await?;
    tokio::spawn(async move {
        while let Some(signal) = progress.next().await {
            if let Ok(args) = signal.args() {
                eprintln!("… {}", args.stage);
            }
        }
    });
    let options = HashMap::from([("reference", Value::from("example-1"))]);
    match payment.sale(amount, options).await {
        Ok(result) => {
            // Each key has the type dbus-api.md gives it: read it as that type.
            let text = |k: &str| result.get(k).and_then(|v| String::try_from(v.try_clone().ok()?).ok()).unwrap_or_default();
            let approved = result.get("approved").and_then(|v| bool::try_from(v).ok()).unwrap_or(false);
            let stan = result.get("stan").and_then(|v| u32::try_from(v).ok()).unwrap_or(0);
            println!("approved={approved} response_code={} stan={stan} masked_pan={}", text("response_code"), text("masked_pan"));
            Ok(())
        }
        Err(zbus::Error::MethodError(name, message, _)) => {
            // e.g. org.smartpos.Pos1.Error.NotSignedIn: the message says what to do.
            eprintln!("{}: {}", name.as_str(), message.unwrap_or_default());
            std::process::exit(3);
        }
        Err(e) => Err(e.into()),
    }
}
